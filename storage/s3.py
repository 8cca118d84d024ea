"""An object store on any S3 API (AWS S3, MinIO, SeaweedFS, Huawei OBS) through boto3."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO

import boto3
import botocore.session
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, IncompleteReadError
from botocore.exceptions import ConnectionError as BotoConnectionError

from storage.errors import AccessDenied, ObjectNotFound, StorageError, StoreUnavailable
from storage.objects import ObjectInfo, ObjectStore, check_page_size, check_range
from storage.s3_listing import ListingError, S3Lister

_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "NotFound", "404"}
_DENIED = {
    "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403",
    "AllAccessDisabled", "ExpiredToken", "InvalidToken", "AccountProblem",
}
_UNAVAILABLE = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "503"}
# Streamed uploads (put_file): parts of 16 MiB, one thread, so memory stays a few parts whatever the size.
_TRANSFER = TransferConfig(multipart_threshold=16 * 1024 * 1024, multipart_chunksize=16 * 1024 * 1024, use_threads=False)


class S3ObjectStore(ObjectStore):
    """Keep objects in an S3-compatible service; one shared boto3 client, safe across threads."""

    def __init__(
        self,
        endpoint_url: str | None,
        region: str,
        access_key: str,
        secret_key: str,
        path_style: bool = True,
        connect_timeout: float = 5,
        read_timeout: float = 30,
        max_attempts: int = 3,
        max_pool: int = 32,
        ca_bundle: str | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if path_style else "virtual"},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            max_pool_connections=max_pool,
            # Newer botocore adds CRC checksums to every request; older S3 clones reject them.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        # Sessions are not thread-safe but the clients they make are: make one, share it.
        core = botocore.session.get_session()
        session = boto3.session.Session(botocore_session=core)
        # HTTPS: a private CA from the settings, else the one botocore is told of (AWS_CA_BUNDLE or
        # the config file's ca_bundle); the lister verifies with the same file. With neither,
        # boto3 uses its bundled CAs and the lister the system's.
        ca_bundle = ca_bundle or core.get_config_variable("ca_bundle")
        self._client = session.client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config,
            aws_access_key_id=access_key, aws_secret_access_key=secret_key, verify=ca_bundle,
        )
        # The lister signs with the same keys, or with the environment's credentials (an IAM role).
        credentials = Credentials(access_key, secret_key) if access_key else session.get_credentials()
        self._lister = S3Lister(
            self._client.meta.endpoint_url, self._client.meta.region_name, credentials, path_style,
            connect_timeout, read_timeout, max_attempts, ca_bundle=ca_bundle,
        ) if credentials is not None else None

    def list_pages(
        self, bucket: str, prefix: str, page_size: int = 1000
    ) -> Iterator[list[ObjectInfo]]:
        """Yield the objects under `prefix`, recursively, in the store's order (S3: key order), one
        ListObjectsV2 page at a time (read by `S3Lister`, about 3x faster than boto3's parser)."""
        check_page_size(page_size)
        if self._lister is not None:
            try:
                yield from self._lister.pages(bucket, prefix, page_size)
            except ListingError as exc:
                raise _mapped(exc.code, exc.status, exc.problem, bucket, None) from exc
            return
        paginator = self._client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size}
        )
        with _translated(bucket, None):
            for page in pages:
                infos = [_listed_info(item) for item in page.get("Contents", [])]
                if infos:
                    yield infos

    def stat(self, bucket: str, key: str) -> ObjectInfo:
        """Return the object's size, ETag and last-modified time (HEAD)."""
        with _translated(bucket, key):
            head = self._client.head_object(Bucket=bucket, Key=key)
        return ObjectInfo(
            key=key, size=head["ContentLength"], etag=_unquote(head["ETag"]),
            last_modified=_utc(head["LastModified"]),
        )

    def get(self, bucket: str, key: str, byte_range: tuple[int, int] | None = None) -> bytes:
        """Return the object's bytes, or the inclusive range `first..last`."""
        check_range(byte_range)
        extra = {"Range": f"bytes={byte_range[0]}-{byte_range[1]}"} if byte_range else {}
        with _translated(bucket, key):
            response = self._client.get_object(Bucket=bucket, Key=key, **extra)
            with response["Body"] as body:
                return body.read()

    def put(
        self, bucket: str, key: str, data: bytes, content_type: str | None = None
    ) -> ObjectInfo:
        """Store `data` in one PUT and describe the result from the response headers."""
        extra = {"ContentType": content_type} if content_type else {}
        with _translated(bucket, key):
            response = self._client.put_object(Bucket=bucket, Key=key, Body=data, **extra)
        return ObjectInfo(
            key=key, size=len(data), etag=_unquote(response["ETag"]),
            last_modified=_response_date(response),
        )

    def put_file(
        self, bucket: str, key: str, file: BinaryIO, content_type: str | None = None
    ) -> ObjectInfo:
        """Stream an open file to the store: one PUT when small, a multipart upload when large."""
        extra = {"ContentType": content_type} if content_type else {}
        with _translated(bucket, key):
            self._client.upload_fileobj(file, bucket, key, ExtraArgs=extra, Config=_TRANSFER)
        return self.stat(bucket, key)

    def copy(self, bucket: str, source_key: str, target_key: str) -> ObjectInfo:
        """Copy an object on the server (CopyObject: the bytes never come here)."""
        with _translated(bucket, target_key):
            self._client.copy_object(Bucket=bucket, Key=target_key, CopySource={"Bucket": bucket, "Key": source_key})
        return self.stat(bucket, target_key)

    def delete(self, bucket: str, key: str) -> None:
        """Delete the object; S3 answers 204 for a missing key too."""
        with _translated(bucket, key):
            self._client.delete_object(Bucket=bucket, Key=key)

    def presigned_url(self, bucket: str, key: str, expires_s: int = 3600) -> str:
        """Return a presigned GET URL, valid for `expires_s` seconds (signed locally, no request)."""
        with _translated(bucket, key):
            return self._client.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_s
            )

    def ensure_bucket(self, bucket: str) -> None:
        """Create the bucket unless it exists (HEAD first, then CREATE, tolerating a race)."""
        try:
            with _translated(bucket, None):
                self._client.head_bucket(Bucket=bucket)
            return
        except ObjectNotFound:
            pass
        with _translated(bucket, None):
            try:
                self._client.create_bucket(Bucket=bucket, **self._location())
            except ClientError as exc:
                if _code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

    def _location(self) -> dict[str, Any]:
        """Return create_bucket's location argument; us-east-1 must not send one."""
        if self.region in ("", "us-east-1"):
            return {}
        return {"CreateBucketConfiguration": {"LocationConstraint": self.region}}


@contextmanager
def _translated(bucket: str, key: str | None) -> Iterator[None]:
    """Turn botocore exceptions raised inside the block into storage errors."""
    try:
        yield
    except S3UploadFailedError as exc:  # a streamed upload wraps the client's error
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ClientError):
            raise _from_client_error(cause, bucket, key) from exc
        raise StoreUnavailable(f"object store upload failed: {exc}", bucket, key) from exc
    except ClientError as exc:
        raise _from_client_error(exc, bucket, key) from exc
    except (BotoConnectionError, HTTPClientError, IncompleteReadError) as exc:
        raise StoreUnavailable(f"object store unreachable: {exc}", bucket, key) from exc
    except BotoCoreError as exc:
        raise StorageError(f"object store client failed: {exc}", bucket, key) from exc


def _from_client_error(exc: ClientError, bucket: str, key: str | None) -> StorageError:
    """Map an S3 error answer to the matching storage error."""
    code = _code(exc)
    return _mapped(code, _status(exc), exc.response.get("Error", {}).get("Message") or code, bucket, key)


def _mapped(code: str, status: int, message: str, bucket: str, key: str | None) -> StorageError:
    """Map an S3 error code and HTTP status to the matching storage error."""
    if code in _NOT_FOUND or status == 404:
        what = "bucket not found" if code == "NoSuchBucket" else "object not found"
        return ObjectNotFound(what, bucket, key)
    if code in _DENIED or status == 403:
        return AccessDenied(f"access denied ({code}: {message})", bucket, key)
    if code in _UNAVAILABLE or status >= 500:
        return StoreUnavailable(f"object store failed ({code}: {message})", bucket, key)
    return StorageError(f"object store refused the request ({code}: {message})", bucket, key)


def _code(exc: ClientError) -> str:
    """Return the S3 error code of a ClientError."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    """Return the HTTP status of a ClientError, 0 when unknown."""
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def _listed_info(item: dict[str, Any]) -> ObjectInfo:
    """Describe one entry of a ListObjectsV2 page."""
    return ObjectInfo(
        key=item["Key"], size=item["Size"], etag=_unquote(item.get("ETag", "")),
        last_modified=_utc(item["LastModified"]),
    )


def _unquote(etag: str) -> str:
    """Strip the quotes S3 puts around ETags."""
    return etag.strip('"')


def _utc(moment: datetime) -> datetime:
    """Return an aware UTC datetime (botocore gives aware ones in tzutc)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _response_date(response: dict[str, Any]) -> datetime:
    """Return the server's Date header of a response, or now when it has none."""
    header = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    try:
        return _utc(parsedate_to_datetime(header)) if header else datetime.now(UTC)
    except (TypeError, ValueError):
        return datetime.now(UTC)
