"""The feature extractor: VGG-19's conv layers by the paper's names, truncated, pooled, normalized."""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import nn

from . import weights as weights_mod
from .layers import CONV_INDEX, LAYERS, TABLE, check_layer
from .weights import Weights

DATA = Path(__file__).parent / "data"
CALIBRATION_DIR = DATA / "calibration"
SHIPPED_MEANS = DATA / "means-original.pt"
# A filter whose mean activation is below this fraction of its layer's median is treated as (almost)
# dead: dividing by its tiny mean would multiply its channel by ~1e4 and swamp every loss from that layer.
DEAD_FLOOR = 0.1


def build_layers(last: str, pooling: str = "avg", device=None) -> nn.Sequential:
    """`torchvision.models.vgg19().features` up to `last`'s ReLU, same indices and state-dict keys,
    with max pooling replaced by average pooling when pooling == "avg". device="meta" skips the
    random initialization (the weights are loaded right after)."""
    check_layer(last)
    stop = CONV_INDEX[last] + 1
    modules = []
    for layer in TABLE:
        if len(modules) < layer.index:  # the previous block's pooling layer
            modules.append(nn.AvgPool2d(2, 2) if pooling == "avg" else nn.MaxPool2d(2, 2))
        modules += [nn.Conv2d(layer.in_channels, layer.channels, kernel_size=3, padding=1, device=device),
                    nn.ReLU(inplace=True)]
    return nn.Sequential(*modules[: stop + 1])


class VGG(nn.Module):
    """Maps RGB images in [0, 1], shape (1, 3, H, W), to the rectified responses F^l of named layers."""

    def __init__(self, weights: Weights, last: str = "conv5_1", pooling: str = "avg", means=None):
        super().__init__()
        self.source = weights.name
        self.pooling = pooling
        self.last = last
        self.normalized = means is not None
        self.layers = build_layers(last, pooling, device="meta")
        own = self.layers.state_dict()
        state = weights.state_dict if means is None else normalized_state(weights.state_dict, means, len(own) // 2)
        self.layers.load_state_dict({k: state[k].clone() if means is None else state[k] for k in own}, assign=True)
        self.layers.requires_grad_(False)
        self.layers.eval()
        # channels-last: 7-13 % faster convolutions on the CPU here (bench/README.md), and a response
        # viewed as (M, N) needs no copy for the Gram matrix.
        self.layers.to(memory_format=torch.channels_last)
        prep = weights.preprocessing
        order = [2, 1, 0] if prep.bgr else [0, 1, 2]
        # input = (pixel[order] * scale - mean) / std, written as pixel[order] * a + b
        a = torch.tensor([prep.scale / s for s in prep.std]).view(1, 3, 1, 1)
        b = torch.tensor([-m / s for m, s in zip(prep.mean, prep.std)]).view(1, 3, 1, 1)
        self.register_buffer("order", torch.tensor(order), persistent=False)
        self.register_buffer("a", a, persistent=False)
        self.register_buffer("b", b, persistent=False)
        self.index = {CONV_INDEX[name] + 1: name for name in LAYERS if CONV_INDEX[name] + 1 < len(self.layers)}

    def forward(self, image: torch.Tensor, layers, tap=None) -> dict[str, torch.Tensor]:
        """Responses of the named layers. tap(name, response), when given, is called on each of them
        as it is computed and returns the tensor the next layer consumes (the style losses use it)."""
        wanted = set(layers)
        deepest = max(CONV_INDEX[name] + 1 for name in wanted)
        x = (image.index_select(1, self.order) * self.a + self.b).contiguous(memory_format=torch.channels_last)
        out = {}
        for i, module in enumerate(self.layers):
            x = module(x)
            if i in self.index and self.index[i] in wanted:
                if tap is not None:
                    x = tap(self.index[i], x)
                out[self.index[i]] = x
            if i >= deepest:
                break
        return out


def normalized_state(state: dict, means: dict[str, torch.Tensor], layers: int = len(LAYERS)) -> dict[str, torch.Tensor]:
    """Divide each filter by its mean activation mu, multiply the next layer's matching input channel
    by mu: every response is then F/mu and later layers see what they saw before. Only the first
    `layers` convolutions are rescaled (and returned)."""
    out = {}
    previous = None
    for name in LAYERS[:layers]:
        i = CONV_INDEX[name]
        mu = means[name].to(torch.float32)
        w = state[f"{i}.weight"]
        if previous is not None:
            w = w * previous.view(1, -1, 1, 1)
        out[f"{i}.weight"] = w / mu.view(-1, 1, 1, 1)
        out[f"{i}.bias"] = state[f"{i}.bias"] / mu
        previous = mu
    return out


def floor_means(means: dict[str, torch.Tensor], floor: float = DEAD_FLOOR) -> dict[str, torch.Tensor]:
    """Raise (almost) dead filters' means to `floor` x their layer's median mean."""
    return {k: v.clamp(min=floor * float(v.median())) for k, v in means.items()}


def calibration_images() -> list[torch.Tensor]:
    from .images import load_image, to_tensor

    files = sorted(CALIBRATION_DIR.glob("*.jpg"))
    return [to_tensor(load_image(f)) for f in files]


@torch.inference_mode()
def mean_activations(weights: Weights, pooling: str, images=None) -> dict[str, torch.Tensor]:
    """Per-filter mean rectified activation of the raw network over the calibration images."""
    images = calibration_images() if images is None else images
    net = VGG(weights, last=LAYERS[-1], pooling=pooling)
    sums = {name: 0.0 for name in LAYERS}
    for image in images:
        responses = net(image, LAYERS)
        for name, f in responses.items():
            sums[name] = sums[name] + f.mean(dim=(0, 2, 3)).double()
    return {name: (s / len(images)).float() for name, s in sums.items()}


def means_for(weights: Weights, pooling: str) -> dict[str, torch.Tensor]:
    """Mean activations for normalization: shipped for `original`, calibrated at load for other sources."""
    if weights.name == "original" and SHIPPED_MEANS.exists():
        shipped = torch.load(SHIPPED_MEANS, map_location="cpu", weights_only=True)
        return shipped[pooling]
    return mean_activations(weights, pooling)


@functools.lru_cache(maxsize=4)
def _cached_weights(source: str) -> Weights:
    return weights_mod.load(source)


@functools.lru_cache(maxsize=4)
def _cached_network(source: str, pooling: str, normalize: bool, last: str, device: str) -> VGG:
    w = _cached_weights(source)
    means = floor_means(means_for(w, pooling)) if normalize else None
    return VGG(w, last=last, pooling=pooling, means=means).to(torch.device(device))


def network(source: str, pooling: str, normalize: bool, last: str, device: torch.device | str) -> VGG:
    """A ready network, loaded once per process for each (source, pooling, normalization, depth, device)."""
    if source not in ("original", "torchvision"):
        source = str(Path(source).resolve())
    return _cached_network(source, pooling, normalize, last, str(device))
