"""Gradients computed a horizontal stripe at a time, when memory is short (memory.Plan.reuse is False).

The backward pass's largest moments are at the first VGG block, where a 3 x 3 convolution's input
gradient and the style gradient of conv1_1 would each be a second full-resolution, 64-channel tensor
beside the incoming one. In stripes, each is written over the incoming gradient instead: the same
arithmetic, on the same values, without that second tensor (vgg.ConvReLU, losses._StyleTap). Off by
default: at sizes that fit anyway the whole-tensor kernels are used, unchanged.

The switch is per thread: two sessions running in two threads each see only their own `striped` block.
The autograd functions read it in their forward pass (on the thread that builds the graph) and keep it for
their backward pass, which autograd may run on a worker thread of its own (CUDA).
"""

from __future__ import annotations

import contextlib
import threading

import torch

STRIPE_BYTES = 64 * 2**20  # about this much of a tensor per stripe
_state = threading.local()  # .on: whether this thread's backward passes run in stripes


def enabled() -> bool:
    """Whether the calling thread is inside a `striped(True)` block."""
    return getattr(_state, "on", False)


@contextlib.contextmanager
def striped(on: bool = True):
    """Within the block, the calling thread's backward passes run in stripes (when `on`)."""
    before, _state.on = enabled(), bool(on)
    try:
        yield
    finally:
        _state.on = before


def active(t: torch.Tensor, on: bool | None = None) -> bool:
    """Whether to work on t (1, C, H, W) in stripes: asked for (`on`, as enabled() was when the graph was
    built; None: enabled() now), t channels-last and over one stripe."""
    return ((enabled() if on is None else on) and t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last)
            and t.shape[2] > rows(t))


def rows(t: torch.Tensor) -> int:
    """Rows of t (1, C, H, W) per stripe."""
    return max(1, STRIPE_BYTES // (t.shape[1] * t.shape[3] * t.element_size()))


def conv3x3_in_place(grad: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """conv2d(grad, weight, padding=1) written over grad (same channels in and out), a stripe at a time.
    A stripe's output needs the input's rows just above and below it; it is written once the next
    stripe (which reads the stripe's last input row) has been computed."""
    height, step = grad.shape[2], rows(grad)
    pending = None
    for top in range(0, height, step):
        bottom = min(height, top + step)
        lo, hi = max(0, top - 1), min(height, bottom + 1)
        out = torch.nn.functional.conv2d(grad[:, :, lo:hi], weight, padding=1)[:, :, top - lo: bottom - lo]
        if pending is not None:
            grad[:, :, pending[0]:pending[1]].copy_(pending[2])
        pending = (top, bottom, out)
    grad[:, :, pending[0]:pending[1]].copy_(pending[2])
    return grad


def add_in_place(grad: torch.Tensor, source: torch.Tensor, compute) -> torch.Tensor:
    """grad += compute(source), computed and added a stripe of rows at a time (compute must act on each
    row alone, like a 1 x 1 convolution)."""
    height, step = grad.shape[2], rows(grad)
    for top in range(0, height, step):
        grad[:, :, top:top + step].add_(compute(source[:, :, top:top + step]))
    return grad
