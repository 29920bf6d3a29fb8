"""The strong-Wolfe line search and its cubic interpolation, against answers known in closed form."""

import math

import pytest
import torch

from stylize import linesearch


# --- cubic_minimum (Nocedal & Wright eq. 3.59) -------------------------------------------------------


def _cubic(t):
    """p(t) = 2t^3 - 9t^2 + 12t + 5, p'(t) = 6(t - 1)(t - 2): local maximum at 1, local minimum at 2."""
    return 2 * t**3 - 9 * t**2 + 12 * t + 5, 6 * (t - 1) * (t - 2)


@pytest.mark.parametrize("t1, t2", [(0.0, 3.0), (3.0, 0.0), (1.5, 2.5), (2.5, 4.0), (-1.0, 2.2)])
def test_cubic_minimum_is_the_cubics_local_minimum(t1, t2):
    (f1, g1), (f2, g2) = _cubic(t1), _cubic(t2)
    assert linesearch.cubic_minimum(t1, f1, g1, t2, f2, g2, -10.0, 10.0) == pytest.approx(2.0, abs=1e-12)


def test_cubic_minimum_of_a_quadratic_is_its_vertex():
    q = lambda t: ((t - 0.7) ** 2, 2 * (t - 0.7))  # a cubic with a zero leading coefficient
    (f1, g1), (f2, g2) = q(0.0), q(2.0)
    assert linesearch.cubic_minimum(0.0, f1, g1, 2.0, f2, g2, 0.0, 2.0) == pytest.approx(0.7, abs=1e-12)


def test_cubic_minimum_is_clamped_to_the_interval_in_either_order():
    (f1, g1), (f2, g2) = _cubic(0.0), _cubic(3.0)
    assert linesearch.cubic_minimum(0.0, f1, g1, 3.0, f2, g2, 2.5, 3.0) == 2.5
    assert linesearch.cubic_minimum(0.0, f1, g1, 3.0, f2, g2, 1.5, 0.5) == 1.5  # lo > hi: swapped


def test_cubic_without_a_local_minimum_gives_the_middle():
    c = lambda t: (t**3 + t, 3 * t**2 + 1)  # increasing everywhere: d1^2 < g1 g2
    (f1, g1), (f2, g2) = c(-1.0), c(1.0)
    assert linesearch.cubic_minimum(-1.0, f1, g1, 1.0, f2, g2, 0.0, 4.0) == 2.0
    assert linesearch.cubic_minimum(1.0, f1, g1, 1.0, f1, g1, 0.0, 4.0) == 2.0  # one point twice


# --- strong_wolfe (Nocedal & Wright Alg. 3.5 and 3.6) -------------------------------------------------


def _moré_thuente_1(a, beta=2.0):
    """phi(a) = -a / (a^2 + beta): minimum at sqrt(beta) (Moré & Thuente 1994, ACM TOMS 20(3), function 1)."""
    return -a / (a * a + beta), (a * a - beta) / (a * a + beta) ** 2


def _moré_thuente_2(a):
    """phi(a) = (a + 0.004)^5 - 2 (a + 0.004)^4: minimum at 1.6 - 0.004 (Moré & Thuente 1994, function 2)."""
    b = a + 0.004
    return b**5 - 2 * b**4, 5 * b**4 - 8 * b**3


def _parabola(a):
    return (a - 1.0) ** 2, 2 * (a - 1.0)


def _search(phi, t0, c1=1e-4, c2=0.9, x0=0.5, direction=2.0):
    """Search from x0 along `direction` for f(x) = phi(x) in float64; phi(x) -> (value, derivative).
    Returns the step, f, g the search returned, the steps it tried, and f, g.d at 0."""
    x = torch.tensor([x0], dtype=torch.float64)
    d = torch.tensor([direction], dtype=torch.float64)
    tried = []

    def evaluate(y):
        tried.append(float((y - x) / d))
        value, slope = phi(float(y))
        return value, torch.tensor([slope], dtype=torch.float64)

    f0, g0 = phi(x0)
    g0 = torch.tensor([g0], dtype=torch.float64)
    gtd0 = float(g0 @ d)
    assert gtd0 < 0
    t, f, g = linesearch.strong_wolfe(evaluate, x, d, t0, f0, g0, gtd0, c1=c1, c2=c2)
    return t, f, g, tried, f0, gtd0


def _assert_strong_wolfe(phi, t, f, g, f0, gtd0, c1, c2, x0=0.5, direction=2.0):
    value, slope = phi(x0 + t * direction)
    assert (f, float(g)) == (value, slope)  # the returned f and g are those at x + t d
    assert t > 0
    assert f <= f0 + c1 * t * gtd0  # sufficient decrease
    assert abs(slope * direction) <= c2 * abs(gtd0)  # curvature


def test_a_step_too_long_is_zoomed_into():
    t, f, g, tried, f0, gtd0 = _search(_parabola, t0=1.0)  # f(0.5 + 2) > f(0.5): too long
    _assert_strong_wolfe(_parabola, t, f, g, f0, gtd0, 1e-4, 0.9)
    # the cubic through a parabola's two points is the parabola: its vertex, x = 1, is the next try
    assert tried == [1.0, pytest.approx(0.25, abs=1e-15)] and t == tried[1]


def test_a_step_too_short_is_expanded():
    t, f, g, tried, f0, gtd0 = _search(_parabola, t0=1e-3, c2=0.1)
    # each try at most 10x the last, the last the parabola's vertex (the cubic through its two points)
    assert tried == pytest.approx([1e-3, 1e-2, 1e-1, 0.25], rel=1e-12) and t == tried[-1]
    _assert_strong_wolfe(_parabola, t, f, g, f0, gtd0, 1e-4, 0.1)


def _slope_and_bump(a):
    """phi(a) = -a + 0.95 exp(-((a - 1) / 0.05)^2): a falling line with a narrow bump at 1."""
    e = 0.95 * math.exp(-(((a - 1.0) / 0.05) ** 2))
    return -a + e, -1.0 - 2 * (a - 1.0) / 0.05**2 * e


def test_a_try_no_better_than_the_last_ends_the_expansion():
    # 0.1 is too short (slope -1); the next try, 10x, lands on the bump: f(1) = -0.05 is above f(0.1)
    # yet meets sufficient decrease, its slope still -1. Alg. 3.5 zooms into [0.1, 1] (not on past 1).
    t, f, g, tried, f0, gtd0 = _search(_slope_and_bump, 0.1, c2=0.5, x0=0.0, direction=1.0)
    assert tried[:2] == [0.1, 1.0] and _slope_and_bump(1.0)[0] > _slope_and_bump(0.1)[0]
    assert 0.1 < t < 1.0 and f < _slope_and_bump(0.1)[0]
    _assert_strong_wolfe(_slope_and_bump, t, f, g, f0, gtd0, 1e-4, 0.5, x0=0.0, direction=1.0)


def test_a_step_meeting_both_conditions_is_taken_at_once():
    t, f, g, tried, f0, gtd0 = _search(_parabola, t0=0.2)  # x = 0.9: slope g.d = -0.4 of -2
    assert tried == [0.2] and t == 0.2
    _assert_strong_wolfe(_parabola, t, f, g, f0, gtd0, 1e-4, 0.9)


@pytest.mark.parametrize("phi, c1, c2", [(_moré_thuente_1, 1e-4, 0.9), (_moré_thuente_1, 1e-3, 0.1),
                                         (_moré_thuente_1, 1e-4, 1e-3), (_moré_thuente_2, 1e-4, 0.9)])
@pytest.mark.parametrize("t0", [1e-3, 1e-1, 1.0, 1e1, 1e3])
def test_more_thuente_functions_end_at_a_strong_wolfe_step(phi, c1, c2, t0):
    t, f, g, tried, f0, gtd0 = _search(phi, t0, c1=c1, c2=c2, x0=0.0, direction=1.0)
    _assert_strong_wolfe(phi, t, f, g, f0, gtd0, c1, c2, x0=0.0, direction=1.0)
    assert len(tried) <= 2 * linesearch.MAX_TRIES


def test_the_zoom_ends_when_the_bracket_is_narrower_than_1e_9():
    # function 2's slope at 0 is -5.1e-7: c2 = 1e-3 asks for |phi'| <= 5.1e-10, i.e. a step within
    # 2.5e-11 of the minimiser 1.596; the zoom stops at a bracket 1e-9 wide (in units of x) instead and
    # returns its lower end: sufficient decrease holds, curvature need not, the step is that close.
    t, f, g, tried, f0, gtd0 = _search(_moré_thuente_2, 10.0, c1=1e-4, c2=1e-3, x0=0.0, direction=1.0)
    assert f <= f0 + 1e-4 * t * gtd0 and abs(t - 1.596) < 1e-8
    assert abs(float(g)) > 1e-3 * abs(gtd0)  # this is the case the bound above is about
    assert f == min(_moré_thuente_2(s)[0] for s in tried)


def test_running_out_of_tries_returns_the_best_point_seen():
    # one try for each phase: 5.0 is too long, the zoom's one try (0.5, clamped 10% from the end of
    # [0, 5]) is no better than the start, so the search gives back the start: t = 0, f0, g0
    x = torch.tensor([0.5], dtype=torch.float64)
    d = torch.tensor([2.0], dtype=torch.float64)
    f0, slope0 = _parabola(0.5)
    g0 = torch.tensor([slope0], dtype=torch.float64)
    calls = []

    def evaluate(y):
        calls.append(float(y))
        value, slope = _parabola(float(y))
        return value, torch.tensor([slope], dtype=torch.float64)

    t, f, g = linesearch.strong_wolfe(evaluate, x, d, 5.0, f0, g0, float(g0 @ d), max_tries=1)
    assert calls == [10.5, 1.5] and (t, f) == (0.0, f0) and g is g0


def test_works_on_tensors_of_any_shape():
    # f(x) = |x - c|^2 / 2 on a (1, 3, 2, 2) image from 0 along -g: the exact step is 1
    c = torch.arange(12, dtype=torch.float64).view(1, 3, 2, 2) / 12
    evaluate = lambda y: (float(((y - c) ** 2).sum() / 2), y - c)
    x = torch.zeros_like(c)
    f0, g0 = evaluate(x)
    d = -g0
    t, f, g = linesearch.strong_wolfe(evaluate, x, d, 0.3, f0, g0, float(g0.flatten() @ d.flatten()), c2=1e-6)
    assert t == pytest.approx(1.0, abs=1e-9) and g.shape == c.shape and float(g.abs().max()) < 1e-9
