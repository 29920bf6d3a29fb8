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
