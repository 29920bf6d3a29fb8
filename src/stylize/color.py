"""Colour control (Gatys, Bethge, Hertzmann & Shechtman 2016/2017): transfer on luminance, match the
artwork's colour statistics to the photograph's, or swap the result's chroma for the photograph's.

Images are tensors (1, 3, H, W) with RGB in [0, 1]. YIQ (NTSC): Y = 0.299 R + 0.587 G + 0.114 B.
"""

from __future__ import annotations

import torch

RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114],
                           [0.595716, -0.274453, -0.321263],
                           [0.211456, -0.522591, 0.311135]], dtype=torch.float64)
YIQ_TO_RGB = torch.linalg.inv(RGB_TO_YIQ)
DEFAULT_COLOR_MAP = "ia"  # Image Analogies' map (Hertzmann et al. 2001), the 2017 paper's first choice
EPS = 1e-5  # added to covariances' diagonals: a flat-coloured image has a singular one


def _apply(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", matrix.to(x.device, x.dtype), x)


def rgb_to_yiq(x: torch.Tensor) -> torch.Tensor:
    return _apply(RGB_TO_YIQ, x)


def yiq_to_rgb(x: torch.Tensor) -> torch.Tensor:
    return _apply(YIQ_TO_RGB, x)


def luminance(x: torch.Tensor) -> torch.Tensor:
    """Y, copied into three channels so the network still sees an RGB (grey) image."""
    return rgb_to_yiq(x)[:, :1].expand(-1, 3, -1, -1).contiguous()


def match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The artwork's luminance with the photograph's mean and standard deviation:
    Y_S' = (sigma_C / sigma_S)(Y_S - mu_S) + mu_C, in three channels, clipped to [0, 1]."""
    ys, yc = rgb_to_yiq(style)[:, :1], rgb_to_yiq(content)[:, :1]
    scale = float(yc.std(correction=0)) / max(float(ys.std(correction=0)), 1e-6)  # a 1-pixel image: std 0
    y = (ys - ys.mean()) * scale + yc.mean()
    return y.clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


def with_chroma(result: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The result's luminance Y with the photograph's chroma I, Q (same size), back to RGB in [0, 1]."""
    yiq = rgb_to_yiq(content)
    yiq = torch.cat([rgb_to_yiq(result)[:, :1], yiq[:, 1:]], dim=1)
    return yiq_to_rgb(yiq).clamp(0, 1)


def _stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (3,) and covariance (3, 3) of an image's pixels, in float64."""
    p = x.detach().double().reshape(3, -1)
    mu = p.mean(dim=1)
    d = p - mu[:, None]
    return mu, d @ d.t() / p.shape[1]


def _sqrt(S: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    """Symmetric square root U diag(l^1/2) U^T of a symmetric positive-definite matrix (or its inverse)."""
    values, vectors = torch.linalg.eigh(S)
    values = values.clamp(min=1e-12) ** (-0.5 if inverse else 0.5)  # round-off only: EPS is already in S
    return vectors @ torch.diag(values) @ vectors.t()


def color_map(style_cov: torch.Tensor, content_cov: torch.Tensor, method: str) -> torch.Tensor:
    """A with A Sigma_S A^T = Sigma_C:
    chol: L_C L_S^-1 (Cholesky factors);  ia: Sigma_C^1/2 Sigma_S^-1/2 (Image Analogies);
    mk: Sigma_S^-1/2 (Sigma_S^1/2 Sigma_C Sigma_S^1/2)^1/2 Sigma_S^-1/2 (Monge-Kantorovich, the
    linear map that moves the pixels least)."""
    eye = torch.eye(3, dtype=torch.float64)
    Ss, Sc = style_cov + EPS * eye, content_cov + EPS * eye
    if method == "chol":
        return torch.linalg.cholesky(Sc) @ torch.linalg.inv(torch.linalg.cholesky(Ss))
    if method == "ia":
        return _sqrt(Sc) @ _sqrt(Ss, inverse=True)
    if method == "mk":
        root, inv_root = _sqrt(Ss), _sqrt(Ss, inverse=True)
        return inv_root @ _sqrt(root @ Sc @ root) @ inv_root
    raise ValueError(f"unknown colour map {method!r}")


def match_histogram(style: torch.Tensor, content: torch.Tensor, method: str = DEFAULT_COLOR_MAP) -> torch.Tensor:
    """The artwork recoloured so its pixels' mean and covariance equal the photograph's:
    p' = A (p - mu_S) + mu_C, clipped to [0, 1]."""
    mu_s, cov_s = _stats(style)
    mu_c, cov_c = _stats(content)
    A = color_map(cov_s, cov_c, method)
    p = style.detach().double().reshape(3, -1)
    out = A @ (p - mu_s[:, None]) + mu_c[:, None]
    return out.reshape(style.shape).clamp(0, 1).to(style.dtype)


class Policy:
    """How one colour mode acts on a synthesis, as four hooks (the paper's method: none changes anything).

    Every hook takes and returns images (1, 3, H, W), RGB in [0, 1]; `photo` is the photograph at its own
    size (prepare_style) or at the output's size (finish). `key` names what the prepared images depend on,
    so that cached targets of another mode are never reused.
    """

    mode = "style"
    finishes = False  # whether finish() changes the result (and so needs the photograph)

    @property
    def key(self) -> tuple:
        return ()

    def prepare_content(self, x: torch.Tensor) -> torch.Tensor:
        """The photograph as the network sees it."""
        return x

    def prepare_style(self, x: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
        """The artwork as the network sees it."""
        return x

    def prepare_start(self, x: torch.Tensor) -> torch.Tensor:
        """A start image read from a file (--init content, style or FILE); noise is never changed."""
        return x

    def finish(self, out: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
        """The result as saved."""
        return out


class LuminanceOnly(Policy):
    """Transfer on luminance alone (Gatys et al. 2017, §5.1): the network sees Y only, the artwork's Y is
    matched to the photograph's mean and std, and the result takes the photograph's chroma."""

    mode = "luminance"
    finishes = True

    @property
    def key(self) -> tuple:
        return (self.mode,)

    def prepare_content(self, x):
        return luminance(x)

    def prepare_style(self, x, photo):
        return match_luminance(x, photo)

    def prepare_start(self, x):
        return luminance(x)

    def finish(self, out, photo):
        return with_chroma(out, photo)


class HistogramMatching(Policy):
    """The artwork recoloured to the photograph's colour mean and covariance before its Gram matrices are
    taken (Gatys et al. 2017, §5.1), by the linear map `color_map` (ia | chol | mk)."""

    mode = "histogram"

    def __init__(self, color_map: str = DEFAULT_COLOR_MAP):
        self.color_map = color_map

    @property
    def key(self) -> tuple:
        return (self.mode, self.color_map)

    def prepare_style(self, x, photo):
        return match_histogram(x, photo, self.color_map)


class ChromaSwap(Policy):
    """The paper's transfer, then the result's chroma replaced by the photograph's."""

    mode = "swap"
    finishes = True

    def finish(self, out, photo):
        return with_chroma(out, photo)



def policy(mode: str = "style", color_map: str | None = None) -> Policy:
    """The policy of --color MODE (style | luminance | histogram | swap); ValueError for another name."""
    if mode == "histogram":
        return HistogramMatching(color_map or DEFAULT_COLOR_MAP)
    kinds = {"style": Policy, "luminance": LuminanceOnly, "swap": ChromaSwap}
    if mode not in kinds:
        raise ValueError(f"unknown colour mode {mode!r}")
    return kinds[mode]()
