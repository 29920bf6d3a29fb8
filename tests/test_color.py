"""Colour control (Gatys et al. 2017): the maps, the policies' hooks, and results that keep the photograph's colours."""

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from stylize import Session, color
from stylize.cli import cli
from stylize.images import fit, load_image, read_metadata, to_pil, to_tensor

from .conftest import cli_result_text, pattern

FAST = ["--size", "40", "--iterations", "3", "--quiet"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def soft(seed, tint=(0.5, 0.5, 0.5), width=48, height=40):
    """A low-contrast picture inside the colour cube, so no transform here has anything to clip."""
    return to_tensor(pattern(width, height, seed)) * 0.3 + torch.tensor(tint).view(1, 3, 1, 1) * 0.4 + 0.15


@pytest.mark.parametrize("method", ["ia", "chol", "mk"])
def test_histogram_matching_gives_the_photographs_mean_and_covariance(method):
    style, photo = soft(5, (0.8, 0.3, 0.2)), soft(6, width=40, height=32)
    matched = color.match_histogram(style, photo, method)
    (mu_m, cov_m), (mu_c, cov_c) = color._stats(matched), color._stats(photo)
    assert torch.allclose(mu_m, mu_c, atol=0.01), (mu_m, mu_c)
    assert torch.allclose(cov_m, cov_c, atol=0.003), (cov_m, cov_c)
    A = color.color_map(color._stats(style)[1], cov_c, method)
    assert torch.allclose(A @ (color._stats(style)[1] + color.EPS * torch.eye(3)) @ A.t(),
                          cov_c + color.EPS * torch.eye(3), atol=1e-9)


def test_the_three_maps_differ_and_mk_moves_pixels_least():
    style, photo = soft(5, (0.8, 0.3, 0.2)), soft(6, width=40, height=32)
    mu_s, cov_s = color._stats(style)
    cov_c = color._stats(photo)[1]
    maps = {m: color.color_map(cov_s, cov_c, m) for m in ("ia", "chol", "mk")}
    assert not torch.allclose(maps["ia"], maps["chol"]) and not torch.allclose(maps["ia"], maps["mk"])
    d = style.double().reshape(3, -1) - mu_s[:, None]
    moved = {m: float(((A @ d - d) ** 2).sum(dim=0).mean()) for m, A in maps.items()}  # what Monge-Kantorovich minimises
    assert moved["mk"] < min(moved["ia"], moved["chol"]), moved


def test_luminance_matching_and_chroma_swap():
    style, photo = soft(5, (0.8, 0.3, 0.2), 40, 32), soft(6, width=40, height=32)
    y = color.match_luminance(style, photo)
    assert torch.equal(y[:, 0], y[:, 1]) and torch.equal(y[:, 1], y[:, 2])
    yc = color.rgb_to_yiq(photo)[:, 0]
    assert float(y[:, 0].mean()) == pytest.approx(float(yc.mean()), abs=0.01)
    assert float(y[:, 0].std()) == pytest.approx(float(yc.std()), abs=0.01)
    result = soft(7, width=40, height=32)
    swapped = color.rgb_to_yiq(color.with_chroma(result, photo))
    assert float((swapped[:, 1:] - color.rgb_to_yiq(photo)[:, 1:]).abs().max()) < 1e-5
    assert float((swapped[:, 0] - color.rgb_to_yiq(result)[:, 0]).abs().max()) < 1e-5


@pytest.mark.vgg
@pytest.mark.parametrize("mode", ["luminance", "swap"])
def test_luminance_only_and_swap_results_have_the_photographs_chroma(photo, red, tmp_path, mode):
    out = tmp_path / f"{mode}.png"
    r = run(photo, red, "-o", out, "--color", mode, *FAST)
    assert r.exit_code == 0, cli_result_text(r)
    result, reference = to_tensor(Image.open(out)), to_tensor(fit(load_image(photo), 40))
    iq = lambda x: color.rgb_to_yiq(x)[:, 1:]
    assert float((iq(result) - iq(reference)).abs().mean()) < 0.015
    # while the artwork's colours (the default) carry its red chroma
    plain = Session(size=40, iterations=3).transfer(photo, red).image
    assert float((iq(to_tensor(plain)) - iq(reference)).abs().mean()) > 3 * float((iq(result) - iq(reference)).abs().mean())
    assert read_metadata(out)["settings"]["color"] == mode


@pytest.mark.vgg
def test_histogram_mode_recolours_the_style_the_network_sees(tmp_path):
    files = []
    for name, x in (("photo.png", soft(6, width=40, height=32)), ("style.png", soft(5, (0.8, 0.3, 0.2)))):
        to_pil(x).save(tmp_path / name)
        files.append(tmp_path / name)
    photo, style = files
    session = Session(size=48, color="histogram", color_map="chol")
    seen = session.targets.style_image(style, 48, color.policy("histogram", "chol"), photo)
    mu, cov = color._stats(seen)
    mu_c, cov_c = color._stats(to_tensor(load_image(photo)))
    assert torch.allclose(mu, mu_c, atol=0.005) and torch.allclose(cov, cov_c, atol=0.0005)


def test_each_mode_is_one_policy_whose_hooks_do_what_the_mode_says():
    photo, art = soft(6, (0.2, 0.6, 0.3)), soft(5, (0.8, 0.3, 0.2))
    out = soft(7, (0.3, 0.3, 0.8))
    grey = lambda x: bool(torch.allclose(x[:, 0], x[:, 1]) and torch.allclose(x[:, 1], x[:, 2]))
    paper = color.policy("style")
    for hook in (paper.prepare_content, paper.prepare_start):
        assert torch.equal(hook(photo), photo)
    assert torch.equal(paper.prepare_style(art, photo), art) and torch.equal(paper.finish(out, photo), out)
    lum = color.policy("luminance")
    assert grey(lum.prepare_content(photo)) and grey(lum.prepare_start(photo)) and grey(lum.prepare_style(art, photo))
    iq = lambda x: color.rgb_to_yiq(x)[:, 1:]
    assert torch.allclose(iq(lum.finish(out, photo)), iq(photo), atol=0.02)
    swap = color.policy("swap")
    assert torch.equal(swap.prepare_content(photo), photo) and torch.equal(swap.prepare_style(art, photo), art)
    assert torch.allclose(iq(swap.finish(out, photo)), iq(photo), atol=0.02)
    hist = color.policy("histogram", "mk")
    assert torch.allclose(hist.prepare_style(art, photo), color.match_histogram(art, photo, "mk"))
    assert torch.equal(hist.finish(out, photo), out)
    # only the policies whose finish changes the result ask the run for the photograph at the end
    assert [color.policy(m).finishes for m in ("style", "luminance", "histogram", "swap")] == [False, True, False, True]


def test_targets_of_one_mode_are_never_reused_for_another():
    keys = {color.policy(m, c).key for m, c in [("style", None), ("luminance", None), ("histogram", "ia"),
                                                  ("histogram", "chol")]}
    assert len(keys) == 4
    assert color.policy("histogram").key == ("histogram", color.DEFAULT_COLOR_MAP)
    with pytest.raises(ValueError, match="unknown colour mode 'sepia'"):
        color.policy("sepia")
