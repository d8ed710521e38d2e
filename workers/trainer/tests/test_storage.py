"""The storage contract on both backends: the filesystem and the S3 server the test run starts
(EDGETUNE_TEST_S3_* name it; without them the S3 cases are skipped, unless EDGETUNE_REQUIRE_S3=1,
which `npm test` sets, makes their absence a failure)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgetune_trainer import storage


def _s3_url() -> str:
    names = ["ENDPOINT", "BUCKET", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY"]
    missing = [f"EDGETUNE_TEST_S3_{n}" for n in names if not os.environ.get(f"EDGETUNE_TEST_S3_{n}")]
    if missing:
        if os.environ.get("EDGETUNE_REQUIRE_S3") == "1":
            pytest.fail(f"{', '.join(missing)} not set: the S3 server of the test run is required")
        pytest.skip("no S3 server named by EDGETUNE_TEST_S3_*")
    return f"s3://{os.environ['EDGETUNE_TEST_S3_BUCKET']}/trainer-test-{secrets.token_hex(4)}"


@pytest.fixture(params=["filesystem", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "filesystem":
        monkeypatch.setenv("STORAGE_URL", f"file://{tmp_path / 'objects'}")
    else:
        monkeypatch.setenv("STORAGE_URL", _s3_url())
        monkeypatch.setenv("S3_ENDPOINT", os.environ["EDGETUNE_TEST_S3_ENDPOINT"])
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", os.environ["EDGETUNE_TEST_S3_ACCESS_KEY_ID"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", os.environ["EDGETUNE_TEST_S3_SECRET_ACCESS_KEY"])
    yield request.param


def test_roundtrip_and_prefix(backend: str, tmp_path: Path) -> None:
    storage.write_bytes("t/storage/a.txt", b"hello")
    assert storage.exists("t/storage/a.txt")
    assert not storage.exists("t/storage/b.txt")
    assert storage.read_bytes("t/storage/a.txt") == b"hello"
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "x.bin").write_bytes(b"x" * 10)
    (src / "sub" / "y.bin").write_bytes(b"y")
    keys = storage.put_dir(src, "t/storage/dir")
    assert keys == ["t/storage/dir/sub/y.bin", "t/storage/dir/x.bin"]
    if backend == "filesystem":
        # The key maps to <root>/<key> directly: same layout as the TypeScript fs store.
        assert (storage.root() / "t/storage/dir/x.bin").read_bytes() == b"x" * 10
    # A prefix is a folder: t/storage/di lists nothing, t/storage lists everything below it.
    assert storage.list_keys("t/storage/di") == []
    assert storage.list_keys("t/storage") == ["t/storage/a.txt", "t/storage/dir/sub/y.bin", "t/storage/dir/x.bin"]
    got = storage.get_prefix("t/storage/dir", tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in got) == ["sub/y.bin", "x.bin"]
    storage.get_file("t/storage/a.txt", tmp_path / "a.txt")
    assert (tmp_path / "a.txt").read_bytes() == b"hello"


def test_large_file_roundtrip(backend: str, tmp_path: Path) -> None:
    # Above boto3's multipart threshold (8 MiB): the upload goes in parts on S3.
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * 1024 * 1024 + 3))
    storage.put_file(big, "t/big/model.safetensors")
    out = storage.get_file("t/big/model.safetensors", tmp_path / "back.bin")
    assert storage.sha256_file(out) == storage.sha256_file(big)


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "./a", "a\\b"])
def test_rejects_bad_keys(backend: str, key: str) -> None:
    with pytest.raises(storage.StorageError):
        storage.write_bytes(key, b"")


def test_missing_objects(backend: str, tmp_path: Path) -> None:
    with pytest.raises(storage.StorageError, match="not found"):
        storage.read_bytes("t/nope")
    with pytest.raises(storage.StorageError, match="not found"):
        storage.get_file("t/nope", tmp_path / "nope")
    assert not (tmp_path / "nope").exists()
    with pytest.raises(storage.StorageError, match="no objects"):
        storage.get_prefix("t/nothing-here", tmp_path / "none")


def test_unsupported_and_missing_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_URL", "gs://bucket/x")
    with pytest.raises(storage.StorageError, match="not supported"):
        storage.exists("a")
    monkeypatch.delenv("STORAGE_URL")
    with pytest.raises(storage.StorageError, match="STORAGE_URL is not set"):
        storage.check_config()


def test_brokered_mode_needs_the_activity_grant(monkeypatch: pytest.MonkeyPatch) -> None:
    # A pool machine with PLATFORM_URL reaches objects only with a job's grant: none, and it says so.
    monkeypatch.delenv("STORAGE_URL", raising=False)
    monkeypatch.setenv("PLATFORM_URL", "http://127.0.0.1:9")
    storage.check_config()
    storage.use_grant(None)
    with pytest.raises(storage.StorageError, match="carries no storage grant"):
        storage.exists("orgs/o/jobs/j/x")
    monkeypatch.setenv("PLATFORM_URL", "ftp://platform.example.com")
    with pytest.raises(storage.StorageError, match="PLATFORM_URL must be an http"):
        storage.check_config()


def test_a_part_is_read_as_its_byte_range(tmp_path: Path) -> None:
    p = tmp_path / "f.bin"
    p.write_bytes(bytes(range(256)) * 4)
    with open(p, "rb") as f:
        w = storage._Window(f, 250, 10)
        assert w.read(4) + w.read() + w.read() == bytes(range(250, 256)) + bytes(range(4))
