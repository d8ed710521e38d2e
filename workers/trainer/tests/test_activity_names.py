"""The trainer serves exactly the activity names of the platform's one declaration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.activity import _Definition

from edgetune_trainer import activities, activity_names


def test_registered_names_are_the_declared_ones() -> None:
    declared = json.loads(activity_names.names_file().read_text(encoding="utf-8"))["trainer"]
    registered = {_Definition.must_from_callable(fn).name for fn in activities.ALL_ACTIVITIES}
    # Both directions: a name added to the declaration must be served, and the worker serves nothing undeclared.
    assert registered == set(declared.values())
    assert set(declared) == set(activity_names.KEYS)


def test_a_missing_file_or_name_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not found"):
        activity_names.load(tmp_path / "absent.json")
    f = tmp_path / "names.json"
    f.write_text(json.dumps({"trainer": {"validateDataset": "v", "train": "t", "evaluate": ""}}))
    with pytest.raises(RuntimeError, match=r"names no trainer activity for: evaluate, exportGguf$"):
        activity_names.load(f)
    f.write_text(json.dumps({"device": {}}))
    with pytest.raises(RuntimeError, match="has no 'trainer' object"):
        activity_names.load(f)
