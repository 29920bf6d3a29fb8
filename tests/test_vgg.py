"""The network: torchvision's VGG-19 layout, truncation, pooling, and the paper's normalization."""

import os
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from stylize import vgg, weights
from stylize.layers import LAYERS


@pytest.fixture(scope="module")
def original():
    return weights.load_original()


def test_layout_is_torchvision_vgg19_features_with_average_pooling():
    from torchvision.models import vgg19

    theirs = vgg19(weights=None).features
    ours = vgg.build_layers("conv5_4", "max")
    assert len(ours) == len(theirs) - 1  # everything but the final pooling layer, which no layer uses
    for a, b in zip(ours, theirs):
        assert type(a) is type(b)
        if isinstance(a, nn.Conv2d):
            assert (a.in_channels, a.out_channels, a.kernel_size, a.padding) == \
                   (b.in_channels, b.out_channels, b.kernel_size, b.padding)
    assert set(ours.state_dict()) <= set(theirs.state_dict())
    avg = vgg.build_layers("conv5_4", "avg")
    assert sum(isinstance(m, nn.AvgPool2d) for m in avg) == 4 and not any(isinstance(m, nn.MaxPool2d) for m in avg)


def test_truncated_at_the_deepest_layer_in_use():
    assert len(vgg.build_layers("conv1_1")) == 2
    assert len(vgg.build_layers("conv4_2")) == weights.CONV_INDEX["conv4_2"] + 2
    assert isinstance(vgg.build_layers("conv4_2")[-1], nn.ReLU)


@pytest.mark.vgg
def test_responses_are_rectified_and_named(original):
    net = vgg.VGG(original, last="conv3_1")
    out = net(torch.rand(1, 3, 32, 32), ["conv1_1", "conv3_1"])
    assert set(out) == {"conv1_1", "conv3_1"}
    assert out["conv1_1"].shape == (1, 64, 32, 32) and out["conv3_1"].shape == (1, 256, 8, 8)
    assert float(out["conv3_1"].min()) >= 0


@pytest.mark.vgg
def test_normalized_responses_are_raw_responses_over_mu(original):
    means = vgg.floor_means(vgg.means_for(original, "avg"))
    raw = vgg.VGG(original, last="conv5_1")
    norm = vgg.VGG(original, last="conv5_1", means=means)
    x = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(0))
    layers = ["conv1_1", "conv2_1", "conv3_1", "conv4_2", "conv5_1"]
    a, b = raw(x, layers), norm(x, layers)
    for name in layers:
        expected = a[name] / means[name].view(1, -1, 1, 1)
        assert torch.allclose(b[name], expected, rtol=1e-3, atol=1e-4 * float(expected.abs().max()))


@pytest.mark.vgg
@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_normalized_network_has_mean_activation_one_per_filter(original, pooling):
    means = vgg.floor_means(vgg.means_for(original, pooling))
    net = vgg.VGG(original, last="conv5_4", pooling=pooling, means=means)
    images = vgg.calibration_images()
    totals = {n: 0 for n in LAYERS}
    with torch.inference_mode():
        for im in images:
            for n, f in net(im, LAYERS).items():
                totals[n] = totals[n] + f.mean(dim=(0, 2, 3))
    raw = vgg.means_for(original, pooling)
    for name in LAYERS:
        m = totals[name] / len(images)
        alive = raw[name] >= vgg.DEAD_FLOOR * raw[name].median()
        assert torch.allclose(m[alive], torch.ones_like(m[alive]), atol=1e-3), name
        assert bool((m[~alive] < 1).all()), name  # floored filters: never blown up
    assert int((~(raw["conv2_1"] >= vgg.DEAD_FLOOR * raw["conv2_1"].median())).sum()) >= 1  # the dead filter


@pytest.mark.vgg
def test_shipped_means_are_those_of_the_shipped_calibration_set(original):
    shipped = torch.load(vgg.SHIPPED_MEANS, weights_only=True)
    for pooling in ("avg", "max"):
        fresh = vgg.mean_activations(original, pooling)
        for name in ("conv1_1", "conv2_1", "conv4_2", "conv5_4"):
            assert torch.allclose(shipped[pooling][name], fresh[name], rtol=1e-4, atol=1e-6)


@pytest.mark.vgg
def test_preprocessing_caffe_is_bgr_255_minus_mean(original):
    net = vgg.VGG(original, last="conv1_1")
    x = torch.rand(1, 3, 4, 4)
    got = x.index_select(1, net.order) * net.a + net.b
    expected = x[:, [2, 1, 0]] * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    assert torch.allclose(got, expected, atol=1e-4)


@pytest.mark.vgg
def test_normalization_makes_responses_independent_of_a_sources_layer_scales(original):
    """A source whose layers are scaled differently (same function up to scale, as between training
    recipes) gives the same normalized responses, so the same ratio means the same thing."""
    state = {k: v.clone() for k, v in original.state_dict.items()}
    previous = 1.0
    for k, name in enumerate(LAYERS):
        i = weights.CONV_INDEX[name]
        c = 0.5 + 0.25 * (k % 5)  # this layer's outputs become c x the original's
        state[f"{i}.weight"] = state[f"{i}.weight"] * (c / previous)
        state[f"{i}.bias"] = state[f"{i}.bias"] * c
        previous = c
    other = weights.Weights("rescaled", state, original.preprocessing)
    a = vgg.VGG(original, "conv5_1", means=vgg.floor_means(vgg.mean_activations(original, "avg")))
    b = vgg.VGG(other, "conv5_1", means=vgg.floor_means(vgg.mean_activations(other, "avg")))
    raw_b = vgg.VGG(other, "conv5_1")
    raw_a = vgg.VGG(original, "conv5_1")
    x = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(1))
    layers = ["conv1_1", "conv3_1", "conv4_2", "conv5_1"]
    ra, rb = a(x, layers), b(x, layers)
    for name in layers:
        assert torch.allclose(ra[name], rb[name], rtol=1e-3, atol=1e-4), name
    assert not torch.allclose(raw_a(x, ["conv3_1"])["conv3_1"], raw_b(x, ["conv3_1"])["conv3_1"])


@pytest.mark.vgg
@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_bf16_convolutions_give_float32_responses_close_to_float32s(pooling):
    """--precision bf16: the convolutions in bfloat16, the responses (what the losses read) in float32, within
    bfloat16's rounding of the float32 ones; the gradient reaches the float32 image pointing the same way."""
    net = vgg.network("original", pooling, True, "conv4_2", "cpu")
    torch.manual_seed(0)
    image = torch.rand(1, 3, 40, 48)
    layers = ("conv1_1", "conv3_1", "conv4_2")
    seen = []
    grads = []
    for compute in (torch.float32, torch.bfloat16):
        x = image.clone().requires_grad_(True)
        tap = lambda name, r: (seen.append((name, r.dtype)), r)[1]
        out = net(x, layers, tap, compute)
        assert all(out[name].dtype == torch.float32 for name in layers)
        sum((out[name] ** 2).mean() for name in layers).backward()
        assert x.grad.dtype == torch.float32
        grads.append((out, x.grad))
    assert seen == [(name, torch.float32) for name in layers] * 2
    (full, g32), (low, g16) = grads
    for name in layers:
        assert torch.linalg.vector_norm(low[name] - full[name]) < 0.05 * torch.linalg.vector_norm(full[name])
    assert torch.nn.functional.cosine_similarity(g16.flatten(), g32.flatten(), dim=0) > 0.95
    with torch.no_grad():  # the same numbers without autograd's functions (targets, Objective.overflow)
        plain = net(image, layers, None, torch.bfloat16)
    assert all(torch.equal(plain[name], low[name].detach()) for name in layers)


@pytest.mark.vgg
def test_float32_forward_is_unchanged_by_the_precision_argument():
    net = vgg.network("original", "avg", True, "conv4_2", "cpu")
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(net(x, ("conv4_2",))["conv4_2"], net(x, ("conv4_2",), None, torch.float32)["conv4_2"])


def test_round_118_a_weights_file_is_named_as_given(tmp_path, monkeypatch):
    """Hostile round 118: a weights file's errors named its real path (a followed link by its target alone, a
    relative name made absolute), and a link to nothing "does not exist". Named as given; a link followed with
    where it leads; a link to nothing as one."""
    from stylize import Session, StylizeError

    from .conftest import pattern

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    Path("empty.pth").write_bytes(b"")
    os.symlink("empty.pth", "lw.pth")
    os.symlink("nowhere", "dang")
    for source, told in (("empty.pth", "empty.pth: not a PyTorch state-dict file"),
                          ("./empty.pth", "./empty.pth: not a PyTorch state-dict file"),
                          ("lw.pth", f"lw.pth (a link to {tmp_path / 'empty.pth'}): not a PyTorch state-dict file"),
                          ("./nope.pth", "weights file ./nope.pth does not exist"),
                          ("dang", "weights file dang: a link to nothing")):
        with pytest.raises(StylizeError, match="^" + re.escape(told)):
            Session(size=32, iterations=2, weights=source).transfer("c.png", "c.png")
