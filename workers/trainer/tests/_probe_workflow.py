"""A minimal Python workflow that calls the trainer activities by name, like the TS workflow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityCancellationType


@workflow.defn(name="edgetuneTrainerProbe")
class TrainerProbe:
    @workflow.run
    async def run(self, inp: dict[str, Any]) -> dict[str, Any]:
        validated = await workflow.execute_activity(
            "trainer.validate_dataset",
            inp["validate"],
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=30),
        )
        trained = await workflow.execute_activity(
            "trainer.train",
            inp["train"],
            start_to_close_timeout=timedelta(minutes=10),
            heartbeat_timeout=timedelta(seconds=2),
            retry_policy=RetryPolicy(maximum_attempts=1),
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        return {"validate": validated, "train": trained}
