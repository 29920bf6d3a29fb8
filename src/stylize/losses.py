"""The losses, nothing else: the paper's (README: "The formulas"), its 2017 guided Gram matrices, and
total variation. F, P, A, G as in Gatys et al."""

from __future__ import annotations

import torch

from . import stripes


def gram(F: torch.Tensor) -> torch.Tensor:
    """G^l = F^l (F^l)^T for F of shape (N, M); G_ij = sum_k F_ik F_jk."""
    return F @ F.t()  # (N, N)


def flatten(response: torch.Tensor) -> torch.Tensor:
    """A layer's response (1, N, H, W) as F^l of shape (N, M), M = H * W.

    Written as the transpose of an (M, N) view, which is free for channels-last responses.
    """
    return _transposed(response).t()


def _transposed(response: torch.Tensor) -> torch.Tensor:
    """F^T of shape (M, N) for a response (1, N, H, W); a view when the response is channels-last."""
    return response[0].permute(1, 2, 0).reshape(-1, response.shape[1])


def positions(response: torch.Tensor) -> int:
    """M_l: positions of a response (1, N, H, W), or columns of an F of shape (N, M)."""
    return response.shape[-1] * response.shape[-2] if response.dim() == 4 else response.shape[1]


def content_loss(F: torch.Tensor, P: torch.Tensor, size_invariant: bool = True) -> torch.Tensor:
    """L_content = 1/2 sum_ij (F_ij - P_ij)^2; divided by M when size_invariant (see README: --ratio).

    F and P are (N, M) matrices or (1, N, H, W) responses of the same layout: the sum is the same.
    """
    loss = 0.5 * (F - P).pow(2).sum()
    return loss / positions(F) if size_invariant else loss


def style_target(F: torch.Tensor) -> torch.Tensor:
    """A^l / M_l: the artwork's Gram matrix per position, what style_layer_loss compares against."""
    return gram(F) / F.shape[1]


def style_layer_loss(F: torch.Tensor, A_over_M: torch.Tensor) -> torch.Tensor:
    """E_l = 1/(4 N^2 M^2) sum_ij (G_ij - A_ij)^2, computed as sum((G/M - A/M)^2) / (4 N^2).

    F is (N, M), or a response (1, N, H, W). Both Gram matrices are divided by M before the
    difference: the same number, without squaring sums of M products. For a response the gradient
    is the paper's dE/dF = F^T (G - A) / (N^2 M^2), written out (see style_tap).
    """
    if F.dim() == 4:
        return style_tap(F, A_over_M)[1]
    N, M = F.shape
    return (gram(F) / M - A_over_M).pow(2).sum() / (4 * N * N)


def style_tap(response: torch.Tensor, A_over_M: torch.Tensor, weight: float = 1.0):
    """(response, weight * E_l) for a response (1, N, H, W) inside the network's forward pass.

    The first output is the response itself, for the next layer to consume: in the backward pass the
    style gradient is then added to the gradient coming back from the layers above in one place,
    instead of autograd accumulating a separate gradient tensor for the loss.
    """
    return _StyleTap.apply(response, A_over_M, weight)


class _StyleTap(torch.autograd.Function):
    """E_l of a response with its analytic gradient, in the response's own layout (channels-last).

    On the CPU the two products (G = F F^T and F^T (G - A)) run as a 1x1 convolution's weight
    gradient and a 1x1 convolution: oneDNN's kernels, measurably faster here than the BLAS matrix
    product for these long, thin shapes (bench/README.md). Elsewhere: plain matrix products.
    """

    @staticmethod
    def forward(ctx, response, A_over_M, weight):
        _, N, H, W = response.shape
        D = _gram(response) / (H * W) - A_over_M  # (N, N): (G - A) / M
        ctx.save_for_backward(response, D)
        ctx.weight, ctx.striped = weight, stripes.enabled()
        ctx.set_materialize_grads(False)
        return response.view_as(response), weight * D.pow(2).sum() / (4 * N * N)

    @staticmethod
    def backward(ctx, grad_response, grad_E):
        response, D = ctx.saved_tensors
        if grad_E is None:
            return grad_response, None, None
        _, N, H, W = response.shape
        S = D * (grad_E * ctx.weight / (N * N * H * W))  # the gradient: F^T (G - A) / (N^2 M^2) = F^T S
        if grad_response is not None and grad_response._base is None and stripes.active(grad_response, ctx.striped):
            return stripes.add_in_place(grad_response, response, lambda f: _times(f, S)), None, None
        g = _times(response, S)  # as (1, N, H, W)
        return (g if grad_response is None else g.add_(grad_response)), None, None


def _onednn(response: torch.Tensor) -> bool:
    """Whether the style products run as 1x1 convolutions (CPU) rather than matrix products."""
    return response.device.type == "cpu"


def _gram(response: torch.Tensor) -> torch.Tensor:
    """G = F F^T (N, N) for a response (1, N, H, W)."""
    N = response.shape[1]
    if _onednn(response):
        return torch.nn.grad.conv2d_weight(response, (N, N, 1, 1), response).view(N, N)
    FT = _transposed(response)
    return FT.t() @ FT


def _times(response: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
    """(F^T S)^T = S^T F as a (1, N, H, W) tensor in the response's layout, for an (N, N) matrix S."""
    _, N, H, W = response.shape
    if _onednn(response):
        return torch.nn.functional.conv2d(response, S.t().reshape(N, N, 1, 1))
    return (_transposed(response) @ S).view(1, H, W, N).permute(0, 3, 1, 2)


def style_loss(responses: dict[str, torch.Tensor], targets: dict[str, torch.Tensor], weights: dict[str, float]):
    """L_style = sum_l w_l E_l over the layers with a target; responses (1, N, H, W) or (N, M).

    The plain formula, on responses already computed. A synthesis computes the same sum inside the
    network's forward pass instead (style_tap, called by synthesis.Objective), and the tests hold the
    two equal."""
    total = None
    for name, w in weights.items():
        if w == 0:
            continue
        e = w * style_layer_loss(responses[name], targets[name])
        total = e if total is None else total + e
    return total


def guided_gram(response: torch.Tensor, T: torch.Tensor) -> torch.Tensor | None:
    """G^r / area = (F o T)(F o T)^T / sum(T o T) for a response (1, N, H, W) and a guide T (1, 1, H, W);
    None where the guide is empty at this layer."""
    area = T.pow(2).sum()
    if float(area) == 0:
        return None
    FT = _transposed(response * T)  # (M, N)
    return FT.t() @ FT / area


def guided_style_layer_loss(response: torch.Tensor, T: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """E_l^r = 1/(4 N^2) sum_ij (G^r_ij - A^r_ij)^2 with both Gram matrices normalised by their region's area."""
    N = response.shape[1]
    return (guided_gram(response, T) - A).pow(2).sum() / (4 * N * N)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """L_tv = sum over channels and pixels of the squared differences to the right and lower neighbour,
    divided by H * W (so a weight means the same at every size). Squared, not absolute: smooth everywhere,
    as L-BFGS's curvature pairs and line search need; it penalises large jumps more than fine grain."""
    h, w = x.shape[-2:]
    dx = x[..., :, 1:] - x[..., :, :-1]
    dy = x[..., 1:, :] - x[..., :-1, :]
    return (dx.pow(2).sum() + dy.pow(2).sum()) / (h * w)
