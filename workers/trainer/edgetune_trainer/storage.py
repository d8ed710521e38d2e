"""Object store client.

The trainer runs on pool machines without database credentials; all large files move through
this object store. `STORAGE_URL` selects the backend. Today only `file://` is implemented: a key
maps to `<root>/<key>` directly, the same layout as the TypeScript `packages/storage` fs backend,
so both sides see the same objects. Other schemes (s3://) can be added behind the same functions.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

__all__ = [
    "StorageError",
    "exists",
    "get_file",
    "get_prefix",
    "list_keys",
    "put_dir",
    "put_file",
    "read_bytes",
    "root",
    "sha256_file",
    "write_bytes",
]


class StorageError(RuntimeError):
    """Raised for misconfiguration, invalid keys and missing objects."""


def root() -> Path:
    """Root directory of the file:// store named by `STORAGE_URL`."""
    url = os.environ.get("STORAGE_URL", "").strip()
    if not url:
        raise StorageError("STORAGE_URL is not set (expected e.g. file:///abs/path/.data/objects)")
    parsed = urlparse(url)
    if parsed.scheme != "file":
        raise StorageError(f"STORAGE_URL scheme {parsed.scheme!r} is not supported by the trainer yet (only file://)")
    path = unquote(parsed.path)
    if not path.startswith("/"):
        raise StorageError(f"STORAGE_URL must hold an absolute path, got {url!r}")
    return Path(path)


def _check_key(key: str, *, allow_empty: bool = False) -> str:
    # Keys are '/'-separated relative names; reject anything that could escape the root.
    stripped = key.rstrip("/") if allow_empty else key
    if not stripped:
        if allow_empty:
            return ""
        raise StorageError("empty storage key")
    if stripped.startswith("/") or "\\" in stripped or "\x00" in stripped:
        raise StorageError(f"invalid storage key {key!r}")
    if any(part in ("", ".", "..") for part in stripped.split("/")):
        raise StorageError(f"invalid storage key {key!r}")
    return stripped


def _path(key: str) -> Path:
    return root() / _check_key(key)


def exists(key: str) -> bool:
    return _path(key).is_file()


def _atomic_write(dest: Path, write: Callable[[BinaryIO], object]) -> None:
    # Write a temp file in the destination directory and rename it: readers never see a
    # half-written object, and rename within one directory is atomic on POSIX.
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_copy(src: Path, dest: Path) -> None:
    with open(src, "rb") as inp:
        _atomic_write(dest, lambda out: shutil.copyfileobj(inp, out, 1024 * 1024))


def get_file(key: str, dest_path: str | os.PathLike[str]) -> Path:
    """Copy the object `key` to `dest_path` (atomically) and return the destination."""
    src = _path(key)
    if not src.is_file():
        raise StorageError(f"object not found: {key}")
    dest = Path(dest_path)
    _atomic_copy(src, dest)
    if dest.stat().st_size != src.stat().st_size:
        raise StorageError(f"size mismatch after download of {key}")
    return dest


def put_file(src_path: str | os.PathLike[str], key: str) -> str:
    """Upload a local file under `key` (atomic replace). Returns the key."""
    _atomic_copy(Path(src_path), _path(key))
    return key


def read_bytes(key: str) -> bytes:
    p = _path(key)
    if not p.is_file():
        raise StorageError(f"object not found: {key}")
    return p.read_bytes()


def write_bytes(key: str, data: bytes) -> str:
    _atomic_write(_path(key), lambda out: out.write(data))
    return key


def list_keys(prefix: str) -> list[str]:
    """All object keys under `prefix` (a folder-like prefix), sorted; temp files excluded."""
    pre = _check_key(prefix, allow_empty=True)
    base = root() / pre if pre else root()
    if not base.is_dir():
        return []
    keys: list[str] = []
    for p in base.rglob("*"):
        if p.is_file() and not (p.name.startswith(".") and p.name.endswith(".tmp")):
            keys.append(p.relative_to(root()).as_posix())
    return sorted(keys)


def get_prefix(prefix: str, dest_dir: str | os.PathLike[str]) -> list[Path]:
    """Download every object under `prefix` into `dest_dir`, keeping relative paths."""
    pre = _check_key(prefix, allow_empty=True)
    keys = list_keys(pre)
    if not keys:
        raise StorageError(f"no objects under prefix: {prefix}")
    out: list[Path] = []
    dest = Path(dest_dir)
    for key in keys:
        rel = key[len(pre) + 1 :] if pre else key
        out.append(get_file(key, dest / rel))
    return out


def put_dir(src_dir: str | os.PathLike[str], prefix: str) -> list[str]:
    """Upload every file of a local directory under `prefix`. Returns the keys written."""
    pre = _check_key(prefix)
    src = Path(src_dir)
    keys: list[str] = []
    for p in sorted(src.rglob("*")):
        if p.is_file():
            key = f"{pre}/{p.relative_to(src).as_posix()}"
            put_file(p, key)
            keys.append(key)
    return keys


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1024 * 1024), b""):
            h.update(chunk)
    return h.hexdigest()
