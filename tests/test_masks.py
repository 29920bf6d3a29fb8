"""Spatial control (Gatys et al. 2017): masks, regions, their guides at every layer, and their mixing."""

import os
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from stylize import masks
from stylize.cli import cli
from stylize.errors import ImageError, SettingsError, UsageError
from stylize.images import to_tensor

from .conftest import cli_result_text, halves, pattern

FAST = ["--size", "40", "--iterations", "3", "--quiet"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_colour_mask_regions_and_their_layer_guides(tmp_path):
    m = halves(64, 48)
    m.putpixel((5, 5), (250, 250, 250))  # a stray near-white pixel joins the white region
    m.save(tmp_path / "m.png")
    regions = masks.read(str(tmp_path / "m.png"), (64, 48), "the photo")
    assert set(regions) == {(255, 255, 255), (0, 0, 0)}
    assert float(regions[(255, 255, 255)].sum()) == 32 * 48
    simple = masks.layer_guides(regions[(255, 255, 255)], ("conv1_1", "conv3_1", "conv5_1"), "simple")
    assert simple["conv3_1"].shape[-2:] == (12, 16) and simple["conv5_1"].shape[-2:] == (3, 4)
    inside = masks.layer_guides(regions[(255, 255, 255)], ("conv1_1", "conv3_1"), "inside")
    assert float(inside["conv3_1"].sum()) < float(simple["conv3_1"].sum())  # eroded at the boundary
    assert masks.read("white", (10, 8), "the art") == {(255, 255, 255): pytest.approx(torch.ones(8, 10))}


def test_grayscale_region_files_and_mask_errors(tmp_path):
    Image.new("L", (20, 10), 255).save(tmp_path / "a.png")
    Image.new("L", (20, 10), 0).save(tmp_path / "b.png")
    regions = masks.read(f"{tmp_path / 'a.png'}+{tmp_path / 'b.png'}", (20, 10), "the photo")
    assert list(regions) == ["1", "2"] and float(regions["1"].mean()) == 1.0
    with pytest.raises(ImageError, match=r"the mask is 20x10 px but the photo is 40x30 px; a mask must have its image's size"):
        masks.read(str(tmp_path / "a.png"), (40, 30), "the photo")


def test_a_mask_of_the_image_scaled_is_resized_with_it_and_keeps_its_colours(tmp_path):
    """A video's frames are resized to --size: the mask drawn on the clip's frames goes with them."""
    mask = Image.new("RGB", (64, 48), (255, 0, 0))
    mask.paste((0, 0, 255), (0, 0, 21, 48))  # a left third of pure blue
    mask.save(tmp_path / "m.png")
    regions = masks.read(str(tmp_path / "m.png"), (40, 30), "the frame")
    assert set(regions) == {(255, 0, 0), (0, 0, 255)}  # nearest-neighbour: no blended colours appear
    assert regions[(0, 0, 255)].shape == (30, 40) and float(regions[(0, 0, 255)][:, :13].min()) == 1.0
    with pytest.raises(SettingsError, match="#ff0000 of the content mask c.png has no counterpart in any style mask"):
        masks.plan({(255, 0, 0): None}, [{(0, 0, 0): None}], (1.0,), "c.png", ["s.png"])
    with pytest.raises(SettingsError, match="#000000 of the style mask s.png has no counterpart in the content mask"):
        masks.plan({(255, 0, 0): None}, [{(255, 0, 0): None}, {(0, 0, 0): None}], (0.5, 0.5), "c.png",
                   ["red", "s.png"])


@pytest.mark.vgg
def test_two_regions_with_two_styles_each_carry_their_own_styles_colours(red, blue, tmp_path):
    photo = tmp_path / "p.png"
    pattern(64, 48, 9).save(photo)
    halves(64, 48).save(tmp_path / "mask.png")
    out = tmp_path / "o.png"
    r = run(photo, red, blue, "-o", out, "--content-mask", tmp_path / "mask.png", "--style-mask", "white",
            "--style-mask", "black", "--ratio", "1e-6", "--size", "64", "--iterations", "60", "--quiet")
    assert r.exit_code == 0, cli_result_text(r)
    x = to_tensor(Image.open(out))[0]
    left, right = x[:, :, 4:28].mean(dim=(1, 2)), x[:, :, 36:60].mean(dim=(1, 2))
    assert float(left[0] - left[2]) > 0.2, left  # red style on the left (white region)
    assert float(right[2] - right[0]) > 0.2, right  # blue style on the right (black region)


def test_mixing_blends_each_regions_artworks_and_drops_regions_too_small_for_a_layer():
    # two content regions: top (white) from artwork 0 alone, bottom (black) from artworks 0 and 1 at 1:3
    top = torch.zeros(32, 32)
    top[:16] = 1
    regions = masks.Regions({(255, 255, 255): top, (0, 0, 0): 1 - top},
                            ({(255, 255, 255): None, (0, 0, 0): None}, {(0, 0, 0): None}),
                            {(255, 255, 255): [(0, 1.0)], (0, 0, 0): [(0, 0.25), (1, 0.75)]})
    A = [{key: {"conv1_1": torch.full((2, 2), v + k)} for k, key in enumerate([(255, 255, 255), (0, 0, 0)])}
         for v in (1.0, 10.0)]
    A[1].pop((255, 255, 255))
    mixed = masks.mix(regions, A, 32, 32, ("conv1_1",))
    (T_top, A_top), (T_bottom, A_bottom) = mixed["conv1_1"]
    assert torch.equal(A_top, torch.full((2, 2), 1.0))
    assert torch.allclose(A_bottom, torch.full((2, 2), 0.25 * 2.0 + 0.75 * 11.0))
    assert T_top.shape == (1, 1, 32, 32) and float(T_top.sum()) == 16 * 32
    # at a 1x1 output nothing of the region survives: one clear error
    bottom = masks.Regions({(0, 0, 0): 1 - top}, ({(0, 0, 0): None},), {(0, 0, 0): [(0, 1.0)]})
    with pytest.raises(ImageError, match="no region of the content mask is large enough"):
        masks.mix(bottom, [{(0, 0, 0): {"conv1_1": torch.ones(2, 2)}}], 1, 1, ("conv1_1",))


def test_one_style_mask_per_style_image():
    masks.check_count(("a.png", "b.png"), 2)
    with pytest.raises(SettingsError, match=r"^1 --style-mask for 2 style image\(s\): give one per style image, "
                                            r"in order$"):
        masks.check_count(("a.png",), 2)


def test_round_69_a_blend_no_region_reads_is_refused(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 69: with masks whose regions each take one style image, --style-blend (weights renormalised
    within a region: each is 1) and a manifest's blend changed nothing and were taken without a word. A usage
    error (a pair's own blend: that pair fails alone, before any work); where style masks share a region it counts."""
    from stylize import Session

    from .conftest import synthetic

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    pattern(36, 36, 3).save("t.png")
    halves(40, 32).save("mask.png")
    masked = ["--content-mask", "mask.png", "--style-mask", "white", "--style-mask", "black"]
    tiny = synthetic(synthetic_weights)
    r = CliRunner().invoke(cli, ["c.png", "s.png", "t.png", "-o", "o.png", *masked, "--style-blend", "1,2", *tiny])
    assert r.exit_code == 2 and "--style-blend (blend): has no effect here: each region of the content mask takes " \
        "its style from one style image" in r.stderr, cli_result_text(r)
    Path("m.csv").write_text("content,style,blend,output\nc.png,s.png;t.png,1;2,x.png\nc.png,s.png;t.png,,y.png\n")
    r = CliRunner().invoke(cli, ["batch", "m.csv", "--out-dir", "b", *masked, *tiny])
    assert r.exit_code == 3 and "pair 1's blend: has no effect here" in r.stderr, cli_result_text(r)
    assert sorted(os.listdir("b")) == ["y.png"]  # (pair 2, no blend of its own: made)
    Path("m.csv").write_text("content,style\nc.png,s.png;t.png\n")
    r = CliRunner().invoke(cli, ["batch", "m.csv", "--out-dir", "b2", *masked, "--style-blend", "1,2", *tiny])
    assert r.exit_code == 2 and "--style-blend (blend): has no effect here" in r.stderr, cli_result_text(r)
    session = Session(size=32, iterations=2, weights=str(synthetic_weights), normalize=False,
                      content_mask="mask.png", style_masks=("white", "black"))
    with pytest.raises(UsageError, match="has no effect here"):
        session.transfer("c.png", ["s.png", "t.png"], blend=[1, 2])
    shared = Session(size=32, iterations=2, weights=str(synthetic_weights), normalize=False,
                     content_mask="mask.png", style_masks=("white", "white", "black"))  # (white: two styles)
    assert shared.transfer("c.png", ["s.png", "t.png", "s.png"], blend=[1, 2, 1]).image.size == (32, 26)
    assert not Path("o.png").exists() and not Path("b2").exists()


def test_round_78_a_mask_name_that_exists_is_that_name(tmp_path, monkeypatch):
    """Hostile round 78: a --content-mask or --style-mask link to nothing named 'dang+x.png' was split at '+' ("dang:
    no such file", a name never given), and one named `red` was taken as the colour red. A name that exists is
    that name: a link to nothing is refused as one (exit 2), from the API too."""
    from .conftest import cli_result_text, pattern

    monkeypatch.chdir(tmp_path)
    pattern(40, 30, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    Image.new("L", (40, 30), 255).save("m.png")
    for name in ("dang+x.png", "red"):
        os.symlink("nowhere", name)
    for option, name, other in (("--content-mask", "dang+x.png", ["--style-mask", "white"]),
                                ("--style-mask", "dang+x.png", ["--content-mask", "m.png"]),
                                ("--style-mask", "red", ["--content-mask", "m.png"])):
        r = CliRunner().invoke(cli, ["c.png", "s.png", "-o", "o.png", "--size", "32", "--iterations", "2", option,
                                     name, *other])
        assert r.exit_code == 2 and f"'{option}': {name}: a link to nothing" in r.stderr, cli_result_text(r)
    assert masks.mask_files("dang+x.png") == ["dang+x.png"] and not masks.is_colour("red")
    with pytest.raises(ImageError, match=r"^dang\+x\.png: a link to nothing$"):
        masks.read("dang+x.png", (40, 30), "the photograph")
    assert not os.path.exists("o.png")
