"""Object store client.

The trainer runs on pool machines without database credentials; all large files move through
this object store. `STORAGE_URL` selects the backend, with the same key layout as the TypeScript
`packages/storage`, so both sides see the same objects:

- `file:///abs/path`: a key maps to `<root>/<key>`; writes land atomically by rename.
- `s3://bucket/prefix`: a key maps to `<prefix>/<key>` in the bucket, through boto3 (multipart
  transfers for large files); `S3_ENDPOINT`, `S3_REGION`, `S3_FORCE_PATH_STYLE` and the usual AWS
  credential variables configure it, as for the TypeScript side.
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
    "check_config",
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


def _url() -> str:
    url = os.environ.get("STORAGE_URL", "").strip()
    if not url:
        raise StorageError(
            "STORAGE_URL is not set (expected e.g. file:///abs/path/.data/objects or s3://bucket/prefix)"
        )
    return url


def root() -> Path:
    """Root directory of the file:// store named by `STORAGE_URL`."""
    url = _url()
    parsed = urlparse(url)
    if parsed.scheme != "file":
        raise StorageError(f"STORAGE_URL {url!r} is not a file:// store")
    path = unquote(parsed.path)
    if not path.startswith("/"):
        raise StorageError(f"STORAGE_URL must hold an absolute path, got {url!r}")
    return Path(path)


def check_config() -> None:
    """Fail early, naming the variable, when `STORAGE_URL` is missing or malformed."""
    _backend()


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


class _FsBackend:
    def __init__(self, base: Path) -> None:
        self.base = base

    def _path(self, key: str) -> Path:
        return self.base / _check_key(key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def get_file(self, key: str, dest: Path) -> None:
        src = self._path(key)
        if not src.is_file():
            raise StorageError(f"object not found: {key}")
        _atomic_copy(src, dest)
        if dest.stat().st_size != src.stat().st_size:
            raise StorageError(f"size mismatch after download of {key}")

    def put_file(self, src: Path, key: str) -> None:
        _atomic_copy(src, self._path(key))

    def read_bytes(self, key: str) -> bytes:
        p = self._path(key)
        if not p.is_file():
            raise StorageError(f"object not found: {key}")
        return p.read_bytes()

    def write_bytes(self, key: str, data: bytes) -> None:
        _atomic_write(self._path(key), lambda out: out.write(data))

    def list_keys(self, prefix: str) -> list[str]:
        base = self.base / prefix if prefix else self.base
        if not base.is_dir():
            return []
        return [
            p.relative_to(self.base).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not (p.name.startswith(".") and p.name.endswith(".tmp"))
        ]

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self.base / prefix, ignore_errors=True)


class _S3Backend:
    def __init__(self, bucket: str, prefix: str) -> None:
        import boto3
        from botocore.config import Config

        endpoint = os.environ.get("S3_ENDPOINT") or None
        force = os.environ.get("S3_FORCE_PATH_STYLE")
        path_style = force == "true" if force in ("true", "false") else endpoint is not None
        self.bucket = bucket
        self.prefix = prefix
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=os.environ.get("S3_REGION") or "us-east-1",
            config=Config(s3={"addressing_style": "path" if path_style else "auto"}, retries={"mode": "standard"}),
        )

    def _key(self, key: str) -> str:
        k = _check_key(key)
        return f"{self.prefix}/{k}" if self.prefix else k

    @staticmethod
    def _missing(e: Exception) -> bool:
        from botocore.exceptions import ClientError

        code = e.response.get("Error", {}).get("Code") if isinstance(e, ClientError) else None
        return code in ("404", "NoSuchKey", "NotFound")

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except Exception as e:
            if self._missing(e):
                return False
            raise

    def get_file(self, key: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        os.close(fd)
        try:
            try:
                size = self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"]
            except Exception as e:
                if self._missing(e):
                    raise StorageError(f"object not found: {key}") from e
                raise
            self.client.download_file(self.bucket, self._key(key), tmp)
            if Path(tmp).stat().st_size != size:
                raise StorageError(f"size mismatch after download of {key}")
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_file(self, src: Path, key: str) -> None:
        # upload_file switches to a multipart upload for large files; S3 makes the object visible
        # only once it is complete, so readers never see half of it.
        self.client.upload_file(str(src), self.bucket, self._key(key))

    def read_bytes(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except Exception as e:
            if self._missing(e):
                raise StorageError(f"object not found: {key}") from e
            raise

    def write_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def list_keys(self, prefix: str) -> list[str]:
        full = f"{self._key(prefix)}/" if prefix else (f"{self.prefix}/" if self.prefix else "")
        skip = len(self.prefix) + 1 if self.prefix else 0
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
            keys.extend(o["Key"][skip:] for o in page.get("Contents", []))
        return keys

    def delete_prefix(self, prefix: str) -> None:
        keys = [self._key(k) for k in self.list_keys(prefix)]
        for i in range(0, len(keys), 1000):
            self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]], "Quiet": True}
            )


_backends: dict[str, _FsBackend | _S3Backend] = {}


def _backend() -> _FsBackend | _S3Backend:
    url = _url()
    found = _backends.get(url)
    if found is not None:
        return found
    parsed = urlparse(url)
    backend: _FsBackend | _S3Backend
    if parsed.scheme == "file":
        backend = _FsBackend(root())
    elif parsed.scheme == "s3":
        bucket, prefix = parsed.netloc, parsed.path.strip("/")
        if not bucket:
            raise StorageError(f"STORAGE_URL must be s3://<bucket>[/<prefix>], got {url!r}")
        if prefix:
            _check_key(prefix)
        backend = _S3Backend(bucket, prefix)
    else:
        raise StorageError(f"STORAGE_URL scheme {parsed.scheme!r} is not supported (file:// or s3://)")
    _backends[url] = backend
    return backend


def exists(key: str) -> bool:
    return _backend().exists(key)


def get_file(key: str, dest_path: str | os.PathLike[str]) -> Path:
    """Copy the object `key` to `dest_path` (atomically, size checked) and return the destination."""
    dest = Path(dest_path)
    _backend().get_file(key, dest)
    return dest


def put_file(src_path: str | os.PathLike[str], key: str) -> str:
    """Upload a local file under `key` (atomic replace). Returns the key."""
    _backend().put_file(Path(src_path), key)
    return key


def read_bytes(key: str) -> bytes:
    return _backend().read_bytes(key)


def write_bytes(key: str, data: bytes) -> str:
    _backend().write_bytes(key, data)
    return key


def list_keys(prefix: str) -> list[str]:
    """All object keys under `prefix` (a folder-like prefix), sorted; temp files excluded."""
    return sorted(_backend().list_keys(_check_key(prefix, allow_empty=True)))


def delete_prefix(prefix: str) -> None:
    """Delete every object under `prefix` (a folder-like prefix; never the whole store)."""
    _backend().delete_prefix(_check_key(prefix))


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
