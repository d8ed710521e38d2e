"""Complete settings for training lfm2-tiny in tests, as the orchestrator sends them.

The trainer fills in nothing, so every test run names every setting. The numbers are the model
catalog's for lfm2-tiny where a recipe was measured (tiny_model.LORA_RECIPE, DPO_RECIPES);
batch size, rank, alpha, sequence length and seed are the ones these tests always used.
"""

from __future__ import annotations

from typing import Any

from edgetune_trainer import tiny_model

BASE: dict[str, Any] = {
    "objective": "sft",
    "epochs": 3,
    "batchSize": 8,
    "loraRank": 16,
    "loraAlpha": 32,
    "maxSeqLen": 256,
    "seed": 42,
}

# Full fine-tuning updates every weight and wants a smaller step than the LoRA recipe's.
FULL_LR = 5e-4


def settings(method: str, **over: Any) -> dict[str, Any]:
    """Supervised settings for `method` ('full' or 'lora'), with `over` on top."""
    recipe = {"learningRate": FULL_LR} if method == "full" else dict(tiny_model.LORA_RECIPE)
    return {**BASE, "method": method, **recipe, **over}


def dpo_settings(method: str, **over: Any) -> dict[str, Any]:
    """Preference-tuning settings for `method`, with the measured DPO recipe and beta 0.1."""
    return {**BASE, "method": method, "objective": "dpo", "beta": 0.1, **tiny_model.DPO_RECIPES[method], **over}


def quick_lora(**over: Any) -> dict[str, Any]:
    """Generic LoRA settings (learning rate 2e-3, alpha 32) for tests of the mechanics, not of learning."""
    return {**BASE, "method": "lora", "learningRate": 2e-3, **over}
