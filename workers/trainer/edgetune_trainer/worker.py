"""Trainer worker process: `python -m edgetune_trainer.worker`.

Environment:
  TEMPORAL_ADDRESS    default 127.0.0.1:7233
  TEMPORAL_NAMESPACE  default `default`
  TRAIN_POOL          task queue `train.<pool>`, default `local`
  TRAIN_THREADS       torch intra-op threads, default = the cores this process may use
  TRAIN_CONCURRENCY   activities at once, default 1 (a pool machine trains one job at a time)
  STORAGE_URL, LLAMA_CPP_DIR, EDGETUNE_CACHE_DIR, EDGETUNE_MODEL_DIR, HF_HUB_OFFLINE
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from .logs import logger, setup_logging


def temporal_connect_options() -> dict:
    """TLS / mTLS (TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA) or an API key
    (TEMPORAL_API_KEY) for a training pool that reaches Temporal on another machine."""
    from temporalio.service import TLSConfig

    def read(name: str) -> bytes | None:
        path = os.environ.get(name)
        return open(path, "rb").read() if path else None

    cert, key, ca = read("TEMPORAL_TLS_CERT"), read("TEMPORAL_TLS_KEY"), read("TEMPORAL_TLS_CA")
    if (cert is None) != (key is None):
        raise SystemExit("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (a client certificate and its key)")
    api_key = os.environ.get("TEMPORAL_API_KEY") or None
    options: dict = {}
    if cert or ca:
        options["tls"] = TLSConfig(client_cert=cert, client_private_key=key, server_root_ca_cert=ca)
    elif api_key:
        options["tls"] = True
    if api_key:
        options["api_key"] = api_key
    return options


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as e:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from e
    if value < 1:
        raise SystemExit(f"{name} must be >= 1, got {raw!r}")
    return value


def configure_torch() -> int:
    import torch

    from . import hardware

    # One thread per core the pool gives this process (affinity, container quota): more threads
    # than cores contend, fewer leave cores idle.
    threads = _int_env("TRAIN_THREADS", hardware.cores())
    torch.set_num_threads(threads)
    return threads


def _stage_builtin_models() -> None:
    """Puts the builtin base models (weights and tokenizer) in the object store in the background,
    so dataset validation can count tokens before any job ran. A failure is logged, not fatal:
    the first job that needs the model stages it again."""
    from . import models

    try:
        staged = models.stage_builtin_models()
        if staged:
            logger.info("staged builtin base models", extra={"models": staged})
    except Exception:  # noqa: BLE001 - any failure here must not stop the worker
        logger.exception("staging builtin base models failed")


async def run() -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    from . import storage
    from .activities import ALL_ACTIVITIES

    address = os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233")
    namespace = os.environ.get("TEMPORAL_NAMESPACE", "default")
    queue = f"train.{os.environ.get('TRAIN_POOL', 'local')}"
    concurrency = _int_env("TRAIN_CONCURRENCY", 1)
    storage.check_config()  # fail at start, naming STORAGE_URL (or PLATFORM_URL), when it is missing or unsupported
    from . import hardware

    hardware.predictable_allocator()
    threads = configure_torch()
    # A pool that reaches objects through the platform writes only with a job's grant: the
    # platform stages the builtin models itself (python -m edgetune_trainer.stage).
    staging = None if storage.brokered() else asyncio.get_running_loop().run_in_executor(None, _stage_builtin_models)

    # The platform reads the trainer's memory from its identity to refuse jobs that cannot fit
    # the pool (packages/api/src/jobs/memory.ts).
    # bf16=1: it computes in bf16, which the plan counts as less memory.
    device = hardware.train_device()
    identity = (
        f"{os.getpid()}@{socket.gethostname()} memory={hardware.memory_bytes(device)}"
        f" bf16={int(hardware.uses_bf16(device))}"
    )
    client = await Client.connect(address, namespace=namespace, identity=identity, **temporal_connect_options())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    with ThreadPoolExecutor(max_workers=concurrency + 1) as executor:
        worker = Worker(
            client,
            task_queue=queue,
            activities=ALL_ACTIVITIES,
            activity_executor=executor,
            max_concurrent_activities=concurrency,
            # On shutdown running activities see is_worker_shutdown(); train checkpoints and
            # fails retryably so another worker resumes it.
            graceful_shutdown_timeout=timedelta(seconds=30),
            # Heartbeats carry live progress (step, loss) that the portal shows; the SDK's
            # default throttle (up to 60 s) would make it lag behind training by a minute.
            max_heartbeat_throttle_interval=timedelta(seconds=2),
            default_heartbeat_throttle_interval=timedelta(seconds=2),
        )
        logger.info(
            "trainer worker started",
            extra={"address": address, "namespace": namespace, "taskQueue": queue, "threads": threads},
        )
        run_task = asyncio.create_task(worker.run())
        stop_task = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({run_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        if stop_task in done:
            logger.info("shutdown signal received; stopping worker")
            await worker.shutdown()
        await run_task
    if staging is not None:
        await staging
    logger.info("trainer worker stopped")


def main() -> None:
    setup_logging(os.environ.get("LOG_LEVEL", "INFO"))
    asyncio.run(run())


if __name__ == "__main__":
    main()
