"""The objective: a weighted sum of terms, each owning its targets, weight and layers.

L_total = sum_t weight_t L_t(x). The network runs once per evaluation for all terms: a term names the
layers whose responses it reads, and a style term computes its Gram losses inside the forward pass
(`tap`), so its gradient is added where the response's own gradient flows back.
"""

from __future__ import annotations

import torch

from . import losses
from .errors import SettingsError


class Term:
    """One part of the objective. `layers`: responses it reads after the forward pass; `tapped`:
    layers it handles inside the forward pass through tap()."""

    name = "term"
    option = "its weight"  # how a user sets the weight (named when the weighted loss overflows)
    layers: tuple[str, ...] = ()
    tapped: tuple[str, ...] = ()

    def __init__(self, weight: float, name: str | None = None):
        self.weight = float(weight)
        if name is not None:
            self.name = name

    def start(self) -> None:
        """Called before each forward pass."""

    def tap(self, name: str, response: torch.Tensor) -> torch.Tensor:
        return response

    def loss(self, x: torch.Tensor, responses: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError


class ContentTerm(Term):
    """alpha L_content: P^l from the photograph at each content layer (the paper: conv4_2 alone)."""

    name = "content"
    option = "--content-weight or --ratio"

    def __init__(self, targets: dict[str, torch.Tensor], weight: float, size_invariant: bool = True):
        super().__init__(weight)
        self.targets = targets
        self.layers = tuple(targets)
        self.size_invariant = size_invariant

    def loss(self, x, responses):
        total = None
        for name, P in self.targets.items():
            e = losses.content_loss(responses[name], P, self.size_invariant)
            total = e if total is None else total + e
        return total


class StyleTerm(Term):
    """beta L_style = beta sum_l w_l E_l against A^l/M_l (one artwork's, or a blend's), computed inside
    the forward pass."""

    name = "style"
    option = "--style-weight or --ratio"

    def __init__(self, targets: dict[str, torch.Tensor], weight: float, layer_weights: dict[str, float]):
        super().__init__(weight)
        self.targets = targets
        self.layer_weights = {k: w for k, w in layer_weights.items() if k in targets and w}
        self.tapped = tuple(self.layer_weights)
        self._terms: list[torch.Tensor] = []

    def start(self):
        self._terms = []

    def tap(self, name, response):
        response, e = losses.style_tap(response, self.targets[name], self.layer_weights[name])
        self._terms.append(e)
        return response

    def loss(self, x, responses):
        total = self._terms[0]
        for e in self._terms[1:]:
            total = total + e
        return total


class GuidedStyleTerm(Term):
    """beta L_style with spatial guides (Gatys et al. 2017): per layer, the mean over regions r of
    E_l^r = 1/(4 N^2) sum_ij (G^r_ij - A^r_ij)^2, where G^r = (F o T^r)(F o T^r)^T / sum(T^r o T^r) is the
    Gram matrix of the region (guide T^r at the layer's resolution), normalised by its area."""

    name = "style"
    option = "--style-weight or --ratio"

    def __init__(self, guides: dict[str, list[tuple[torch.Tensor, torch.Tensor]]], weight: float,
                 layer_weights: dict[str, float]):
        super().__init__(weight)
        self.guides = guides  # layer -> [(T^r of the output (1, 1, H, W), A^r (N, N)), ...]
        self.layer_weights = {k: w for k, w in layer_weights.items() if k in guides and w}
        self.layers = tuple(self.layer_weights)

    def loss(self, x, responses):
        total = None
        for name, w in self.layer_weights.items():
            regions = self.guides[name]
            e = sum(losses.guided_style_layer_loss(responses[name], T, A) for T, A in regions) / len(regions)
            total = w * e if total is None else total + w * e
        return total


class TVTerm(Term):
    """Smoothness: the total variation of the image (squared differences, see losses.total_variation)."""

    name = "tv"
    option = "--tv-weight"

    def loss(self, x, responses):
        return losses.total_variation(x)


class Objective:
    """L_total = sum of weight x loss over the terms; the network runs once for all of them.

    Each term's loss is reported under its name, so names must differ: SettingsError for two terms of one name
    (give a second term its own, e.g. TemporalTerm(..., name="temporal-long")). compute: the dtype of the
    network's convolutions (torch.bfloat16 for --precision bf16; the terms always see float32)."""

    def __init__(self, net, terms: list[Term], compute: torch.dtype = torch.float32):
        self.net = net
        self.compute = compute
        names = [t.name for t in terms]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise SettingsError(f"two terms named {twice[0]!r}: give each term of the objective its own name")
        self.terms = [t for t in terms if t.weight]
        self.layers = tuple(dict.fromkeys(name for t in self.terms for name in (*t.layers, *t.tapped)))
        self._taps = {name: t for t in self.terms for name in t.tapped}

    @torch.no_grad()
    def overflow(self, x: torch.Tensor) -> str:
        """Why the total is not finite at x, naming the term (and the option of its weight) to blame."""
        values = list(zip(self.terms, self._losses(x)))
        for t, e in values:
            if not bool(torch.isfinite(e).all()) and t.option == Term.option:  # (a caller's term: its own loss)
                return f"term {t.name!r}: its own loss is not finite at the start"
            if not bool(torch.isfinite(e).all()):
                return (f"the {t.name} loss is not finite at the start: the network's responses overflow float32 "
                        f"(check --weights)")
        for t, e in values:
            if not bool(torch.isfinite(t.weight * e).all()):
                return (f"the weighted {t.name} loss ({t.weight:g} x {float(e):.3g}) is not finite at the start: lower "
                        f"{t.option}")
        return ("the loss is not finite at the start: the weighted terms' sum overflows float32; lower "
                + ", ".join(dict.fromkeys(t.option for t in self.terms)))

    def _losses(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each term's unweighted loss at x, from one forward pass."""
        for t in self.terms:
            t.start()
        tap = self._tap if self._taps else None
        if not self.layers:
            responses = {}
        elif self.compute == torch.float32:
            responses = self.net(x, self.layers, tap)
        else:
            responses = self.net(x, self.layers, tap, self.compute)
        values = [t.loss(x, responses) for t in self.terms]
        for t, e in zip(self.terms, values):  # (a term of the caller's: one number, or said so, not a bare error)
            if not (isinstance(e, torch.Tensor) and e.numel() == 1):
                what = f"a tensor of shape {tuple(e.shape)}" if isinstance(e, torch.Tensor) else type(e).__name__
                raise SettingsError(f"term {t.name!r}: its loss is not one number ({what}): a term's loss(x, "
                                    f"responses) returns a tensor of one element")
        return values

    def _tap(self, name, response):
        term = self._taps.get(name)
        return response if term is None else term.tap(name, response)

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(total, {term name: unweighted loss}) for the image x (1, 3, H, W)."""
        values = self._losses(x)
        total = None
        for t, e in zip(self.terms, values):
            total = t.weight * e if total is None else total + t.weight * e
        return total, {t.name: e for t, e in zip(self.terms, values)}


class TemporalTerm(Term):
    """Ruder, Dosovitskiy & Brox (GCPR 2016): L_temporal = 1/D sum_k c_k (x_k - w_k)^2, the mean over pixels and
    channels (D = 3 H W) of the squared difference to `target` w (an earlier stylised frame warped to this one by
    optical flow), weighted by `reliability` c in [0, 1]: 0 where the flow is unreliable.

    Several earlier frames at once (their long-term consistency): targets (K, 3, H, W) and weights (K, 1, H, W),
    L = sum over j of 1/D sum_k c_jk (x_k - w_jk)^2, the sum of their terms; K = 1 is the term above."""

    name = "temporal"
    option = "--temporal-weight"

    def __init__(self, target: torch.Tensor, reliability: torch.Tensor, weight: float, name: str | None = None):
        super().__init__(weight, name)
        self.target = target.detach().reshape(-1, *target.shape[-3:])  # (K, 3, H, W)
        c = reliability.detach().to(target.dtype)
        self.reliability = c.reshape(-1, 1, *c.shape[-2:])  # (K, 1, H, W)
        if len(self.reliability) != len(self.target):
            raise SettingsError(f"{len(self.target)} temporal targets but {len(self.reliability)} reliability maps")

    def loss(self, x, responses):
        target, c = self.target.to(x.device), self.reliability.to(x.device)
        return (c * (x - target) ** 2).sum() / x.numel()
