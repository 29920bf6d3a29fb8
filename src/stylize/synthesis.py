"""The optimization loop: targets set once, L-BFGS on the pixels, progress carried out by a callback."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from . import losses


@dataclass
class Targets:
    """What the image is compared against: P^l at the content layer, A^l/M_l at each style layer."""

    content: dict[str, torch.Tensor] = field(default_factory=dict)
    style: dict[str, torch.Tensor] = field(default_factory=dict)


@torch.inference_mode()
def content_targets(net, image: torch.Tensor, layers) -> dict[str, torch.Tensor]:
    """P^l, kept as responses (1, N, H, W) in the network's layout."""
    return {name: f.clone() for name, f in net(image, layers).items()}


@torch.inference_mode()
def style_targets(net, image: torch.Tensor, layers) -> dict[str, torch.Tensor]:
    return {name: losses.style_target(losses.flatten(f)) for name, f in net(image, layers).items()}


class Objective:
    """L_total = alpha L_content + beta L_style (either weight may be 0: the reconstructions)."""

    def __init__(self, net, targets: Targets, alpha: float, beta: float, layer_weights: dict[str, float],
                 size_invariant: bool = True):
        self.net = net
        self.targets = targets
        self.alpha = alpha if targets.content else 0.0
        self.beta = beta if targets.style else 0.0
        self.layer_weights = {k: w for k, w in layer_weights.items() if k in targets.style}
        self.size_invariant = size_invariant
        self.layers = tuple(targets.content) * bool(self.alpha) + tuple(self.layer_weights) * bool(self.beta)

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(total, content, style) for image x (1, 3, H, W)."""
        responses = self.net(x, self.layers)
        zero = x.new_zeros(())
        content = zero
        if self.alpha:
            for name, P in self.targets.content.items():
                content = content + losses.content_loss(responses[name], P, self.size_invariant)
        style = zero
        if self.beta:
            style = losses.style_loss(responses, self.targets.style, self.layer_weights)
        return self.alpha * content + self.beta * style, content, style


@dataclass
class Progress:
    """Handed to the callback after every loss evaluation."""

    iteration: int  # L-BFGS iterations begun (an iteration runs 1 or more evaluations in its line search)
    evaluations: int  # loss evaluations (network forward + backward passes) so far
    loss: float
    content: float
    style: float
    best: float
    seconds: float
    image: torch.Tensor  # the best image so far (1, 3, H, W); valid during the callback only


@dataclass
class Result:
    image: torch.Tensor  # best (lowest-loss) image evaluated, (1, 3, H, W)
    loss: float
    content: float
    style: float
    iterations: int
    evaluations: int
    seconds: float
    stopped: str  # "iterations" | "converged" | "interrupted" | "non-finite"

    @property
    def partial(self) -> bool:
        return self.stopped == "interrupted"


class _Stop(Exception):
    def __init__(self, reason: str):
        self.reason = reason


def lbfgs(objective: Objective, x0: torch.Tensor, iterations: int, history: int = 100, evaluations: int | None = None,
          callback: Callable[[Progress], None] | None = None,
          should_stop: Callable[[], bool] | None = None,
          patience: int = 50, tolerance: float = 1e-6) -> Result:
    """Minimize the objective over the pixels with L-BFGS and a strong-Wolfe line search.

    Plain L-BFGS (no line search) diverges to NaN on this loss; the line search keeps every step a
    descent step. Stops after `iterations` iterations or `evaluations` evaluations (default 1.25x
    iterations, torch's bound),
    when the best loss improved by less than `tolerance` (relative) over `patience` evaluations,
    when should_stop() says so, or at a non-finite loss; always returns the best image evaluated.
    """
    x = x0.detach().clone().requires_grad_(True)
    best_x = x0.detach().clone()
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=iterations, max_eval=evaluations, history_size=history,
                            tolerance_grad=0.0, tolerance_change=0.0, line_search_fn="strong_wolfe")
    state = {"evals": 0, "best": math.inf, "content": math.nan, "style": math.nan, "marks": []}
    start = time.perf_counter()

    def closure():
        if should_stop is not None and should_stop():
            raise _Stop("interrupted")
        opt.zero_grad()
        total, content, style = objective(x)
        value = float(total.detach())
        if not math.isfinite(value):
            raise _Stop("non-finite")
        total.backward()
        state["evals"] += 1
        if value < state["best"]:
            state.update(best=value, content=float(content.detach()), style=float(style.detach()))
            best_x.copy_(x.detach())
        if callback is not None:
            callback(Progress(_iteration(opt, x), state["evals"], value, float(content.detach()), float(style.detach()),
                              state["best"], time.perf_counter() - start, best_x))
        marks = state["marks"]
        marks.append(state["best"])
        if len(marks) > patience:
            old = marks.pop(0)
            if old - state["best"] <= tolerance * abs(state["best"]):
                raise _Stop("converged")
        return total

    stopped = "iterations"
    try:
        opt.step(closure)
    except _Stop as stop:
        stopped = stop.reason
    if state["evals"] == 0:  # stopped before the first evaluation: report the start
        with torch.no_grad():
            total, content, style = objective(best_x)
        state.update(best=float(total), content=float(content), style=float(style))
    return Result(best_x, state["best"], state["content"], state["style"], _iteration(opt, x),
                  state["evals"], time.perf_counter() - start, stopped)


def _iteration(opt: torch.optim.LBFGS, x: torch.Tensor) -> int:
    return int(opt.state[x].get("n_iter", 0)) if x in opt.state else 0


def noise_image(height: int, width: int, std: float, seed: int) -> torch.Tensor:
    """White noise: mid-grey plus Gaussian noise of the given std, drawn on the CPU so every device
    starts from the same image for the same seed."""
    g = torch.Generator().manual_seed(seed)
    return 0.5 + std * torch.randn(1, 3, height, width, generator=g)
