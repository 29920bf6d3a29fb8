"""What a Python caller uses: images in, images out. The CLI and the batch runner only wrap this."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Union

import torch
import torch.nn.functional as nnf
from PIL import Image

from . import __version__, allocator, color, images, masks, memory, stripes, synthesis, vgg, weights
from .errors import DeviceError, ImageError, NonFiniteError, SettingsError
from .layers import deepest, min_side
from .objective import ContentTerm, GuidedStyleTerm, Objective, StyleTerm, Term, TVTerm
from .settings import Settings
from .synthesis import Progress

ImageLike = Union[str, os.PathLike, Image.Image]


def resolve_device(name: str) -> torch.device:
    """auto -> CUDA when present, else CPU; an explicit CUDA device that is absent is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        try:
            device = torch.device(name)
        except RuntimeError:
            raise DeviceError(f"{name!r} is not a device name; use auto, cpu, cuda or cuda:N") from None
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {name}: CUDA is not available here (no GPU, or a CPU-only torch); use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) here")
        return device
    raise DeviceError(f"{name!r} is not a device name; use auto, cpu, cuda or cuda:N")


@dataclass
class Outcome:
    """A finished (or interrupted) synthesis: the image and how it got there."""

    image: Image.Image
    content_loss: float
    style_loss: float
    loss: float
    iterations: int
    evaluations: int
    seconds: float
    stopped: str
    metadata: dict

    @property
    def partial(self) -> bool:
        return self.stopped == "interrupted"


def _open(image: ImageLike) -> Image.Image:
    return image.convert("RGB") if isinstance(image, Image.Image) else images.load_image(image)


def _key(image: ImageLike) -> str:
    return str(Path(image).resolve()) if isinstance(image, (str, os.PathLike)) else f"id:{id(image)}"


def _describe(image: ImageLike) -> str:
    return str(image) if isinstance(image, (str, os.PathLike)) else "<image>"


def _styles(style) -> tuple:
    """One style image or several, as a tuple."""
    if isinstance(style, (str, os.PathLike, Image.Image)):
        return (style,)
    return tuple(style)


@dataclass(frozen=True)
class Job:
    """What one synthesis makes (the Settings say how): its images, layers, weights and size."""

    command: str  # transfer | content-recon | style-recon
    content: ImageLike | None = None  # the photograph (its aspect ratio is the output's)
    styles: tuple = ()  # the artworks
    blend: tuple[float, ...] = ()  # each artwork's share of the style target, summing to 1
    content_layers: tuple[str, ...] = ()
    style_layers: tuple[str, ...] = ()
    layer_weights: tuple[float, ...] = ()  # w_l of each style layer
    alpha: float = 0.0  # content weight
    beta: float = 0.0  # style weight
    size: int = 512  # long side of the output
    out_size: tuple[int, int] | None = None  # (width, height), overriding size (style-recon)
    meta: tuple = ()  # (key, value) pairs recorded in the output's metadata

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.content_layers + self.style_layers))


class Session:
    """One network on one device, reused for many syntheses; caches targets per image and size."""

    def __init__(self, settings: Settings | None = None, **overrides):
        self.settings = (settings or Settings()).replace(**overrides) if overrides else (settings or Settings())
        self.device = resolve_device(self.settings.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True
        self._images: dict[str, Image.Image] = {}
        self._targets: dict[tuple, object] = {}

    # -- pieces -------------------------------------------------------------------------------
    def network(self, layers) -> vgg.VGG:
        s = self.settings
        return vgg.network(s.weights, s.pooling, s.normalize, deepest(layers), self.device)

    def image(self, image: ImageLike) -> Image.Image:
        key = _key(image)
        if key not in self._images:
            if len(self._images) > 64:
                self._images.clear()
            self._images[key] = _open(image)
        return self._images[key]

    def sized(self, image: ImageLike, long_side: int, layers, role: str) -> torch.Tensor:
        w, h = images.fitted_size(self.image(image).size, long_side)
        _check_min_side(w, h, layers, f"{_describe(image)}: the {role} image", _SIZE_OPTION[role])
        memory.check_targets(w, h, layers, self.device, role)
        return images.to_tensor(images.fit(self.image(image), long_side)).to(self.device)

    def _cached(self, key: tuple, compute):
        if key not in self._targets:
            self._targets[key] = compute()
        return self._targets[key]

    def content_image(self, image: ImageLike, long_side: int, layers) -> torch.Tensor:
        """The photograph as the network sees it: its luminance alone with --color luminance."""
        x = self.sized(image, long_side, layers, "content")
        return color.luminance(x) if self.settings.color == "luminance" else x

    def style_image(self, image: ImageLike, long_side: int, layers, content: ImageLike | None) -> torch.Tensor:
        """The artwork as the network sees it, recoloured for --color luminance or histogram."""
        x = self.sized(image, long_side, layers, "style")
        mode = self.settings.color
        if mode in ("luminance", "histogram") and content is not None:
            photo = images.to_tensor(self.image(content)).to(self.device)
            if mode == "luminance":
                return color.match_luminance(x, photo)
            return color.match_histogram(x, photo, self.settings.color_map or "ia")
        return x

    def content_targets(self, image: ImageLike, long_side: int, layers, net=None) -> dict:
        """P^l of `image` at `layers` (computed once per image, size and layers). `net`: the network to
        use, by default one truncated at the deepest of `layers` (responses do not depend on depth)."""
        def compute():
            return synthesis.content_targets(net or self.network(layers), self.content_image(image, long_side, layers),
                                             layers)
        return self._cached(("content", _key(image), long_side, tuple(layers), self.settings.color), compute)

    def style_targets(self, image: ImageLike, long_side: int, layers, net=None, content: ImageLike | None = None) -> dict:
        """A^l / M_l of `image` at `layers`, computed once per image, size and layers."""
        def compute():
            x = self.style_image(image, long_side, layers, content)
            return synthesis.style_targets(net or self.network(layers), x, layers)
        return self._cached(self._style_key("style", image, long_side, layers, content), compute)

    def _style_key(self, kind, image, long_side, layers, content) -> tuple:
        s = self.settings
        colour = (s.color, s.color_map, _key(content) if content is not None else None) if s.color != "style" else ()
        return (kind, _key(image), long_side, tuple(layers), colour)

    def blended_style_targets(self, styles, blend, long_side: int, layers, net, content=None) -> dict:
        """Per layer, the weighted mix sum_i b_i A_i^l / M_i^l of the artworks' Gram matrices."""
        parts = [(b, self.style_targets(im, long_side, layers, net, content)) for im, b in zip(styles, blend) if b]
        if len(parts) == 1 and parts[0][0] == 1.0:
            return parts[0][1]
        return {name: sum(b * t[name] for b, t in parts) for name in layers}

    def forget_image(self, image: ImageLike) -> None:
        """Drop one image and every target computed from it (a video drops each frame when it is done:
        an in-memory image is keyed by id(), which a later frame may reuse)."""
        key = _key(image)
        self._images.pop(key, None)
        for k in [k for k in self._targets if key in k or any(isinstance(p, tuple) and key in p for p in k)]:
            del self._targets[k]

    def forget(self) -> None:
        """Drop cached images and targets (the batch runner calls this between groups)."""
        self._images.clear()
        self._targets.clear()

    # -- jobs ---------------------------------------------------------------------------------
    def transfer_job(self, content: ImageLike, style, blend: tuple[float, ...] | None = None) -> Job:
        """Style transfer (paper Fig. 2): alpha L_content + beta L_style from the settings; `style` is
        one artwork or several (blended by `blend`, or --style-blend, or equally)."""
        s = self.settings
        styles = _styles(style)
        if not styles:
            raise SettingsError("at least one style image is needed")
        weights = s.replace(style_blend=tuple(blend)).blend(len(styles)) if blend is not None else s.blend(len(styles))
        alpha, beta = s.alpha_beta
        return Job("transfer", content, styles, weights, (s.content_layer,), s.style_layers,
                   tuple(s.layer_weights.values()), alpha, beta, s.size)

    def transfer(self, content: ImageLike, style, callback=None, should_stop=None, blend=None) -> Outcome:
        return self.run(self.transfer_job(content, style, blend), callback, should_stop)

    def content_job(self, image: ImageLike, layer: str | None = None) -> Job:
        """Content reconstruction (paper Fig. 1, bottom): only L_content at one layer, from noise."""
        self._paper_only("content-recon")
        layer = layer or self.settings.content_layer
        return Job("content-recon", content=image, content_layers=(layer,), alpha=1.0, size=self.settings.size,
                   meta=(("layer", layer),))

    def style_job(self, image: ImageLike, layers=None, out_size: tuple[int, int] | None = None) -> Job:
        """Style reconstruction / texture synthesis (paper Fig. 1, top): only L_style, from noise.
        out_size (width, height) defaults to the artwork's shape at --size."""
        self._paper_only("style-recon")
        s = self.settings
        layers = tuple(layers or s.style_layers)
        weights = tuple(s.layer_weights.values()) if layers == s.style_layers else (1 / len(layers),) * len(layers)
        return Job("style-recon", styles=(image,), blend=(1.0,), style_layers=layers, layer_weights=weights,
                   beta=1.0, size=s.size, out_size=out_size, meta=(("layers", list(layers)),))

    def reconstruct_content(self, image: ImageLike, layer: str | None = None, callback=None,
                            should_stop=None) -> Outcome:
        return self.run(self.content_job(image, layer), callback, should_stop)

    def reconstruct_style(self, image: ImageLike, layers=None, out_size: tuple[int, int] | None = None,
                          callback=None, should_stop=None) -> Outcome:
        return self.run(self.style_job(image, layers, out_size), callback, should_stop)

    def _paper_only(self, command: str) -> None:
        s = self.settings
        used = [name for name, on in (("--color", s.color != "style"), ("--content-mask", s.content_mask),
                                      ("--style-blend", s.style_blend)) if on]
        if used:
            raise SettingsError(f"{used[0]} is for style transfer; {command} has no photograph and artwork to combine")

    # -- the synthesis ------------------------------------------------------------------------
    def output_size(self, job: Job) -> tuple[int, int]:
        """(width, height): the content image's aspect ratio (or the artwork's, or job.out_size)."""
        if job.out_size is not None:
            return job.out_size
        return images.fitted_size(self.image(job.content if job.content is not None else job.styles[0]).size, job.size)

    def terms(self, job: Job, net, width: int, height: int, factor: float = 1.0) -> list[Term]:
        """The objective's terms for one level of the synthesis (an output of width x height)."""
        s = self.settings
        out = []
        if job.content is not None and job.alpha:
            out.append(ContentTerm(self.content_targets(job.content, max(width, height), job.content_layers, net),
                                   job.alpha, size_invariant=s.loss_scaling == "size-invariant"))
        if job.styles and job.beta:
            style_long = _style_long(s, job, factor)
            layer_weights = dict(zip(job.style_layers, job.layer_weights))
            if s.content_mask is not None and job.content is not None:
                guides = self.guides(job, net, width, height, style_long)
                out.append(GuidedStyleTerm(guides, job.beta, layer_weights))
            else:
                targets = self.blended_style_targets(job.styles, job.blend, style_long, job.style_layers, net,
                                                     job.content)
                out.append(StyleTerm(targets, job.beta, layer_weights))
        if s.tv_weight:
            out.append(TVTerm(s.tv_weight))
        return out

    def guides(self, job: Job, net, width: int, height: int, style_long: int) -> dict:
        """Per style layer, [(T^r of the output, blended A^r), ...] over the regions present at that layer."""
        s = self.settings
        content_regions, style_regions, plan = self._regions(job)
        layers = job.style_layers
        style_guides = []  # per style: {region key: {layer: T}} and its targets
        for i, style in enumerate(job.styles):
            if not any(i == j for sources in plan.values() for j, _ in sources):
                style_guides.append(None)
                continue
            x = self.style_image(style, style_long, layers, job.content)
            h, w = x.shape[-2:]
            per_region = {key: masks.layer_guides(_resized(T, h, w), layers, s.guide)
                          for key, T in style_regions[i].items()}
            keys = list(per_region)
            targets = synthesis.guided_style_targets(
                net, x, {name: [per_region[k][name].to(self.device) for k in keys] for name in layers})
            style_guides.append({k: {name: targets[name][n] for name in layers} for n, k in enumerate(keys)})
        out = {}
        for key, T in content_regions.items():
            guides = masks.layer_guides(_resized(T, height, width), layers, s.guide)
            for name in layers:
                parts = [(b, style_guides[i][key][name]) for i, b in plan[key]]
                parts = [(b, A) for b, A in parts if A is not None]
                if not parts or float(guides[name].sum()) == 0:
                    continue  # the region vanishes at this layer (a small region, or --guide inside)
                total = sum(b for b, _ in parts)
                A = sum(b * A for b, A in parts) / total
                out.setdefault(name, []).append((guides[name].to(self.device), A))
        if not out:
            raise ImageError("no region of the content mask is large enough to guide any style layer at this size")
        return out

    def _regions(self, job: Job):
        """(content regions, each style's regions, the region plan), read once per job's images and masks:
        check() and every coarse-to-fine level use them."""
        s = self.settings
        key = ("regions", s.content_mask, s.style_masks, _key(job.content), tuple(_key(im) for im in job.styles),
               job.blend)
        return self._cached(key, lambda: self._read_regions(job))

    def _read_regions(self, job: Job):
        s = self.settings
        masks.check_count(s.style_masks, len(job.styles))
        content_regions = masks.read(s.content_mask, self.image(job.content).size, f"the content image {_describe(job.content)}")
        style_regions = [masks.read(m, self.image(im).size, f"the style image {_describe(im)}")
                         for m, im in zip(s.style_masks, job.styles)]
        plan = masks.plan(content_regions, style_regions, job.blend, s.content_mask, list(s.style_masks))
        return content_regions, style_regions, plan

    def check(self, job: Job) -> tuple[int, int, list[tuple[int, int]]]:
        """Everything that can be checked before any work: the output's and every level's sizes, the
        style image's size at every level, the masks, and memory. Returns (width, height, levels)."""
        s = self.settings
        width, height = self.output_size(job)
        _check_min_side(width, height, job.layers, "the output", "--size" if job.out_size is None else "--out-size")
        levels = _levels(width, height, s.scales, min_side(job.layers))
        for k, (w, h) in enumerate(levels):
            coarse = " or lower --scales" if k < len(levels) - 1 else ""
            _check_min_side(w, h, job.layers, f"the output at coarse-to-fine level {w}x{h}", "--size" + coarse)
            factor = max(w, h) / max(width, height)
            style_long = _style_long(s, job, factor)
            for style in job.styles:
                sw, sh = images.fitted_size(self.image(style).size, style_long)
                option = "--style-size or --style-scale" if (s.style_size or s.style_scale) else "--size"
                _check_min_side(sw, sh, job.style_layers, f"{_describe(style)}: the style image", option + coarse)
        if s.content_mask is not None and job.content is not None and job.styles:
            self._regions(job)
        self.plan = memory.check(width, height, job.layers, s.history, self.device, optimizer=s.optimizer,
                                 pooling=s.pooling)
        return width, height, levels

    def objective(self, job: Job) -> Objective:
        """The job's objective at its full size (the last level), e.g. to evaluate an image against it."""
        width, height, _ = self.check(job)
        net = self.network(job.layers)
        return Objective(net, self.terms(job, net, width, height))

    def run(self, job: Job, callback=None, should_stop=None, *, extra_terms=(), start: torch.Tensor | None = None,
            iterations: int | None = None) -> Outcome:
        """Run one synthesis: coarse-to-fine levels, each an optimization of the job's objective.

        extra_terms: more terms for the last (full-size) level, e.g. a video's temporal term; start: the
        start image (1, 3, H, W) instead of --init, resized to each level; iterations: instead of
        --iterations at the last level."""
        s = self.settings
        width, height, levels = self.check(job)
        net = self.network(job.layers)
        if self.device.type == "cpu":
            allocator.use(self.plan.reuse)  # the command line's allocator, as the plan says (allocator.py)
        x = result = None
        for k, (w, h) in enumerate(levels):
            factor = max(w, h) / max(width, height)
            final = k == len(levels) - 1
            terms = self.terms(job, net, w, h, factor) + (list(extra_terms) if final else [])
            if x is None:
                x = (self._start(job, w, h) if start is None else start.float()).to(self.device)
            if x.shape[-2:] != (h, w):
                x = nnf.interpolate(x, size=(h, w), mode="bicubic", align_corners=False)
            level_iterations = (iterations or s.iterations) if final else (s.coarse_iterations or s.iterations)
            level_callback = None if callback is None else _LevelCallback(callback, k, len(levels))
            plan = self.plan if final else memory.plan(w, h, job.layers, s.history, self.device, s.optimizer,
                                                       s.pooling)
            with stripes.striped(not plan.reuse):  # memory is short: gradients a stripe at a time (stripes.py)
                result = synthesis.optimize(Objective(net, terms), x, level_iterations, plan.history,
                                            s.evaluations if final else None, level_callback, should_stop,
                                            optimizer=s.optimizer, learning_rate=s.learning_rate)
            x = result.image
            if result.stopped == "non-finite" and result.evaluations == 0:
                raise NonFiniteError("the loss is not finite at the start: the weights (--ratio, --content-weight, "
                                     "--style-weight, --tv-weight) are too large for float32")
            if result.stopped in ("interrupted", "non-finite"):
                break
        out = result.image
        if s.color in ("luminance", "swap") and job.content is not None:
            photo = images.to_tensor(images.fit(self.image(job.content), job.size)).to(out.device)
            out = color.with_chroma(out, photo)
        meta = {
            "stylize": __version__,
            "command": job.command,
            **dict(job.meta),
            "settings": s.to_dict(),
            "content": _describe(job.content) if job.content is not None else None,
            "style": _describe(job.styles[0]) if len(job.styles) == 1 else None,
            "styles": [_describe(im) for im in job.styles],
            "blend": list(job.blend),
            "width": width,
            "height": height,
            "device": str(self.device),
            "torch": torch.__version__,
            "weights_sha256": weights.fingerprint(s.weights),
            "content_loss": result.content,
            "style_loss": result.style,
            "loss": result.loss,
            "iterations": result.iterations,
            "evaluations": result.evaluations,
            "stopped": result.stopped,
            "partial": result.partial,
            "memory": self.plan.to_dict(),
        }
        return Outcome(images.to_pil(out), result.content, result.style, result.loss, result.iterations,
                       result.evaluations, result.seconds, result.stopped, meta)

    def _start(self, job: Job, width: int, height: int) -> torch.Tensor:
        s = self.settings
        if s.init == "noise":
            return synthesis.noise_image(height, width, s.noise, s.seed)
        source = {"content": job.content, "style": job.styles[0] if job.styles else None}.get(s.init, s.init)
        if source is None:
            raise ImageError(f"--init {s.init}: this command has no {s.init} image")
        x = images.to_tensor(self.image(source).resize((width, height), Image.Resampling.LANCZOS))
        return color.luminance(x) if s.color == "luminance" else x


def _style_long(s: Settings, job: Job, factor: float) -> int:
    """The style image's long side at a coarse-to-fine level `factor` times the output's size."""
    return max(1, round(s.style_long_side(job.size) * factor))


def _resized(T: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """A mask's region (H, W) at another size, nearest (a region stays a region)."""
    return nnf.interpolate(T[None, None], size=(height, width), mode="nearest")[0, 0]


_SIZE_OPTION = {"content": "--size", "style": "--size or --style-size"}


def _check_min_side(width: int, height: int, layers, what: str, option: str) -> None:
    need = min_side(layers)
    if min(width, height) < need:
        raise ImageError(
            f"{what} is {width}x{height} px at this size; {deepest(layers)} needs at least "
            f"{need} px on each side (raise {option})"
        )


class _LevelCallback:
    """Tags progress with the coarse-to-fine level it belongs to."""

    def __init__(self, callback, level: int, levels: int):
        self.callback, self.level, self.levels = callback, level, levels

    def __call__(self, progress: Progress) -> None:
        progress.level, progress.levels = self.level, self.levels
        self.callback(progress)


def _levels(width: int, height: int, scales: int, smallest: int) -> list[tuple[int, int]]:
    """Image sizes from coarse to fine, halving per level, never below what the layers need."""
    out = []
    for k in range(scales - 1, -1, -1):
        f = 0.5**k
        w, h = max(1, round(width * f)), max(1, round(height * f))
        if min(w, h) >= max(smallest, 16) or k == 0:
            out.append((w, h))
    return out


def transfer(content: ImageLike, style, settings: Settings | None = None, *,
             callback: Callable[[Progress], None] | None = None, **overrides) -> Image.Image:
    """Stylize `content` with `style` (one artwork, or a list blended by settings.style_blend); returns the
    image, its metadata in `image.info["stylize"]`."""
    outcome = Session(settings, **overrides).transfer(content, style, callback=callback)
    outcome.image.info["stylize"] = outcome.metadata
    return outcome.image


def reconstruct_content(image: ImageLike, layer: str = "conv4_2", settings: Settings | None = None, *,
                        callback=None, **overrides) -> Image.Image:
    """Reconstruct `image` from white noise using only its response at `layer`."""
    outcome = Session(settings, **overrides).reconstruct_content(image, layer, callback=callback)
    outcome.image.info["stylize"] = outcome.metadata
    return outcome.image


def reconstruct_style(image: ImageLike, layers=None, settings: Settings | None = None, *, out_size=None,
                      callback=None, **overrides) -> Image.Image:
    """Synthesize a texture from white noise matching `image`'s Gram matrices at `layers`."""
    outcome = Session(settings, **overrides).reconstruct_style(image, layers, out_size=out_size, callback=callback)
    outcome.image.info["stylize"] = outcome.metadata
    return outcome.image
