"""Estimate a run's peak memory before allocating, and refuse (with a size that fits) what cannot fit."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch

from .errors import OutOfMemoryError
from .layers import deepest, up_to
USABLE = 0.85  # share of the free memory a run may plan to use
HOST_BASELINE = 800 * 2**20  # a CPU run's resident memory before any image: torch, libraries, weights (bench/memory.py)
PLAIN_MARGIN = 1.35  # the plain run's measured peak over its counted floats: 1.30 at 2048 px (bench/README.md)
RECOMPUTE_MARGIN = 1.15  # the recomputing run's measured peak over its counted floats (bench/memory.py)
RECOMPUTE_TIME = 1.4  # seconds per evaluation when recomputing, over the plain run's (bench/README.md: 7.1 / 5.1 s at 1024 px)
SHORT_HISTORY = 4.0  # evaluations to the same loss ~ 1 + SHORT_HISTORY / history (bench/README.md: history 10, 20, 50)
BUDGET_ENV = "STYLIZE_MEMORY_LIMIT"  # pretend this much memory (bytes, or with a K/M/G suffix) is free
# Recomputation is opt-in: "auto" lets the plan choose it when the plain run does not fit, "always"
# recomputes at every size (the benches). Not the default: at 4096 x 3072 the recomputing run grew past
# 23 GB where this estimate said 17.9 GB (bench/README.md), so its estimate is not yet safe to plan on.
RECOMPUTE_ENV = "STYLIZE_RECOMPUTE"


def _responses(width: int, height: int, layers):
    """(layer name, channels, floats) of every response up to the deepest of `layers`."""
    for layer in up_to(deepest(layers)):
        f = layer.stride
        yield layer.name, layer.channels, layer.channels * math.ceil(height / f) * math.ceil(width / f)


def estimate(width: int, height: int, layers, history: int, host: bool = True, recompute: bool = False,
             kept=()) -> int:
    """Peak bytes of one fp32 synthesis: activations kept for the backward pass, the backward's
    transient gradients, the optimizer's vectors (L-BFGS: 2 x history image-sized vectors; Adam: pass
    history=1, its two moment buffers) and the network; on the host (CPU runs) also the process's
    baseline.

    recompute=True models the run that keeps only each VGG block's input (and the responses in
    `kept`, which the losses read after the forward pass) and recomputes the block in the backward
    pass: the peak is then the largest block's own activations and gradients."""
    responses = list(_responses(width, height, layers))
    params, channels_in = 0, 3
    for _, channels, _n in responses:
        params += channels * (channels_in * 9 + 1)
        channels_in = channels
    pixels = 3 * width * height
    if not recompute:
        acts = sum(n * (2 if name.endswith("_1") and name != "conv1_1" else 1) for name, _, n in responses)
        largest = max(n for _, _, n in responses)
        floats = (acts + 3 * largest + 8 * pixels) * PLAIN_MARGIN + 2 * history * pixels  # the history: exact
        return int(4 * (floats + 2 * params)) + 64 * 2**20 + (HOST_BASELINE if host else 0)
    blocks: dict[str, list[int]] = {}
    for name, _, n in responses:
        blocks.setdefault(name.split("_")[0], []).append(n)
    # block inputs kept: the image (twice: the pixels and the network's normalized input), then each
    # block's pooled input, a quarter of the previous block's response
    bounds = 2 * pixels + sum(ns[-1] // 4 for ns in list(blocks.values())[:-1])
    peak = max(sum(ns) + max(ns) for ns in blocks.values())  # its responses and one gradient (vgg._ReLU)
    keep = sum(n for name, _, n in responses if name in set(kept))
    floats = bounds + keep + peak + (2 * history + 8) * pixels
    return int(4 * (floats * RECOMPUTE_MARGIN + 2 * params)) + 64 * 2**20 + (HOST_BASELINE if host else 0)


def estimate_targets(width: int, height: int, layers) -> int:
    """Peak bytes of computing targets (forward only, nothing kept for a backward pass)."""
    largest = max(n for _, _, n in _responses(width, height, layers))
    return 4 * (3 * largest + 6 * width * height) + 64 * 2**20


def check_targets(width: int, height: int, layers, device: torch.device, what: str) -> None:
    need = estimate_targets(width, height, layers)
    free = available(device)
    if free is not None and need > USABLE * free:
        raise OutOfMemoryError(f"the {what} image at {width}x{height} px {_over_budget(need, free, device)}; "
                               f"lower --size, --style-size or --style-scale")


def _over_budget(need: int, free: int, device: torch.device) -> str:
    """The shared middle of both refusals: what is needed against what a run may plan on."""
    where = "GPU" if device.type == "cuda" else "RAM"
    return (f"needs about {need / 2**30:.1f} GiB, more than the {USABLE * free / 2**30:.1f} GiB a run may plan on "
            f"({USABLE:.0%} of the {free / 2**30:.1f} GiB of {where} free)")


def available(device: torch.device) -> int | None:
    """Free memory on the device, in bytes (None when it cannot be told); $STYLIZE_MEMORY_LIMIT, when
    set, caps it (to plan as if on a smaller machine: the benches and tests use it)."""
    free = _free(device)
    limit = os.environ.get(BUDGET_ENV)
    if limit:
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        text = limit.strip().upper().removesuffix("IB").removesuffix("B")
        try:
            cap = int(float(text[:-1]) * units[text[-1]]) if text[-1:] in units else int(float(text))
        except ValueError:
            raise OutOfMemoryError(f"${BUDGET_ENV}={limit!r} is not a number of bytes (like 8G)") from None
        free = cap if free is None else min(free, cap)
    return free


def _free(device: torch.device) -> int | None:
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


def largest_fitting(width: int, height: int, layers, history: int, budget: int, host: bool = True,
                    recompute: bool = False, kept=()) -> int | None:
    """The largest long side (a multiple of 16) whose estimate fits in `budget` bytes; None if not even 16."""
    long_side = max(width, height)

    def need(side):
        w, h = max(1, round(width * side / long_side)), max(1, round(height * side / long_side))
        return estimate(w, h, layers, history, host, recompute, kept)

    if need(16) > budget:
        return None
    lo, hi = 16, long_side
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if need(mid) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return max(16, lo // 16 * 16)


def largest_history(width: int, height: int, layers, history: int, budget: int, host: bool = True,
                    recompute: bool = False, kept=()) -> int:
    """The largest L-BFGS history <= `history` whose estimate fits in `budget` bytes; 0 if not even 1."""
    lo, hi = 0, history
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if estimate(width, height, layers, mid, host, recompute, kept) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


@dataclass(frozen=True)
class Plan:
    """How a synthesis will use memory: whether it recomputes activations, the L-BFGS history it keeps."""

    width: int
    height: int
    recompute: bool
    history: int  # what L-BFGS keeps: the requested history, or the largest that fits
    requested: int  # --history as given
    need: int  # estimated peak bytes of this plan
    free: int | None  # free bytes planned on (None: unknown)
    optimizer: str = "lbfgs"

    @property
    def note(self) -> str | None:
        """One line for the user when the plan differs from what was asked; None when it does not."""
        size = f"{self.width}x{self.height} px"
        parts = []
        if self.optimizer == "lbfgs" and self.history < self.requested:
            parts.append(f"--history {self.requested} does not fit at {size}: using --history {self.history}, "
                         f"the largest that fits")
        if self.recompute:
            parts.append(f"recomputing activations in the backward pass to fit {size} in memory "
                         f"(about {RECOMPUTE_TIME:.2g} x the time per evaluation)")
        return "; ".join(parts) or None

    def to_dict(self) -> dict:
        return {"recompute": self.recompute, "history": self.history if self.optimizer == "lbfgs" else None,
                "history_requested": self.requested, "estimate_bytes": self.need, "free_bytes": self.free,
                "note": self.note}


def plan(width: int, height: int, layers, history: int, device: torch.device, optimizer: str = "lbfgs",
         kept=()) -> Plan:
    """The plan for a synthesis of width x height: the plain run with the requested history when it
    fits; otherwise the cheaper (in estimated time) of the plain run with the largest history that fits
    and the recomputing run with the largest history that fits (Adam: plain, else recomputing);
    OutOfMemoryError, before any large allocation, when not even the recomputing run with a history of
    1 fits. Time model: recomputing costs RECOMPUTE_TIME x per evaluation, a history h needs about
    1 + SHORT_HISTORY / h times the evaluations (bench/README.md)."""
    host = device.type != "cuda"
    lbfgs = optimizer == "lbfgs"
    wanted = history if lbfgs else 1
    free = available(device)
    if os.environ.get(RECOMPUTE_ENV) == "always":  # the benches: measure the recomputing run at any size
        return Plan(width, height, True, history, history, estimate(width, height, layers, wanted, host, True, kept),
                    free, optimizer)
    need = estimate(width, height, layers, wanted, host)
    if free is None or need <= USABLE * free:
        return Plan(width, height, False, history, history, need, free, optimizer)
    budget = int(USABLE * free)

    def made(recompute, h):
        return Plan(width, height, recompute, h if lbfgs else history, history,
                    estimate(width, height, layers, h, host, recompute, kept), free, optimizer)

    recompute = os.environ.get(RECOMPUTE_ENV) == "auto"
    plain = largest_history(width, height, layers, wanted, budget, host)
    again = largest_history(width, height, layers, wanted, budget, host, True, kept) if recompute else 0
    if lbfgs and plain:
        if not again or 1 + SHORT_HISTORY / plain <= RECOMPUTE_TIME * (1 + SHORT_HISTORY / again):
            return made(False, plain)
    if again:
        return made(True, again)
    least = estimate(width, height, layers, 1, host, recompute, kept)
    fits = largest_fitting(width, height, layers, 1, budget, host, recompute, kept)
    fast = largest_fitting(width, height, layers, wanted, budget, host)
    saving = "activations recomputed, --history 1" if recompute else "--history 1"
    if fits is None:
        raise OutOfMemoryError(f"a {width}x{height} px synthesis {_over_budget(least, free, device)}, even with "
                               f"{saving}; no size fits: free some memory")
    speed = f"--size {fast} would fit with --history {wanted}, " if fast and wanted > 1 else ""
    raise OutOfMemoryError(f"a {width}x{height} px synthesis {_over_budget(least, free, device)}, even with "
                           f"{saving}; {speed}--size {fits} would fit with {saving}: lower --size, or make it at "
                           f"{fits} px and refine it at the large size (README: Memory and large images)")


def check(width: int, height: int, layers, history: int, device: torch.device, size_option: int | None = None,
          optimizer: str = "lbfgs", kept=()) -> Plan:
    """The plan of a synthesis (see plan); raises OutOfMemoryError when none fits."""
    return plan(width, height, layers, history, device, optimizer, kept)
