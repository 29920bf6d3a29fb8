"""What a Python caller uses: images in, images out. The CLI and the batch runner only wrap this."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Union

import torch
import torch.nn.functional as nnf
from PIL import Image

from . import __version__, images, memory, synthesis, vgg
from .errors import DeviceError, ImageError, NonFiniteError
from .settings import LAYERS, Settings, min_side
from .synthesis import Objective, Progress, Targets

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


class Session:
    """One network on one device, reused for many syntheses; caches targets per image and size."""

    def __init__(self, settings: Settings | None = None, **overrides):
        self.settings = (settings or Settings()).replace(**overrides) if overrides else (settings or Settings())
        self.device = resolve_device(self.settings.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True
        self._images: dict[str, Image.Image] = {}
        self._content: dict[tuple, dict] = {}
        self._style: dict[tuple, dict] = {}

    # -- pieces -------------------------------------------------------------------------------
    def network(self, layers) -> vgg.VGG:
        s = self.settings
        last = max(layers, key=LAYERS.index)
        return vgg.network(s.weights, s.pooling, s.normalize, last, self.device)

    def image(self, image: ImageLike) -> Image.Image:
        key = _key(image)
        if key not in self._images:
            if len(self._images) > 64:
                self._images.clear()
            self._images[key] = _open(image)
        return self._images[key]

    def sized(self, image: ImageLike, long_side: int, layers, role: str) -> torch.Tensor:
        w, h = images.fitted_size(self.image(image).size, long_side)
        _check_min_side(w, h, layers, f"{_describe(image)}: the {role} image")
        memory.check_targets(w, h, layers, self.device, role)
        return images.to_tensor(images.fit(self.image(image), long_side)).to(self.device)

    def content_targets(self, image: ImageLike, long_side: int, layers, net=None) -> dict:
        """P^l of `image` at `layers` (computed once per image, size and layers). `net`: the network to
        use, by default one truncated at the deepest of `layers` (responses do not depend on depth)."""
        key = (_key(image), long_side, tuple(layers))
        if key not in self._content:
            net = net or self.network(layers)
            self._content[key] = synthesis.content_targets(net, self.sized(image, long_side, layers, "content"), layers)
        return self._content[key]

    def style_targets(self, image: ImageLike, long_side: int, layers, net=None) -> dict:
        """A^l / M_l of `image` at `layers`, computed once per image, size and layers."""
        key = (_key(image), long_side, tuple(layers))
        if key not in self._style:
            net = net or self.network(layers)
            self._style[key] = synthesis.style_targets(net, self.sized(image, long_side, layers, "style"), layers)
        return self._style[key]

    def forget(self) -> None:
        """Drop cached images and targets (the batch runner calls this between groups)."""
        self._images.clear()
        self._content.clear()
        self._style.clear()

    # -- syntheses ----------------------------------------------------------------------------
    def transfer(self, content: ImageLike, style: ImageLike, callback=None, should_stop=None) -> Outcome:
        """Style transfer (paper Fig. 2): alpha L_content + beta L_style from the settings."""
        s = self.settings
        alpha, beta = s.alpha_beta
        return self._run(content, style, (s.content_layer,), s.style_layers, alpha, beta, s.size,
                         callback, should_stop, {"command": "transfer"})

    def reconstruct_content(self, image: ImageLike, layer: str | None = None, callback=None,
                            should_stop=None) -> Outcome:
        """Content reconstruction (paper Fig. 1, bottom): only L_content at one layer, from noise."""
        layer = layer or self.settings.content_layer
        return self._run(image, None, (layer,), (), 1.0, 0.0, self.settings.size, callback, should_stop,
                         {"command": "content-recon", "layer": layer})

    def reconstruct_style(self, image: ImageLike, layers=None, out_size: tuple[int, int] | None = None,
                          callback=None, should_stop=None) -> Outcome:
        """Style reconstruction / texture synthesis (paper Fig. 1, top): only L_style, from noise.
        out_size (width, height) defaults to the artwork's shape at --size."""
        layers = tuple(layers or self.settings.style_layers)
        return self._run(None, image, (), layers, 0.0, 1.0, self.settings.size, callback, should_stop,
                         {"command": "style-recon", "layers": list(layers)}, out_size=out_size)

    def _run(self, content, style, content_layers, style_layers, alpha, beta, size, callback, should_stop,
             extra, out_size=None) -> Outcome:
        s = self.settings
        all_layers = tuple(content_layers) + tuple(style_layers)
        net = self.network(all_layers)
        style_long = s.style_size or size
        # output shape: the content image's aspect ratio (or the artwork's, or out_size, for style-recon)
        if out_size is not None:
            width, height = out_size
        else:
            shape_from = content if content is not None else style
            width, height = images.fitted_size(self.image(shape_from).size, size)
        _check_min_side(width, height, all_layers, "the output")
        levels = _levels(width, height, s.scales, min_side(all_layers))
        memory.check(width, height, all_layers, s.history, self.device, size_option=size)
        x = None
        result = None
        for k, (w, h) in enumerate(levels):
            factor = max(w, h) / max(width, height)
            targets = Targets()
            if content is not None:
                targets.content = self.content_targets(content, max(w, h), content_layers, net)
            if style is not None:
                targets.style = self.style_targets(style, max(1, round(style_long * factor)), style_layers, net)
            if x is None:
                x = self._start(content, style, w, h).to(self.device)
            else:
                x = nnf.interpolate(x, size=(h, w), mode="bicubic", align_corners=False)
            objective = Objective(net, targets, alpha, beta, s.layer_weights,
                                  size_invariant=s.loss_scaling == "size-invariant")
            level_callback = None
            if callback is not None:
                level_callback = _LevelCallback(callback, k, len(levels))
            final = k == len(levels) - 1
            iterations = s.iterations if final or s.coarse_iterations is None else s.coarse_iterations
            evaluations = s.evaluations if final else None
            result = synthesis.lbfgs(objective, x, iterations, s.history, evaluations, level_callback, should_stop)
            x = result.image
            if result.stopped == "non-finite" and result.evaluations == 0:
                raise NonFiniteError("the loss is not finite at the start: the weights (--ratio, --content-weight, "
                                     "--style-weight) are too large for float32")
            if result.stopped in ("interrupted", "non-finite"):
                break
        meta = {
            "stylize": __version__,
            **extra,
            "settings": s.to_dict(),
            "content": _describe(content) if content is not None else None,
            "style": _describe(style) if style is not None else None,
            "width": width,
            "height": height,
            "device": str(self.device),
            "content_loss": result.content,
            "style_loss": result.style,
            "loss": result.loss,
            "iterations": result.iterations,
            "evaluations": result.evaluations,
            "stopped": result.stopped,
            "partial": result.partial,
        }
        image = images.to_pil(result.image)
        return Outcome(image, result.content, result.style, result.loss, result.iterations, result.evaluations,
                       result.seconds, result.stopped, meta)

    def _start(self, content, style, width: int, height: int) -> torch.Tensor:
        s = self.settings
        if s.init == "noise":
            return synthesis.noise_image(height, width, s.noise, s.seed)
        source = {"content": content, "style": style}.get(s.init, s.init)
        if source is None:
            raise ImageError(f"--init {s.init}: this command has no {s.init} image")
        im = self.image(source).resize((width, height), Image.Resampling.LANCZOS)
        return images.to_tensor(im)


def _check_min_side(width: int, height: int, layers, what: str) -> None:
    need = min_side(layers)
    if min(width, height) < need:
        raise ImageError(
            f"{what} is {width}x{height} px at this size; {max(layers, key=LAYERS.index)} needs at least "
            f"{need} px on each side (raise --size)"
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


def transfer(content: ImageLike, style: ImageLike, settings: Settings | None = None, *,
             callback: Callable[[Progress], None] | None = None, **overrides) -> Image.Image:
    """Stylize `content` with `style`; returns the image, its metadata in `image.info["stylize"]`."""
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
