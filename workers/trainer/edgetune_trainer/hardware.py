"""Where training runs: CUDA when a GPU is present, the CPU otherwise; bf16 compute where the
hardware has it; and the record of that hardware and its peak memory that the job keeps.

EDGETUNE_TRAIN_DEVICE=cpu keeps a GPU machine on the CPU (to compare, or to leave the GPU free).
EDGETUNE_TRAIN_BF16=0 keeps compute in float32 where bf16 would be used (auto, the default: GPUs
that support bf16, and CPUs with native bf16 instructions - AVX512-BF16 or AMX).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import resource
from typing import Any

import torch


def train_device() -> torch.device:
    wanted = os.environ.get("EDGETUNE_TRAIN_DEVICE", "auto").strip().lower()
    if wanted not in ("auto", "cpu", "cuda"):
        raise ValueError(f"EDGETUNE_TRAIN_DEVICE must be auto, cpu or cuda, got {wanted!r}")
    if wanted == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("EDGETUNE_TRAIN_DEVICE=cuda but torch sees no CUDA device")
    if wanted != "cpu" and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def _cpu_has_bf16() -> bool:
    # oneDNN's own check for native bf16 instructions; without them bf16 is emulated and slower.
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def uses_bf16(device: torch.device) -> bool:
    wanted = os.environ.get("EDGETUNE_TRAIN_BF16", "auto").strip().lower()
    if wanted not in ("auto", "0", "1"):
        raise ValueError(f"EDGETUNE_TRAIN_BF16 must be auto, 0 or 1, got {wanted!r}")
    if wanted == "0":
        return False
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return _cpu_has_bf16()


def autocast(device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """bf16 compute where the hardware has it; trained weights and optimizer state stay float32.
    On a CPU with native bf16 instructions a step of the LFM2-350M configuration took 2.4x
    (LoRA) to 2.7x (full) less time than in float32 on this machine's AMD EPYC."""
    if uses_bf16(device):
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def frozen_linears_to_bf16(model: Any) -> int:
    """Stores the frozen weights of linear layers in bf16 (LoRA's base). Under autocast they are
    cast to bf16 on every use anyway; stored so, the casts go (a LoRA step of the LFM2-350M
    configuration: 12 % less time) and the base takes half the memory. The input embedding stays
    float32 (and so does an output projection tied to it), so the residual stream stays float32.
    Returns the number of weights converted."""
    embedding = model.get_input_embeddings().weight
    n = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            w = module.weight
            if not w.requires_grad and w is not embedding and w.dtype == torch.float32:
                w.data = w.data.to(torch.bfloat16)
                n += 1
    return n


def cores() -> int:
    """The CPU cores this process may use: its affinity, bounded by a container's CPU quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="utf-8") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            n = min(n, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    if device.type == "cpu":
        return batch
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def model_device(model: Any) -> torch.device:
    return next(model.parameters()).device


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _cgroup_limit() -> int | None:
    """The container's memory limit (cgroup v2, then v1), when there is one."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, encoding="utf-8") as f:
                value = f.read().strip()
        except OSError:
            continue
        if value.isdigit() and int(value) < 2**60:
            return int(value)
    return None


def memory_bytes(device: torch.device) -> int:
    """What a training run may use here: the GPU's memory on CUDA, otherwise RAM (or the container's
    limit). TRAIN_MEMORY_BYTES overrides it, e.g. for a trainer that shares its machine."""
    override = os.environ.get("TRAIN_MEMORY_BYTES", "").strip()
    if override:
        if not override.isdigit() or int(override) <= 0:
            raise ValueError(f"TRAIN_MEMORY_BYTES must be a positive number of bytes, got {override!r}")
        return int(override)
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    limit = _cgroup_limit()
    return min(ram, limit) if limit else ram


# glibc's mallopt parameter for the size from which allocations get their own mapping.
_M_MMAP_THRESHOLD = -3
ALLOCATOR_MMAP_THRESHOLD = 4 << 20


def predictable_allocator() -> bool:
    """Tensors of 4 MiB and more get their own memory mapping, returned to the system when freed.

    glibc raises that threshold on its own as large blocks are freed (up to 32 MiB), after which
    activations land in the heap, which fragments and never shrinks: the same LoRA run on the
    LFM2-350M configuration peaked anywhere between 5.8 and 8.2 GiB from run to run, and at
    4.7-4.9 GiB every time with the fixed threshold (`npm run bench:train-memory`). A memory plan
    is only as good as the memory is predictable. The price is page faults on every fresh mapping:
    8 % on fixed-length steps, but packed LoRA steps of changing shapes took 21 s instead of
    10-11 s in this machine's VM (heap-only, whose peak grew past 13 GiB meanwhile). Returns
    whether the setting took (False off glibc)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, ALLOCATOR_MMAP_THRESHOLD))
    except (OSError, AttributeError):
        return False


def peak_rss_bytes() -> int:
    """The process's peak resident set so far (ru_maxrss is in KiB on Linux)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def describe(device: torch.device) -> dict[str, Any]:
    """The hardware that trained, with its peak memory since reset_peak (GPU: allocated by torch;
    CPU: the process's peak resident set)."""
    host = platform.node()
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return {
            "device": "cuda",
            "name": torch.cuda.get_device_name(device),
            "count": torch.cuda.device_count(),
            "memoryBytes": int(props.total_memory),
            "bf16": uses_bf16(device),
            "peakMemoryBytes": int(torch.cuda.max_memory_allocated(device)),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "host": host,
        }
    return {
        "device": "cpu",
        "name": _cpu_model(),
        "count": os.cpu_count() or 1,
        "threads": torch.get_num_threads(),
        "bf16": uses_bf16(device),
        "peakMemoryBytes": peak_rss_bytes(),
        "torch": torch.__version__,
        "host": host,
    }
