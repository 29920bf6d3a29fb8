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

    def forward(self, image: torch.Tensor, layers, tap=None, recompute: bool = False,
                keep=None, recomputed=None) -> dict[str, torch.Tensor]:
        """Responses of the named layers. tap(name, response), when given, is called on each of them
        as it is computed and returns the tensor the next layer consumes (the style losses use it).

        recompute=True: keep only each block's input for the backward pass and recompute the block's
        activations there (activation checkpointing per VGG block, ending at its pooling layer): the
        same loss and gradient, a fraction of the memory, about one more forward pass of time. Only
        the responses named in `keep` (default: all of `layers`) are returned then: a tapped response
        that is not returned is not kept. The taps run again when a block is recomputed; recomputed(),
        when given, is called after each of those calls, to drop what the tap kept (the losses it
        made, which nothing reads then, hold the recomputed block alive until the pass ends)."""
        wanted = set(layers)
        deepest = max(CONV_INDEX[name] + 1 for name in wanted)
        x = (image.index_select(1, self.order) * self.a + self.b).contiguous(memory_format=torch.channels_last)
        if recompute and torch.is_grad_enabled():
            return self._recomputed(x, wanted, deepest, tap, wanted if keep is None else set(keep) & wanted,
                                    recomputed)
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


    def _recomputed(self, x, wanted, deepest, tap, keep, recomputed) -> dict[str, torch.Tensor]:
        from torch.utils.checkpoint import checkpoint

        bounds, start = [], 0
        for i, module in enumerate(self.layers):
            if i > deepest:
                break
            if isinstance(module, (nn.AvgPool2d, nn.MaxPool2d)) or i == deepest:
                bounds.append((start, i + 1))
                start = i + 1
        out = {}
        for lo, hi in bounds:
            names = [self.index[i] for i in range(lo, hi) if i in self.index and self.index[i] in keep]

            def segment(x, lo=lo, hi=hi, names=names):
                kept = {}
                for i in range(lo, hi):
                    module = self.layers[i]
                    if isinstance(module, nn.Conv2d):
                        x = _InputGradConv.apply(x, module)
                    elif isinstance(module, nn.ReLU):
                        x = _ReLU.apply(x)
                    elif isinstance(module, nn.AvgPool2d):
                        x = _AvgPool.apply(x)
                    else:
                        x = module(x)
                    if i in self.index and self.index[i] in wanted:
                        if tap is not None:
                            x = tap(self.index[i], x)
                            if recomputed is not None and torch._C._current_graph_task_id() != -1:
                                recomputed()  # inside the backward pass: this is the recomputation
                        if self.index[i] in names:
                            kept[self.index[i]] = x
                return (x, *(kept[n] for n in names))

            x, *responses = checkpoint(segment, x, use_reentrant=False, preserve_rng_state=False)
            out.update(zip(names, responses))
        return out


class _InputGradConv(torch.autograd.Function):
    """A convolution whose backward gives the input's gradient only (the weights are fixed), saving
    nothing for it: torch's own convolution saves its input even then, and inside a recomputed block
    that copy would stay alive until the whole backward pass ends."""

    @staticmethod
    def forward(ctx, x, conv):
        ctx.shape, ctx.conv = x.shape, conv
        return conv(x)

    @staticmethod
    def backward(ctx, grad):
        conv = ctx.conv
        return torch.nn.grad.conv2d_input(ctx.shape, conv.weight, grad, conv.stride, conv.padding), None


class _ReLU(torch.autograd.Function):
    """In-place ReLU whose backward zeroes the incoming gradient in place instead of allocating a new
    one (a recomputed block's gradient has no other reader)."""

    @staticmethod
    def forward(ctx, x):
        ctx.mark_dirty(x)
        out = x.relu_()
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad.masked_fill_(out <= 0, 0)


class _AvgPool(torch.autograd.Function):
    """2 x 2 average pooling that saves nothing for its backward (which needs only the input's shape)."""

    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return torch.nn.functional.avg_pool2d(x, 2, 2)

    @staticmethod
    def backward(ctx, grad):
        up = torch.nn.functional.interpolate(grad, scale_factor=2.0, mode="nearest").mul_(0.25)
        _, _, h, w = ctx.shape
        if up.shape[-2:] != (h, w):  # odd sides: the last row or column was not pooled
            up = torch.nn.functional.pad(up, (0, w - up.shape[-1], 0, h - up.shape[-2]))
        return up


class Recomputing:
    """A network whose forward passes recompute each block's activations in the backward pass
    (VGG.forward(recompute=True)), returning only the responses `keep` names (the ones the losses read
    after the pass); what Session.run uses when the plain run would not fit in memory."""

    def __init__(self, net: VGG, keep, recomputed=None):
        self.net, self.keep, self.recomputed = net, tuple(keep), recomputed

    def __call__(self, image, layers, tap=None):
        return self.net(image, layers, tap, recompute=True, keep=self.keep, recomputed=self.recomputed)


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
