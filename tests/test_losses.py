"""The loss formulas against hand computations, with seeded tensors (no VGG needed)."""

import pytest
import torch

from stylize import losses


def test_gram_matches_hand_sum():
    F = torch.randn(4, 7, generator=torch.Generator().manual_seed(0))
    G = losses.gram(F)
    for i in range(4):
        for j in range(4):
            assert abs(float(G[i, j]) - sum(float(F[i, k] * F[j, k]) for k in range(7))) < 1e-5


def test_content_loss_is_half_sum_of_squares_literal_and_per_position():
    F = torch.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])
    P = torch.tensor([[1.0, 0.0, 3.0], [1.0, 1.0, 2.0]])
    # (0 + 4 + 0 + 1 + 0 + 4) / 2 = 4.5
    assert float(losses.content_loss(F, P, size_invariant=False)) == 4.5
    assert abs(float(losses.content_loss(F, P, size_invariant=True)) - 4.5 / 3) < 1e-6


def test_style_layer_loss_is_the_paper_E_l():
    g = torch.Generator().manual_seed(1)
    F = torch.rand(5, 11, generator=g)
    S = torch.rand(5, 11, generator=g)
    N, M = F.shape
    G, A = losses.gram(F), losses.gram(S)
    by_hand = sum(float(G[i, j] - A[i, j]) ** 2 for i in range(N) for j in range(N)) / (4 * N**2 * M**2)
    got = float(losses.style_layer_loss(F, losses.style_target(S)))
    assert abs(got - by_hand) < 1e-6 * max(1.0, by_hand)
    assert float(losses.style_layer_loss(S, losses.style_target(S))) < 1e-12


def test_style_loss_weights_each_layer():
    g = torch.Generator().manual_seed(2)
    responses = {"a": torch.rand(1, 3, 4, 4, generator=g), "b": torch.rand(1, 2, 2, 2, generator=g)}
    artwork = {"a": torch.rand(1, 3, 4, 4, generator=g), "b": torch.rand(1, 2, 2, 2, generator=g)}
    targets = {k: losses.style_target(losses.flatten(v)) for k, v in artwork.items()}
    e = {k: float(losses.style_layer_loss(losses.flatten(responses[k]), targets[k])) for k in responses}
    total = float(losses.style_loss(responses, targets, {"a": 0.25, "b": 0.75}))
    assert abs(total - (0.25 * e["a"] + 0.75 * e["b"])) < 1e-7
    assert float(losses.style_loss(responses, targets, {"a": 1.0, "b": 0.0})) == e["a"]


def test_style_loss_does_not_grow_with_image_size_but_literal_content_loss_does():
    # the same statistics over 4x the positions: E_l is unchanged, literal L_content is 4x
    g = torch.Generator().manual_seed(3)
    F, P, S = (torch.rand(6, 50, generator=g) for _ in range(3))
    F4, P4, S4 = (t.repeat(1, 4) for t in (F, P, S))
    assert abs(float(losses.style_layer_loss(F4, losses.style_target(S4)))
               - float(losses.style_layer_loss(F, losses.style_target(S)))) < 1e-7
    assert abs(float(losses.content_loss(F4, P4, False)) - 4 * float(losses.content_loss(F, P, False))) < 1e-4
    assert abs(float(losses.content_loss(F4, P4, True)) - float(losses.content_loss(F, P, True))) < 1e-6


def test_analytic_style_gradient_equals_autograd_of_the_formula():
    g = torch.Generator().manual_seed(4)
    response = torch.rand(1, 5, 3, 4, generator=g, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    A = losses.style_target(losses.flatten(torch.rand(1, 5, 3, 4, generator=g, dtype=torch.float64)))
    a = response.clone().requires_grad_(True)
    b = response.clone().requires_grad_(True)
    fast = losses.style_layer_loss(a, A)
    plain = losses.style_layer_loss(b.reshape(5, 12), A)
    assert abs(float(fast.detach()) - float(plain.detach())) < 1e-12
    (3 * fast).backward()
    (3 * plain).backward()
    assert torch.allclose(a.grad, b.grad, atol=1e-12)
    assert torch.autograd.gradcheck(lambda r: losses.style_layer_loss(r, A), (response.clone().requires_grad_(True),))


def test_content_loss_on_responses_equals_on_matrices():
    g = torch.Generator().manual_seed(5)
    F, P = torch.rand(1, 4, 3, 5, generator=g), torch.rand(1, 4, 3, 5, generator=g)
    assert abs(float(losses.content_loss(F, P)) - float(losses.content_loss(F.reshape(4, 15), P.reshape(4, 15)))) < 1e-5


@pytest.mark.parametrize("onednn", [True, False], ids=["1x1-convolutions", "matrix-products"])
def test_style_tap_adds_the_style_gradient_to_the_gradient_from_above(monkeypatch, onednn):
    # the tap's pass-through feeds a further layer, as inside the network: the input's gradient must
    # be that of (next layer's loss + w E_l) computed by autograd from the plain (N, M) formula
    monkeypatch.setattr(losses, "_onednn", lambda response: onednn)
    g = torch.Generator().manual_seed(6)
    response = torch.rand(1, 6, 5, 7, generator=g, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    A = losses.style_target(losses.flatten(torch.rand(1, 6, 5, 7, generator=g, dtype=torch.float64)))
    above = torch.rand(4, 6, 3, 3, generator=g, dtype=torch.float64)

    def through_tap(r):
        passed, e = losses.style_tap(r, A, 0.7)
        return torch.nn.functional.conv2d(passed, above).square().sum() + e

    def by_formula(r):
        return torch.nn.functional.conv2d(r, above).square().sum() + 0.7 * losses.style_layer_loss(r.reshape(6, 35), A)

    a = response.clone().requires_grad_(True)
    b = response.clone().requires_grad_(True)
    va, vb = through_tap(a), by_formula(b)
    assert abs(float(va.detach()) - float(vb.detach())) < 1e-10 * float(vb.detach())
    va.backward()
    vb.backward()
    assert torch.allclose(a.grad, b.grad, rtol=1e-10, atol=1e-12)
    assert torch.autograd.gradcheck(through_tap, (response.clone().requires_grad_(True),))
    # the pass-through is the response itself, and the loss alone (nothing above) has E_l's gradient
    c = response.clone().requires_grad_(True)
    passed, e = losses.style_tap(c, A)
    assert torch.equal(passed.detach(), response)
    e.backward()
    d = response.clone().requires_grad_(True)
    losses.style_layer_loss(d.reshape(6, 35), A).backward()
    assert torch.allclose(c.grad, d.grad, rtol=1e-10, atol=1e-12)
