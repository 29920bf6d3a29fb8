"""The feature extractor: VGG-19's conv layers by the paper's names, truncated, pooled, normalized."""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path

import torch
from torch import nn

from . import stripes
from . import weights as weights_mod
from .layers import CONV_INDEX, LAYERS, TABLE, check_layer
from .images import file_stamp
from .settings import WEIGHT_SOURCES
from .errors import WeightsError
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

    def forward(self, image: torch.Tensor, layers, tap=None, compute: torch.dtype = torch.float32
                ) -> dict[str, torch.Tensor]:
        """Responses of the named layers. tap(name, response), when given, is called on each of them
        as it is computed and returns the tensor the next layer consumes (the style losses use it).

        When the image needs a gradient, each conv + ReLU pair runs as one autograd function that
        keeps for the backward pass only what the gradient needs (ConvReLU): the same loss and the
        same gradient as torch's modules, about half their memory, and no recomputation.

        compute: the convolutions' and poolings' dtype (float32, or bfloat16: --precision bf16). The image,
        the responses returned and those given to tap are float32 whatever it is, so Gram matrices and
        losses are computed in float32; the gradient comes back to the image in float32."""
        wanted = set(layers)
        deepest = max(CONV_INDEX[name] + 1 for name in wanted)
        x = (image.index_select(1, self.order) * self.a + self.b).contiguous(memory_format=torch.channels_last)
        low = compute != x.dtype
        if low:
            x = x.to(compute)
        lean = torch.is_grad_enabled() and image.requires_grad
        out = {}
        for i, module in enumerate(self.layers):
            if low and isinstance(module, nn.Conv2d):  # the module's own weights are float32
                x = (ConvReLU.apply(x, module, self.index.get(i + 1) in wanted) if lean
                     else nn.functional.conv2d(x, *_weights_as(module, compute), padding=1))  # (its ReLU follows)
            elif not lean:
                x = module(x)
            elif isinstance(module, nn.Conv2d):
                x = ConvReLU.apply(x, module, self.index.get(i + 1) in wanted)
            elif isinstance(module, nn.AvgPool2d):
                x = AvgPool.apply(x)
            elif isinstance(module, nn.MaxPool2d):
                x = MaxPool.apply(x)
            # (a ReLU module when lean: it ran inside ConvReLU)
            if i in self.index and self.index[i] in wanted:
                response = x.float() if low else x
                if tap is not None:
                    response = tap(self.index[i], response)
                out[self.index[i]] = response
                if low:  # the next layer continues from the tapped response (its gradient flows back through it)
                    x = response.to(compute) if i < deepest else x
                else:
                    x = response
            if i >= deepest:
                break
        return out


class ConvReLU(torch.autograd.Function):
    """relu(conv(x)) for fixed weights, saving for the backward pass only what the input's gradient
    needs. The weights need no gradient, so the convolution's backward needs no tensor of the forward
    pass (torch's own convolution saves its input anyway), and the ReLU's needs only where its output
    is zero: one byte per value instead of four. A response the losses read (`keep`) is saved whole,
    since they keep it anyway. At the default layers this keeps 170 floats' worth per input pixel for
    the backward pass where torch's modules keep 320 (README: Memory and large images)."""

    @staticmethod
    def forward(ctx, x, conv, keep):
        y = (conv(x) if x.dtype == conv.weight.dtype
             else nn.functional.conv2d(x, *_weights_as(conv, x.dtype), padding=1)).relu_()
        ctx.conv, ctx.keep, ctx.striped = conv, keep, stripes.enabled()
        ctx.save_for_backward(y if keep else y > 0)
        return y

    @staticmethod
    def backward(ctx, grad):
        (saved,) = ctx.saved_tensors
        if grad._base is not None or 0 in grad.stride():  # a view or a broadcast: not ours to overwrite
            grad = grad.clone()
        # the incoming gradient has no other reader: zeroed in place where the ReLU was off
        if ctx.keep:
            torch.ops.aten.threshold_backward.grad_input(grad, saved, 0, grad_input=grad)
        else:
            _multiply(grad, saved)
        weight = _transposed_weight(ctx.conv, grad.dtype)
        if weight.shape[0] == weight.shape[1] and stripes.active(grad, ctx.striped):  # memory is short: over grad itself
            return stripes.conv3x3_in_place(grad, weight), None, None
        return torch.nn.functional.conv2d(grad, weight, padding=1), None, None


CHUNK = 1 << 18  # values per step of _multiply: 1 MiB of float32, in cache


def _multiply(grad: torch.Tensor, on: torch.Tensor) -> None:
    """grad *= on, in place, for a boolean `on` of grad's shape. On the CPU, torch's kernels for a float
    tensor and a boolean one run about 4 x slower than float with float here; a 1 MiB float copy of each
    slice of the mask, in cache, then a float multiplication is as fast as torch's own ReLU backward
    (bench/README.md: Memory)."""
    layout = torch.channels_last if grad.is_contiguous(memory_format=torch.channels_last) else None
    if grad.device.type != "cpu" or layout is None or not on.is_contiguous(memory_format=layout):
        grad.mul_(on)  # a GPU's kernel for it is fast
        return
    g, m = grad.permute(0, 2, 3, 1).reshape(-1), on.permute(0, 2, 3, 1).reshape(-1)
    buffer = torch.empty(min(CHUNK, g.numel()), dtype=grad.dtype, device=grad.device)
    for start in range(0, g.numel(), CHUNK):
        stop = min(start + CHUNK, g.numel())
        b = buffer[: stop - start]
        b.copy_(m[start:stop])
        g[start:stop].mul_(b)


def _transposed_weight(conv: nn.Conv2d, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The weight whose convolution is the 3 x 3, stride 1, padding 1 convolution's input gradient
    (its transpose): input and output channels swapped, the kernel turned by 180 degrees. A forward
    convolution with it is the same arithmetic as torch.nn.grad.conv2d_input, and on the CPU here it
    is faster and needs no second gradient-sized buffer (bench/README.md: Memory). Made once per layer
    and dtype."""
    return _derived(conv, ("transposed", dtype),
                    lambda w: w.flip(2, 3).transpose(0, 1).to(dtype).contiguous(memory_format=torch.channels_last))


def _weights_as(conv: nn.Conv2d, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of the convolution in `dtype` (--precision bf16), made once per layer and dtype."""
    return (_derived(conv, ("weight", dtype), lambda w: w.to(dtype).contiguous(memory_format=torch.channels_last)),
            _derived(conv, ("bias", dtype), lambda w: conv.bias.detach().to(dtype)))


def _derived(conv: nn.Conv2d, kind: tuple, make) -> torch.Tensor:
    """make(conv.weight) cached on the module under `kind`, remade when the weight moved (another device)."""
    weight = conv.weight
    key = (weight.device, weight.data_ptr())
    cache = conv.__dict__.setdefault("_derived", {})
    cached = cache.get(kind)
    if cached is None or cached[0] != key:
        cache[kind] = cached = (key, make(weight.detach()))
    return cached[1]


class AvgPool(torch.autograd.Function):
    """2 x 2 average pooling that saves nothing for its backward (which needs only the input's shape;
    torch's saves the input, which ConvReLU has just avoided keeping)."""

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


class MaxPool(torch.autograd.Function):
    """2 x 2 max pooling that saves only where each maximum was (torch's also saves the input)."""

    @staticmethod
    def forward(ctx, x):
        out, where = torch.nn.functional.max_pool2d(x, 2, 2, return_indices=True)
        ctx.shape = x.shape
        ctx.save_for_backward(where)
        return out

    @staticmethod
    def backward(ctx, grad):
        (where,) = ctx.saved_tensors
        return torch.nn.functional.max_unpool2d(grad, where, 2, 2, output_size=ctx.shape[-2:])


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
def _cached_weights(source: str, stamp: tuple | None) -> Weights:
    with torch.inference_mode(False):  # (cached for the process: never a caller's inference tensors)
        return weights_mod.load(source)


@functools.lru_cache(maxsize=4)
def _cached_network(source: str, stamp: tuple | None, pooling: str, normalize: bool, last: str, device: str) -> VGG:
    with torch.inference_mode(False):  # (a network loaded under the caller's inference_mode, e.g. by objective(),
        w = _cached_weights(source, stamp)  # would break every later run of the process)
        means = floor_means(means_for(w, pooling)) if normalize else None
        net = VGG(w, last=last, pooling=pooling, means=means).to(torch.device(device))
        net.identity = (source, stamp, pooling, normalize)  # (targets.network_key: what its targets depend on)
        return net


def network(source: str, pooling: str, normalize: bool, last: str, device: torch.device | str) -> VGG:
    """A ready network, loaded once per process for each (source, pooling, normalization, depth, device) and each
    version of its file (images.file_stamp: a weights file replaced under its name is loaded again)."""
    from .targets import pinning

    given = source
    source, stamp = _source(given)
    if pinning() and stamp is not None:  # (a run's levels, cells or frames: one network; a file touched is the same)
        weights_digest(given)  # (by the name as given: a link re-pointed meanwhile is a replaced file)
    with _as_given(given, source):
        return _cached_network(source, stamp, pooling, normalize, last, str(device))


def check_weights(source: str) -> None:
    """WeightsError unless the weights `source` names load (as network loads them, and cached for it: a batch checks
    them once before its first pair, as `transfer` does)."""
    resolved, stamp = _source(source)
    with _as_given(source, resolved):
        _cached_weights(resolved, stamp)


def _source(given: str) -> tuple[str, tuple | None]:
    """A weights source as the caches key it (a file by its real path) and its file's images.file_stamp (None where
    it cannot be seen: loading says why). WeightsError for a link to nothing, named as given."""
    source = given
    if given not in WEIGHT_SOURCES:
        if os.path.islink(given) and not os.path.exists(given):
            raise WeightsError(f"weights file {given}: a link to nothing (use --weights original, torchvision, or a "
                               f".pth file)")
        source = str(Path(given).resolve())
    try:
        stamp = file_stamp(os.stat(weights_mod.weights_file(source)))
    except OSError:
        stamp = None  # (loading says why)
    return source, stamp


@contextlib.contextmanager
def _as_given(given: str, source: str):
    """WeightsErrors of a file loaded by its real path (`source`) name it as the user gave it, and where a link was
    followed, where it leads ('w.pth (a link to /data/vgg.pth)'); never a name the user did not type alone."""
    try:
        yield
    except WeightsError as e:
        if given in WEIGHT_SOURCES or given == source:
            raise
        told = given if Path(os.path.abspath(given)) == Path(source) else f"{given} (a link to {source})"
        raise WeightsError(str(e).replace(source, told)) from None


def loaded_digest(source: str) -> str:
    """The SHA-256 of the weights file as this run's network was loaded from it: within a pinned run, the digest
    pinned at its first look (network pins it before loading; the file replaced since changes nothing the run made,
    and is refused only where the run would load it again: weights_digest); else weights_digest."""
    from .targets import pin_key, pinned_value

    found = pinned_value(f"weights:{pin_key(weights_mod.weights_file(source))}")
    return found if found is not None else weights_digest(source)


def weights_digest(source: str) -> str:
    """The weights file's SHA-256 (weights.fingerprint); within a pinned run (targets.pinned) the same as at its
    first look, else ImageError: the network was loaded from the file as it was (a replaced file's digest would
    be recorded for an image the old one made)."""
    from .targets import check_pinned, pin_key

    digest = weights_mod.fingerprint(source)
    check_pinned(f"--weights {source}", f"weights:{pin_key(weights_mod.weights_file(source))}", digest)
    return digest
