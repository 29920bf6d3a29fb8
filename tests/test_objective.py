"""The objective: a weighted sum of terms, every term counted once, names that never collide."""

import pytest
import torch

from stylize.errors import SettingsError
from stylize.objective import Objective, TemporalTerm, Term, TVTerm


class Constant(Term):
    """A term whose loss is a fixed number (and whose gradient is zero)."""

    def __init__(self, value, weight=1.0, name=None):
        super().__init__(weight, name)
        self.value = value

    def loss(self, x, responses):
        return x.sum() * 0 + self.value


def test_the_total_is_the_weighted_sum_of_every_term():
    x = torch.rand(1, 3, 8, 8)
    objective = Objective(None, [Constant(6.0, 1.0, "a"), Constant(2.0, 0.5, "b"), Constant(3.0, 2.0, "c")])
    total, parts = objective(x)
    assert float(total) == pytest.approx(6.0 + 0.5 * 2.0 + 2.0 * 3.0)
    assert {k: float(v) for k, v in parts.items()} == {"a": 6.0, "b": 2.0, "c": 3.0}


def test_two_terms_of_one_name_are_refused_rather_than_one_dropped_from_the_total():
    # before: parts were keyed by name, so a second "temporal" term replaced the first in the sum
    # (6.0 + 0.0 summed to 0.0)
    target, c = torch.zeros(1, 3, 8, 8), torch.ones(1, 1, 8, 8)
    with pytest.raises(SettingsError, match="^two terms named 'temporal': give each term of the objective its own name$"):
        Objective(None, [TemporalTerm(target, c, 1.0), TemporalTerm(target, c, 2.0)])
    named = Objective(None, [TemporalTerm(target, c, 1.0), TemporalTerm(target + 1, c, 2.0, name="temporal-long")])
    total, parts = named(torch.zeros(1, 3, 8, 8))
    assert float(parts["temporal"]) == 0.0 and float(parts["temporal-long"]) == 1.0
    assert float(total) == pytest.approx(2.0)


def test_a_term_of_weight_zero_is_left_out_and_the_gradient_flows_through_the_rest():
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    objective = Objective(None, [TVTerm(0.0), TVTerm(3.0, name="tv-2")])
    assert [t.name for t in objective.terms] == ["tv-2"]
    total, _ = objective(x)
    total.backward()
    assert float(x.grad.abs().sum()) > 0
