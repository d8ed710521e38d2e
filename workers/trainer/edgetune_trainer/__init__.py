"""edgetune trainer: Temporal worker for LFM2 fine-tuning (validate, train, evaluate, export)."""

__version__ = "0.1.0"
