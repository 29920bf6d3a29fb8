"""Estimate a run's peak memory before allocating, and refuse (with a size that fits) what cannot fit."""

from __future__ import annotations

import math
import os

import torch

from .errors import OutOfMemoryError
from .layers import deepest, up_to
USABLE = 0.85  # share of the free memory a run may plan to use
HOST_BASELINE = 800 * 2**20  # a CPU run's resident memory before any image: torch, libraries, weights (bench/memory.py)


def _responses(width: int, height: int, layers):
    """(layer name, channels, floats) of every response up to the deepest of `layers`."""
    for layer in up_to(deepest(layers)):
        f = layer.stride
        yield layer.name, layer.channels, layer.channels * math.ceil(height / f) * math.ceil(width / f)


def estimate(width: int, height: int, layers, history: int, host: bool = True) -> int:
    """Peak bytes of one fp32 synthesis: activations kept for the backward pass, the backward's
    transient gradients, L-BFGS's history (2 x history image-sized vectors) and the network; on the
    host (CPU runs) also the process's baseline."""
    acts, largest, params = 0, 0, 0
    channels_in = 3
    for name, channels, n in _responses(width, height, layers):
        acts += n * (2 if name.endswith("_1") and name != "conv1_1" else 1)  # + the pooled input of the block
        largest = max(largest, n)
        params += channels * (channels_in * 9 + 1)
        channels_in = channels
    pixels = 3 * width * height
    floats = acts + 3 * largest + (2 * history + 8) * pixels
    return int(4 * (floats * 1.15 + 2 * params)) + 64 * 2**20 + (HOST_BASELINE if host else 0)


def estimate_targets(width: int, height: int, layers) -> int:
    """Peak bytes of computing targets (forward only, nothing kept for a backward pass)."""
    largest = max(n for _, _, n in _responses(width, height, layers))
    return 4 * (3 * largest + 6 * width * height) + 64 * 2**20


def check_targets(width: int, height: int, layers, device: torch.device, what: str) -> None:
    need = estimate_targets(width, height, layers)
    free = available(device)
    if free is not None and need > USABLE * free:
        raise OutOfMemoryError(f"the {what} image at {width}x{height} px {_over_budget(need, free, device)}; "
                               f"lower --size or --style-size")


def _over_budget(need: int, free: int, device: torch.device) -> str:
    """The shared middle of both refusals: what is needed against what a run may plan on."""
    where = "GPU" if device.type == "cuda" else "RAM"
    return (f"needs about {need / 2**30:.1f} GiB, more than the {USABLE * free / 2**30:.1f} GiB a run may plan on "
            f"({USABLE:.0%} of the {free / 2**30:.1f} GiB of {where} free)")


def available(device: torch.device) -> int | None:
    """Free memory on the device, in bytes (None when it cannot be told)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def largest_fitting(width: int, height: int, layers, history: int, budget: int, host: bool = True) -> int | None:
    """The largest long side (a multiple of 16) whose estimate fits in `budget` bytes; None if not even 16."""
    long_side = max(width, height)
    if estimate(max(1, round(width * 16 / long_side)), max(1, round(height * 16 / long_side)), layers, history,
                host) > budget:
        return None
    lo, hi = 16, long_side
    while lo < hi:
        mid = (lo + hi + 1) // 2
        w, h = max(1, round(width * mid / long_side)), max(1, round(height * mid / long_side))
        if estimate(w, h, layers, history, host) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return max(16, lo // 16 * 16)


def check(width: int, height: int, layers, history: int, device: torch.device, size_option: int | None = None) -> None:
    host = device.type != "cuda"
    need = estimate(width, height, layers, history, host)
    free = available(device)
    if free is None or need <= USABLE * free:
        return
    fits = largest_fitting(width, height, layers, history, int(USABLE * free), host)
    if fits is None:
        raise OutOfMemoryError(f"a {width}x{height} px synthesis {_over_budget(need, free, device)}; no size fits with "
                               f"--history {history}: lower --history")
    raise OutOfMemoryError(f"a {width}x{height} px synthesis {_over_budget(need, free, device)}; --size {fits} would "
                           f"fit (or lower --history, now {history})")
