"""The paper's losses (SPEC.md), nothing else. F, P, A, G as in Gatys et al."""

from __future__ import annotations

import torch


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
    difference: the same number, without squaring sums of M products. The gradient is the paper's
    dE/dF = F^T (G - A) / (N^2 M^2) (written out in _StyleLayerLoss: one matrix product instead of
    autograd's two, and no copies of the response).
    """
    if F.dim() == 4:
        return _StyleLayerLoss.apply(F, A_over_M)
    N, M = F.shape
    return (gram(F) / M - A_over_M).pow(2).sum() / (4 * N * N)


class _StyleLayerLoss(torch.autograd.Function):
    """E_l of a response (1, N, H, W) with its analytic gradient, in the response's own layout."""

    @staticmethod
    def forward(ctx, response, A_over_M):
        FT = _transposed(response)  # (M, N)
        M, N = FT.shape
        D = FT.t() @ FT / M - A_over_M  # (N, N): (G - A) / M
        ctx.save_for_backward(response, D)
        return D.pow(2).sum() / (4 * N * N)

    @staticmethod
    def backward(ctx, grad):
        response, D = ctx.saved_tensors
        _, N, H, W = response.shape
        FT = _transposed(response)
        g = (FT @ D) * (grad / (N * N * H * W))  # (M, N) = (dE/dF)^T = F^T (G - A) / (N^2 M^2)
        return g.view(1, H, W, N).permute(0, 3, 1, 2), None


def style_loss(responses: dict[str, torch.Tensor], targets: dict[str, torch.Tensor], weights: dict[str, float]):
    """L_style = sum_l w_l E_l over the layers with a target; responses (1, N, H, W) or (N, M)."""
    total = None
    for name, w in weights.items():
        if w == 0:
            continue
        e = w * style_layer_loss(responses[name], targets[name])
        total = e if total is None else total + e
    return total
