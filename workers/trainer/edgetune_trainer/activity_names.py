"""The trainer's Temporal activity names, read from the platform's one declaration of them
(packages/temporal/activity-names.json, which the workflow that calls these activities imports
too), so the caller and this worker cannot drift apart. A missing file or name stops the worker
at start with a message naming what is missing.

EDGETUNE_ACTIVITY_NAMES points at the file where the trainer runs outside a checkout.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

# The keys the trainer implements; the JSON maps each to its activity type name.
KEYS = ("validateDataset", "train", "evaluate", "exportGguf")


def names_file() -> Path:
    env = os.environ.get("EDGETUNE_ACTIVITY_NAMES", "").strip()
    return Path(env) if env else Path(__file__).resolve().parents[3] / "packages" / "temporal" / "activity-names.json"


def load(path: Path) -> dict[str, str]:
    """The trainer's names from `path`: {key: activity type name} for every key of KEYS."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise RuntimeError(f"activity names file {path} not found (set EDGETUNE_ACTIVITY_NAMES)") from e
    except json.JSONDecodeError as e:
        raise RuntimeError(f"activity names file {path} is not JSON: {e}") from e
    trainer = raw.get("trainer") if isinstance(raw, dict) else None
    if not isinstance(trainer, dict):
        raise RuntimeError(f"activity names file {path} has no 'trainer' object")
    missing = [k for k in KEYS if not isinstance(trainer.get(k), str) or not trainer[k]]
    if missing:
        raise RuntimeError(f"activity names file {path} names no trainer activity for: {', '.join(missing)}")
    return {k: trainer[k] for k in KEYS}


TRAINER = load(names_file())
