"""The strong-Wolfe line search of our L-BFGS (Nocedal & Wright, Numerical Optimization, 2nd ed., §3.1 and §3.5).

Along a descent direction d from x it finds a step t with

    f(x + t d) <= f(x) + c1 t g(x).d        (sufficient decrease, N&W eq. 3.7a)
    |g(x + t d).d| <= c2 |g(x).d|           (curvature, N&W eq. 3.7b)

by bracketing (Alg. 3.5) and zooming into the bracket (Alg. 3.6), each new trial step the minimiser
of the cubic through the two ends' values and slopes (eq. 3.59). Works on tensors of any shape and
dtype: only `evaluate`, `x + t * d` and dot products of flattened tensors are used.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

Evaluate = Callable[[torch.Tensor], tuple[float, torch.Tensor]]

SUFFICIENT_DECREASE = 1e-4  # c1: N&W's suggested value (§3.1)
CURVATURE = 0.9  # c2: N&W's value for quasi-Newton methods (§3.1)
MAX_TRIES = 25  # evaluations each of the bracketing and the zoom phase may spend


def strong_wolfe(evaluate: Evaluate, x: torch.Tensor, d: torch.Tensor, t: float, f0: float, g0: torch.Tensor,
                 gtd0: float, c1: float = SUFFICIENT_DECREASE, c2: float = CURVATURE,
                 max_tries: int = MAX_TRIES) -> tuple[float, float, torch.Tensor]:
    """A step along d meeting the strong Wolfe conditions (Nocedal & Wright, Alg. 3.5, zoom Alg. 3.6).

    evaluate(y) -> (f(y), gradient at y, same shape as y); x: the start, d: a descent direction of x's
    shape; t > 0: the first step tried; f0, g0: f and its gradient at x; gtd0 = g0.d < 0; 0 < c1 < c2 < 1.
    Trial steps grow (to the cubic's minimiser in [t + 0.01 (t - t_prev), 10 t]) until one is too long
    (fails sufficient decrease or is no better than the previous) or the slope turns non-negative, then
    zoom() shrinks the bracket. Returns (t, f(x + t d), g(x + t d)) at a step meeting both conditions,
    or at the best step seen when `max_tries` evaluations in a phase do not find one (then possibly t
    = 0 with f0, g0). Raises nothing itself; whatever `evaluate` raises passes through.
    """
    d_max = float(d.abs().max())
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f0, g0, gtd0
    for i in range(max_tries):
        f_new, g_new = evaluate(x + t * d)
        gtd_new = float(g_new.flatten() @ d.flatten())
        if f_new > f0 + c1 * t * gtd0 or (i > 0 and f_new >= f_prev):
            return zoom(evaluate, x, d, f0, gtd0, (t_prev, f_prev, g_prev, gtd_prev), (t, f_new, g_new, gtd_new),
                        c1, c2, max_tries, d_max)
        if abs(gtd_new) <= -c2 * gtd0:
            return t, f_new, g_new
        if gtd_new >= 0:
            return zoom(evaluate, x, d, f0, gtd0, (t, f_new, g_new, gtd_new), (t_prev, f_prev, g_prev, gtd_prev),
                        c1, c2, max_tries, d_max)
        t_next = cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, t + 0.01 * (t - t_prev), 10 * t)
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
    return t_prev, f_prev, g_prev


Point = tuple[float, float, torch.Tensor, float]  # (t, f(x + t d), g(x + t d), g(x + t d).d)


def zoom(evaluate: Evaluate, x: torch.Tensor, d: torch.Tensor, f0: float, gtd0: float, lo: Point, hi: Point,
         c1: float, c2: float, max_tries: int, d_max: float) -> tuple[float, float, torch.Tensor]:
    """Shrink the bracket [lo, hi] until a step meets the strong Wolfe conditions (Nocedal & Wright, Alg. 3.6).

    lo: the end with the lower loss, meeting sufficient decrease, its slope pointing into the bracket
    (gtd_lo (t_hi - t_lo) < 0); hi: the other end. Each trial is the cubic interpolant's minimiser
    (eq. 3.59) kept 10% of the bracket's width away from its ends, so the bracket shrinks by at least
    10% per evaluation. Stops when the bracket is narrower than 1e-9 in the largest |d| component or
    after `max_tries` evaluations, then returns the lo end. Returns (t, f, g) as strong_wolfe does.
    """
    for _ in range(max_tries):
        (t_lo, f_lo, g_lo, gtd_lo), (t_hi, f_hi, _, gtd_hi) = lo, hi
        a, b = min(t_lo, t_hi), max(t_lo, t_hi)
        if (b - a) * d_max < 1e-9:
            break
        t = cubic_minimum(t_lo, f_lo, gtd_lo, t_hi, f_hi, gtd_hi, a, b)
        margin = 0.1 * (b - a)  # keep away from the ends: guarantees the bracket shrinks
        t = min(max(t, a + margin), b - margin)
        f_new, g_new = evaluate(x + t * d)
        gtd_new = float(g_new.flatten() @ d.flatten())
        point = (t, f_new, g_new, gtd_new)
        if f_new > f0 + c1 * t * gtd0 or f_new >= f_lo:
            hi = point
        else:
            if abs(gtd_new) <= -c2 * gtd0:
                return t, f_new, g_new
            if gtd_new * (t_hi - t_lo) >= 0:
                hi = lo
            lo = point
    t_lo, f_lo, g_lo, _ = lo
    return t_lo, f_lo, g_lo


def cubic_minimum(t1: float, f1: float, g1: float, t2: float, f2: float, g2: float, lo: float, hi: float) -> float:
    """The minimiser of the cubic through (t1, f1) with slope g1 and (t2, f2) with slope g2, clamped to
    [lo, hi] (Nocedal & Wright, eq. 3.59):

        t = t2 - (t2 - t1) (g2 + d2 - d1) / (g2 - g1 + 2 d2),
        d1 = g1 + g2 - 3 (f1 - f2) / (t1 - t2),  d2 = sign(t2 - t1) sqrt(d1^2 - g1 g2).

    The middle of [lo, hi] when the cubic has no local minimum (d1^2 < g1 g2), the points coincide,
    or the formula is not finite. Scalars in the units of the step t; raises nothing.
    """
    if lo > hi:
        lo, hi = hi, lo
    if t1 == t2:
        return (lo + hi) / 2
    d1 = g1 + g2 - 3 * (f1 - f2) / (t1 - t2)
    square = d1 * d1 - g1 * g2
    if square < 0:
        return (lo + hi) / 2
    d2 = math.copysign(math.sqrt(square), t2 - t1)
    denominator = g2 - g1 + 2 * d2
    if denominator == 0:
        return (lo + hi) / 2
    t = t2 - (t2 - t1) * (g2 + d2 - d1) / denominator
    return min(max(t, lo), hi) if math.isfinite(t) else (lo + hi) / 2
