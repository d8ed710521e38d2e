"""Temporal activities of the trainer (queue `train.<pool>`).

Names come from packages/temporal/activity-names.json (see activity_names); argument and result
shapes follow packages/temporal/src/activities.ts: one dict argument
with camelCase keys in, one dict out. Activities are synchronous (torch work) and run in the
worker's thread pool.

Cancellation: Temporal only delivers a cancel to an activity that heartbeats. `trainer.train`
heartbeats every step and polls `activity.is_cancelled()` between steps; the other activities
heartbeat from a background thread and stop at their next step boundary (`_stop_if_cancelled`).
None of them lets the SDK inject CancelledError into a thread (`no_thread_cancel_exception=True`):
an exception raised asynchronously into a thread can land anywhere, and one that landed in a
heartbeat thread still starting up (thread ids are reused) left the activity blocked forever in
`Thread.start()` and the trainer serving nothing more.
"""

from __future__ import annotations

import contextvars
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, CancelledError

from . import activity_names, models, storage
from . import evaluate as evaluate_mod
from . import export as export_mod
from . import train as train_mod
from . import validate as validate_mod
from .logs import job_id_var, logger

HEARTBEAT_INTERVAL_S = 5.0


@contextmanager
def _background_heartbeat(interval_s: float = HEARTBEAT_INTERVAL_S) -> Iterator[None]:
    """Heartbeat from a side thread while the activity thread does long blocking work."""
    stop = threading.Event()
    ctx = contextvars.copy_context()  # activity.heartbeat() finds its activity via contextvars

    def loop() -> None:
        while not stop.wait(interval_s):
            try:
                ctx.run(activity.heartbeat)
            except Exception:  # noqa: BLE001 - a failed heartbeat must not kill the work
                logger.warning("heartbeat failed", exc_info=True)

    activity.heartbeat()
    t = threading.Thread(target=loop, name="edgetune-heartbeat", daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join(timeout=interval_s + 1)


def _stop_if_cancelled() -> None:
    if activity.is_cancelled():
        raise CancelledError("the job was cancelled")


def _begin(inp: dict[str, Any], name: str) -> None:
    """Tag this activity's log lines with its job id, take its storage grant, log the start."""
    job_id_var.set(str(inp.get("jobId", "")))
    storage.use_grant(inp.get("storageGrant"))
    logger.info("%s started", name)


@activity.defn(name=activity_names.TRAINER["validateDataset"], no_thread_cancel_exception=True)
def validate_dataset(inp: dict[str, Any]) -> dict[str, Any]:
    _begin(inp, "validate_dataset")
    with _background_heartbeat(), tempfile.TemporaryDirectory(prefix="edgetune-val-") as tmp:
        base_dir = models.resolve_base_model(inp["baseModel"])
        tokenizer = models.load_tokenizer(base_dir)
        train_path = storage.get_file(inp["trainKey"], Path(tmp) / "train.jsonl")
        eval_path = storage.get_file(inp["evalKey"], Path(tmp) / "eval.jsonl")
        _stop_if_cancelled()
        out = validate_mod.validate_dataset(
            tokenizer=tokenizer,
            train_path=train_path,
            eval_path=eval_path,
            max_seq_len=int(inp["maxSeqLen"]),
            context_length=int(inp["baseModel"].get("contextLength") or 0),
            objective=str(inp.get("objective") or "sft"),
        )
    _stop_if_cancelled()
    logger.info("validate_dataset finished", extra={"ok": out["ok"], "errors": len(out["errors"])})
    return out


@activity.defn(name=activity_names.TRAINER["train"], no_thread_cancel_exception=True)
def train(inp: dict[str, Any]) -> dict[str, Any]:
    _begin(inp, "train")
    output_prefix = str(inp["outputPrefix"]).rstrip("/")
    done = train_mod.existing_result(output_prefix)
    if done is not None:
        # Idempotent retry after a completed run (e.g. the completion was lost).
        logger.info("train already completed; returning stored result")
        return done
    resume_from: str | None = None
    resume_details: dict[str, Any] | None = None
    details = activity.info().heartbeat_details
    if details and isinstance(details[0], dict) and details[0].get("checkpointKey"):
        resume_details = details[0]
        resume_from = str(resume_details["checkpointKey"])
        logger.info("resuming from checkpoint", extra={"checkpointKey": resume_from})

    def keepalive() -> None:
        # Before the first step: repeat the details that carry the resume point, never drop them.
        activity.heartbeat(*([resume_details] if resume_details else []))

    def progress(record: dict[str, Any]) -> None:
        activity.heartbeat(record)
        if record["step"] % 10 == 0 or record["step"] == record["totalSteps"]:
            logger.info("train step", extra={"progress": record})

    def should_stop() -> bool:
        return activity.is_cancelled() or activity.is_worker_shutdown()

    try:
        hyperparameters = train_mod.require_settings(dict(inp.get("hyperparameters") or {}))
    except train_mod.IncompleteSettingsError as e:
        # A retry would get the same input: fail the job now, with the missing setting named.
        raise ApplicationError(str(e), type="IncompleteSettings", non_retryable=True) from e

    with tempfile.TemporaryDirectory(prefix="edgetune-train-") as tmp:
        if resume_from is None:
            # Not on a resumed attempt: a heartbeat without details would replace the ones that
            # carry the checkpoint key, and a stop before the first step would lose the resume point.
            activity.heartbeat()
        base_dir = models.resolve_base_model(inp["baseModel"])
        train_path = storage.get_file(inp["trainKey"], Path(tmp) / "train.jsonl")
        try:
            out = train_mod.train(
                base_model_dir=base_dir,
                train_path=train_path,
                hyperparameters=hyperparameters,
                output_prefix=output_prefix,
                progress=progress,
                should_cancel=should_stop,
                resume_from=resume_from,
                checkpoint_on_stop=lambda: not activity.is_cancelled(),
                keepalive=keepalive,
            )
        except train_mod.TrainingCancelled as e:
            if activity.is_cancelled():
                logger.info("train cancelled", extra={"reason": str(e)})
                raise CancelledError(str(e)) from e
            # Worker shutdown: fail retryably; the next attempt resumes from the last checkpoint
            # carried in the heartbeat details.
            raise ApplicationError(f"worker shutting down: {e}", type="WorkerShutdown") from e
    logger.info("train finished", extra={"result": out})
    return out


@activity.defn(name=activity_names.TRAINER["evaluate"], no_thread_cancel_exception=True)
def evaluate(inp: dict[str, Any]) -> dict[str, Any]:
    _begin(inp, "evaluate")
    with _background_heartbeat(), tempfile.TemporaryDirectory(prefix="edgetune-eval-") as tmp:
        _stop_if_cancelled()
        base_dir = models.resolve_base_model(inp["baseModel"])
        out = evaluate_mod.evaluate(
            base_model_dir=base_dir,
            trained_prefix=str(inp["trainedPrefix"]),
            method=str(inp["method"]),
            eval_path=storage.get_file(inp["evalKey"], Path(tmp) / "eval.jsonl"),
            max_new_tokens=int(inp.get("maxNewTokens") or 32),
            objective=str(inp.get("objective") or "sft"),
            beta=None if inp.get("beta") is None else float(inp["beta"]),
        )
    _stop_if_cancelled()
    logger.info("evaluate finished", extra={"result": out})
    return out


@activity.defn(name=activity_names.TRAINER["exportGguf"], no_thread_cancel_exception=True)
def export_gguf(inp: dict[str, Any]) -> dict[str, Any]:
    _begin(inp, "export_gguf")
    with _background_heartbeat():
        _stop_if_cancelled()
        base_dir = models.resolve_base_model(inp["baseModel"])
        out = export_mod.export_gguf(
            base_model_dir=base_dir,
            trained_prefix=str(inp["trainedPrefix"]),
            method=str(inp["method"]),
            output_prefix=str(inp["outputPrefix"]),
            eval_key=inp.get("evalKey"),
        )
    logger.info("export_gguf finished", extra={"result": {k: v for k, v in out.items() if k not in ("chatTemplate", "promptTokenIds")}})
    return out


ALL_ACTIVITIES = [validate_dataset, train, evaluate, export_gguf]
