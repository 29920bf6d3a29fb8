"""The controls (Gatys et al. 2017): several styles, colour, regions, smoothness, style scale; each checked
for what it promises, and its bad input for the exact one-line error."""

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from stylize import Session, batch, color, losses
from stylize.cli import CONTROL_OPTIONS, RUN_OPTIONS, SYNTHESIS_OPTIONS, cli
from stylize.errors import SettingsError
from stylize.images import read_metadata, to_tensor
from stylize.settings import FIELDS, Settings

from .conftest import cli_result_text, halves

FAST = ["--size", "40", "--iterations", "3", "--quiet"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


# -- the options are Settings' fields -----------------------------------------------------------
def test_every_setting_is_an_option_of_transfer_and_every_option_a_setting():
    names = {o.name for o in cli.commands["transfer"].params}
    assert set(FIELDS) <= names, set(FIELDS) - names
    bound = {d(lambda **k: None).__click_params__[0].name for d in SYNTHESIS_OPTIONS + CONTROL_OPTIONS}
    assert bound == set(FIELDS)
    assert not bound & {d(lambda **k: None).__click_params__[0].name for d in RUN_OPTIONS}


# -- several styles ------------------------------------------------------------------------------
def test_a_blend_weight_of_zero_is_refused(photo, red, blue, tmp_path):
    """Hostile round 56: `--style-blend 0,1` ran, gave the second style's picture, recorded the first image, and a
    resume refused the output when that unused image changed: a weight of 0 is refused (as one weight alone is),
    naming the option (round 57)."""
    r = run(photo, red, blue, "-o", tmp_path / "b.png", "--style-blend", "1,0", "--size", "40", "--iterations", "5")
    assert r.exit_code == 2 and "'0' must be a finite number > 0" in r.stderr
    assert not (tmp_path / "b.png").exists()
    row = batch.read_manifest(f"content,style,blend\n{photo},{red};{blue},0;1\n")[0]
    assert row.error == "manifest line 2: blend weight 1 of 2 is 0: its style image would have no effect; leave " \
                        "that image out"


@pytest.mark.vgg
def test_a_blend_targets_the_weighted_mix_of_gram_matrices(photo, red, blue):
    session = Session(size=40, style_blend=(3, 7))
    job = session.transfer_job(photo, [red, blue])
    assert job.blend == pytest.approx((0.3, 0.7))
    net = session.network(job.layers)
    policy = color.policy(job.color)
    mixed = session.targets.blended_style(net, job, 40, policy)
    a, b = (session.targets.style(net, im, 40, job.style_layers, policy) for im in (red, blue))
    for name in job.style_layers:
        assert torch.allclose(mixed[name], 0.3 * a[name] + 0.7 * b[name])


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
    assert r.stderr.strip().endswith("needs at least 16 px on each side (raise --style-scale)")


# -- bad input: one line, exit 2 (usage) or 1 (file) ------------------------------------------------
@pytest.mark.parametrize("extra, message", [
    (["--style-blend", "1,2"], "2 style blend weights for 1 style image(s)"),
    (["--style-blend", "0,0"], "'0' must be a finite number > 0"),
    (["--tv-weight", "-1"], "'-1' must be a finite number >= 0"),
    (["--color-map", "chol"], "--color-map chooses histogram matching's map; it needs --color histogram, not --color style"),
    (["--color", "sepia"], "'sepia' is not one of"),
    (["--style-scale", "0.5", "--style-size", "30"], "give --style-size or --style-scale, not both"),
    (["--style-mask", "white"], "--style-mask needs --content-mask"),
    (["--content-mask", "white"], "0 --style-mask for 1 style image(s): give one per style image, in order"),
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
         f"a mask must have its image's size (or its shape, scaled)"),
        (["--content-mask", tmp_path / "mask.png", "--style-mask", "white"],
         f"Error: #000000 of the content mask {tmp_path / 'mask.png'} has no counterpart in any style mask "
         f"(with a blend weight > 0)"),
    ]
    for extra, line in cases:
        r = run(photo, art, "-o", tmp_path / "o.png", *FAST, *extra)
        assert r.exit_code == 1 and r.stderr.strip() == line, cli_result_text(r)
    for extra, line in ((["--content-mask", tmp_path / "nope.png", "--style-mask", "white"],
                         f"Error: Invalid value for '--content-mask': {tmp_path / 'nope.png'}: no such file"),
                        (["--content-mask", tmp_path / "mask.png", "--style-mask", "notacolour"],
                         "Error: Invalid value for '--style-mask': notacolour: no such file, and not a colour name or "
                         "#rrggbb")):  # a missing input file is a usage error (README, Exit status)
        r = run(photo, art, "-o", tmp_path / "o.png", *FAST, *extra)
        assert r.exit_code == 2 and r.stderr.strip().endswith(line), cli_result_text(r)
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
    assert r.exit_code == 1 and "would overwrite an input;" in r.stderr
    assert (tmp_path / "mask.png").read_bytes() == before


@pytest.mark.vgg
def test_a_batch_pair_with_several_styles_and_blend_weights(photo, red, blue, tmp_path):
    import json

    manifest = tmp_path / "m.csv"
    manifest.write_text(f'content,style,blend\n{photo},{red};{blue},"1,3"\n{photo},{red},\n')
    r = run("batch", manifest, "--out-dir", tmp_path / "o", "--report", tmp_path / "r.json", "--size", "40",
            "--iterations", "5", "--quiet")
    assert r.exit_code == 0, cli_result_text(r)
    blended, single = tmp_path / "o" / "photo__red+blue.png", tmp_path / "o" / "photo__red.png"
    assert read_metadata(blended)["blend"] == [0.25, 0.75]
    assert read_metadata(blended)["styles"] == [str(red), str(blue)]
    assert Image.open(blended).tobytes() != Image.open(single).tobytes()
    pairs = json.loads((tmp_path / "r.json").read_text())["pairs"]
    assert pairs[0]["style"] == f"{red};{blue}" and pairs[0]["blend"] == [1.0, 3.0]  # (as the manifest gives them)
    manifest.write_text(f'content,style,blend\n{photo},{red};{blue},"1,2,3"\n')
    r = run("batch", manifest, "--out-dir", tmp_path / "p", "--quiet", "--report", tmp_path / "r2.json")
    assert r.exit_code == 3 and "3 blend weights for 2 style image(s)" in r.stderr  # that pair fails, alone
    assert json.loads((tmp_path / "r2.json").read_text())["pairs"][0]["status"] == "failed"
