"""The controls (Gatys et al. 2017): several styles, colour, regions, smoothness, style scale; each checked
for what it promises, and its bad input for the exact one-line error."""

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from stylize import Session, color, losses, masks
from stylize.cli import CONTROL_OPTIONS, RUN_OPTIONS, SYNTHESIS_OPTIONS, cli
from stylize.errors import ImageError, SettingsError
from stylize.images import fit, load_image, read_metadata, to_tensor
from stylize.settings import FIELDS, Settings

from .conftest import cli_result_text, pattern

FAST = ["--size", "40", "--iterations", "3", "--quiet"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def tinted(width, height, seed, rgb):
    """A pattern pushed towards a colour: distinct colour statistics for each style."""
    x = to_tensor(pattern(width, height, seed)) * 0.4 + torch.tensor(rgb).view(1, 3, 1, 1) * 0.6
    return Image.frombytes("RGB", (width, height), bytes((x[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0)
                                                         .contiguous().untyped_storage()))


@pytest.fixture
def red(tmp_path):
    p = tmp_path / "red.png"
    tinted(48, 48, 3, (0.9, 0.15, 0.1)).save(p)
    return p


@pytest.fixture
def blue(tmp_path):
    p = tmp_path / "blue.png"
    tinted(48, 48, 4, (0.1, 0.2, 0.9)).save(p)
    return p


# -- the options are Settings' fields -----------------------------------------------------------
def test_every_setting_is_an_option_of_transfer_and_every_option_a_setting():
    names = {o.name for o in cli.commands["transfer"].params}
    assert set(FIELDS) <= names, set(FIELDS) - names
    bound = {d(lambda **k: None).__click_params__[0].name for d in SYNTHESIS_OPTIONS + CONTROL_OPTIONS}
    assert bound == set(FIELDS)
    assert not bound & {d(lambda **k: None).__click_params__[0].name for d in RUN_OPTIONS}


# -- colour ------------------------------------------------------------------------------------
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
        Image.frombytes("RGB", (x.shape[-1], x.shape[-2]), bytes((x[0] * 255).round().byte().permute(1, 2, 0)
                                                                  .contiguous().untyped_storage())).save(tmp_path / name)
        files.append(tmp_path / name)
    photo, style = files
    session = Session(size=48, color="histogram", color_map="chol")
    seen = session.style_image(style, 48, ("conv1_1",), photo)
    mu, cov = color._stats(seen)
    mu_c, cov_c = color._stats(to_tensor(load_image(photo)))
    assert torch.allclose(mu, mu_c, atol=0.005) and torch.allclose(cov, cov_c, atol=0.0005)


# -- several styles ------------------------------------------------------------------------------
@pytest.mark.vgg
def test_blend_weights_one_and_zero_give_the_first_styles_result(photo, red, blue, tmp_path):
    one = Session(size=40, iterations=5).transfer(photo, red).image.tobytes()
    r = run(photo, red, blue, "-o", tmp_path / "b.png", "--style-blend", "1,0", "--size", "40", "--iterations", "5",
            "--quiet")
    assert r.exit_code == 0, cli_result_text(r)
    assert Image.open(tmp_path / "b.png").tobytes() == one
    meta = read_metadata(tmp_path / "b.png")
    assert meta["styles"] == [str(red), str(blue)] and meta["blend"] == [1.0, 0.0]


@pytest.mark.vgg
def test_a_blend_targets_the_weighted_mix_of_gram_matrices(photo, red, blue):
    session = Session(size=40, style_blend=(3, 7))
    job = session.transfer_job(photo, [red, blue])
    assert job.blend == pytest.approx((0.3, 0.7))
    net = session.network(job.layers)
    mixed = session.blended_style_targets(job.styles, job.blend, 40, job.style_layers, net)
    a, b = (session.style_targets(im, 40, job.style_layers, net) for im in (red, blue))
    for name in job.style_layers:
        assert torch.allclose(mixed[name], 0.3 * a[name] + 0.7 * b[name])


# -- regions -------------------------------------------------------------------------------------
def halves(width, height, left=(255, 255, 255), right=(0, 0, 0)) -> Image.Image:
    im = Image.new("RGB", (width, height), right)
    im.paste(Image.new("RGB", (width // 2, height), left), (0, 0))
    return im


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
    with pytest.raises(ImageError, match=r"the mask is 20x10 px but the photo is 40x20 px; a mask must have its image's size"):
        masks.read(str(tmp_path / "a.png"), (40, 20), "the photo")
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


def test_total_variation_formula():
    flat = torch.full((1, 3, 8, 8), 0.3)
    assert float(losses.total_variation(flat)) == 0
    stripes = torch.zeros(1, 1, 4, 4)
    stripes[..., :, 1::2] = 1  # 3 unit jumps per row, 4 rows, no vertical ones
    assert float(losses.total_variation(stripes)) == pytest.approx(12 / 16)


@pytest.mark.vgg
def test_tv_weight_smooths_the_result(photo, art):
    rough = Session(size=48, iterations=20).transfer(photo, art)
    smooth = Session(size=48, iterations=20, tv_weight=1000.0).transfer(photo, art)
    tv = lambda o: float(losses.total_variation(to_tensor(o.image)))
    assert tv(smooth) < 0.7 * tv(rough), (tv(smooth), tv(rough))


def test_style_scale_sizes_the_style_image_relative_to_the_output():
    assert Settings(size=256, style_scale=0.5).style_long_side(256) == 128
    assert Settings(size=256, style_size=300).style_long_side(256) == 300
    assert Settings(size=256).style_long_side(256) == 256


@pytest.mark.vgg
def test_style_scale_through_the_cli(photo, art, tmp_path):
    r = run(photo, art, "-o", tmp_path / "s.png", "--style-scale", "2", *FAST)
    assert r.exit_code == 0, cli_result_text(r)
    assert read_metadata(tmp_path / "s.png")["settings"]["style_scale"] == 2.0
    r = run(photo, art, "-o", tmp_path / "t.png", "--style-scale", "0.05", *FAST)
    assert r.exit_code == 1
    assert r.stderr.strip().endswith("needs at least 16 px on each side (raise --style-size or --style-scale)")


# -- bad input: one line, exit 2 (usage) or 1 (file) ------------------------------------------------
@pytest.mark.parametrize("extra, message", [
    (["--style-blend", "1,2"], "2 style blend weights for 1 style image(s)"),
    (["--style-blend", "0"], "the style blend weights are all 0"),
    (["--tv-weight", "-1"], "'-1' must be a finite number >= 0"),
    (["--color-map", "chol"], "--color-map chooses histogram matching's map; it needs --color histogram, not --color style"),
    (["--color", "sepia"], "'sepia' is not one of"),
    (["--style-scale", "0.5", "--style-size", "30"], "give --style-size or --style-scale, not both"),
    (["--style-mask", "white"], "--style-mask needs --content-mask"),
    (["--content-mask", "m.png"], "0 --style-mask for 1 style image(s): give one per style image, in order"),
])
def test_control_usage_errors_exit_2(photo, art, tmp_path, extra, message):
    r = run(photo, art, "-o", tmp_path / "o.png", *FAST, *extra)
    assert r.exit_code == 2 and message in r.stderr, cli_result_text(r)
    assert not (tmp_path / "o.png").exists()


@pytest.mark.vgg
def test_mask_file_errors_exit_1_with_one_line(photo, art, tmp_path):
    halves(10, 10).save(tmp_path / "small.png")
    halves(64, 48).save(tmp_path / "mask.png")
    cases = [
        (["--content-mask", tmp_path / "small.png", "--style-mask", "white"],
         f"Error: {tmp_path / 'small.png'}: the mask is 10x10 px but the content image {photo} is 64x48 px; "
         f"a mask must have its image's size"),
        (["--content-mask", tmp_path / "mask.png", "--style-mask", "white"],
         f"Error: #000000 of the content mask {tmp_path / 'mask.png'} has no counterpart in any style mask "
         f"(with a blend weight > 0)"),
        (["--content-mask", tmp_path / "nope.png", "--style-mask", "white"],
         f"Error: {tmp_path / 'nope.png'}: no such file, and not a colour name or #rrggbb"),
        (["--content-mask", tmp_path / "mask.png", "--style-mask", "notacolour"],
         "Error: notacolour: no such file, and not a colour name or #rrggbb"),
    ]
    for extra, line in cases:
        r = run(photo, art, "-o", tmp_path / "o.png", *FAST, *extra)
        assert r.exit_code == 1 and r.stderr.strip() == line, cli_result_text(r)
    assert not (tmp_path / "o.png").exists()


def test_controls_are_refused_where_they_mean_nothing(photo):
    with pytest.raises(SettingsError, match="--color is for style transfer; content-recon has no photograph"):
        Session(color="luminance").content_job(photo)
    r = run("style-recon", photo, "-o", "x.png", "--color", "luminance")
    assert r.exit_code == 2 and "No such option '--color'" in r.stderr


@pytest.mark.vgg
def test_a_mask_is_an_input_never_overwritten(photo, art, tmp_path):
    halves(64, 48).save(tmp_path / "mask.png")
    before = (tmp_path / "mask.png").read_bytes()
    r = run(photo, art, "-o", tmp_path / "mask.png", "--content-mask", tmp_path / "mask.png", "--style-mask", "white",
            "--overwrite", *FAST)
    assert r.exit_code == 1 and "would overwrite an input image" in r.stderr
    assert (tmp_path / "mask.png").read_bytes() == before


@pytest.mark.vgg
def test_a_batch_pair_with_several_styles_and_blend_weights(photo, red, blue, tmp_path):
    import json

    manifest = tmp_path / "m.csv"
    manifest.write_text(f'content,style,blend\n{photo},{red};{blue},"1,0"\n{photo},{red},\n')
    r = run("batch", manifest, "--out-dir", tmp_path / "o", "--report", tmp_path / "r.json", "--size", "40",
            "--iterations", "5", "--quiet")
    assert r.exit_code == 0, cli_result_text(r)
    blended, single = tmp_path / "o" / "photo__red+blue.png", tmp_path / "o" / "photo__red.png"
    assert read_metadata(blended)["blend"] == [1.0, 0.0] and read_metadata(blended)["styles"] == [str(red), str(blue)]
    assert Image.open(blended).tobytes() == Image.open(single).tobytes()  # weights 1,0: the first style alone
    pairs = json.loads((tmp_path / "r.json").read_text())["pairs"]
    assert pairs[0]["style"] == f"{red};{blue}" and pairs[0]["blend"] == [1.0, 0.0]
    manifest.write_text(f'content,style,blend\n{photo},{red};{blue},"1,2,3"\n')
    r = run("batch", manifest, "--out-dir", tmp_path / "p", "--quiet", "--report", tmp_path / "r2.json")
    assert r.exit_code == 3 and "3 blend weights for 2 style image(s)" in r.stderr  # that pair fails, alone
    assert json.loads((tmp_path / "r2.json").read_text())["pairs"][0]["status"] == "failed"
