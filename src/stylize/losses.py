"""The paper's losses (SPEC.md), nothing else. F, P, A, G as in Gatys et al."""

from __future__ import annotations

import torch


def gram(F: torch.Tensor) -> torch.Tensor:
    """G^l = F^l (F^l)^T for F of shape (N, M); G_ij = sum_k F_ik F_jk."""
    return F @ F.t()  # (N, N)


def flatten(response: torch.Tensor) -> torch.Tensor:
    """A layer's response (1, N, H, W) as F^l of shape (N, M), M = H * W."""
    return response.reshape(response.shape[1], -1)


def content_loss(F: torch.Tensor, P: torch.Tensor, size_invariant: bool = True) -> torch.Tensor:
    """L_content = 1/2 sum_ij (F_ij - P_ij)^2; divided by M when size_invariant (see README: --ratio)."""
    loss = 0.5 * (F - P).pow(2).sum()
    return loss / F.shape[1] if size_invariant else loss


def style_target(F: torch.Tensor) -> torch.Tensor:
    """A^l / M_l: the artwork's Gram matrix per position, what style_layer_loss compares against."""
    return gram(F) / F.shape[1]


def style_layer_loss(F: torch.Tensor, A_over_M: torch.Tensor) -> torch.Tensor:
    """E_l = 1/(4 N^2 M^2) sum_ij (G_ij - A_ij)^2, computed as sum((G/M - A/M)^2) / (4 N^2).

    Both Gram matrices are divided by M before the difference: the same number, without squaring
    sums of M products (no overflow risk in low precision).
    """
    N, M = F.shape
    return (gram(F) / M - A_over_M).pow(2).sum() / (4 * N * N)


def style_loss(responses: dict[str, torch.Tensor], targets: dict[str, torch.Tensor], weights: dict[str, float]):
    """L_style = sum_l w_l E_l over the layers with a target."""
    total = None
    for name, w in weights.items():
        if w == 0:
            continue
        e = w * style_layer_loss(flatten(responses[name]), targets[name])
        total = e if total is None else total + e
    return total
