"""The second stage: a Plan, made once before any work, holding every coarse-to-fine level's sizes,
iterations and memory plan; every check a run can fail is made here.

A plan is a value: making it changes nothing, and Session.run executes one.
"""

from __future__ import annotations

import math
import os

from dataclasses import dataclass, field, replace

import torch

from . import images, memory
from .arguments import sealed
from .errors import ImageError, SettingsError, UsageError
from .job import Job, describe
from .layers import deepest, min_side
from .settings import MAX_SIDE, MAX_STYLE_SCALE, STARTS
from .targets import Targets

SMALLEST_LEVEL = 16  # px: a coarse level is never planned below this short side


@dataclass(frozen=True)
class Level:
    """One optimisation of the coarse-to-fine schedule (the last level is the output's size)."""

    width: int
    height: int
    style_long_side: int  # the artworks' long side at this level, px
    iterations: int
    evaluations: int | None  # cap on evaluations; None = 1.25 x iterations
    memory: memory.Plan
    factor: float = 1.0  # this level's long side relative to the output's


@dataclass(frozen=True)
class Plan:
    """A job and how it will run: the output's size and every level, coarsest first."""

    job: Job
    width: int
    height: int
    levels: tuple[Level, ...]
    inputs: dict | None = field(default=None, compare=False)  # job.inputs when planned: what the checks saw
    settings: object = field(default=None, compare=False)  # the planning Session's Settings (its network)
    made: str = field(default="", init=False, repr=False, compare=False)  # arguments.seal: as Session.plan returned it

    @property
    def memory(self) -> memory.Plan:
        """The memory plan of the full-size level (the one recorded in the output's metadata)."""
        return self.levels[-1].memory

    @property
    def note(self) -> str | None:
        """One line for the user when the plan differs from what was asked (a lowered history)."""
        return self.memory.note

    def with_iterations(self, iterations: int) -> "Plan":
        """The same plan with `iterations` at the last level (a video's later frames)."""
        last = replace(self.levels[-1], iterations=iterations)
        return replace(self, levels=self.levels[:-1] + (last,))


BLEND_UNREAD_WHY = ("has no effect here: each region of the content mask takes its style from one style image (the "
                    "weights count within a region several style masks share)")
BLEND_UNREAD = f"--style-blend (blend): {BLEND_UNREAD_WHY}"


def check_made(plan: Plan, name: str = "plan") -> None:
    """A Plan given back (as `name`) as Session.plan returned it, unchanged (a dataclasses.replace copy, say with
    other sizes or memory plans, or one made by hand would run unchecked sizes under its recorded settings):
    SettingsError."""
    if not sealed(plan):
        raise SettingsError(f"{name}: not as session.plan returned it (a copy with fields replaced, changed since, or "
                            "made by hand: its sizes were never checked); plan the job again")


def make(job: Job, targets: Targets, device: torch.device, pooling: str = "avg", memory_of: Plan | None = None) -> Plan:
    """Check everything that can be checked before any work and plan the run. `memory_of`: an earlier plan of
    the same sizes whose memory plans are kept (a video's frames: memory is planned once, at the first frame,
    for every frame; planned again, the memory the first frames left mapped would count against the next).

    Checks: --init content/style has that image, the output's and every level's size (and that --scales
    levels fit in it) against the deepest layer's minimum, the artworks' size at
    every level, the masks (read and paired), the memory of computing each target and of each level's
    optimisation. Raises ImageError (a size or mask), SettingsError (masks without counterpart),
    OutOfMemoryError (memory.plan), and what loading an input raises."""
    if (job.init == "content" and job.content is None) or (job.init == "style" and not job.styles):
        raise ImageError(f"--init {job.init}: a {job.command} synthesis has no {job.init} image")
    if job.init in ("content", "style") and os.path.lexists(job.init):  # (the default, noise, is not asked for)
        raise ImageError(f"--init {job.init!r} is both a start (the keyword) and a file here: write ./{job.init} "
                         f"for the file")
    width, height = check_output(job, targets)
    if job.init not in STARTS:  # a file: scaled to the output, never stretched
        check_init_shape(job.init, targets.image(job.init).size, (width, height))
    sizes = level_sizes(width, height, job.scales, min_side(job.layers))
    if len(sizes) < job.scales:
        raise ImageError(f"--scales {job.scales}: the output is {width}x{height} px, too small for {job.scales} "
                         f"coarse-to-fine levels (each halves the one above; a level needs at least "
                         f"{max(min_side(job.layers), SMALLEST_LEVEL)} px a side): at most {len(sizes)} at this "
                         f"size (lower --scales or raise {size_option(job)})")
    levels = []
    for k, (w, h) in enumerate(sizes):
        final = k == len(sizes) - 1
        coarse = "" if final else " or lower --scales"
        check_min_side(w, h, job.layers, f"the output at coarse-to-fine level {w}x{h}", "--size" + coarse)
        factor = max(w, h) / max(width, height)
        style_long = job.level_style_long_side(factor)
        style_sizes = check_styles(job, targets, factor, coarse)
        earlier = memory_of.levels[k] if memory_of is not None and len(memory_of.levels) == len(sizes) else None
        if earlier is not None and (earlier.width, earlier.height) == (w, h):
            mem = earlier.memory
        else:
            mem = memory.plan(w, h, job.layers, job.history, device, job.optimizer, pooling)
            for sw, sh in style_sizes:
                memory.check_targets(sw, sh, job.style_layers, device, "style")
            if job.content is not None and job.content_layers:
                memory.check_targets(w, h, job.content_layers, device, "content")
        levels.append(Level(w, h, style_long, job.level_iterations(final), job.evaluations if final else None, mem,
                            factor))
    if job.masked and not targets.regions(job).blends() and job.blend_given and len(job.styles) > 1:
        raise UsageError(BLEND_UNREAD)
    return Plan(job, width, height, tuple(levels))


def check_output(job: Job, targets: Targets) -> tuple[int, int]:
    """The output's (width, height) (output_size), checked against the deepest of the job's layers: ImageError
    naming the option that sets it (--size, --out-size)."""
    width, height = output_size(job, targets)
    check_min_side(width, height, job.layers, "the output", size_option(job),
                   None if job.out_size is not None else
                   targets.image(job.content if job.content is not None else job.styles[0]).size)
    return width, height


def check_styles(job: Job, targets: Targets, factor: float = 1.0, coarse: str = "") -> list[tuple[int, int]]:
    """Each artwork's (width, height) at the level `factor` times the output's size, checked against the deepest
    of the job's style layers: ImageError naming the option that sets it (--style-size, --style-scale, --size;
    `coarse`: the remedy a coarse level adds) and, at full size, what can help where raising it cannot."""
    style_long = job.level_style_long_side(factor)
    option = "--style-size" if job.style_size else "--style-scale" if job.style_scale else "--size"
    sizes = [images.fitted_size(targets.image(style).size, style_long) for style in job.styles]
    for style, (sw, sh) in zip(job.styles, sizes):
        check_min_side(sw, sh, job.style_layers, f"{describe(style)}: the style image", option + coarse,
                       None if coarse else targets.image(style).size,
                       round(MAX_STYLE_SCALE * job.size) if job.style_scale else MAX_SIDE)
    return sizes


def size_option(job: Job) -> str:
    """The option that sets the output's size."""
    return "--size" if job.out_size is None else "--out-size"


def output_size(job: Job, targets: Targets) -> tuple[int, int]:
    """(width, height): job.out_size, else the photograph's (or the artwork's) aspect ratio at job.size."""
    if job.out_size is not None:
        return job.out_size
    return images.fitted_size(targets.image(job.content if job.content is not None else job.styles[0]).size, job.size)


def check_init_shape(init, size: tuple[int, int], output: tuple[int, int]) -> None:
    """ImageError when an --init image of `size` (w, h) is another shape than the output (w, h): it is scaled to
    the output, never stretched (a small image's rounding allowed)."""
    (iw, ih), (width, height) = size, output
    fw, fh = images.fitted_size((iw, ih), max(width, height))
    slack = max(1, math.ceil(max(width, height) / max(iw, ih)))  # a small image's rounding, scaled up with it
    if abs(fw - width) > slack or abs(fh - height) > slack:
        raise ImageError(f"{init}: the --init image is {iw}x{ih} px, another shape than the output ({width}x{height} "
                         f"px); give an image of the output's shape (--init style starts from the artwork, stretched)")


def check_min_side(width: int, height: int, layers, what: str, option: str, shape=None, most: int = MAX_SIDE) -> None:
    """ImageError when an image of width x height px is too small for the deepest of `layers`. `shape`: the (w, h)
    of the image it is fitted from, as `option` scales it up to a long side of `most` px (--style-scale: its
    largest times --size): where that leaves its short side too small, raising the option cannot help, and the
    message says what can."""
    need = min_side(layers)
    if min(width, height) < need:
        remedy = f"raise {option}"
        if shape is not None and min(images.fitted_size(shape, min(most, MAX_SIDE))) < need:
            remedy = (f"no {option} makes its short side {need} px within {MAX_SIDE} px on the long one: give an "
                      f"image of a less narrow shape")
            if most < MAX_SIDE and min(images.fitted_size(shape, MAX_SIDE)) >= need:
                remedy = f"{option} is at most {MAX_STYLE_SCALE:g}: raise --size, or give --style-size"
        raise ImageError(f"{what} is {width}x{height} px at this size; {deepest(layers)} needs at least {need} px on "
                         f"each side ({remedy})")


def level_sizes(width: int, height: int, scales: int, smallest: int) -> list[tuple[int, int]]:
    """Image sizes from coarse to fine, halving per level, never below what the layers need."""
    out = []
    for k in range(scales - 1, -1, -1):
        f = 0.5**k
        w, h = max(1, round(width * f)), max(1, round(height * f))
        if min(w, h) >= max(smallest, SMALLEST_LEVEL) or k == 0:
            out.append((w, h))
    return out
