"""The first stage: a Job, the complete and resolved description of one synthesis, built from Settings.

Nothing after a Job reads Settings: sizes, alpha and beta, layers and their weights, the blend, the start,
the optimiser and the colour and mask policies are all here. Which network computes it (weights, pooling,
normalisation, device) is the Session's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Union

from PIL import Image

from .arguments import given_twice, is_real, is_whole, quoted, seal, sealed
from .errors import ImageError, LayerError, SettingsError
from .layers import check_layer
from .settings import MAX_SIDE, STARTS, Settings

ImageLike = Union[str, os.PathLike, Image.Image]
COMMANDS = ("transfer", "content-recon", "style-recon")


@dataclass(frozen=True)
class Job:
    """What one synthesis makes and how: L_total = alpha L_content + beta L_style (+ tv_weight L_tv), minimised
    over the pixels from `init` (paper, Sec. 2)."""

    command: str  # transfer | content-recon | style-recon
    content: ImageLike | None = None  # the photograph (its aspect ratio is the output's)
    styles: tuple = ()  # the artworks
    blend: tuple[float, ...] = ()  # each artwork's share of the style target, summing to 1
    content_layers: tuple[str, ...] = ()
    style_layers: tuple[str, ...] = ()
    layer_weights: tuple[float, ...] = ()  # w_l of each style layer
    alpha: float = 0.0  # content weight
    beta: float = 0.0  # style weight
    size: int = 512  # long side of the output, pixels
    out_size: tuple[int, int] | None = None  # (width, height), overriding size (style-recon)
    style_size: int | None = None  # the artwork's long side at full size; None = the output's long side
    style_scale: float | None = None  # or the artwork's long side as a multiple of the output's
    size_invariant: bool = True  # content loss divided by M_l (README: loss scaling)
    tv_weight: float = 0.0
    iterations: int = 500  # at the last (full-size) level
    coarse_iterations: int | None = None  # at each coarser level; None = iterations
    scales: int = 1  # coarse-to-fine levels
    evaluations: int | None = None  # cap on loss evaluations at the last level; None = 1.25 x iterations
    until_done: bool = True  # stop a level early once its loss stops falling (synthesis.Bookkeeper)
    history: int = 100  # L-BFGS history asked for (the memory plan may lower it)
    optimizer: str = "lbfgs"
    learning_rate: float = 0.05  # Adam's step, pixel units
    init: str = "noise"  # noise | content | style | path to an image
    noise: float = 0.02  # std of the start noise around mid-grey
    seed: int = 0
    color: str = "style"  # colour policy (color.policy)
    color_map: str | None = None
    content_mask: str | None = None
    style_masks: tuple[str, ...] = ()
    guide: str = "simple"
    meta: tuple = ()  # (key, value) pairs recorded in the output's metadata
    blend_given: bool = False  # a blend asked for (blend=, --style-blend), not the equal default: a usage error
    # where nothing reads it (plan.make: masks whose regions each take one artwork)
    settings: dict = field(default_factory=dict, compare=False)  # the Settings it came from, for the metadata
    made: str = field(default="", init=False, repr=False, compare=False)  # arguments.seal: as a Session made it

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.content_layers + self.style_layers))

    @property
    def masked(self) -> bool:
        """Whether the style term is guided by regions (a transfer with --content-mask)."""
        return self.content_mask is not None and self.content is not None and bool(self.styles)

    def style_long_side(self, size: int) -> int:
        """The artwork's long side for an output whose long side is `size` (at full size: job.size)."""
        if self.style_scale is not None:
            return max(1, round(self.style_scale * size))
        return self.style_size or size

    def level_style_long_side(self, factor: float) -> int:
        """The artwork's long side at a coarse-to-fine level `factor` times the output's size."""
        return max(1, round(self.style_long_side(self.size) * factor))

    def level_iterations(self, final: bool) -> int:
        return self.iterations if final else (self.coarse_iterations or self.iterations)


def _common(s: Settings) -> dict:
    """The fields every command takes straight from the settings."""
    return dict(size=s.size, style_size=s.style_size, style_scale=s.style_scale,
                size_invariant=s.loss_scaling == "size-invariant", tv_weight=s.tv_weight, iterations=s.iterations,
                coarse_iterations=s.coarse_iterations, scales=s.scales, evaluations=s.evaluations,
                until_done=s.until_done,
                history=s.history, optimizer=s.optimizer, learning_rate=s.learning_rate, init=s.init,
                noise=s.noise, seed=s.seed, settings=s.to_dict())


def image_like(image, what: str) -> ImageLike:
    """`image` if it is one (a file name or a PIL image), else ImageError naming `what` it was given as."""
    if isinstance(image, Image.Image):
        try:
            image.load()  # (a closed image, or one whose file went away)
        except (ValueError, OSError, AttributeError) as e:
            raise ImageError(f"the {what}: this PIL image cannot be read ({e})") from None
        if 0 in image.size:
            raise ImageError(f"the {what}: an empty image ({image.width}x{image.height} px)")
        return image
    if isinstance(image, (str, os.PathLike)) and isinstance(os.fspath(image), str):
        if "\0" in os.fspath(image) or not os.fspath(image):
            raise ImageError(f"the {what}: a file name cannot be empty or hold a NUL byte")
        return image
    raise ImageError(f"the {what}: an image is a file name or a PIL image, not {type(image).__name__}")


def styles_of(style) -> tuple:
    """One style image or several, as a tuple (ImageError for anything that is neither)."""
    if isinstance(style, (str, os.PathLike, Image.Image)):
        return (image_like(style, "style image"),)
    if not isinstance(style, (list, tuple)):
        raise ImageError(f"the style: an image (a file name or a PIL image) or a list of them, not "
                         f"{type(style).__name__}")
    return tuple(image_like(s, f"style image {k}") for k, s in enumerate(style, 1))


def layer_names(layers, what: str | None = None) -> tuple[str, ...]:
    """Layer names given to the API (`what`: the argument, for the message): one name or several, each one of
    VGG-19's (LayerError)."""
    names = (layers,) if isinstance(layers, str) else layers
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) for n in names):
        said = f"{what}: a layer name or a list of them" if what else "layers are given as a name or a list of names"
        raise LayerError(f"{said} (e.g. 'conv1_1'), not {quoted(layers, 80)}")
    names = tuple(check_layer(n) for n in names)
    if given_twice(names) is not None:  # (it would count twice, or run twice)
        raise LayerError(f"{what or 'layers'}: {given_twice(names)} is given twice; give each layer once")
    return names


def blend_weights(s: Settings, blend, styles: int) -> tuple[float, ...]:
    """Each of `styles` style images' share of the style target (summing to 1): `blend` (a list of weights, one
    per style image), else --style-blend, else equal. SettingsError for no style, a blend that is no list of
    numbers, or a weight count other than `styles`."""
    if not styles:
        raise SettingsError("at least one style image is needed")
    if blend is not None and not isinstance(blend, (list, tuple)):
        raise SettingsError(f"blend: a list of weights, one per style image (or None), not {quoted(blend)}")
    if blend is not None and not all(is_real(w) for w in blend):
        raise SettingsError(f"blend: a list of weights (numbers), one per style image, not {quoted(list(blend))}")
    return (s.replace(style_blend=tuple(blend)) if blend is not None else s).blend(styles)


def transfer_job(s: Settings, content: ImageLike, style, blend: tuple[float, ...] | None = None) -> Job:
    """Style transfer (paper Fig. 2): alpha L_content + beta L_style; `style` is one artwork or several,
    blended by `blend`, else --style-blend, else equally. SettingsError for no style or a wrong blend count."""
    content, styles = image_like(content, "content image"), styles_of(style)
    weights = blend_weights(s, blend, len(styles))
    if s.content_mask is not None:
        from .masks import check_count

        check_count(s.style_masks, len(styles))
    alpha, beta = s.alpha_beta
    return seal(Job("transfer", content, styles, weights, (s.content_layer,), s.style_layers,
                tuple(s.layer_weights.values()), alpha, beta, color=s.color, color_map=s.color_map,
                content_mask=s.content_mask, style_masks=s.style_masks, guide=s.guide,
                blend_given=blend is not None or s.style_blend is not None, **_common(s)))


def content_job(s: Settings, image: ImageLike, layer: str | None = None) -> Job:
    """Content reconstruction (paper Fig. 1, bottom): only L_content at one layer (default: the content
    layer), from noise."""
    _paper_only(s, "content-recon")
    layers = layer_names(layer) if layer is not None else (s.content_layer,)
    if len(layers) > 1:
        raise LayerError(f"a content reconstruction is made from one layer, not {len(layers)} ({', '.join(layers)})")
    layer = layers[0]
    return seal(Job("content-recon", content=image_like(image, "image"), content_layers=(layer,), alpha=1.0,
                    meta=(("layer", layer),), **_common(s)))


def style_job(s: Settings, image: ImageLike, layers=None, out_size: tuple[int, int] | None = None) -> Job:
    """Style reconstruction / texture synthesis (paper Fig. 1, top): only L_style, from noise. `out_size`
    (width, height) defaults to the artwork's shape at --size; layers other than the settings' are weighted
    equally."""
    _paper_only(s, "style-recon")
    if out_size is not None and not (isinstance(out_size, (list, tuple)) and len(out_size) == 2 and all(
            is_whole(v) and 1 <= v <= MAX_SIDE for v in out_size)):
        raise SettingsError(f"out_size: (width, height), two whole numbers of pixels from 1 to {MAX_SIDE}, not "
                            f"{quoted(out_size)}")
    out_size = None if out_size is None else (int(out_size[0]), int(out_size[1]))
    layers = layer_names(layers) if layers is not None else s.style_layers
    weights = tuple(s.layer_weights.values()) if layers == s.style_layers else (1 / len(layers),) * len(layers)
    return seal(Job("style-recon", styles=(image_like(image, "image"),), blend=(1.0,), style_layers=layers,
                    layer_weights=weights, beta=1.0, out_size=out_size, meta=(("layers", list(layers)),), **_common(s)))


def span_job(s: Settings, content: ImageLike, artwork: ImageLike, content_layers, style_layers) -> Job:
    """For the checks only, never run: a transfer reading every one of `content_layers` and `style_layers` (a
    figure's cells together), so that plan.check_output/check_styles name the deepest layer any cell reads."""
    return Job("transfer", image_like(content, "content image"), (image_like(artwork, "style image"),), (1.0,),
               tuple(content_layers), tuple(style_layers), **_common(s))


def check_made(job: Job) -> None:
    """A Job given back as transfer_job, content_job or style_job made it, unchanged (a dataclasses.replace copy,
    an edit in place or a Job made by hand would run other fields than its recorded settings say): SettingsError."""
    if not sealed(job):
        raise SettingsError("job: not as session.transfer_job, content_job or style_job made it (a copy with fields "
                            "replaced, changed since, or made by hand: its metadata would not describe the picture); "
                            "make the job with the Session")


def _paper_only(s: Settings, command: str) -> None:
    used = [name for name, on in (("--color", s.color != "style"), ("--content-mask", s.content_mask),
                                  ("--style-blend", s.style_blend)) if on]
    if used:
        raise SettingsError(f"{used[0]} is for style transfer; {command} has no photograph and artwork to combine")


NAME_KEY = "stylize.name"  # an in-memory image's name for messages, in its .info (a video's frame: "clip.mp4 frame 3")


def describe(image: ImageLike | None) -> str | None:
    """How an input is named in messages and metadata: its path, the name in an in-memory image's
    .info[NAME_KEY] (a video's frame), or <image>."""
    if image is None:
        return None
    if isinstance(image, (str, os.PathLike)):
        return str(image)
    return str(getattr(image, "info", {}).get(NAME_KEY, "<image>"))


def inputs(job: Job, key: Callable[[ImageLike], str]) -> dict:
    """What an output was made from, beyond names: each image the job reads by `key` (targets.digest of its
    pixels, as the run saw them; a mask: masks.fingerprint), so that a resume sees a file whose contents changed
    under its name (README: Batches). {"content", "init", "content_mask": a digest or None; "styles",
    "style_masks": lists; a reconstruction's none of the masks, which it never reads}."""
    from .masks import fingerprint

    read = {"content": None if job.content is None else key(job.content), "styles": [key(s) for s in job.styles],
            "init": None if job.init in STARTS else key(job.init)}
    if job.command == "transfer":
        read.update(content_mask=None if job.content_mask is None else fingerprint(job.content_mask, key),
                    style_masks=[fingerprint(m, key) for m in job.style_masks])
    return read
