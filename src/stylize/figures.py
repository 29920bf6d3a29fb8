"""The paper's Figures 1 and 3: their syntheses, and labelled panels drawn with Pillow."""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from . import arguments
from .errors import ImageError, SettingsError
from .job import COMMANDS
from .layers import PAPER_STYLE_LAYERS

# The paper's Figure 3 rows: style layer sets A-E; columns: alpha/beta.
PAPER_ROWS: tuple[tuple[str, ...], ...] = (
    ("conv1_1",),
    ("conv1_1", "conv2_1"),
    ("conv1_1", "conv2_1", "conv3_1"),
    ("conv1_1", "conv2_1", "conv3_1", "conv4_1"),
    ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"),
)
PAPER_RATIOS: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2)
FIGURE1_CONTENT_LAYERS = PAPER_STYLE_LAYERS  # conv1_1 ... conv5_1


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


def row_label(k: int) -> str:
    """The label of the k-th (0-based) layer set, the paper's row letter: A ... Z, then AA, AB, ... (capitals only:
    a cell's name never differs from another's by letter case alone, nor holds a character after Z)."""
    label, k = "", k + 1
    while k:
        k, letter = divmod(k - 1, 26)
        label = chr(ord("A") + letter) + label
    return label


def panel(cells: list[list[Image.Image]], row_labels: list[str], column_labels: list[str], title: str = "",
          gap: int = 6) -> Image.Image:
    """A grid of equally sized cells with a label left of each row and above each column, under the title
    (the picture is at least as wide as the title)."""
    w = max(c.width for row in cells for c in row)
    h = max(c.height for row in cells for c in row)
    font_size = max(12, min(w, h) // 14)
    font, title_font = _font(font_size), _font(int(font_size * 1.3))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def text_size(text, f):
        box = probe.textbbox((0, 0), text, font=f)
        return box[2] - box[0], box[3] - box[1]

    left = max([text_size(t, font)[0] for t in row_labels] + [0]) + 2 * gap
    top_title = text_size(title, title_font)[1] + 2 * gap if title else 0
    top = top_title + max([text_size(t, font)[1] for t in column_labels] + [0]) + 2 * gap
    cols = max(len(r) for r in cells)
    width = max(left + cols * (w + gap) + gap, text_size(title, title_font)[0] + 2 * gap if title else 0)
    canvas = Image.new("RGB", (width, top + len(cells) * (h + gap) + gap), "white")  # (the title whole, too)
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((gap, gap), title, fill="black", font=title_font)
    for j, label in enumerate(column_labels):
        tw, _ = text_size(label, font)
        draw.text((left + j * (w + gap) + (w - tw) // 2, top_title + gap), label, fill="black", font=font)
    for i, row in enumerate(cells):
        y = top + i * (h + gap)
        if i < len(row_labels):
            _, th = text_size(row_labels[i], font)
            draw.text((gap, y + (h - th) // 2), row_labels[i], fill="black", font=font)
        for j, cell in enumerate(row):
            canvas.paste(cell, (left + j * (w + gap) + (w - cell.width) // 2, y + (h - cell.height) // 2))
    return canvas


@dataclass
class Figure:
    """A finished (or interrupted) figure: the labelled picture and every cell's record."""

    image: Image.Image | None  # None when interrupted before the first cell
    meta: dict  # command, settings, layer sets, ratios, cells (one record per cell), partial
    cells: list = field(default_factory=list)  # the cells' Outcomes, in order
    output: Path | None = None  # where the picture was written (when an output was given and a cell finished)
    side: Path | None = None  # its .json
    inputs: list = field(default_factory=list)  # the files it read, and its cells' files: save never writes them
    cell_files: list = field(default_factory=list)
    made: str = field(default="", init=False, repr=False, compare=False)  # _made_key when figure1/grid made it:
    # save refuses a figure changed since, a dataclasses.replace copy (made is left empty) and one made by hand

    @property
    def partial(self) -> bool:
        return self.meta["partial"]


def _made_key(figure: Figure) -> str:
    """The figure's record, files and picture as one text: what save writes must be what figure1/grid made."""
    import json

    from .targets import digest

    return json.dumps([figure.meta, [str(f) for f in figure.inputs], [str(f) for f in figure.cell_files],
                       digest(figure.image) if isinstance(figure.image, Image.Image) else None], default=repr,
                      sort_keys=True)


class _RunCallback:
    """Tags progress with the cell it belongs to (a figure runs one synthesis per cell)."""

    def __init__(self, callback, run: int, runs: int):
        self.callback, self.run, self.runs = callback, run, runs

    def __call__(self, progress) -> None:
        progress.run, progress.runs = self.run, self.runs
        self.callback(progress)


def side_path(out) -> Path:
    """The figure's .json beside it: every cell's losses and the settings."""
    return Path(out).with_suffix(".json")


def check_outputs(out, inputs, overwrite: bool = False, cells=()) -> None:
    """Refuse, before any work, a figure or .json that exists (without overwrite), replaces an input, or
    is one of the figure's own cells."""
    from .images import check_name, check_output, same_file, taken

    check_output(out, inputs, overwrite=True)  # every check but whether it exists: that is said last
    check_name(side_path(out))  # the .json beside it needs a name that fits too
    if any(same_file(out, c) or same_file(side_path(out), c) for c in cells):
        raise ImageError(f"{out}: the figure would overwrite one of its own cells; choose another output or --cells-dir")
    side = side_path(out)
    if any(os.path.exists(i) and os.path.exists(side) and os.path.samefile(side, i) for i in inputs):
        raise ImageError(f"{side}: the figure's .json would overwrite an input; choose another output path")
    if taken(side):
        _check_side(out, side)
    for p, what in ((out, ""), (side, " (the figure's .json)")):
        if taken(p) and not overwrite:  # (last: said only when --overwrite would do it)
            raise ImageError(f"{p}: already exists{what}; pass --overwrite to replace it")


def _check_side(out, side: Path) -> None:
    """A figure's .json that exists: --overwrite replaces that figure's own, never a file of yours."""
    from .images import kind_of, read_json_here, taken

    data = read_json_here(side)
    if not (isinstance(data, dict) and data.get("command") in ("figure1", "grid") and "cells" in data):
        kind = kind_of(side)  # (a link to nothing or a folder is named as what it is: none "already exists")
        what = "already exists and is not" if kind in ("a file", "a link to a file") else f"{kind}, not"
        raise ImageError(f"{side}: {what} a figure's .json stylize wrote; move it away or choose another output")
    owner = data["figure"] if isinstance(data.get("figure"), str) else None  # older figures' .json name none
    if owner != Path(out).name and (owner is not None or not taken(out)):
        raise ImageError(f"{side}: the .json of another figure{f' ({owner})' if owner else ''}; choose another "
                         f"output name")


def save(figure: Figure, out, argv: str = "", overwrite: bool = False, metadata: dict | None = None) -> Path:
    """Write the figure (atomically, metadata inside) and its .json beside it; returns the .json's path. Each
    cell's seconds go into the .json only: the picture's bytes are the same on every run of one command. Checked
    first as a run with `output` checks it (check_outputs: never over an input, a cell, a file of yours at the
    .json's name, or without `overwrite` anything); the .json is written to disk first, so a full disk leaves
    neither. ImageError."""
    from .claims import holding

    if not isinstance(figure, Figure):
        raise ImageError(f"figure: what figures.figure1 or figures.grid returned, not {type(figure).__name__}")
    arguments.files(out=out)
    arguments.flags(overwrite=overwrite)
    metadata, = arguments.mappings(metadata=metadata)
    if out is None:
        raise SettingsError("out: a file name, not None")
    if not isinstance(argv, str):  # (named alone: round 120)
        raise SettingsError(f"argv: a text, not {type(argv).__name__}")
    if not figure.made or _made_key(figure) != figure.made:  # (say "partial" edited, or its inputs emptied)
        raise ImageError("figure: not as figures.figure1 or figures.grid returned it (a copy with fields replaced, "
                         "changed since: its record, files or picture, or made by hand); save it as it was made")
    if figure.image is None:  # (stopped before its first cell: there is no picture)
        raise ImageError(f"{out}: the figure has no finished cell (it was stopped before its first); nothing to save")
    with holding(out), holding(side_path(out)):  # (another run making this figure: refused; a figure's own run holds
        return _save_figure(figure, out, argv, overwrite, metadata)  # them from its start)


def _save_figure(figure: Figure, out, argv: str, overwrite: bool, metadata: dict | None) -> Path:
    from .images import place, save_image, stage_json, unlink_quietly

    check_outputs(out, figure.inputs, overwrite, figure.cell_files)  # (now that it is claimed)
    meta = {**figure.meta, **(metadata or {}), "argv": argv}  # (the command line's: its --preset)
    timeless = dict(meta, cells=[{k: v for k, v in c.items() if k != "seconds"} for c in meta["cells"]])
    side = side_path(out)
    try:
        tmp = stage_json(side, dict(meta, figure=Path(out).name))  # whose .json it is
    except OSError as e:
        raise ImageError(f"{side}: cannot write ({e.strerror or e})") from None
    try:
        save_image(figure.image, out, timeless, overwrite=overwrite)  # the same command, the same bytes
        place(tmp, side, overwrite)
    except OSError as e:
        raise ImageError(f"{side}: cannot write ({e.strerror or e})") from None
    finally:
        unlink_quietly(tmp)
    return side


def cell_paths(folder, names) -> list[Path]:
    return [Path(folder) / f"{name}.png" for name in names]


def prepare_cells(folder, names, overwrite: bool = False, inputs=()) -> list[Path] | None:
    """Create the cells' folder and refuse, before any work, a cell that is an input, exists (without
    overwrite), or that any output would be refused as (images.check_output: a folder at its name...)."""
    if folder is None:
        return None
    from .claims import claim_file
    from .images import check_output, make_folder, same_file

    paths = cell_paths(make_folder(folder, "cells folder"), names)
    for p in paths:
        if paths.count(p) > 1:
            raise ImageError(f"{p}: two cells would have this name (a layer or ratio given twice); give each once")
        if any(same_file(p, i) for i in inputs):
            raise ImageError(f"{p}: a cell would overwrite an input; choose another --cells-dir")
        check_output(p, overwrite=True)  # every output's checks: a folder there, a running video's folder...
        if os.path.lexists(p) and not _a_cell(p):  # (as a frames folder: only what stylize made; said first)
            raise ImageError(f"{p}: already exists and is not a cell stylize made; --overwrite replaces only those, "
                             f"never a file of yours: move it away or choose another --cells-dir")
        if os.path.lexists(p) and not overwrite:
            raise ImageError(f"{p}: already exists (a cell of an earlier run); pass --overwrite to replace it")
        with claim_file(p):  # another run making a file of that name (its -o): refused now, not after the cells
            pass
    return paths


def _a_cell(path) -> bool:
    """Whether `path` is a figure's cell stylize wrote (its metadata names its command and the cell), not any
    other image of stylize's (a transfer's result of the user's at a cell's name)."""
    from .images import ours

    meta = ours(path)
    return meta.get("command") in COMMANDS and isinstance(meta.get("cell"), str)


def _save(outcome, path, overwrite):
    from .images import save_image

    if path is not None:  # (marked a cell: --overwrite replaces only those, never another output of stylize's)
        save_image(outcome.image, path, dict(outcome.metadata, cell=Path(path).name), overwrite=overwrite)


def figure1_names(content_layers, layer_sets) -> list[str]:
    return [f"content-{layer}" for layer in content_layers] + [f"style-{row_label(k)}" for k in range(len(layer_sets))]


def _inputs(settings, photo, artwork) -> list:
    """Every file a figure reads (files.input_files: --init, masks, ...): none may be a cell or the output."""
    from .files import input_files

    return [os.path.abspath(f) for f in (photo, artwork, *input_files(settings))  # (absolute: a figure may be
            if isinstance(f, (str, os.PathLike))]  # saved from another folder) (a PIL image: no file)


def _provenance(outcomes) -> dict:
    """What a figure was made from, as its cells' runs read it (their metadata's keys): the photograph and the
    artwork (each cell reads one or both; a PIL image is "<image>"), their pixels' digests and the --init's, the
    device, torch and the weights' digest. Empty when no cell ran."""
    if not outcomes:
        return {}
    cells = [o.metadata for o in outcomes]

    def first(values):
        return next(iter(values), None)

    return {"content": first(m["content"] for m in cells if m["content"] is not None),
            "style": first(m["style"] for m in cells if m["style"] is not None),
            "inputs": {"content": first(m["inputs"]["content"] for m in cells if m["inputs"]["content"] is not None),
                       "style": first(m["inputs"]["styles"][0] for m in cells if m["inputs"]["styles"]),
                       "init": first(m["inputs"]["init"] for m in cells if m["inputs"]["init"] is not None)},
            **{key: cells[0][key] for key in ("device", "torch", "weights_sha256")}}


def _arguments(settings, layer_sets, *, ratios=None, content_layers=None) -> tuple:
    """The API's arguments of a figure as lists the code iterates: settings (None: the defaults), each layer set a
    tuple of names (one name alone is a set of one), ratios and content layers as tuples (one alone: a tuple of
    one). SettingsError or LayerError for what is none of these, naming it."""
    from .arguments import given_twice
    from .errors import LayerError
    from .job import layer_names
    from .settings import settings_of

    settings = settings_of(settings)
    if not isinstance(layer_sets, (list, tuple)) or not layer_sets:
        raise LayerError(f"layer_sets: a list of layer sets (each a name or a list of names), not "
                         f"{arguments.quoted(layer_sets, 80)}")
    layer_sets = tuple(layer_names(k, "a layer set") for k in layer_sets)
    if given_twice(layer_sets, key=set) is not None:  # (a row twice, run twice)
        raise LayerError(f"layer_sets: the layer set {','.join(given_twice(layer_sets, key=set))} is given twice")
    if ratios is not None:
        ratios = (ratios,) if arguments.is_real(ratios) else ratios
        if not isinstance(ratios, (list, tuple)) or not ratios or not all(arguments.is_real(r) for r in ratios):
            raise SettingsError(f"ratios: a number or a list of numbers (alpha/beta), not "
                                f"{arguments.quoted(ratios, 80)}")
        try:
            ratios = tuple(arguments.as_float(r) for r in ratios)
        except OverflowError:
            raise SettingsError(f"ratios: numbers within a float's range, not {arguments.quoted(ratios, 80)}") from None
        except ValueError:
            raise SettingsError(f"ratios: {arguments.quoted(ratios, 80)} holds a number too small to be told from "
                                f"0") from None
        for r in ratios:  # every column's ratio before any work (a cell's settings are made when its turn comes)
            settings.replace(ratio=r)
        if given_twice(ratios) is not None:
            raise SettingsError(f"ratios: the ratio {given_twice(ratios):g} is given twice")
    if content_layers is not None:
        content_layers = layer_names(content_layers, "content_layers")
    return settings, layer_sets, ratios, content_layers


def _check(settings, output, photo, artwork, cells_dir, names, overwrite: bool) -> None:
    if output is not None:
        check_outputs(output, _inputs(settings, photo, artwork), overwrite,
                      cell_paths(cells_dir, names) if cells_dir else ())


def _check_deepest(session, photo, artwork, content_layers, layer_sets) -> None:
    """The output (the photograph at --size) and the artwork (at its size) checked against the deepest layer of
    any cell, before each cell's own checks: a message naming a shallower cell's layer would be raised again, a
    layer deeper, after its remedy."""
    from .job import span_job
    from .plan import check_output, check_styles

    job = span_job(session.settings, photo, artwork, content_layers, [name for layers in layer_sets for name in layers])
    check_output(job, session.targets)
    check_styles(job, session.targets)


def _check_fits(output, rows, row_labels, column_labels, title: str) -> None:
    """ImageError, before any cell runs, when the finished picture (the panel of the planned cells, rows of
    (width, height)) is larger than the output's format holds (images.check_fits: an .ico 256 px a side)."""
    if output is None:
        return
    from .images import check_fits, max_side

    blank = [[Image.new("RGB", size) for size in row] for row in rows]
    least = panel([[Image.new("RGB", (1, 1)) for _ in row] for row in rows], row_labels, column_labels, title).size
    labels_fit = max_side(output) is None or max(least) <= max_side(output)  # (a smaller --size can help at all?)
    check_fits(output, panel(blank, row_labels, column_labels, title).size,
               "lower --size, or choose another format" if labels_fit else
               "choose another format: its labels alone are wider than that, at any --size")


def _written(figure: Figure, output, argv: str, overwrite: bool, metadata: dict | None) -> Figure:
    figure.made = _made_key(figure)  # (what save takes back)
    if output is not None and figure.image is not None:
        figure.output, figure.side = Path(output), save(figure, output, argv, overwrite, metadata)
    return figure


def _claimed(make):
    """Run a figure with its output claimed (claims.py) from the start: a second run into the same output is
    refused at once, naming the first run's pid, not after all its cells. (Where the output's folder is missing,
    the figure's own check says so.)"""
    @functools.wraps(make)
    def run(*args, **kwargs):
        from .synthesis import running  # (torch: imported when a figure runs, never by the command line's --help)

        with running():  # (a script's end waits for the whole figure, as synthesis.exit_waits)
            return claimed(*args, **kwargs)

    def claimed(*args, output=None, cells_dir=None, overwrite=False, callback=None, should_stop=None, argv="",
                metadata=None, **kwargs):

        arguments.names(cells_dir=cells_dir)
        arguments.files(output=output)
        arguments.flags(overwrite=overwrite)
        arguments.functions(callback=callback, should_stop=should_stop)
        if not isinstance(argv, str):
            raise SettingsError(f"argv: a text, not {type(argv).__name__}")
        metadata, = arguments.mappings(metadata=metadata)
        kwargs.update(overwrite=overwrite, callback=callback, should_stop=should_stop, argv=argv, metadata=metadata)
        from .claims import check_unclaimed_in, claim_folder, holding
        from .images import check_folder_name, missing_folders, remove_empty, same_file
        from .targets import pinned, unpinned

        if cells_dir is not None:  # (its name: never where stylize claims or locks)
            check_folder_name(cells_dir, "--cells-dir")

        for name in (output, side_path(output)) if output is not None and cells_dir is not None else ():
            if same_file(cells_dir, name):  # (checked before the folder is made: then it is not the user's file)
                what = "output" if name is output else ".json"
                raise ImageError(f"{cells_dir}: --cells-dir is the figure's own {what} name; choose another folder")
        with contextlib.ExitStack() as held:
            if output is not None:
                held.enter_context(holding(output))  # the picture and its .json: one run at a time
                held.enter_context(holding(side_path(output)))
            made = missing_folders(cells_dir) if cells_dir is not None else []
            if made:
                try:
                    Path(cells_dir).mkdir(parents=True)
                except OSError:  # prepare_cells says why, in its words ('new/..' made new, then failed: removed)
                    remove_empty(made)
                    made = []
            try:
                if cells_dir is not None and os.path.isdir(cells_dir):
                    held.enter_context(claim_folder(cells_dir))
                    check_unclaimed_in(cells_dir, "another --cells-dir")  # (a run writing there started before us)
                kwargs.update(callback=unpinned(callback), should_stop=unpinned(should_stop))  # (a run they start:
                with pinned():  # its own) (an input replaced meanwhile: refused, never cells of two versions in one figure)
                    return make(*args, output=output, cells_dir=cells_dir, **kwargs)
            finally:
                held.close()  # the folder's claim first, then the folders it made if the run left them empty
                remove_empty(made)
    return run


@_claimed
def figure1(settings, photo, artwork, content_layers=FIGURE1_CONTENT_LAYERS, layer_sets=PAPER_ROWS, *,
            cells_dir=None, overwrite: bool = False, callback=None, should_stop=None, output=None,
            argv: str = "", metadata: dict | None = None) -> Figure:
    """Figure 1: content reconstructions of `photo` from each of `content_layers` (top row) and style
    reconstructions of `artwork` from each layer set (bottom row). Cells are also saved in cells_dir.
    With `output`, the picture and its .json are checked before any work and written at the end (marked
    partial when interrupted; nothing when no cell finished); `argv` and `metadata` go into their metadata."""
    from .api import Session

    from . import job as jobs
    from .unread import check_settings, recorded

    settings, layer_sets, _, content_layers = _arguments(settings, layer_sets, content_layers=content_layers)
    check_settings(settings, "figure1")
    _check(settings, output, photo, artwork, cells_dir, figure1_names(content_layers, layer_sets), overwrite)
    runs = len(content_layers) + len(layer_sets)
    session = Session(settings)
    _check_deepest(session, photo, artwork, content_layers, layer_sets)
    plans = [session.plan(jobs.content_job(settings, photo, layer)) for layer in content_layers]  # every check
    out_size = (plans[0].width, plans[0].height) if plans else None  # first (the jobs' own: figure1's settings are
    plans += [session.plan(jobs.style_job(settings, artwork, layers, out_size=out_size))  # checked as figure1's)
              for layers in layer_sets]
    labels = [f"{layer} / {row_label(k)}" for k, layer in enumerate(content_layers)]
    title = "Content reconstructions (top) and style reconstructions (bottom)"
    sizes = [(p.width, p.height) for p in plans]
    _check_fits(output, [sizes[:len(content_layers)], sizes[len(content_layers):]], ["content", "style"], labels,
                title)
    paths = prepare_cells(cells_dir, figure1_names(content_layers, layer_sets), overwrite,
                          _inputs(settings, photo, artwork)) \
        or [None] * runs
    stop = should_stop or (lambda: False)
    records, top, bottom, outcomes = [], [], [], []
    for run, plan in enumerate(plans):
        if stop():
            break
        o = session.run(plan, callback and _RunCallback(callback, run, runs), should_stop)
        if o.unstarted:  # no cell (its image is the start)
            break
        outcomes.append(o)
        if run < len(content_layers):
            top.append(o.image)
            records.append({"row": "content", "layers": [content_layers[run]], "content_loss": o.content_loss,
                            "iterations": o.iterations, "evaluations": o.evaluations, "seconds": o.seconds,
                            "partial": o.partial})
        else:
            k = run - len(content_layers)
            bottom.append(o.image)
            records.append({"row": "style", "label": row_label(k), "layers": list(layer_sets[k]),
                            "style_loss": o.style_loss, "iterations": o.iterations, "evaluations": o.evaluations,
                            "seconds": o.seconds, "partial": o.partial})
        _save(o, paths[run], overwrite)
    image = panel([top, bottom], ["content", "style"], labels, title) if outcomes else None
    partial = len(outcomes) < runs or any(o.partial for o in outcomes)
    meta = {"command": "figure1", "settings": recorded(settings.to_dict(), "figure1"),
            "style_layer_sets": {row_label(k): list(s) for k, s in enumerate(layer_sets)},
            "cells": records, "partial": partial, **_provenance(outcomes)}
    return _written(Figure(image, meta, outcomes, inputs=_inputs(settings, photo, artwork),
                           cell_files=[p for p in paths if p is not None]), output, argv, overwrite, metadata)


def ratio_names(ratios) -> list[str]:
    """Each alpha/beta as a cell name and column label: 6 significant digits ('0.001'), or as many as it
    takes to tell distinct ratios apart ('0.0010000001')."""
    short = [f"{r:g}" for r in ratios]
    return short if len(set(short)) == len(set(ratios)) else [repr(float(r)) for r in ratios]


def grid_names(ratios, layer_sets) -> list[str]:
    return [f"{row_label(k)}_{name}" for k in range(len(layer_sets)) for name in ratio_names(ratios)]


@_claimed
def grid(settings, photo, artwork, ratios=PAPER_RATIOS, layer_sets=PAPER_ROWS, *, cells_dir=None,
         overwrite: bool = False, callback=None, should_stop=None, output=None, argv: str = "",
         metadata: dict | None = None) -> Figure:
    """Figure 3: style transfers of `photo` with `artwork`, rows = style layer sets, columns = alpha/beta.
    `output`, `argv`, `metadata`: as figure1's."""
    from .api import Session

    from .unread import check_settings, recorded

    settings, layer_sets, ratios, _ = _arguments(settings, layer_sets, ratios=ratios)
    check_settings(settings, "grid")
    _check(settings, output, photo, artwork, cells_dir, grid_names(ratios, layer_sets), overwrite)
    runs = len(ratios) * len(layer_sets)

    def cell(layers, ratio):
        """A cell's (session, plan); the cells of a row differ only in alpha/beta, which no check reads."""
        session = Session(settings.replace(style_layers=tuple(layers), ratio=ratio, style_layer_weights=None))
        return session, session.plan(session.transfer_job(photo, artwork))

    _check_deepest(Session(settings), photo, artwork, [settings.content_layer], layer_sets)
    firsts = [cell(layers, ratios[0]) for layers in layer_sets]  # every row's checks before any work: its first
    title = "alpha/beta (columns) x style layers (rows)"  # cell's plan stands for the row (held: one per row)
    _check_fits(output, [[(plan.width, plan.height)] * len(ratios) for _, plan in firsts],
                [row_label(k) for k in range(len(layer_sets))], ratio_names(ratios), title)
    paths = prepare_cells(cells_dir, grid_names(ratios, layer_sets), overwrite,
                          _inputs(settings, photo, artwork)) or [None] * runs
    stop = should_stop or (lambda: False)
    rows, records, outcomes = [], [], []
    for run in range(runs):
        if stop():
            break
        k, j = divmod(run, len(ratios))
        if j == 0:
            rows.append([])
            (session, plan), firsts[k] = firsts[k], None
        else:  # (planned when its turn comes: a long --ratios list holds no plan of every cell at once)
            session, plan = cell(layer_sets[k], ratios[j])
        o = session.run(plan, callback and _RunCallback(callback, run, runs), should_stop)
        if o.unstarted:  # no cell (its image is the start)
            rows = [row for row in rows if row]
            break
        rows[-1].append(o.image)
        outcomes.append(o)
        records.append({"row": row_label(k), "layers": list(layer_sets[k]), "ratio": ratios[j],
                        "content_loss": o.content_loss, "style_loss": o.style_loss,
                        "iterations": o.iterations, "evaluations": o.evaluations,
                        "seconds": round(o.seconds, 2), "partial": o.partial})
        _save(o, paths[run], overwrite)
    image = panel(rows, [row_label(k) for k in range(len(rows))], ratio_names(ratios), title) if outcomes else None
    partial = len(outcomes) < runs or any(o.partial for o in outcomes)
    meta = {"command": "grid", "settings": recorded(settings.to_dict(), "grid"), "ratios": list(ratios),
            "style_layer_sets": {row_label(k): list(s) for k, s in enumerate(layer_sets)},
            "cells": records, "partial": partial, **_provenance(outcomes)}
    return _written(Figure(image, meta, outcomes, inputs=_inputs(settings, photo, artwork),
                           cell_files=[p for p in paths if p is not None]), output, argv, overwrite, metadata)


# The Python API (README: Python API); the other names serve the command line and check less.
__all__ = ["Figure", "figure1", "grid", "save"]
