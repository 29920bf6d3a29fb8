"""options.py: the command line's option types, the settings they build, and the default output name."""

import os
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from stylize.cli import cli
from stylize.options import default_output

from .conftest import cli_result_text, pattern, synthetic


def test_the_default_output_name_steps_past_every_name_in_use(tmp_path):
    assert default_output("photos/cat.jpg", "art/udnie.png", tmp_path) == tmp_path / "cat_udnie.png"
    (tmp_path / "cat_udnie.png").write_bytes(b"the user's")
    assert default_output("cat.jpg", "udnie.png", tmp_path) == tmp_path / "cat_udnie-2.png"
    (tmp_path / "cat_udnie-2.00010.png").write_bytes(b"an intermediate of an earlier --save-every run")
    assert default_output("cat.jpg", "udnie.png", tmp_path) == tmp_path / "cat_udnie-3.png"
    (tmp_path / "cat_udnie-3.L1.00010.png").write_bytes(b"a coarse level's intermediate")
    (tmp_path / "cat_udnie-4.png.stylize.json").write_text("{}")  # an interrupted run's mark
    (tmp_path / "cat_udnie-5.old.png").write_bytes(b"")  # not one of stylize's names: no clash
    assert default_output("cat.jpg", "udnie.png", tmp_path) == tmp_path / "cat_udnie-5.png"


def test_a_dangling_link_is_a_name_in_use(tmp_path):
    (tmp_path / "a_b.png").symlink_to(tmp_path / "nowhere")
    assert default_output("a.jpg", "b.jpg", tmp_path) == tmp_path / "a_b-2.png"


@pytest.mark.parametrize("option,value", [("--size", "9" * 400), ("--style-scale", "1e300"), ("--history", "1" * 50)])
def test_a_number_out_of_range_is_a_usage_error_naming_its_option(option, value, photo, art, tmp_path):
    from click.testing import CliRunner

    from stylize.cli import cli

    r = CliRunner().invoke(cli, ["transfer", str(photo), str(art), "-o", str(tmp_path / "o.png"), option, value])
    error = r.stderr.strip().splitlines()[-1]
    assert r.exit_code == 2 and error.startswith("Error: ") and option in error and "Traceback" not in r.stderr


def test_option_types_refuse_what_is_not_a_number():
    from stylize.options import PositiveFloat

    with pytest.raises(click.BadParameter):
        PositiveFloat().convert("nan", None, None)
    with pytest.raises(click.BadParameter):
        PositiveFloat().convert("-1", None, None)
    assert PositiveFloat().convert("2.5", None, None) == 2.5


@pytest.mark.parametrize("option,value", [
    ("--style-layer-weights", "1,,1"), ("--style-layer-weights", "1,"), ("--style-blend", ",1"),
    ("--style-layers", "conv1_1,,conv2_1")])
def test_an_empty_item_in_a_list_is_a_usage_error_not_dropped(option, value, photo, art, tmp_path):
    r = CliRunner().invoke(cli, ["transfer", str(photo), str(art), "-o", str(tmp_path / "o.png"), option, value])
    assert r.exit_code == 2 and f"'{value}' has an empty item" in r.stderr and not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("name", ["new.png/", "new.png/.", "x/.."])
def test_an_output_file_name_that_only_a_folder_can_have_is_a_usage_error(name, photo, art, tmp_path, monkeypatch):
    """Hostile round 12: `-o new.png/` wrote a file named new.png."""
    (tmp_path / "w").mkdir()
    monkeypatch.chdir(tmp_path / "w")
    r = CliRunner().invoke(cli, ["transfer", str(photo), str(art), "-o", name, "--size", "32"])
    assert r.exit_code == 2 and f"{name} names a folder: give a file name" in r.stderr
    assert os.listdir(tmp_path / "w") == []
    r = CliRunner().invoke(cli, ["batch", "--content", str(photo), "--style", str(art), "--out-dir", "o/",
                                 "--report", "r.json/", "--size", "32"])
    assert r.exit_code == 2 and "'--report': r.json/ names a folder" in r.stderr  # (--out-dir o/ is a folder)


def test_every_whole_number_option_shows_its_whole_range_in_help():
    """--help said [x>=1] of --scales, --history, --coarse-iterations and --ray-cpus, which have upper bounds."""
    from stylize.options import SettingsInt

    commands = [c for c in cli.commands.values() if not isinstance(c, click.Group)] + \
        [c for g in cli.commands.values() if isinstance(g, click.Group) for c in g.commands.values()]
    for command in commands:
        for p in command.params:
            if isinstance(p.type, click.IntRange):
                assert p.type.max is not None or isinstance(p.type, SettingsInt), (command.name, p.name)
                assert ">=" not in p.type._describe_range().replace("<=x", ""), (command.name, p.name)


def test_empty_items_in_distances_and_layer_sets_are_refused():
    from stylize.options import Distances, LayerSets

    with pytest.raises(click.BadParameter, match="empty item"):
        Distances().convert("1,,2", None, None)
    with pytest.raises(click.BadParameter, match="empty layer set"):
        LayerSets().convert("conv1_1;;conv2_1", None, None)
    assert Distances().convert(" 2, 1 ", None, None) == (1, 2)
    for twice in ("1,1", "10,1,010"):  # round 28: merged silently, where a layer given twice is refused
        with pytest.raises(click.BadParameter, match=r"the frame distance (1|10) is given twice"):
            Distances().convert(twice, None, None)


@pytest.mark.parametrize("args,message", [
    (["--content-weight", "0"], "--content-weight 0 alone makes --style-weight 0 too"),
    (["--style-weight", "0"], "--style-weight 0 alone makes --content-weight 0 too"),
    (["--tv-weight", "1e39"], "Invalid value for '--tv-weight': '1e39' must be at most 1e+12"),
    (["--ratio", "1e-320"], "Invalid value for '--ratio': '1e-320' must be at least 1e-12"),
    (["--weights", "nosuch.pth"], "Invalid value for '--weights': 'nosuch.pth' is not original, torchvision or a "
                                  "weights file")])
def test_weights_that_leave_nothing_to_optimize_or_overflow_are_usage_errors(args, message, photo, art, tmp_path):
    from click.testing import CliRunner

    from stylize.cli import cli

    r = CliRunner().invoke(cli, [str(photo), str(art), "-o", str(tmp_path / "o.png"), *args])
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "o.png").exists()


def test_the_memory_variable_is_checked_with_the_options(photo, art, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from stylize.cli import cli

    monkeypatch.setenv("STYLIZE_MEMORY_LIMIT", "abc")
    r = CliRunner().invoke(cli, [str(photo), str(art), "-o", str(tmp_path / "o.png")])
    assert r.exit_code == 2 and "Error: $STYLIZE_MEMORY_LIMIT='abc' is not a number of bytes (like 8G)" in r.stderr


def test_an_empty_output_name_is_a_usage_error(photo, art, tmp_path, monkeypatch):
    """Hostile round 2: `-o ""` silently wrote the default name. (Round 55: `-o "  "` is a name, as written: one
    without an extension, refused for that.)"""
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, [str(photo), str(art), "-o", "  ", "--size", "32", "--iterations", "2"])
    assert r.exit_code == 1 and "  : the name has no extension" in cli_result_text(r)
    r = CliRunner().invoke(cli, [str(photo), str(art), "-o", "", "--size", "32", "--iterations", "2"])
    assert r.exit_code == 2 and "is empty: give a file name" in cli_result_text(r)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["art.png", "photo.png"]  # nothing written
    for command in (["batch", "--content", str(photo), "--style", str(art), "--out-dir", ""],
                    ["batch", "--content", str(photo), "--style", str(art), "--out-dir", "o", "--report", ""]):
        r = CliRunner().invoke(cli, command)
        assert r.exit_code == 2 and "is empty: give a file name" in cli_result_text(r)


def test_a_default_name_from_long_file_names_fits_every_name_derived_from_it(tmp_path):
    """Hostile round 3: a 251-byte photo name made a default output name too long (a traceback)."""
    name = default_output("L" * 251 + ".png", "s.jpg", tmp_path).name
    assert name == "L" * 200 + ".png" and len(os.fsencode(default_output("é" * 150 + ".png", "s.jpg", tmp_path).name)) == 204


@pytest.mark.parametrize("args, message", [
    (["--content-mask", "", "--style-mask", "white"], "an empty mask name"),
    (["--content-mask", "PHOTO", "--style-mask", " "], "no such file, and not a colour name"),
])
def test_empty_names_are_usage_errors(photo, art, tmp_path, args, message):
    args = [str(photo) if a == "PHOTO" else a for a in args]
    r = CliRunner().invoke(cli, [str(photo), str(art), "-o", str(tmp_path / "o.png"), *args])
    assert r.exit_code == 2 and message in cli_result_text(r)
    r = CliRunner().invoke(cli, ["batch", "--content", "", "--style", str(art), "--out-dir", str(tmp_path / "o")])
    assert r.exit_code == 2 and "an empty --content or --style name" in cli_result_text(r)


def test_a_dash_output_and_a_shard_count_beyond_the_range_are_usage_errors(photo, art, tmp_path, monkeypatch):
    """Hostile round 3: `--report -` wrote a file named '-'; `--shard 1/99...9` had no bound."""
    monkeypatch.chdir(tmp_path)
    base = ["batch", "--content", str(photo), "--style", str(art), "--out-dir", "o"]
    for extra, message in ((["--report", "-"], "would be a file named '-'"),
                           (["--shard", "1/" + "9" * 30], "N must be at most 10000000 shards")):
        r = CliRunner().invoke(cli, base + extra)
        assert r.exit_code == 2 and message in cli_result_text(r)
    assert not (tmp_path / "-").exists()


def test_precision_is_in_help_and_an_unknown_one_is_a_usage_error(photo, art, tmp_path):
    r = CliRunner().invoke(cli, ["transfer", "--help"])
    assert r.exit_code == 0 and "--precision [fp32|bf16]" in r.output
    r = CliRunner().invoke(cli, [str(photo), str(art), "-o", str(tmp_path / "o.png"), "--precision", "fp16"])
    assert r.exit_code == 2 and r.stderr.strip().splitlines()[-1].startswith("Error: Invalid value for '--precision'")
    assert "Traceback" not in cli_result_text(r) and not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("option,value", [("--size", "1_000"), ("--iterations", "0x10"), ("--seed", "١٢"),
                                          ("--save-every", "1_0"), ("--out-size", "6_4"),
                                          ("--seed", "-0")])  # (round 23: -0 was read as 0, +5 refused)
def test_a_count_is_written_in_digits(option, value, photo, art, tmp_path):
    # Python's int() takes 1_000, and click's IntRange with it: a typo would run as a different count
    args = ["style-recon", str(art)] if option == "--out-size" else ["transfer", str(photo), str(art)]
    r = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "o.png"), option, value])
    error = r.stderr.strip().splitlines()[-1]
    assert r.exit_code == 2 and option in error and ("whole number" in error or "is not a size" in error), r.stderr
    assert not (tmp_path / "o.png").exists()


def test_a_start_keyword_that_is_also_a_file_here_is_refused(photo, art, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "noise").write_bytes(photo.read_bytes())  # the user's image, named like the keyword
    r = CliRunner().invoke(cli, ["transfer", str(photo), str(art), "-o", "o.png", "--init", "noise"])
    assert r.exit_code == 2 and "write ./noise for the file" in r.stderr and not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("args, option, needs", [
    (["--learning-rate", "1e3"], "--learning-rate", "--optimizer adam"),
    (["--coarse-iterations", "2"], "--coarse-iterations", "--scales 2 or more"),
    (["--guide", "inside"], "--guide", "--content-mask"),
    (["video", "--pass-blend", "0.3"], "--pass-blend", "--passes 2 or more"),
    (["video", "--independent", "--warp", "bilinear"], "--warp", "frames made one after another"),
    # round 23: six more options accepted and unused
    (["--optimizer", "adam", "--history", "5"], "--history", "--optimizer lbfgs"),
    (["--optimizer", "adam", "--evaluations", "7"], "--evaluations", "--optimizer lbfgs"),  # round 36
    (["--init", "content", "--noise", "0.5"], "--noise", "--init noise"),
    (["--init", "style", "--seed", "7"], "--seed", "--init noise"),
    (["--ratio", "1e-3", "--content-weight", "1", "--style-weight", "1"], "--ratio", "at most one of --content-weight"),
    (["video", "--independent", "--flow", "raft"], "--flow", "frames made one after another"),
    (["video", "--independent", "--passes", "2"], "--passes", "frames made one after another"),
    (["video", "--independent", "--frame-iterations", "2"], "--frame-iterations", "frames made one after another"),
    (["video", "--keep-frames"], "--keep-frames", "-o a video file"),
    (["video", "--codec", "libx264"], "--codec", "-o a video file"),
    (["video", "--fps", "5"], "--fps", "a folder of frames made into a video file"),
])
def test_an_option_the_others_leave_unread_is_a_usage_error(tmp_path, args, option, needs):
    """Round 19: --learning-rate without --optimizer adam (the same losses as without it), --coarse-iterations
    without --scales, --guide without masks, --pass-* with one pass, --warp with --independent: accepted, unused."""
    from .conftest import pattern

    pattern(40, 32).save(tmp_path / "c.png")
    command = ["video"] if args[0] == "video" else []
    r = CliRunner().invoke(cli, [*command, str(tmp_path / "c.png"), str(tmp_path / "c.png"), "-o",
                                 str(tmp_path / ("v" if command else "o.png")), *args[len(command):]])
    assert r.exit_code == 2 and f"Invalid value for '{option}': has no effect here: it needs {needs}" in r.stderr, \
        r.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "c.png"]


def test_a_missing_inputs_byte_that_is_not_utf8_is_shown_as_the_byte(tmp_path):
    """Round 25: Click showed `nope\\xff.png` as 'nope\\ufffd.png' while stylize's own messages show '\\xff'."""
    (tmp_path / "s.png").write_bytes(b"")
    missing = os.fsdecode(bytes(tmp_path) + b"/nope\xff.png")
    r = CliRunner().invoke(cli, [missing, str(tmp_path / "s.png"), "-o", str(tmp_path / "o.png")])
    assert r.exit_code == 2 and r.stderr.splitlines()[-1].endswith("nope\\xff.png' does not exist."), cli_result_text(r)
    assert "\ufffd" not in r.stderr and not (tmp_path / "o.png").exists()
    odd = os.fsdecode(bytes(tmp_path) + b"/q\xffr")  # round 27: --init, --weights and video's SOURCE too
    for args, told in [(["--init", odd + ".png"], "q\\xffr.png' is not noise"),
                       (["--weights", odd + ".pth"], "q\\xffr.pth' is not original"),
                       (["video", odd, str(tmp_path / "s.png"), "-o", str(tmp_path / "o.mp4")],
                        "q\\xffr' does not exist.")]:
        given = args if args[0] == "video" else [str(tmp_path / "s.png"), str(tmp_path / "s.png"), "-o",
                                                 str(tmp_path / "o.png"), *args]
        r = CliRunner().invoke(cli, given)
        assert r.exit_code == 2 and told in r.stderr and "udcff" not in r.stderr, cli_result_text(r)


def test_a_single_style_blend_weight_is_refused_as_it_changes_nothing(tmp_path):
    """Round 26: `--style-blend 5` (one weight, one style) was accepted and normalised to 1: an option left
    without effect, which the README makes a usage error."""
    (tmp_path / "c.png").write_bytes(b"")
    r = CliRunner().invoke(cli, [str(tmp_path / "c.png"), str(tmp_path / "c.png"), "-o", str(tmp_path / "o.png"),
                                 "--style-blend", "5"])
    assert r.exit_code == 2 and r.stderr.splitlines()[-1].endswith(
        "'--style-blend': give at least 2 numbers, one per STYLE image (one weight has no effect)"), cli_result_text(r)


def test_a_mistyped_command_is_told_not_run_as_a_missing_content_image(tmp_path):
    """Newcomer, session 9: `stylize bacth --help` printed transfer's help (exit 0), `stylize bacth a b` said
    "File 'bacth' does not exist". A name near a command's that is no file is a usage error naming the command."""
    for args in (["bacth", "--help"], ["vidoe", "a.mp4", "s.png"]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 2 and r.stderr.splitlines()[-1].endswith(
            f"no command '{args[0]}' (and no such file); did you mean {'batch' if args[0] == 'bacth' else 'video'}?")
    r = CliRunner().invoke(cli, [str(tmp_path / "photo.png"), str(tmp_path / "s.png")])  # far from any command
    assert r.exit_code == 2 and "photo.png' does not exist." in r.stderr


@pytest.mark.parametrize("command,option", [
    ("style-recon", ["--ratio", "1e3"]), ("style-recon", ["--content-weight", "5"]),
    ("style-recon", ["--content-layer", "conv1_1"]), ("style-recon", ["--loss-scaling", "literal"]),
    ("content-recon", ["--style-weight", "3"]), ("content-recon", ["--style-layers", "conv1_1"]),
    ("content-recon", ["--style-size", "64"]), ("figure1", ["--ratio", "1e-2"]),
    ("figure1", ["--style-layer-weights", "1,1,1,1,1"]), ("grid", ["--content-weight", "1", "--style-weight", "2"]),
    ("grid", ["--style-layers", "conv1_1"])])
def test_an_option_a_command_never_reads_is_a_usage_error(tmp_path, command, option):
    """Round 31: style-recon and content-recon ran with --ratio, --content-weight, --content-layer, --style-layers
    typed (pixel for pixel the same output); grid's columns all became one with both weights typed."""
    from .conftest import pattern

    pattern(40, 32).save(tmp_path / "a.png")
    images = [tmp_path / "a.png"] * (1 if command.endswith("recon") else 2)
    r = CliRunner().invoke(cli, [command, *map(str, images), "-o", str(tmp_path / "o.png"), *option])
    assert r.exit_code == 2 and f"Invalid value for '{option[0]}': has no effect here: {command}" in r.stderr, \
        cli_result_text(r)
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("args,message", [
    (["grid", "--ratios", "1e-5,0.00001"], "'--ratios': the ratio 1e-05 is given twice"),
    (["grid", "--layer-sets", "conv1_1;conv1_1"], "'--layer-sets': the layer set conv1_1 is given twice"),
    (["figure1", "--layer-sets", "conv1_1,conv2_1;conv2_1,conv1_1"], "the layer set conv2_1,conv1_1 is given twice")])
def test_a_figures_row_or_column_given_twice_is_refused(tmp_path, args, message):
    """Round 31: a repeated --ratios column or --layer-sets row ran twice (a layer or a frame distance given twice
    is refused)."""
    from .conftest import pattern

    pattern(40, 32).save(tmp_path / "a.png")
    r = CliRunner().invoke(cli, [args[0], str(tmp_path / "a.png"), str(tmp_path / "a.png"), "-o",
                                 str(tmp_path / "o.png"), *args[1:]])
    assert r.exit_code == 2 and message in r.stderr, cli_result_text(r)


def test_a_shard_count_over_the_limit_is_told_as_written():
    r = CliRunner().invoke(cli, ["batch", "--content", "a.png", "--style", "b.png", "--shard", "1/10000001"])
    assert r.exit_code == 2 and "N must be at most 10000000 shards, not 10000001" in r.stderr, cli_result_text(r)


@pytest.mark.parametrize("args,option", [
    (["--style-weight", "0", "--content-weight", "1", "--style-layers", "conv1_1"], "--style-layers"),
    (["--style-weight", "0", "--content-weight", "1", "--style-size", "64"], "--style-size"),
    (["--content-weight", "0", "--style-weight", "1", "--content-layer", "conv1_1"], "--content-layer"),
    # round 33: the masks, --guide and --color histogram (which recolours the artwork) are the style term's too
    (["--style-weight", "0", "--content-weight", "1", "--content-mask", "{t}/m.png", "--style-mask", "white"],
     "--content-mask"),
    (["--style-weight", "0", "--content-weight", "1", "--style-mask", "white"], "--style-mask"),
    (["--style-weight", "0", "--content-weight", "1", "--color", "histogram"], "--color")])
def test_the_options_of_a_term_turned_off_are_usage_errors(tmp_path, args, option):
    """Round 32: with one weight 0, the other term's layers and sizes were accepted and had no effect."""
    from PIL import Image

    from .conftest import pattern

    pattern(40, 32).save(tmp_path / "a.png")
    Image.new("L", (40, 32), 255).save(tmp_path / "m.png")
    args = [a.format(t=tmp_path) for a in args]
    r = CliRunner().invoke(cli, [str(tmp_path / "a.png"), str(tmp_path / "a.png"), "-o", str(tmp_path / "o.png"), *args])
    assert r.exit_code == 2 and f"'{option}': has no effect here: it needs a" in r.stderr, cli_result_text(r)


@pytest.mark.parametrize("args,message", [
    (["style-recon", "{a}", "--init", "content"], "'--init': 'content': style-recon has no content image; start from "
                                                  "noise or an image file"),
    (["content-recon", "{a}", "--init", "style"], "'--init': 'style': content-recon has no style image"),
    (["style-recon", "{a}", "--size", "32", "--out-size", "40"], "'--size': has no effect here: --out-size gives the "
                                                                 "output's long side"),
    (["style-recon", "{a}", "--size", "32", "--out-size", "40x30", "--style-size", "32"],
     "'--size': has no effect here: --out-size gives the output's size and --style-size the artwork's"),
    (["style-recon", "{a}", "--out-size", "300x40", "--layers", "conv1_1", "-o", "{a}.ico"],  # round 36: --size
     "at most 256 px a side and this one would be 300x40 (lower --out-size, or choose another format)")])
def test_a_reconstructions_unread_start_or_size_is_a_usage_error(tmp_path, args, message):
    """Round 33: `style-recon --init content` exited 1 ("this command has no content image"), and style-recon's
    --size was silently unread beside --out-size N (or WxH with --style-size)."""
    from .conftest import pattern

    pattern(40, 32).save(tmp_path / "a.png")
    args = [a.format(a=tmp_path / "a.png") for a in args]
    r = CliRunner().invoke(cli, args + (["-o", str(tmp_path / "o.png")] if "-o" not in args else []))
    assert r.exit_code == (1 if args[-1].endswith(".ico") else 2) and message in r.stderr, cli_result_text(r)


@pytest.mark.parametrize("args,option", [
    (["--passes", "2", "--frame-iterations", "2"], "--frame-iterations"),
    (["--temporal-weight", "0", "--long-term", "1"], "--long-term"),
    (["--passes", "2", "--temporal-weight", "0", "--temporal-from-pass", "2"], "--temporal-from-pass")])
def test_a_videos_options_that_its_others_leave_unread_are_usage_errors(tmp_path, args, option):
    """Round 32: --frame-iterations with --passes 2, --long-term and --temporal-from-pass with --temporal-weight 0
    ran with no effect (pixel for pixel the same frames)."""
    from .conftest import pattern

    (tmp_path / "f").mkdir()
    for n in (1, 2):
        pattern(40, 32, n).save(tmp_path / "f" / f"frame_{n:05d}.png")
    r = CliRunner().invoke(cli, ["video", str(tmp_path / "f"), str(tmp_path / "f" / "frame_00001.png"), "-o",
                                 str(tmp_path / "out"), *args])
    assert r.exit_code == 2 and f"'{option}': has no effect here: it needs" in r.stderr, cli_result_text(r)


def test_round_62_a_default_name_another_run_writes_is_in_use(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 62: without -o, a second run took the name another run was writing (claimed, not yet there)
    and was refused with "choose another output", which it never chose; that name is in use: it takes -2."""
    import signal

    from .test_claims import holder

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    other = holder(tmp_path / "c_s.png")
    try:
        r = CliRunner().invoke(cli, ["c.png", "s.png", *synthetic(synthetic_weights), "--overwrite"])
        assert r.exit_code == 0 and Path("c_s-2.png").is_file() and not Path("c_s.png").exists(), cli_result_text(r)
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait()


def test_round_63_a_default_name_is_never_one_of_stylizes_own(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 63: without -o, a content named .stylize-claim-x.png made the default name .stylize-claim-x_s.png,
    refused as one of stylize's own names ("choose another name", which the user never chose): it is not hidden."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save(".stylize-claim-x.png")
    pattern(36, 36, 2).save("s.png")
    assert default_output(".stylize-claim-x.png", "s.png") == Path("stylize-claim-x_s.png")
    r = CliRunner().invoke(cli, [".stylize-claim-x.png", "s.png", *synthetic(synthetic_weights)])
    assert r.exit_code == 0 and Path("stylize-claim-x_s.png").is_file(), cli_result_text(r)


def test_round_102_an_option_a_command_always_refuses_is_neither_listed_nor_suggested(tmp_path, monkeypatch):
    """Hostile round 102: style-recon --help listed --content-weight and --content-layer, which it always refuses,
    and a typo (--content-mask) was told "Did you mean --content-layer, --content-weight?"; content-recon suggested
    --style-size and --style-weight the same way. An option a command never reads (or takes by its own name) is
    still refused with its reason when typed, but never offered."""
    from stylize.unread import UNREAD_BY

    monkeypatch.chdir(tmp_path)
    pattern(32, 32, 1).save("x.png")
    runner = CliRunner()
    for command, own in (("content-recon", {"content_layer"}), ("style-recon", {"style_layers"}),
                         ("figure1", set()), ("grid", set())):
        shown = runner.invoke(cli, [command, "--help"]).output
        for name in set(UNREAD_BY[command][0]) | own:
            assert f"--{name.replace('_', '-')} " not in shown, (command, name)
    assert "--layers " in runner.invoke(cli, ["style-recon", "--help"]).output
    for args, typo in ((["style-recon", "x.png", "--content-mask", "m.png"], "--content-mask"),
                       (["content-recon", "x.png", "--style-scale", "2"], "--style-scale")):
        r = runner.invoke(cli, args)
        assert r.exit_code == 2 and f"No such option '{typo}'." in r.output and "Did you mean" not in r.output, \
            cli_result_text(r)
    r = runner.invoke(cli, ["style-recon", "x.png", "-o", "o.png", "--content-weight", "1"])  # (typed: refused with its reason)
    assert r.exit_code == 2 and "has no effect here: style-recon has no content term" in r.output, cli_result_text(r)
    r = runner.invoke(cli, ["x.png", "y.png", "--content-mask-x", "1"])  # (transfer reads both: still suggested)
    assert r.exit_code == 2 and "Did you mean one of: '--content-layer', '--content-mask'" in r.output


def test_round_104_init_lists_only_the_starts_a_command_takes():
    """Hostile round 104: --help of content-recon, style-recon and figure1 listed `--init noise|content|style|FILE`,
    though each always refuses a start it has no image for (content-recon's style, ...)."""
    runner = CliRunner()
    for command, listed in (("content-recon", "noise|content|FILE"), ("style-recon", "noise|style|FILE"),
                            ("figure1", "noise|FILE"), ("grid", "noise|content|style|FILE"),
                            ("transfer", "noise|content|style|FILE")):
        assert re.search(rf"--init {re.escape(listed)}\s", runner.invoke(cli, [command, "--help"]).output), command


def test_round_105_preset_offers_only_presets_of_a_setting_the_command_reads(tmp_path, monkeypatch,
                                                                               synthetic_weights):
    """Hostile round 105: content-recon, style-recon, figure1 and grid listed `--preset [paper|bold|fast]` and
    "bold: more painting (ratio 1e-4)", though bold (a ratio) is always refused there, and a wrong name's message
    offered it. Offered: the presets of a setting the command reads, told without the ratio; bold, typed, is still
    refused with its reason."""
    runner = CliRunner()
    for command, listed in (("content-recon", "paper|fast"), ("style-recon", "paper|fast"), ("figure1", "paper|fast"),
                            ("grid", "paper|fast"), ("transfer", "paper|bold|fast"), ("batch", "paper|bold|fast")):
        shown = " ".join(runner.invoke(cli, [command, "--help"]).output.split())
        assert f"--preset [{listed}] " in shown, command
        assert ("bold:" in shown) == ("bold" in listed) and ("ratio 1e-3" in shown) == ("bold" in listed), command
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    r = runner.invoke(cli, ["content-recon", "c.png", "-o", "r.png", "--preset", "boldd"])
    assert r.exit_code == 2 and "'boldd' is not one of 'paper', 'fast'." in r.output, cli_result_text(r)
    r = runner.invoke(cli, ["content-recon", "c.png", "-o", "r.png", "--preset", "bold", *synthetic(synthetic_weights)])
    assert r.exit_code == 2 and "has no effect here: each of its settings (ratio)" in r.output, cli_result_text(r)
