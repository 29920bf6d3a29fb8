"""The files of one synthesis besides its output: those it reads besides the content and style images
(never to be replaced), and the intermediate images that `--save-every` writes.

Intermediates are named after the output, the level and the iteration: at the last (full-size) level
OUT.00010.png is the image after iteration 10; at a coarser level of a coarse-to-fine run, OUT.L1.00010.png
is level 1's (coarsest first; `--scales 3` writes L1 and L2, then the last level's plain names). Every
name is known, and checked, before any work.

make_image runs one synthesis to a file with all of these checks: what `stylize transfer`,
`content-recon` and `style-recon` call.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import __version__
from .claims import claim_file
from .errors import ClaimError, ImageError
from .images import (SIDECAR_SUFFIX, check_fits, check_mark, check_name, check_not_held, check_output, ours,
                     remove_image, same_file, save_image, taken, to_pil)
from .masks import mask_files
from .settings import STARTS, WEIGHT_SOURCES, Settings
from .synthesis import Progress


def input_files(settings: Settings) -> list[str]:
    """The files a run reads besides CONTENT and STYLE that exist: an --init image, the masks, each file of
    an 'a.png+b.png' mask and a --weights file. Every command refuses an output that is one of them, whatever
    the flags (README: What is never lost)."""
    weights = settings.weights if settings.weights not in WEIGHT_SOURCES else None
    files = [settings.init if settings.init not in STARTS else None, settings.content_mask,
             weights]
    files += list(settings.style_masks)
    for spec in [settings.content_mask, *settings.style_masks]:
        parts = mask_files(spec)
        if len(parts) > 1:
            files += parts
    return [f for f in files if f and os.path.exists(f)]


def intermediate_path(output: str | os.PathLike, iteration: int, level: int = 1, levels: int = 1) -> Path:
    """OUT.NNNNN.ext after `iteration` of the last level; OUT.Lk.NNNNN.ext at coarser level k (from 1)."""
    output = Path(output)
    tag = "" if level == levels else f".L{level}"
    return output.with_name(f"{output.stem}{tag}.{iteration:05d}{output.suffix}")


def is_intermediate(output: str | os.PathLike, level_iterations: list[int], every: int) -> Callable[[str], bool]:
    """A test of a file name beside `output`: whether a run of these levels (iterations of each, coarsest first)
    writes it with --save-every `every`. A test, not a list: 10^7 iterations at --save-every 1 are 10^7 names."""
    output, levels = Path(output), len(level_iterations)
    pattern = _intermediate_name(output)

    def test(name: str) -> bool:
        m = pattern.fullmatch(name)
        if m is None or not every:
            return False
        level = int(m.group(1)) if m.group(1) else levels
        if m.group(1) and (not 1 <= level < levels or m.group(1) != str(level)):
            return False
        k = int(m.group(2))
        return f"{k:05d}" == m.group(2) and k % every == 0 and every <= k <= level_iterations[level - 1]
    return test


def _intermediate_name(output: Path) -> re.Pattern:
    """OUT(.Lk).NNNNN.ext beside `output`, any level and iteration (groups: the level, or None; the iteration)."""
    return re.compile(rf"{re.escape(output.stem)}(?:\.L([0-9]+))?\.([0-9]{{5,}}){re.escape(output.suffix)}")


def check_intermediates(output: str | os.PathLike, level_iterations: list[int], every: int, inputs=(),
                        overwrite: bool = False) -> None:
    """Refuse, before any work, an intermediate (is_intermediate) whose name is too long, that would replace an
    input, or (without overwrite) an existing file, or whose mark's name (a .bmp's OUT.stylize.json) holds a file
    that is not stylize's. Reads the output's folder once, whatever the count. Raises ImageError."""
    if not every:
        return
    output, levels = Path(output), len(level_iterations)
    for level, n in enumerate(level_iterations, 1):  # each level's last name is its longest
        if n >= every:
            check_name(intermediate_path(output, n - n % every, level, levels))
    ours = is_intermediate(output, level_iterations, every)
    folder = output.parent if str(output.parent) else Path(".")
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return  # no folder: check_output says so
    for name in names:
        if name.endswith(SIDECAR_SUFFIX) and ours(name[:-len(SIDECAR_SUFFIX)]):
            check_mark(folder / name[:-len(SIDECAR_SUFFIX)])
        if not ours(name):
            continue
        path = folder / name
        if os.path.isdir(path):  # whatever the flags: --overwrite replaces a file, never a folder
            raise ImageError(f"{path}: is a directory, at the name of an intermediate of --save-every")
        if any(same_file(path, Path(i)) for i in inputs if i):
            raise ImageError(f"{path}: an intermediate of --save-every would overwrite an input; choose another "
                             f"output name")
        if not _a_snapshot(path, output):  # (as a figure's cells: a derived name, never a file of the user's, nor
            # another output's intermediate; said first)
            raise ImageError(f"{path}: already exists and is not an intermediate of {output.name} stylize made "
                             f"(--save-every); --overwrite replaces only those, never a file of yours or another "
                             f"output's: move it away")
        if not overwrite:
            raise ImageError(f"{path}: already exists (an intermediate of --save-every); pass --overwrite to "
                             f"replace it")


def _a_snapshot(path, output=None, strict: bool = False) -> bool:
    """Whether `path` is an intermediate image stylize wrote (save_intermediate: "intermediate" in its metadata),
    of `output` when given: its "intermediate_of" names that output (`-o x.png`'s coarse level x.L1.00002.png and
    `-o x.L1.png`'s x.L1.00002.png share a name). One written before the field existed names none: taken as
    `output`'s unless `strict`."""
    meta = ours(path)
    of = meta.get("intermediate_of")
    return meta.get("intermediate") is not None and (output is None or of == Path(output).name
                                                     or (of is None and not strict))


def save_intermediate(progress: Progress, output: str | os.PathLike, overwrite: bool = False) -> Path | None:
    """Write the best image so far (marked partial) with its iteration, level and losses in its metadata; None
    (nothing written) when another run holds that name's claim (a run whose -o it is), or when a file that is not
    an intermediate stylize made (overwrite: may be replaced) was put at the name during the run (the user's,
    another run's finished output): the run's work is never lost to a snapshot, nor a file to the run."""
    level = progress.level + 1
    path = intermediate_path(output, progress.iteration, level, progress.levels)
    try:
        with claim_file(path):
            if taken(path) and not (overwrite and _a_snapshot(path, output)):
                return None
            save_image(to_pil(progress.image), path,
                       {"stylize": __version__, "intermediate": progress.iteration, "intermediate_of": Path(output).name,
                        "level": level,
                        "levels": progress.levels, "content_loss": progress.content, "style_loss": progress.style,
                        "loss": progress.loss, "partial": True}, overwrite=overwrite)
    except ClaimError:
        return None
    except ImageError:
        if not overwrite and taken(path):  # put there between the look above and the write (os.link refused it)
            return None
        raise
    return path


@dataclass(frozen=True)
class ImagePlan:
    """Told to make_image's on_ready once every check has passed, before any work."""

    size: tuple[int, int]  # (width, height) of the output
    level_iterations: list[int]  # iterations of each coarse-to-fine level, coarsest first
    note: str | None  # the memory plan's note (a lowered history, a compact run), or None


def make_image(settings: Settings, make_job, output: str | os.PathLike, *, inputs=(), save_every: int = 0,
               overwrite: bool = False, callback: Callable[[Progress], None] | None = None,
               should_stop: Callable[[], bool] | None = None, on_ready: Callable[[ImagePlan], None] | None = None,
               metadata: dict | None = None):
    """Run make_job(session)'s job (a Job of api.Session) and write its image to `output` atomically, with
    its metadata (plus `metadata`); returns the api.Outcome.

    Before any work: the output, the job (sizes, masks, memory) and every intermediate of `save_every`
    (every N iterations of each level, see above) are checked against existing files (unless overwrite)
    and against `inputs` and the other files the settings read. Interrupted (should_stop) before the
    first evaluation, nothing is written; later, the best image so far, marked partial. Raises ImageError,
    SettingsError, OutOfMemoryError, ClaimError (another run is writing `output`) and the synthesis' other
    StylizeErrors."""
    inputs = [*inputs, *input_files(settings)]
    out = check_output(output, inputs, overwrite=True)  # (whether it exists: said after the intermediates' checks)
    with claim_file(out):  # a second run into the same output is refused now, not after its work
        check_not_held(out)  # (again, now that it is claimed: a video that took the folder meanwhile)
        return _make_image(settings, make_job, out, inputs, save_every, overwrite, callback, should_stop, on_ready,
                           metadata)


def _make_image(settings, make_job, out, inputs, save_every, overwrite, callback, should_stop, on_ready, metadata):
    from .api import Session

    session = Session(settings)
    plan = session.plan(make_job(session))
    check_fits(out, (plan.width, plan.height))
    level_iterations = [level.iterations for level in plan.levels]
    check_intermediates(out, level_iterations, save_every, inputs, overwrite)
    if taken(out) and not overwrite:  # (last: said only when --overwrite would do it)
        raise ImageError(f"{out}: already exists; pass --overwrite to replace it")
    if on_ready is not None:
        on_ready(ImagePlan((plan.width, plan.height), level_iterations, plan.note))
    saved, written = set(), set()

    def progress(p: Progress) -> None:
        if callback is not None:
            callback(p)
        if save_every and p.iteration and p.iteration % save_every == 0 and (p.level, p.iteration) not in saved:
            saved.add((p.level, p.iteration))
            written.add(save_intermediate(p, out, overwrite))

    outcome = session.run(plan, progress, should_stop)
    if not outcome.unstarted:
        save_image(outcome.image, out, dict(outcome.metadata, **(metadata or {})), overwrite=overwrite)
        if overwrite and save_every:  # (README: --save-every; without it, this run's output has no intermediates)
            remove_earlier_intermediates(out, written, inputs)
    return outcome


def remove_earlier_intermediates(output: Path, written, inputs=()) -> None:
    """After `--overwrite --save-every` replaced `output`: the intermediates an earlier run of that name left that
    this run did not write (a longer run's later numbers, another --save-every's), so that OUT.NNNNN.ext beside it
    are all this run's. Only images stylize wrote as intermediates of this output (_a_snapshot, strict); a file of
    yours, another output's intermediate at a name of this pattern, or one this run read (`inputs`: its content,
    style, --init, a mask) is never removed."""
    output = Path(output)
    pattern = _intermediate_name(output)
    folder = output.parent if str(output.parent) else Path(".")
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        path = folder / name
        if pattern.fullmatch(name) and path not in written and not os.path.islink(path) and \
                not any(same_file(path, Path(i)) for i in inputs if i) and \
                _a_snapshot(path, output, strict=True):  # (this output's only: see _a_snapshot)
            remove_image(path)
