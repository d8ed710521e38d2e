from __future__ import annotations

import os
from pathlib import Path

import pytest

from edgetune_trainer import storage


def test_roundtrip_and_prefix(tmp_path: Path) -> None:
    storage.write_bytes("t/storage/a.txt", b"hello")
    assert storage.exists("t/storage/a.txt")
    assert storage.read_bytes("t/storage/a.txt") == b"hello"
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "x.bin").write_bytes(b"x" * 10)
    (src / "sub" / "y.bin").write_bytes(b"y")
    keys = storage.put_dir(src, "t/storage/dir")
    assert keys == ["t/storage/dir/sub/y.bin", "t/storage/dir/x.bin"]
    # The key maps to <root>/<key> directly: same layout as the TypeScript fs store.
    assert (storage.root() / "t/storage/dir/x.bin").read_bytes() == b"x" * 10
    got = storage.get_prefix("t/storage/dir", tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in got) == ["sub/y.bin", "x.bin"]
    storage.get_file("t/storage/a.txt", tmp_path / "a.txt")
    assert (tmp_path / "a.txt").read_bytes() == b"hello"


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "./a", "a\\b"])
def test_rejects_bad_keys(key: str) -> None:
    with pytest.raises(storage.StorageError):
        storage.write_bytes(key, b"")


def test_missing_and_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(storage.StorageError, match="not found"):
        storage.read_bytes("t/nope")
    monkeypatch.setitem(os.environ, "STORAGE_URL", "s3://bucket/x")
    with pytest.raises(storage.StorageError, match="not supported"):
        storage.exists("a")
