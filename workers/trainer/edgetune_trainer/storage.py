"""Object store client.

The trainer runs on pool machines without database credentials; all large files move through
this object store. `STORAGE_URL` selects the backend, with the same key layout as the TypeScript
`packages/storage`, so both sides see the same objects:

- `file:///abs/path`: a key maps to `<root>/<key>`; writes land atomically by rename.
- `s3://bucket/prefix`: a key maps to `<prefix>/<key>` in the bucket, through boto3 (multipart
  transfers for large files); `S3_ENDPOINT`, `S3_REGION`, `S3_FORCE_PATH_STYLE` and the usual AWS
  credential variables configure it, as for the TypeScript side.

A training pool on another machine sets `PLATFORM_URL` instead and holds no store keys: each
activity carries its job's storage grant (`use_grant`), and every object is reached through the
platform's broker (`POST /api/v1/storage/broker`), which answers with a presigned URL (or its own
route on a filesystem store); the bytes go straight between this machine and the store.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
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
    "use_grant",
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


# The storage grant of the activity this thread runs (set by the activity, read by _backend).
_grant: contextvars.ContextVar[str | None] = contextvars.ContextVar("edgetune_storage_grant", default=None)


def use_grant(grant: str | None) -> None:
    """The job's storage grant for this activity's storage calls (brokered mode only)."""
    _grant.set(grant)


def brokered() -> bool:
    """True on a pool machine that reaches objects through the platform (PLATFORM_URL set)."""
    return bool(os.environ.get("PLATFORM_URL", "").strip())


def check_config() -> None:
    """Fail early, naming the variable, when `STORAGE_URL` is missing or malformed."""
    if brokered():
        url = os.environ["PLATFORM_URL"].strip()
        if urlparse(url).scheme not in ("http", "https"):
            raise StorageError(f"PLATFORM_URL must be an http(s):// URL, got {url!r}")
        return
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


class BrokerError(StorageError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# A call rides out a platform that restarts or refuses for now (5xx, 429, unreachable).
_RETRY_FOR_S = 120.0
_CHUNK = 1024 * 1024


class _BrokerBackend:
    def __init__(self, platform_url: str, grant: str) -> None:
        self.base = platform_url.rstrip("/")
        self.grant = grant

    def _call(self, body: dict[str, object]) -> dict:
        started = time.monotonic()
        backoff = 0.5
        while True:
            req = urllib.request.Request(
                f"{self.base}/api/v1/storage/broker",
                data=json.dumps(body).encode(),
                method="POST",
                headers={"authorization": f"Bearer {self.grant}", "content-type": "application/json"},
            )
            try:
                with urllib.request.urlopen(req, timeout=60) as res:
                    return dict(json.loads(res.read()))
            except urllib.error.HTTPError as e:
                text = e.read().decode("utf-8", "replace")
                if e.code < 500 and e.code != 429:
                    try:
                        text = json.loads(text)["error"]["message"]
                    except Exception:  # noqa: BLE001 - not JSON: keep the text
                        pass
                    what = body.get("key", body.get("prefix"))
                    raise BrokerError(e.code, f"storage {body['op']} {what}: {e.code} {text}") from e
                if time.monotonic() - started > _RETRY_FOR_S:
                    raise BrokerError(e.code, f"storage {body['op']}: {e.code} {text[:300]}") from e
            except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
                if time.monotonic() - started > _RETRY_FOR_S:
                    raise StorageError(f"the platform at {self.base} is unreachable: {e}") from e
            time.sleep(backoff)
            backoff = min(backoff * 2, 10.0)

    def _target(self, t: dict) -> tuple[str, dict[str, str]]:
        if t["platform"]:
            return f"{self.base}{t['url']}", {"authorization": f"Bearer {self.grant}"}
        return str(t["url"]), {}

    @staticmethod
    def _send(url: str, headers: dict[str, str], f: BinaryIO, length: int) -> str:
        # A presigned PUT needs its Content-Length (S3 refuses chunked bodies).
        req = urllib.request.Request(
            url,
            data=f,
            method="PUT",
            headers={**headers, "content-length": str(length), "content-type": "application/octet-stream"},
        )
        try:
            with urllib.request.urlopen(req, timeout=600) as res:
                res.read()
                return str(res.headers.get("etag") or "")
        except urllib.error.HTTPError as e:
            raise BrokerError(e.code, f"upload failed: {e.code} {e.read().decode('utf-8', 'replace')[:300]}") from e

    def exists(self, key: str) -> bool:
        try:
            self._call({"op": "head", "key": _check_key(key)})
            return True
        except BrokerError as e:
            if e.status == 404:
                return False
            raise

    def get_file(self, key: str, dest: Path) -> None:
        try:
            t = self._call({"op": "get", "key": _check_key(key)})
        except BrokerError as e:
            if e.status == 404:
                raise StorageError(f"object not found: {key}") from e
            raise
        url, headers = self._target(t)
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=600) as res:
            _atomic_write(dest, lambda out: shutil.copyfileobj(res, out, _CHUNK))
        if dest.stat().st_size != int(t["size_bytes"]):
            raise StorageError(f"size mismatch after download of {key}")

    def put_file(self, src: Path, key: str, part_bytes: int | None = None) -> None:
        size = src.stat().st_size
        body: dict[str, object] = {"op": "put", "key": _check_key(key), "size_bytes": size}
        if part_bytes:
            body["part_bytes"] = part_bytes
        t = self._call(body)
        if "url" in t:
            url, headers = self._target(t)
            with open(src, "rb") as f:
                self._send(url, headers, f, size)
            return
        # In parts: S3 makes the object visible only once the platform joins them.
        step = int(t["part_bytes"])
        try:
            etags: list[dict[str, object]] = []
            with open(src, "rb") as f:
                for i, url in enumerate(t["urls"]):
                    length = min(step, size - i * step)
                    etag = self._send(str(url), {}, _Window(f, i * step, length), length)
                    if not etag:
                        raise StorageError(f"the object store returned no ETag for part {i + 1} of {key}")
                    etags.append({"part_number": i + 1, "etag": etag})
            self._call({"op": "complete", "key": key, "upload_id": t["upload_id"], "parts": etags})
        except BaseException:
            try:
                self._call({"op": "abort", "key": key, "upload_id": t["upload_id"]})
            except Exception:  # noqa: BLE001 - the first failure is the one to report
                pass
            raise

    def read_bytes(self, key: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="edgetune-get-") as tmp:
            dest = Path(tmp) / "object"
            self.get_file(key, dest)
            return dest.read_bytes()

    def write_bytes(self, key: str, data: bytes) -> None:
        with tempfile.TemporaryDirectory(prefix="edgetune-put-") as tmp:
            src = Path(tmp) / "object"
            src.write_bytes(data)
            self.put_file(src, key)

    def list_keys(self, prefix: str) -> list[str]:
        return [str(o["key"]) for o in self._call({"op": "list", "prefix": prefix})["objects"]]

    def delete_prefix(self, prefix: str) -> None:
        self._call({"op": "delete_prefix", "prefix": prefix})


class _Window:
    """A byte range of an open file, read as a request body."""

    def __init__(self, f: BinaryIO, start: int, length: int) -> None:
        self.f, self.start, self.left = f, start, length
        self.f.seek(start)

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        n = self.left if n < 0 else min(n, self.left)
        chunk = self.f.read(n)
        self.left -= len(chunk)
        return chunk


_backends: dict[str, _FsBackend | _S3Backend] = {}


def _backend() -> _FsBackend | _S3Backend | _BrokerBackend:
    if brokered():
        grant = _grant.get()
        if not grant:
            raise StorageError(
                "this trainer reaches objects through the platform (PLATFORM_URL is set), but the activity "
                "carries no storage grant: the job was started before grants existed"
            )
        return _BrokerBackend(os.environ["PLATFORM_URL"].strip(), grant)
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
