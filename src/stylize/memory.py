"""Estimate a run's peak memory before allocating, and refuse (with a size that fits) what cannot fit."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

import torch

from .errors import OutOfMemoryError
from .settings import shown
from .layers import deepest, up_to
USABLE = 0.85  # share of the free memory a run may plan to use
HOST_BASELINE = 800 * 2**20  # a CPU run's resident memory before any image: torch, libraries, weights (bench/memory.py)
# The run's measured peak over its counted floats (bench/README.md: Memory), by allocator mode
# (allocator.py): compact holds close to what the run needs; reuse keeps freed blocks for speed and
# fragments; on a GPU torch's caching allocator (planned like compact, not measured yet).
COMPACT_MARGIN = 1.25
REUSE_MARGIN = 1.9
BUDGET_ENV = "STYLIZE_MEMORY_LIMIT"  # pretend this much memory (bytes, or with a unit: K ... E) is free


def _responses(width: int, height: int, layers):
    """(layer name, channels, floats) of every response up to the deepest of `layers`."""
    for layer in up_to(deepest(layers)):
        f = layer.stride
        yield layer.name, layer.channels, layer.channels * math.ceil(height / f) * math.ceil(width / f)


def estimate(width: int, height: int, layers, history: int, host: bool = True, reuse: bool = False,
             pooling: str = "avg") -> int:
    """Peak bytes of one fp32 synthesis: what the backward pass needs from the forward one (vgg.ConvReLU:
    the responses of `layers` whole, a byte per value elsewhere), the backward's gradients,
    the optimizer's vectors (L-BFGS: 2 x history image-sized vectors, counted exactly; Adam: pass
    history=1, its two moment buffers) and the network; on the host (CPU runs) also the process's
    baseline. reuse: the allocator keeps freed blocks (allocator.py) and the gradients are whole tensors,
    which costs more; otherwise the plan's compact run (allocator.py, stripes.py). Max pooling also keeps
    where each maximum was (an int64, two floats' worth, per pooled value)."""
    responses = list(_responses(width, height, layers))
    params, channels_in = 0, 3
    for _, channels, _n in responses:
        params += channels * (channels_in * 9 + 1)
        channels_in = channels
    wanted = set(layers)
    saved = sum(n if name in wanted else n / 4 for name, _, n in responses)
    if pooling == "max":  # where each maximum was: an int64 (two floats) per pooled value feeding a block
        for (name, channels, n), layer in zip(responses, up_to(deepest(layers))):
            if name.endswith("_1") and name != "conv1_1":
                saved += 2 * n * layer.in_channels / channels
    largest = max(n for _, _, n in responses)
    pixels = 3 * width * height
    # the backward pass's gradients: two of the largest response's size, or, in stripes (stripes.py), one
    # written over the other (counted as a quarter: the pooled gradient it is made from)
    gradients = (2 if reuse else 0.25) * largest
    margin = REUSE_MARGIN if reuse and host else COMPACT_MARGIN
    floats = (saved + gradients + 8 * pixels) * margin + 2 * history * pixels
    return int(4 * (floats + 2 * params)) + 64 * 2**20 + (HOST_BASELINE if host else 0)


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
    digits = 1
    while digits < 4 and f"{need / 2**30:.{digits}f}" == f"{USABLE * free / 2**30:.{digits}f}":
        digits += 1  # never "0.9 GiB, more than the 0.9 GiB"
    source = limited_by(device)
    budget = _amount(USABLE * free) if USABLE * free < 0.1 * 2**30 else f"{USABLE * free / 2**30:.{digits}f} GiB"
    return (f"needs about {need / 2**30:.{digits}f} GiB, more than the {budget} a run "
            f"may plan on ({USABLE:.0%} of the {_amount(free)} of {source})")


def _amount(n: int) -> str:
    """Bytes as a person reads them: GiB to one place, or MiB/KiB/B below 0.1 GiB (1K is not "0.0 GiB")."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= 0.1 * size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def available(device: torch.device) -> int | None:
    """Free memory on the device, in bytes (None when it cannot be told): on the CPU the least of the
    machine's available memory, the process's address-space limit (ulimit -v) less what it has mapped,
    and its cgroup's limit (a batch scheduler's memory.max) less what the cgroup uses. $STYLIZE_MEMORY_LIMIT,
    when set, caps it (to plan as if on a smaller machine: the benches and tests use it); OutOfMemoryError
    when that variable is not a positive, finite number of bytes."""
    return min(_sources(device), default=(None, ""))[0]


def _sources(device: torch.device) -> list[tuple[int, str]]:
    """(bytes free, what says so) of every limit that applies: the device, ulimit -v, the cgroup, the variable."""
    found = [(_free(device), "GPU free" if device.type == "cuda" else "RAM free")]
    if device.type != "cuda":
        found += [(_address_space_left(), "address space left under ulimit -v"),
                  (_cgroup_left(), "the cgroup's memory.max left")]
    found.append((budget_override(), f"${BUDGET_ENV}"))
    return [(n, what) for n, what in found if n is not None]


def _remedy(device: torch.device) -> str:
    """What lifts the limit that binds (limited_by): the variable, ulimit -v, the cgroup, or free memory."""
    return {f"${BUDGET_ENV}": f"raise ${BUDGET_ENV}", "address space left under ulimit -v": "raise ulimit -v",
            "the cgroup's memory.max left": "raise the cgroup's memory.max"}.get(limited_by(device),
                                                                                 "free some memory")


def limited_by(device: torch.device) -> str:
    """What the free memory of available() is: 'RAM free', 'address space left under ulimit -v', ..."""
    return min(_sources(device), default=(0, "memory free"))[1]


MAX_BUDGET = 2**60  # bytes: an exabyte; anything larger is a typo


def budget_override() -> int | None:
    """$STYLIZE_MEMORY_LIMIT in bytes, or None when unset: a number with an optional unit, K, M, G, T, P or E
    (binary: 2^10 ...; written K, Ki, KB or KiB, in either case), up to 1 EiB; OutOfMemoryError otherwise."""
    limit = os.environ.get(BUDGET_ENV)
    if not limit:
        return None
    found = re.fullmatch(r"([0-9]+\.?[0-9]*|\.[0-9]+) *(?:([KMGTPE])I?)?B?", limit.strip().upper())  # (float()
    if found is None:  # would take 1_000, 1e3, nan)
        raise OutOfMemoryError(f"${BUDGET_ENV}={shown(limit)} is not a number of bytes (like 8G)")
    value = float(found[1]) * 2 ** (10 * ("KMGTPE".index(found[2]) + 1) if found[2] else 0)
    if not (math.isfinite(value) and 1 <= value <= MAX_BUDGET):
        raise OutOfMemoryError(f"${BUDGET_ENV}={shown(limit)} is not a positive number of bytes up to 1 EiB (like 8G)")
    return int(value)


def _address_space_left() -> int | None:
    """RLIMIT_AS less the process's mapped address space (VmSize), or None without a limit."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/status") as f:
            mapped = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
        return max(0, soft - mapped)
    except (ImportError, OSError, ValueError, StopIteration):
        return None


CGROUP_FILES = (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
                ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"))


def _cgroup_left() -> int | None:
    """The process's cgroup memory limit less its usage, or None without a limit."""
    for limit_file, usage_file in CGROUP_FILES:
        try:
            with open(limit_file) as f:
                text = f.read().strip()
            if text == "max" or int(text) >= MAX_BUDGET:
                return None  # v1 writes "no limit" as a huge number
            with open(usage_file) as f:
                return max(0, int(text) - int(f.read().strip()))
        except (OSError, ValueError):
            continue
    return None


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


def failed_allocation(width: int, height: int, layers, device: torch.device, pooling: str = "avg") -> OutOfMemoryError:
    """The error for an allocation that failed although the plan said it fits: one line naming the size
    that fits in what is free now."""
    free = available(device)
    fits = None if free is None else largest_fitting(width, height, layers, 1, int(USABLE * free),
                                                     device.type != "cuda", pooling=pooling)
    where = "GPU" if device.type == "cuda" else limited_by(device).replace("RAM free", "RAM")
    hint = f"--size {fits} fits in what is free now" if fits else "no size fits in what is free now"
    return OutOfMemoryError(f"out of memory ({where}) at {width}x{height} px, although the plan said it fits: {hint}; "
                            f"lower --size or free some memory")


def largest_fitting(width: int, height: int, layers, history: int, budget: int, host: bool = True,
                    reuse: bool = False, pooling: str = "avg") -> int | None:
    """The largest long side (a multiple of 16) whose estimate fits in `budget` bytes; None if not even 16."""
    long_side = max(width, height)

    def need(side):
        w, h = max(1, round(width * side / long_side)), max(1, round(height * side / long_side))
        return estimate(w, h, layers, history, host, reuse, pooling)

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
                    reuse: bool = False, pooling: str = "avg") -> int:
    """The largest L-BFGS history <= `history` whose estimate fits in `budget` bytes; 0 if not even 1."""
    lo, hi = 0, history
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if estimate(width, height, layers, mid, host, reuse, pooling) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


@dataclass(frozen=True)
class Plan:
    """How a synthesis will use memory: the allocator's mode, the L-BFGS history it keeps."""

    width: int
    height: int
    reuse: bool  # the allocator keeps freed blocks (faster, more memory) rather than handing them back
    history: int  # what L-BFGS keeps: the requested history, or the largest that fits
    requested: int  # --history as given
    need: int  # estimated peak bytes of this plan
    free: int | None  # free bytes planned on (None: unknown)
    optimizer: str = "lbfgs"

    @property
    def note(self) -> str | None:
        """One line for the user when the plan differs from what was asked; None when it does not."""
        if self.optimizer == "lbfgs" and self.history < self.requested:
            return (f"--history {self.requested} does not fit at {self.width}x{self.height} px: using --history "
                    f"{self.history}, the largest that fits")
        return None

    def to_dict(self) -> dict:
        """What decided the result (the history L-BFGS kept), not the machine's state at the time (free
        memory, the allocator's mode): the same command gives the same bytes."""
        return {"history": self.history if self.optimizer == "lbfgs" else None,
                "history_requested": self.requested, "note": self.note}


def plan(width: int, height: int, layers, history: int, device: torch.device, optimizer: str = "lbfgs",
         pooling: str = "avg") -> Plan:
    """The plan for a synthesis of width x height: with the requested history, the allocator reusing
    freed blocks when that fits, else handing them back (compact); when not even that fits, the compact
    run with the largest history that fits; OutOfMemoryError, before any large allocation, when not
    even a history of 1 fits (Adam: its two buffers count as a history of 1)."""
    host = device.type != "cuda"
    lbfgs = optimizer == "lbfgs"
    wanted = history if lbfgs else 1
    free = available(device)

    def made(reuse, h):
        return Plan(width, height, reuse, h if lbfgs else history, history,
                    estimate(width, height, layers, h if lbfgs else 1, host, reuse, pooling), free, optimizer)

    if free is None:
        return made(True, wanted)
    budget = int(USABLE * free)
    for reuse in (True, False):
        if estimate(width, height, layers, wanted, host, reuse, pooling) <= budget:
            return made(reuse, wanted)
    fitting = largest_history(width, height, layers, wanted, budget, host, pooling=pooling)
    if lbfgs and fitting:
        return made(False, fitting)
    least = estimate(width, height, layers, 1, host, pooling=pooling)
    fits = largest_fitting(width, height, layers, 1, budget, host, pooling=pooling)
    if fits is None:
        raise OutOfMemoryError(f"a {width}x{height} px synthesis {_over_budget(least, free, device)}, even with "
                               f"--history 1; no size fits: {_remedy(device)}")
    fast = largest_fitting(width, height, layers, wanted, budget, host, pooling=pooling)
    speed = f"--size {fast} would fit with --history {wanted}, " if fast and wanted > 1 else ""
    raise OutOfMemoryError(f"a {width}x{height} px synthesis {_over_budget(least, free, device)}, even with "
                           f"--history 1; {speed}--size {fits} would fit with --history 1: lower --size, or free "
                           f"some memory")
