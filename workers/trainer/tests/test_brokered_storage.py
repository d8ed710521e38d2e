"""A training pool without store keys (PLATFORM_URL set): every storage call of the trainer goes
through the platform's storage broker with the job's grant, against the broker's real routes
(packages/api/src/testing/broker-server.ts, started as a process) on both stores: the filesystem,
where the platform streams the bytes, and the test run's S3 server, through presigned URLs
(skipped without it unless EDGETUNE_REQUIRE_S3=1)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgetune_trainer import storage

ROOT = Path(__file__).resolve().parents[3]
READ = "base-models/m"
WRITE = "orgs/o/jobs/j"


def _s3_env() -> dict[str, str] | None:
    names = ["ENDPOINT", "BUCKET", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY"]
    if all(os.environ.get(f"EDGETUNE_TEST_S3_{n}") for n in names):
        return {
            "S3_ENDPOINT": os.environ["EDGETUNE_TEST_S3_ENDPOINT"],
            "AWS_ACCESS_KEY_ID": os.environ["EDGETUNE_TEST_S3_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": os.environ["EDGETUNE_TEST_S3_SECRET_ACCESS_KEY"],
        }
    if os.environ.get("EDGETUNE_REQUIRE_S3") == "1":
        pytest.fail("EDGETUNE_TEST_S3_* not set: the S3 server of the test run is required")
    pytest.skip("no S3 server named by EDGETUNE_TEST_S3_*")


@pytest.fixture(params=["filesystem", "s3"])
def broker(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    s3 = _s3_env() if request.param == "s3" else None
    where = "s3" if s3 else f"file://{tmp_path / 'objects'}"
    proc = subprocess.Popen(
        [str(ROOT / "node_modules" / ".bin" / "tsx"), "packages/api/src/testing/broker-server.ts", where, READ, WRITE],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "LOG_LEVEL": "warn"},
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())

        def direct() -> None:
            # The store itself, with its keys: how the test seeds and checks objects.
            monkeypatch.delenv("PLATFORM_URL", raising=False)
            monkeypatch.setenv("STORAGE_URL", info["store_url"])
            for k, v in (s3 or {}).items():
                monkeypatch.setenv(k, v)

        def brokered() -> None:
            # The pool machine: the platform's URL and the activity's grant, nothing of the store.
            for k in ["STORAGE_URL", *(s3 or {})]:
                monkeypatch.delenv(k, raising=False)
            monkeypatch.setenv("PLATFORM_URL", info["url"])
            storage.use_grant(info["grant"])

        yield {"direct": direct, "brokered": brokered}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        storage.use_grant(None)


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_the_trainer_reads_the_base_model_and_writes_its_job_through_the_broker(broker: dict, tmp_path: Path) -> None:
    broker["direct"]()
    storage.write_bytes(f"{READ}/config.json", b'{"model": true}')
    storage.write_bytes(f"{READ}/tokenizer/vocab.json", b"{}")
    storage.write_bytes("orgs/other/jobs/x/secret.txt", b"not yours")

    broker["brokered"]()
    storage.check_config()
    assert storage.exists(f"{READ}/config.json")
    got = storage.get_prefix(READ, tmp_path / "model")
    assert sorted(p.relative_to(tmp_path / "model").as_posix() for p in got) == ["config.json", "tokenizer/vocab.json"]
    assert storage.read_bytes(f"{READ}/config.json") == b'{"model": true}'

    storage.write_bytes(f"{WRITE}/train/state.json", b'{"step": 3}')
    src = tmp_path / "adapter"
    (src / "sub").mkdir(parents=True)
    (src / "a.bin").write_bytes(os.urandom(1000))
    (src / "sub" / "b.json").write_bytes(b"{}")
    storage.put_dir(src, f"{WRITE}/checkpoints/step-3")
    kept = [f"{WRITE}/checkpoints/step-3/a.bin", f"{WRITE}/checkpoints/step-3/sub/b.json"]
    assert storage.list_keys(f"{WRITE}/checkpoints") == kept
    storage.delete_prefix(f"{WRITE}/checkpoints/step-3")
    assert storage.list_keys(f"{WRITE}/checkpoints") == []
    assert not storage.exists(f"{WRITE}/absent.json")

    broker["direct"]()
    assert storage.read_bytes(f"{WRITE}/train/state.json") == b'{"step": 3}'


def test_a_large_file_goes_up_in_parts_byte_for_byte(broker: dict, tmp_path: Path) -> None:
    src = tmp_path / "model.safetensors"
    src.write_bytes(os.urandom(11 * 1024 * 1024 + 3))
    broker["brokered"]()
    # Parts of 5 MiB: three parts on S3 (joined by the platform); one platform PUT on the filesystem.
    storage._backend().put_file(src, f"{WRITE}/export/model.safetensors", part_bytes=5 * 1024 * 1024)
    storage.put_file(src, f"{WRITE}/export/one-put.safetensors")
    for key in ("model.safetensors", "one-put.safetensors"):
        out = storage.get_file(f"{WRITE}/export/{key}", tmp_path / "back" / key)
        assert _sha(out) == _sha(src)


def test_outside_its_grant_nothing_exists_for_the_trainer(broker: dict, tmp_path: Path) -> None:
    broker["direct"]()
    storage.write_bytes("orgs/other/jobs/x/secret.txt", b"not yours")
    broker["brokered"]()
    assert not storage.exists("orgs/other/jobs/x/secret.txt")
    with pytest.raises(storage.StorageError, match="object not found"):
        storage.get_file("orgs/other/jobs/x/secret.txt", tmp_path / "stolen")
    with pytest.raises(storage.BrokerError) as e:
        storage.write_bytes("orgs/other/jobs/x/secret.txt", b"overwritten")
    assert e.value.status == 404
    with pytest.raises(storage.BrokerError) as e:
        storage.write_bytes(f"{READ}/config.json", b"{}")
    assert e.value.status == 404 and "within this job's storage grant" in str(e.value)
    storage.use_grant("etg_forged.grant")
    with pytest.raises(storage.BrokerError) as e:
        storage.exists(f"{READ}/config.json")
    assert e.value.status == 401
    broker["direct"]()
    assert storage.read_bytes("orgs/other/jobs/x/secret.txt") == b"not yours"
