"""Puts the catalog's builtin base models in the object store, on the platform's side.

A training pool on another machine (PLATFORM_URL set) writes only with a job's storage grant, so
it cannot stage them when it starts; the platform runs this once instead, with STORAGE_URL:

    python -m edgetune_trainer.stage
"""

from __future__ import annotations

from . import models, storage
from .logs import logger


def main() -> None:
    storage.check_config()
    if storage.brokered():
        raise SystemExit("edgetune_trainer.stage runs on the platform, with STORAGE_URL; unset PLATFORM_URL")
    staged = models.stage_builtin_models()
    logger.info("builtin base models in the store", extra={"staged": staged})


if __name__ == "__main__":
    main()
