"""The hostile-user round: nothing the user had is replaced without --overwrite, no traceback, errors
found before any work. Each test reproduces one case of the issue and holds its fix."""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from PIL import Image

from stylize import batch
from stylize.errors import ManifestError
from stylize.cli import cli
from stylize.images import read_metadata, save_image

from .conftest import cli_result_text, pattern, synthetic

FAST = ["--size", "40", "--iterations", "3", "--quiet"]


def run(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)


def one_line(r) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, cli_result_text(r)
    return lines[0]


# 1. the report: never an input, never replaced silently, not 0600
def test_report_never_replaces_an_input_or_a_foreign_file(photo, art, tmp_path):
    before = photo.read_bytes()
    r = run("batch", "--content", photo, "--style", art, "--out-dir", tmp_path / "o", "--report", photo, *FAST)
    assert r.exit_code == 1 and "the report would overwrite an input" in one_line(r)
    r = run("batch", "--content", photo, "--style", art, "--out-dir", tmp_path / "o", "--report", photo, "--overwrite",
            *FAST)
    assert r.exit_code == 1 and "the report would overwrite an input" in one_line(r)
    assert photo.read_bytes() == before
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": 1}')
    r = run("batch", "--content", photo, "--style", art, "--out-dir", tmp_path / "o", "--report", notes,
            "--skip-existing", *FAST)
    assert r.exit_code == 1 and "already exists and is not a stylize report" in one_line(r)
    assert notes.read_text() == '{"mine": 1}'
    assert not (tmp_path / "o").exists()  # a refused batch leaves no new, empty --out-dir behind
    (tmp_path / "kept").mkdir()
    r = run("batch", "--content", photo, "--style", art, "--out-dir", tmp_path / "kept" / "a" / "b", "--report", notes,
            *FAST)
    assert r.exit_code == 1 and (tmp_path / "kept").is_dir() and not (tmp_path / "kept" / "a").exists()


@pytest.mark.vgg
def test_report_is_resumed_in_place_and_readable_by_others(photo, art, tmp_path):
    report = tmp_path / "r.json"
    args = ["batch", "--content", photo, "--style", art, "--out-dir", tmp_path / "o", "--report", report, *FAST]
    assert run(*args).exit_code == 0
    assert (report.stat().st_mode & 0o777) == 0o666 & ~_umask()
    r = run(*args, "--skip-existing")
    assert r.exit_code == 0 and json.loads(report.read_text())["pairs"][0]["status"] == "skipped"


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


# 2. figures: the side .json and the cells
def test_figures_refuse_an_existing_side_json_or_cell_before_any_work(photo, art, tmp_path):
    (tmp_path / "g.json").write_text("mine")
    r = run("grid", photo, art, "-o", tmp_path / "g.png", "--ratios", "1e-3", "--layer-sets", "conv1_1", *FAST)
    assert r.exit_code == 1 and one_line(r).endswith("g.json: already exists and is not a figure's .json stylize "
                                                      "wrote; move it away or choose another output")  # (round 37)
    assert (tmp_path / "g.json").read_text() == "mine" and not (tmp_path / "g.png").exists()
    cells = tmp_path / "cells"
    cells.mkdir()
    (cells / "A_0.001.png").write_bytes(b"mine")
    r = run("grid", photo, art, "-o", tmp_path / "h.png", "--ratios", "1e-3", "--layer-sets", "conv1_1",
            "--cells-dir", cells, *FAST)
    assert r.exit_code == 1 and "A_0.001.png: already exists and is not a cell stylize made" in one_line(r)  # (37)
    assert (cells / "A_0.001.png").read_bytes() == b"mine"


# 3. --save-every's intermediates
def test_save_every_refuses_existing_intermediates_before_any_work(photo, art, tmp_path):
    (tmp_path / "o.00002.png").write_bytes(b"mine")
    r = run(photo, art, "-o", tmp_path / "o.png", "--save-every", "2", *FAST)
    assert r.exit_code == 1 and "o.00002.png: already exists and is not an intermediate of o" in one_line(r)
    assert (tmp_path / "o.00002.png").read_bytes() == b"mine" and not (tmp_path / "o.png").exists()


def test_save_every_checks_every_levels_intermediates_before_any_work(photo, art, tmp_path):
    (tmp_path / "o.L1.00002.png").write_bytes(b"mine")
    r = run(photo, art, "-o", tmp_path / "o.png", "--save-every", "2", "--scales", "2", "--size", "64",
            "--iterations", "3", "--quiet")
    assert r.exit_code == 1 and "o.L1.00002.png: already exists and is not an intermediate of o" in one_line(r)
    assert [p.name for p in tmp_path.glob("o*")] == ["o.L1.00002.png"]


# 4. the init image (and masks) are inputs too
def test_init_image_is_never_the_output(photo, art, tmp_path):
    init = tmp_path / "i.png"
    pattern(40, 30, 5).save(init)
    before = init.read_bytes()
    r = run(photo, art, "-o", init, "--init", init, "--overwrite", *FAST)
    assert r.exit_code == 1 and "would overwrite an input;" in one_line(r)
    assert init.read_bytes() == before


# 5. a file created at the output path during the run
@pytest.mark.vgg
def test_a_file_that_appears_during_the_run_is_not_replaced(photo, art, tmp_path):
    out = tmp_path / "o.png"

    def progress(p):
        if not out.exists():
            out.write_bytes(b"someone else's")

    from stylize import Session

    outcome = Session(size=40, iterations=3).transfer(photo, art, callback=progress)
    from stylize.errors import ImageError

    with pytest.raises(ImageError, match="already exists; pass --overwrite to replace it"):
        save_image(outcome.image, out, outcome.metadata)
    assert out.read_bytes() == b"someone else's"


# 6. --skip-existing with --overwrite
def test_skip_existing_and_overwrite_together_are_refused(photo, art, tmp_path):
    r = run("batch", "--content", photo, "--style", art, "--out-dir", tmp_path, "--skip-existing", "--overwrite", *FAST)
    assert r.exit_code == 2 and "--skip-existing keeps finished outputs and --overwrite replaces them" in r.stderr


# 7. interrupted non-PNG outputs carry the partial mark, and a resume redoes them
@pytest.mark.vgg
@pytest.mark.parametrize("ext", [".jpg", ".webp", ".bmp"])
def test_partial_non_png_outputs_are_redone_on_resume(photo, art, tmp_path, ext):
    out = tmp_path / "o"
    out.mkdir()
    name = f"photo__art{ext}"
    save_image(pattern(8, 8), out / name, {"partial": True})
    assert read_metadata(out / name)["partial"] is True
    r = run("batch", "--content", photo, "--style", art, "--out-dir", out, "--name-template", "{content}__{style}" + ext,
            "--skip-existing", *FAST)
    assert r.exit_code == 0, cli_result_text(r)
    assert Image.open(out / name).size == (40, 30) and (read_metadata(out / name) or {}).get("partial") in (False, None)
    assert not (out / (name + ".stylize.json")).exists()


# 9. names over 255 bytes; one bad pair never stops the others
def test_an_output_name_over_255_bytes_is_one_line(photo, art, tmp_path):
    r = run(photo, art, "-o", tmp_path / ("x" * 300 + ".png"), *FAST)
    assert r.exit_code == 1 and "the file name is too long (304 bytes; at most 255)" in one_line(r)


@pytest.mark.vgg
def test_one_bad_pair_never_stops_the_batch(photo, art, tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join(json.dumps(row) for row in [
        {"content": str(photo), "style": str(art), "output": "x" * 300 + ".png"},
        {"content": str(tmp_path / "missing.png"), "style": str(art)},
        {"content": str(photo), "style": str(art), "output": "good.png"},
    ]))
    r = run("batch", manifest, "--out-dir", tmp_path / "o", "--report", tmp_path / "r.json", *FAST)
    assert r.exit_code == 3, cli_result_text(r)
    pairs = json.loads((tmp_path / "r.json").read_text())["pairs"]
    assert [p["status"] for p in pairs] == ["failed", "failed", "ok"]
    assert "the file name is too long" in pairs[0]["error"] and (tmp_path / "o" / "good.png").exists()


# 11. a cells folder that cannot be created
def test_cells_dir_that_cannot_be_created(photo, art, tmp_path):
    (tmp_path / "file").write_text("x")
    r = run("figure1", photo, art, "-o", tmp_path / "f.png", "--cells-dir", tmp_path / "file" / "cells", *FAST)
    assert r.exit_code == 1 and one_line(r).endswith("file: is a file, not a folder; move it away or choose another "
                                                     "cells folder")


# 12. closed standard input; Ctrl-C during start-up
def test_closed_standard_input_and_a_manifest_from_a_pipe(photo, art, tmp_path):
    cmd = [sys.executable, "-c", "from stylize.cli import main; main()", "batch", "-", "--out-dir", str(tmp_path)]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
                       preexec_fn=lambda: os.close(0))
    assert p.returncode == 1 and p.stderr.strip() == "Error: standard input is closed: pipe a manifest in, or name a file"
    r, w = os.pipe()
    os.write(w, b"content,style\n")
    os.close(w)
    rows = batch._manifest_text(f"/dev/fd/{r}", None)
    assert rows[0] == "content,style\n"
    os.close(r)


def test_ctrl_c_during_start_up_is_one_line_and_status_130(tmp_path):
    code = ("import signal, os, stylize.cli as c\n"
            "c.cli.callback = lambda: os.kill(os.getpid(), signal.SIGINT)\n"
            "c.main()\n")
    p = subprocess.run([sys.executable, "-c", code, "batch", "-", "--out-dir", str(tmp_path)], input="",
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 130 and p.stderr.strip() == "Interrupted." and "Traceback" not in p.stderr


# 13. formats that cannot be written; a read-only output folder
@pytest.mark.parametrize("ext", [".grib", ".h5", ".bufr", ".wmf", ".xbm", ".msp", ".palm", ".blp"])
def test_read_only_formats_are_refused_before_any_work(photo, art, tmp_path, ext):
    r = run(photo, art, "-o", tmp_path / f"o{ext}", *FAST)
    assert r.exit_code == 1 and f"stylize cannot write {ext} files" in one_line(r)


def test_unwritable_out_dir_is_refused_before_the_first_pair(photo, art, tmp_path):
    (tmp_path / "file").write_text("x")
    r = run("batch", "--content", photo, "--style", art, "--out-dir", tmp_path / "file" / "o", *FAST)
    assert r.exit_code == 1 and one_line(r).endswith("file: is a file, not a folder; move it away or choose another "
                                                     "output folder")


# 14. every coarse-to-fine level checked first, naming the option that fixes it
@pytest.mark.vgg
def test_coarse_level_too_small_is_found_before_any_work(photo, tmp_path):
    wide = tmp_path / "wide.png"
    pattern(80, 40, 3).save(wide)
    r = run(photo, wide, "-o", tmp_path / "o.png", "--scales", "2", "--size", "48", "--iterations", "3", "--quiet")
    line = one_line(r)
    assert r.exit_code == 1 and "the style image is 24x12 px" in line and "(raise --size or lower --scales)" in line
    assert not (tmp_path / "o.png").exists()


# 15. messages that name the right option
@pytest.mark.vgg
def test_style_image_too_small_names_style_size(photo, art, tmp_path):
    r = run(photo, art, "-o", tmp_path / "o.png", "--style-size", "8", *FAST)
    assert r.exit_code == 1 and one_line(r).endswith("(raise --style-size)")  # (round 33: not the other)


@pytest.mark.vgg
def test_huge_history_runs_with_the_largest_that_fits_and_says_so(photo, art, tmp_path):
    r = run(photo, art, "-o", tmp_path / "o.png", "--history", "1000000000", "--size", "40", "--iterations", "3")
    assert r.exit_code == 0, cli_result_text(r)
    assert "Note: --history 1000000000 does not fit" in r.stderr and "Traceback" not in r.stderr
    meta = read_metadata(tmp_path / "o.png")["memory"]
    assert meta["history_requested"] == 1000000000 and 1 <= meta["history"] < 1000000000
    # beyond settings.MAX_HISTORY it is a typo: a usage error naming it
    r = run(photo, art, "-o", tmp_path / "p.png", "--history", "10000000000", "--size", "40", "--iterations", "3")
    assert r.exit_code == 2 and "--history must be an integer from 1 to 1000000000" in r.stderr, cli_result_text(r)
    assert not (tmp_path / "p.png").exists()


def test_empty_layer_sets_are_a_usage_error(photo, art, tmp_path):
    r = run("figure1", photo, art, "-o", tmp_path / "f.png", "--layer-sets", ";;", *FAST)
    assert r.exit_code == 2 and "give at least one layer set" in r.stderr


# 15. -q silences the download line; nothing ever goes to stdout
@pytest.mark.vgg
def test_quiet_silences_the_torchvision_download_line(photo, art, tmp_path, monkeypatch, synthetic_weights):
    import torch

    from stylize import vgg, weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    fake = tmp_path / "vgg19.pth"  # written once; each "download" links it (VGG-19's shapes, synthetic filters)
    torch.save({f"features.{k}": v.float() for k, v in torch.load(synthetic_weights).items()}, fake)
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda url, dst, *a, **k: os.link(fake, dst))
    vgg._cached_weights.cache_clear()
    vgg._cached_network.cache_clear()
    r = run(photo, art, "-o", tmp_path / "q.png", "--weights", "torchvision", "--no-normalize", *FAST)
    assert r.exit_code == 0 and r.stdout == "" and r.stderr == "", cli_result_text(r)
    (tmp_path / "torch-home" / "hub" / "checkpoints" / weights.TORCHVISION_FILE).unlink()
    vgg._cached_weights.cache_clear()
    vgg._cached_network.cache_clear()
    r = run(photo, art, "-o", tmp_path / "v.png", "--weights", "torchvision", "--no-normalize", "--size", "40",
            "--iterations", "2")
    assert r.exit_code == 0 and r.stdout == "" and "Downloading torchvision's VGG-19 weights" in r.stderr
    vgg._cached_weights.cache_clear()
    vgg._cached_network.cache_clear()


# Found by a second hostile round
def test_an_intermediate_never_replaces_an_input(photo, art, tmp_path):
    init = tmp_path / "ix.00001.png"
    pattern(40, 30, 5).save(init)
    before = init.read_bytes()
    r = run(photo, art, "-o", tmp_path / "ix.png", "--init", init, "--save-every", "1", "--overwrite", *FAST)
    assert r.exit_code == 1 and "an intermediate of --save-every would overwrite an input" in one_line(r)
    assert init.read_bytes() == before


def test_a_pairs_output_never_replaces_another_pairs_input(photo, art, tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"content,style,output\n{art},{art},{photo}\n{photo},{art},x.png\n")
    before = photo.read_bytes()
    r = run("batch", manifest, "--out-dir", tmp_path / "o", "--overwrite", *FAST)
    assert r.exit_code == 1 and f"pair 1: the output {photo} is an input of pair 2" in one_line(r)
    assert photo.read_bytes() == before


def test_cells_never_replace_an_input_and_the_figure_is_never_a_cell(photo, art, tmp_path):
    cells = tmp_path / "cells"
    cells.mkdir()
    victim = cells / "A_0.001.png"
    pattern(40, 30, 1).save(victim)
    before = victim.read_bytes()
    r = run("grid", victim, art, "-o", tmp_path / "g.png", "--layer-sets", "conv1_1", "--ratios", "1e-3",
            "--cells-dir", cells, "--overwrite", *FAST)
    assert r.exit_code == 1 and "a cell would overwrite an input;" in one_line(r)
    assert victim.read_bytes() == before
    (tmp_path / "fc").mkdir()
    r = run("figure1", photo, art, "-o", tmp_path / "fc" / "style-A.png", "--cells-dir", tmp_path / "fc",
            "--overwrite", *FAST)
    assert r.exit_code == 1 and "the figure would overwrite one of its own cells" in one_line(r)


def test_report_is_never_a_pairs_output(photo, art, tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"content,style,output\n{photo},{art},a.png\n")
    r = run("batch", manifest, "--out-dir", tmp_path / "o", "--report", tmp_path / "o" / "a.png", "--overwrite", *FAST)
    assert r.exit_code == 1 and "the report would be one of the pairs' outputs" in one_line(r)


@pytest.mark.vgg  # (a batch loads its weights before its first pair)
def test_a_foreign_sidecar_is_never_removed_or_replaced(photo, art, tmp_path):
    side = tmp_path / "side.bmp.stylize.json"
    side.write_text('{"mine": 1}')
    r = run(photo, art, "-o", tmp_path / "side.bmp", *FAST)
    assert r.exit_code == 1 and "already exists and is not stylize's" in one_line(r)
    assert side.read_text() == '{"mine": 1}'
    pattern(8, 8).save(tmp_path / "pair.bmp")  # round 37's kind: a batch's pair said "use --skip-existing or
    (tmp_path / "pair.bmp.stylize.json").write_text('{"mine": 2}')  # --overwrite", which then refused the mark
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"content,style,output\n{photo},{art},pair.bmp\n")
    for flags in ([], ["--overwrite"]):
        r = run("batch", manifest, "--out-dir", tmp_path, "--report", tmp_path / "r.json", *flags, *FAST)
        assert r.exit_code == 3 and "pair.bmp.stylize.json: already exists and is not stylize's" in \
            json.loads((tmp_path / "r.json").read_text())["pairs"][0]["error"], cli_result_text(r)
    assert (tmp_path / "pair.bmp.stylize.json").read_text() == '{"mine": 2}'
    from stylize.errors import ImageError

    with pytest.raises(ImageError, match="already exists and is not stylize's"):
        save_image(pattern(8, 8), tmp_path / "side.bmp", {"partial": True})
    save_image(pattern(8, 8), tmp_path / "side.bmp", {"partial": False})  # a finished image: no sidecar needed
    assert side.read_text() == '{"mine": 1}'
    save_image(pattern(8, 8), tmp_path / "own.bmp", {"partial": True})  # our own mark is removed when finished
    save_image(pattern(8, 8), tmp_path / "own.bmp", {"partial": False}, overwrite=True)
    assert not (tmp_path / "own.bmp.stylize.json").exists()


@pytest.mark.vgg
def test_a_one_pixel_photograph_in_luminance_mode(tmp_path, art):
    one = tmp_path / "one.png"
    Image.new("RGB", (1, 1), (200, 100, 50)).save(one)
    r = run(one, art, "-o", tmp_path / "o.png", "--color", "luminance", *FAST)
    assert r.exit_code == 0 and r.stderr == "", cli_result_text(r)


@pytest.mark.vgg
def test_a_bad_blend_cell_fails_its_pair_alone(photo, art, tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text(f'content,style,blend,output\n{photo},{art},,good.png\n{photo},{art};{art},"0,0",bad.png\n')
    r = run("batch", manifest, "--out-dir", tmp_path / "o", "--report", tmp_path / "r.json", *FAST)
    assert r.exit_code == 3, cli_result_text(r)
    pairs = json.loads((tmp_path / "r.json").read_text())["pairs"]
    assert [p["status"] for p in pairs] == ["ok", "failed"]
    assert "blend weight 1 of 2 is 0: its style image would have no effect" in pairs[1]["error"]


def test_unknown_manifest_column_is_refused(tmp_path):
    with pytest.raises(ManifestError, match="unknown column .ouput."):
        batch.read_manifest("content,style,ouput\na.jpg,b.jpg,c.png\n")


def test_an_ignored_sigint_stays_ignored(photo, art, tmp_path):

    code = ("import signal, os, sys\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "from stylize.cli import catch_signals\n"
            "with catch_signals() as flag:\n    os.kill(os.getpid(), signal.SIGINT)\n    print(flag())\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "False", p.stderr


# B. every numeric option has a range checked at parse time; every unreadable manifest line fails alone
@pytest.mark.parametrize("args,name", [
    (["video", "{photo}", "{art}", "-o", "{tmp}/o.mp4", "--fps", "0.0001"], "--fps"),
    (["video", "{photo}", "{art}", "-o", "{tmp}/o.mp4", "--fps", "1e10"], "--fps"),
    (["video", "{photo}", "{art}", "-o", "{tmp}/o.mp4", "--codec", "aac"], "--codec"),
    (["video", "{photo}", "{art}", "-o", "{tmp}/o.mp4", "--frame-iterations", "1" + "0" * 400], "--frame-iterations"),
    (["batch", "--content", "{photo}", "--style", "{art}", "--out-dir", "{tmp}/o", "--name-template",
      "{{index:>99999999999}}.png"], "--name-template"),
    (["style-recon", "{art}", "-o", "{tmp}/t.png", "--out-size", "9" * 400], "--out-size"),
    (["transfer", "{photo}", "{art}", "-o", "{tmp}/t.png", "--save-every", "9" * 400], "--save-every"),
])
def test_numeric_options_are_range_checked_at_parse_time(photo, art, tmp_path, args, name):
    pytest.importorskip("av")
    r = run(*[a.format(photo=photo, art=art, tmp=tmp_path) for a in args])
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
    assert r.exit_code == 2 and len(errors) == 1 and name in errors[0] and "Traceback" not in r.stderr, \
        cli_result_text(r)
    assert not any(tmp_path.glob("o*")) and not (tmp_path / "t.png").exists()


def test_every_unreadable_manifest_line_fails_alone_with_its_line_number():
    deep = '{"content": ' + "[" * 200_000 + "]" * 200_000 + "}"
    rows = batch.read_manifest("\n".join([
        '{"content": "a.png", "style": "b.png"}', deep, '{"content": "a\\u0000.png", "style": "b.png"}', "{oops",
        '{"content": "c.png", "style": ["d.png", "e.png"]}', '{"content": "a.png", "style": "b.png", "blend": [' +
        "9" * 5000 + "]}"]))
    assert [r.error is None for r in rows] == [True, False, False, False, True, False]
    assert "line 2: not JSON (nested too deep)" in rows[1].error and "line 3: a path holds a NUL byte" in rows[2].error
    assert "line 4: not JSON" in rows[3].error
    assert rows[5].error.endswith("line 6: not JSON (a number of over 4300 digits)"), rows[5].error
    rows = batch.read_manifest("content,style\na.png,b.png\nc.png," + "x" * 140_000 + "\nd.png,e.png\n")
    assert [r.error is None for r in rows] == [True, False, True] and "line 3: a path of 140000" in rows[1].error
    pairs = batch.plan(rows, __import__("pathlib").Path("out"))
    assert [p.error is None for p in pairs] == [True, False, True]


def test_a_manifest_with_a_byte_order_mark_reads_the_same_from_a_pipe_and_a_file(photo, art, tmp_path):
    text = "\ufeffcontent,style\n%s,%s\n" % (photo, art)
    path = tmp_path / "m.csv"
    path.write_text(text, encoding="utf-8")
    assert batch.intake(str(path), out_dir=tmp_path) [0].content == str(photo)
    import io
    assert batch.intake("-", out_dir=tmp_path, stdin=io.StringIO(text))[0].content == str(photo)
    for data in (b"\xef\xbb\xbf" + text.encode(), text.encode("utf-16")):  # round 12: two marks; UTF-16
        path.write_bytes(data)
        outcomes = []
        for source in (str(path), "-"):
            try:
                outcomes.append(batch.intake(source, out_dir=tmp_path, stdin=io.TextIOWrapper(io.BytesIO(data)))[0])
            except ManifestError as e:
                outcomes.append(str(e).partition(": ")[2])
        assert outcomes[0] == outcomes[1] == "not a manifest: JSON lines, or CSV whose header names the columns " \
                                             "content,style[,output][,blend]"


def test_a_manifest_naming_a_file_whose_name_is_not_utf8_reads_the_same_from_a_file_and_a_pipe(photo, art, tmp_path):
    import io
    import shutil

    latin1 = os.path.join(os.fsencode(tmp_path), b"caf\xe9.png")  # a Latin-1 name: not UTF-8
    shutil.copy(photo, latin1)
    data = b"content,style\n" + latin1 + b"," + os.fsencode(art) + b"\n"
    (tmp_path / "m.csv").write_bytes(data)
    from_file = batch.intake(str(tmp_path / "m.csv"), out_dir=tmp_path)[0]
    strict = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="strict")  # a UTF-8 locale's stdin
    from_pipe = batch.intake("-", out_dir=tmp_path, stdin=strict)[0]
    assert from_file.error is None and os.fsencode(from_file.content) == latin1
    assert (from_pipe.content, from_pipe.error) == (from_file.content, None)
    (tmp_path / "photo.csv").write_bytes(photo.read_bytes())  # an image is no manifest, whatever its name
    with pytest.raises(ManifestError, match="photo.csv: not a manifest: JSON lines, or CSV whose header"):
        batch.intake(str(tmp_path / "photo.csv"), out_dir=tmp_path)


# E. exit codes: every missing input file is a usage error (2); Ctrl-C at any moment is "Interrupted." and 130
@pytest.mark.parametrize("option", [["--content-mask", "{t}/nope.png"], ["--init", "{t}/nope.png"],
                                    ["--content-mask", "{photo}", "--style-mask", "{t}/nope.png"],
                                    ["--content-mask", "{photo}+{t}/nope.png"]])
def test_every_missing_input_file_is_a_usage_error(photo, art, tmp_path, option):
    r = run(photo, art, "-o", tmp_path / "o.png", *[o.format(t=tmp_path, photo=photo) for o in option], *FAST)
    assert r.exit_code == 2 and "nope.png" in r.stderr and "Traceback" not in r.stderr, cli_result_text(r)
    assert not (tmp_path / "o.png").exists()


@pytest.mark.vgg
def test_a_sigint_before_the_command_catches_signals_is_interrupted_130(photo, art, tmp_path, monkeypatch, capsys):
    import signal

    from stylize import cli as cli_module

    real = cli_module.transfer_settings

    def interrupted_while_starting(*args):  # as if Ctrl-C came while torch imports numpy
        signal.raise_signal(signal.SIGINT)
        return real(*args)

    monkeypatch.setattr(cli_module, "transfer_settings", interrupted_while_starting)
    monkeypatch.setattr(cli_module.console, "EARLY", cli_module.Interrupt())
    monkeypatch.setattr(sys, "argv", ["stylize", str(photo), str(art), "-o", str(tmp_path / "o.png"), *FAST])
    previous = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit) as e:
            cli_module.main()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert e.value.code == 130 and "Interrupted" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


# round 4: every name of a file is that file; a link is a name in use; numbers in ASCII; torch's own aborts
def _shard_report(path, index, status="ok"):
    pair = {"index": index, "content": "c.jpg", "style": "s.jpg", "output": f"out/{index}.png", "status": status}
    path.write_text(json.dumps({"started": "2026", "settings": {"size": 32}, "manifest_pairs": 2, "pairs": [pair]}))


def test_report_merge_overwrites_only_a_report(tmp_path):
    _shard_report(tmp_path / "r1.json", 0)
    _shard_report(tmp_path / "r2.json", 1)
    manifest, image = tmp_path / "m.csv", tmp_path / "c.jpg"
    manifest.write_text("content,style\nc.jpg,s.jpg\n")
    image.write_bytes(b"\xff\xd8 the user's photograph")
    for target in (manifest, image):
        before = target.read_bytes()
        r = run("report", "merge", tmp_path / "r1.json", tmp_path / "r2.json", "-o", target, "--overwrite")
        assert r.exit_code == 1 and "is not a stylize report" in one_line(r) and target.read_bytes() == before
    merged = tmp_path / "merged.json"
    assert run("report", "merge", tmp_path / "r1.json", tmp_path / "r2.json", "-o", merged).exit_code == 0
    r = run("report", "merge", tmp_path / "r1.json", tmp_path / "r2.json", "-o", merged, "--overwrite")
    assert r.exit_code == 0 and len(json.loads(merged.read_text())["pairs"]) == 2  # a report is replaced


def test_a_link_to_nothing_is_a_name_in_use(photo, art, tmp_path):
    from stylize import figures
    from stylize.errors import ImageError
    from stylize.images import check_output

    (tmp_path / "fig.json").symlink_to(tmp_path / "missing.json")
    with pytest.raises(ImageError, match="a link to nothing, not a figure's"):  # before the figure's work
        figures.check_outputs(tmp_path / "fig.png", [photo, art])
    (tmp_path / "b.bmp.stylize.json").symlink_to(tmp_path / "gone")
    with pytest.raises(ImageError, match="is not stylize's"):  # a .bmp's mark: the user's link is kept
        check_output(tmp_path / "b.bmp")
    assert (tmp_path / "b.bmp.stylize.json").is_symlink()
    (tmp_path / "rep.json").symlink_to(tmp_path / "missing.json")
    r = run("batch", "--content", photo, "--style", art, "--out-dir", tmp_path / "o", "--report", tmp_path / "rep.json",
            *FAST)
    assert r.exit_code == 1 and "rep.json" in one_line(r) and (tmp_path / "rep.json").is_symlink()


def test_a_hard_link_to_an_input_is_that_input(photo, art, tmp_path):
    os.link(photo, tmp_path / "hl.png")
    before = os.stat(tmp_path / "hl.png").st_ino
    r = run("batch", "--content", photo, "--style", art, "--out-dir", tmp_path, "--name-template", "hl.png",
            "--overwrite", *FAST)
    assert r.exit_code == 1 and "hl.png is one of its inputs" in one_line(r)
    assert os.stat(tmp_path / "hl.png").st_ino == before == os.stat(photo).st_ino


def test_a_name_through_a_folder_still_to_be_made_and_dotdot_is_the_file_it_reaches(photo, art, tmp_path):
    """Hostile round 12: `--out-dir new --name-template '../{content}.png' --overwrite` wrote over the content
    image (new/../photo.png could not be stat'ed before `new` was made, so it was keyed by another name)."""
    import shutil

    from stylize.images import path_key, same_file

    a, b, init = (shutil.copy(photo, tmp_path / n) for n in ("a.png", "b.png", "init.png"))
    assert path_key(tmp_path / "new" / "deeper" / ".." / ".." / "a.png") == path_key(a)
    assert same_file(tmp_path / "new" / ".." / "a.png", a) and not same_file(tmp_path / "new" / "a.png", a)
    before = {p: p.read_bytes() for p in (a, b, init)}
    r = run("batch", "--content", a, "--style", art, "--out-dir", tmp_path / "new", "--name-template",
            "../{content}.png", "--overwrite", *FAST)
    assert r.exit_code == 1 and "is one of its inputs" in one_line(r), cli_result_text(r)
    (tmp_path / "m.csv").write_text(f"content,style,output\n{a},{art},../b.png\n{b},{art},\n")
    r = run("batch", tmp_path / "m.csv", "--out-dir", tmp_path / "o2", "--overwrite", *FAST)
    assert r.exit_code == 1 and "is an input of pair 2" in one_line(r), cli_result_text(r)
    (tmp_path / "out").mkdir()
    (tmp_path / "m.csv").write_text(f"content,style,output\n{a},{art},new/../../init.png\n")
    r = run("batch", tmp_path / "m.csv", "--out-dir", tmp_path / "out", "--init", init, "--overwrite", *FAST)
    assert r.exit_code == 1 and "which the batch reads" in one_line(r), cli_result_text(r)
    assert {p: p.read_bytes() for p in (a, b, init)} == before
    assert not (tmp_path / "new").exists() and not (tmp_path / "o2").exists() and os.listdir(tmp_path / "out") == []


@pytest.mark.parametrize("template,why", [("{content:x}.png", "does not apply to {content}"),
                                          ("{index:s}.png", "does not apply to {index}"),
                                          ("{content!z}.png", "a conversion"), ("{style!r}.png", "a conversion"),
                                          # round 18: a float's spec wrote 0.000000e+00.png; a name that cannot
                                          # fit failed every pair (exit 3)
                                          ("{index:e}.png", "does not apply to {index}, which is a whole number"),
                                          ("{index:0>255}.png", "gives names of 259 bytes before any file's name")])
def test_a_name_template_whose_spec_cannot_apply_is_a_usage_error(photo, art, tmp_path, template, why):
    r = run("batch", "--content", photo, "--style", art, "--out-dir", tmp_path / "o", "--name-template", template,
            *FAST)
    assert r.exit_code == 2 and "--name-template" in r.stderr and why in r.stderr, cli_result_text(r)


@pytest.mark.parametrize("args", [["--ratio", "١"], ["--size", "３２"], ["--tv-weight", "1_0"],
                                  ["--device", "cuda:99999999999999999999"], ["--device", "cuda:-1"]])
def test_numbers_are_ascii_and_every_bad_number_is_a_usage_error(photo, art, tmp_path, args):
    r = run(photo, art, "-o", tmp_path / "o.png", *FAST, *args)  # last: FAST has its own --size
    assert r.exit_code == 2 and "Traceback" not in r.stderr and not (tmp_path / "o.png").exists(), cli_result_text(r)


def test_a_slurm_array_beyond_the_shard_limit_is_refused():
    from stylize.errors import ClusterError

    with pytest.raises(ClusterError, match="at most"):
        batch.shard_from_environment(None, {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "99999999999"})


def test_an_unknown_json_key_fails_its_line_and_is_named():
    rows = batch.read_manifest('{"content": "c.jpg", "style": "s.jpg", "Output": "x.png"}\n', "m.jsonl")
    assert rows[0].error == "m.jsonl line 1: unknown key 'Output'; a line has content, style, output, blend"
    assert batch.read_manifest('{"content": "c.jpg", "style": "s.jpg", "blend": [1e300]}\n')[0].error


@pytest.mark.parametrize("body,error", [("import os; os.abort()", MemoryError), ("import os; os._exit(1)", MemoryError),
                                        ("raise ImportError('no')", ImportError), ("X = 1", None)])
def test_a_module_that_kills_its_process_while_loading_is_a_python_error(tmp_path, monkeypatch, body, error):
    # torch's C++ start-up under `ulimit -v` aborts (std::bad_alloc) or exits (OpenBLAS): console's probe
    # imports it in a child first, so the parent can say so in one line
    from stylize.console import _TorchProbe

    name = f"probe_{abs(hash(body))}"
    (tmp_path / f"{name}.py").write_text(body + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", [_TorchProbe(name), *sys.meta_path])
    try:
        if error is None:
            assert __import__(name).X == 1
        else:
            with pytest.raises(error):
                __import__(name)
    finally:
        sys.modules.pop(name, None)


# round 6: stylize removes only its own marks; a figure is claimed from its start; manifest weights as the CLI's
@pytest.mark.vgg
def test_overwrite_never_removes_a_file_at_the_mark_name_that_is_not_stylizes(photo, art, tmp_path):
    mark = tmp_path / "out.png.stylize.json"
    mark.write_bytes(photo.read_bytes())  # the content image, named like an output's mark
    r = run(mark, art, "-o", tmp_path / "out.png", "--overwrite", *FAST)
    assert r.exit_code == 0 and mark.read_bytes() == photo.read_bytes(), cli_result_text(r)
    notes = tmp_path / "b.bmp.stylize.json"
    notes.write_text('{"mine": true}')
    r = run(photo, art, "-o", tmp_path / "b.bmp", "--overwrite", *FAST)  # a .bmp needs that name for its mark
    assert r.exit_code == 1 and "is not stylize's" in one_line(r) and notes.read_text() == '{"mine": true}'


def test_a_figure_into_an_output_another_run_holds_is_refused_at_once(photo, art, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom stylize.claims import claim_file\n"
                               "c = claim_file(sys.argv[1]).take()\nprint('held', flush=True)\ntime.sleep(60)",
                               str(tmp_path / "fig.png")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"  # another process: POSIX locks are per process
        r = run("grid", photo, art, "-o", tmp_path / "fig.png", "--ratios", "1e-3", "--layer-sets", "conv1_1",
                "--cells-dir", tmp_path / "cells", *FAST)
    finally:
        holder.kill()
        holder.wait()
    assert r.exit_code == 1 and "another stylize run" in one_line(r)
    assert not (tmp_path / "fig.png").exists() and not (tmp_path / "cells").exists()


def test_manifest_blend_weights_have_the_command_lines_range():
    for blend, why in (("1;1e-300", "too small"), ("1;1e13", "too large"), ("1;nan", "not a number"),
                       ("-1;1", "negative")):
        row = batch.read_manifest(f"content,style,blend\na.jpg,s.jpg;t.jpg,{blend}\n")[0]
        assert row.error and f"is {why}: a weight is from 1e-12 to 1e+12" in row.error, (blend, row.error)
    assert "blend weight 2 of 2 is 0: its style image would have no effect" in \
        batch.read_manifest("content,style,blend\na.jpg,s.jpg;t.jpg,1;0\n")[0].error
    # round 16: JSON's 1e400 (read as inf) was quoted as "inf", a 4201-digit weight as "a text"; CSV '1;' as ''
    rows = batch.read_manifest('{"content": "a", "style": ["b", "c"], "blend": [1e400, 1]}\n'
                               '{"content": "a", "style": ["b", "c"], "blend": [1, 1' + "0" * 4200 + ']}\n')
    assert [r.error for r in rows] == [
        "manifest line 1: blend weight 1 of 2 is too large: a weight is from 1e-12 to 1e+12",
        "manifest line 2: blend weight 2 of 2 is too large: a weight is from 1e-12 to 1e+12"]
    row = batch.read_manifest("content,style,blend\na.jpg,s.jpg;t.jpg,1;\n")[0]
    assert "the blend cell '1;' has an empty item; separate the weights with single ';' or ','" in row.error
    # round 17: JSON false quoted as Python's 'False', [] called "all 0", a byte \xff shown as '\udcff'
    rows = batch.read_manifest('{"content": "a", "style": ["b", "c"], "blend": [false, 1]}\n'
                               '{"content": "a", "style": ["b", "c"], "blend": []}\n')
    assert [r.error for r in rows] == [
        "manifest line 1: blend weight 1 of 2 is not a number (false); blend weights are numbers",
        "manifest line 2: the blend list is empty; give a weight per artwork, e.g. [3, 7]"]
    row = batch.read_manifest("content,style,blend\na.jpg,s.jpg;t.jpg,1;\udcff\n")[0]  # (a file's byte \xff)
    assert row.error.endswith("blend weight 2 of 2: '\\xff' is not a number"), row.error


# round 7: every format's own limit; a figure's .json is the figure's; stylize's marks beside intermediates
@pytest.mark.parametrize("ext,limit", [(".tga", 65535), (".pcx", 65535), (".sgi", 65535), (".jpg", 65500),
                                       (".mpo", 65500), (".avif", 32768)])
def test_each_format_is_checked_against_its_encoders_own_limit(ext, limit, tmp_path):
    from stylize.errors import ImageError
    from stylize.images import check_fits

    check_fits(tmp_path / f"w{ext}", (limit, 16))
    with pytest.raises(ImageError, match=f"at most {limit} px a side"):
        check_fits(tmp_path / f"w{ext}", (limit + 1, 16))


def test_a_figure_json_that_is_not_a_figures_is_never_replaced(photo, art, tmp_path):
    from stylize import figures
    from stylize.errors import ImageError

    with pytest.raises(ImageError, match="the file name is too long"):  # the .json's name, not a traceback
        figures.check_outputs(tmp_path / ("a" * 251 + ".jpg"), [photo, art])
    (tmp_path / "fig.json").write_text('{"my": "precious data"}')
    with pytest.raises(ImageError, match="is not a figure's .json stylize wrote"):
        figures.check_outputs(tmp_path / "fig.png", [photo, art], overwrite=True)
    assert (tmp_path / "fig.json").read_text() == '{"my": "precious data"}'


def test_an_intermediates_mark_is_checked_before_the_work(tmp_path):
    from stylize.errors import ImageError
    from stylize.files import check_intermediates

    (tmp_path / "out.00001.bmp.stylize.json").write_text("my notes")
    with pytest.raises(ImageError, match="is not stylize's"):
        check_intermediates(tmp_path / "out.bmp", [3], 1, overwrite=True)


@pytest.mark.vgg  # (a batch loads its weights before its first pair)
def test_an_empty_file_at_a_reports_lock_name_is_not_stylizes(photo, art, tmp_path):
    from stylize.report import Lock

    lock = Lock(tmp_path / "r.json").path
    lock.touch()
    r = run("batch", "--content", photo, "--style", art, "--out-dir", tmp_path / "o", "--report", tmp_path / "r.json",
            *FAST)
    assert r.exit_code == 1 and "is not a file stylize made (it is empty)" in one_line(r)
    assert lock.exists() and lock.read_bytes() == b""


@pytest.mark.parametrize("args,why", [(["--size", "+32"], "whole number"), (["--style-layers", "conv1_1,conv1_1"],
                                                                             "given twice")])
def test_more_numbers_and_lists_refused_when_the_command_line_is_read(photo, art, tmp_path, args, why):
    r = run(photo, art, "-o", tmp_path / "o.png", *FAST, *args)
    assert r.exit_code == 2 and why in r.stderr and not (tmp_path / "o.png").exists(), cli_result_text(r)


def test_a_figures_json_is_never_taken_for_an_images_mark(tmp_path):
    # round 7: `grid -o y.bmp.stylize.png` writes y.bmp.stylize.json, which a later `-o y.bmp` took for its mark
    from stylize.errors import ImageError
    from stylize.images import check_output

    side = tmp_path / "y.bmp.stylize.json"
    side.write_text(json.dumps({"command": "grid", "cells": [], "partial": False}))
    with pytest.raises(ImageError, match="is not stylize's"):
        check_output(tmp_path / "y.bmp", overwrite=True)
    save_image(Image.new("RGB", (8, 8)), tmp_path / "z.bmp", {"partial": True})  # a partial .bmp's own mark
    check_output(tmp_path / "z.bmp", overwrite=True)  # is recognised as stylize's
    assert json.loads((tmp_path / "z.bmp.stylize.json").read_text())["mark_of"] == "z.bmp"


# round 8: JSON nested deeper than Python's recursion limit in stylize's own files was a RecursionError traceback
DEEP = "[" * 200_000 + "]" * 200_000


def test_json_nested_too_deep_in_a_mark_an_images_text_or_a_figures_json_is_not_stylizes(tmp_path):
    from PIL.PngImagePlugin import PngInfo

    from stylize import figures
    from stylize.errors import ImageError
    from stylize.images import check_output, parse_json, read_json_here

    with pytest.raises(ValueError, match="nested too deep"):
        parse_json(DEEP)
    side = tmp_path / "a.bmp.stylize.json"
    side.write_text('{"partial": ' + DEEP + "}")
    assert read_json_here(side) is None
    with pytest.raises(ImageError, match="is not stylize's"):
        check_output(tmp_path / "a.bmp", overwrite=True)
    info = PngInfo()
    info.add_text("stylize", '{"partial": true, "x": ' + DEEP + "}", zip=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "t.png", pnginfo=info)
    assert read_metadata(tmp_path / "t.png") is None  # another program's text: no metadata of ours
    (tmp_path / "g.json").write_text('{"cells": ' + DEEP + "}")
    pattern(8, 8).save(tmp_path / "c.png")
    with pytest.raises(ImageError, match="is not a figure's .json stylize wrote"):
        figures.check_outputs(tmp_path / "g.png", [tmp_path / "c.png"], overwrite=True)


def test_a_named_pipe_is_never_opened_to_wait_for_a_writer(tmp_path, images):
    """Hostile round 8: a FIFO at --report, or at a figure's .json with --overwrite, hung the run forever (open()
    waits for a writer), and survived the first SIGTERM; a pipe given as an image was 'the file is empty'."""
    from stylize import figures, report
    from stylize.errors import ImageError
    from stylize.images import load_image, read_json_here

    fifo = tmp_path / "r.json"
    os.mkfifo(fifo)
    assert report.read(fifo) is None and read_json_here(fifo) is None
    os.mkfifo(tmp_path / "p.png")
    for read in (load_image, read_metadata):
        with pytest.raises(ImageError, match=r"p.png: not a regular file \(a pipe, socket or device\); save it"):
            read(tmp_path / "p.png")
    r = run("batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir", tmp_path / "o",
            "--report", fifo, *FAST)
    assert r.exit_code == 1 and "r.json: already exists and is not a stylize report" in one_line(r)
    assert not (tmp_path / "o").exists()
    os.mkfifo(tmp_path / "fig.json")
    with pytest.raises(ImageError, match="a pipe, not a figure's .json stylize wrote"):
        figures.check_outputs(tmp_path / "fig.png", [images / "photo0.png"], overwrite=True)
    r = run(images / "photo0.png", tmp_path / "p.png", "-o", tmp_path / "out.png", *FAST)
    assert r.exit_code != 0 and "p.png: not a regular file" in one_line(r), cli_result_text(r)


def test_a_number_too_small_for_a_float_is_never_read_as_0_and_long_numbers_are_not_echoed(photo, art, tmp_path):
    """Hostile round 8: `--style-blend 1,1e-400` ran with the second style off (1e-400 reads as 0.0, and 0 is
    'off') where 1e-300 was refused; `--content-weight 1e-999` was blamed as '0'; a 5000-digit --seed was 'not
    a whole number (digits only)'; a manifest's 5000-digit blend weight was echoed whole."""
    from stylize.settings import number, whole

    with pytest.raises(ValueError, match="too small to be told from 0"):
        number("1e-400")
    assert number("0e-400") == 0 and number("0.000") == 0 and number("1e-300") == 1e-300
    with pytest.raises(ValueError, match="too large: a number of 5000 digits"):
        whole("9" * 5000)
    for extra, message in ((["--style-blend", "1,1e-400"], "'1e-400' is too small to be told from 0"),
                           (["--content-weight", "1e-999"], "'1e-999' is too small to be told from 0"),
                           (["--seed", "7" * 5000], "a text of 5000 characters is too large: a number of 5000 digits"),
                           (["--seed", "7" * 400], "a number of 400 characters is not in the range 0<=x<=")):  # round 18
        styles = [art, art] if extra[0] == "--style-blend" else [art]
        r = run(photo, *styles, "-o", tmp_path / "o.png", *FAST, *extra)
        error = r.stderr.strip().splitlines()[-1]
        assert r.exit_code == 2 and message in error and extra[0] in error, cli_result_text(r)
    rows = batch.read_manifest("content,style,blend\na.png,b.png;c.png,1;" + "9" * 5000 + "\n")
    rows += batch.read_manifest('{"content": "a.png", "style": ["b.png", "c.png"], "blend": [1, ' + "9" * 4000 + "]}")
    assert all(len(r.error) < 200 and "blend weight 2 of 2 is too large" in r.error for r in rows), \
        [r.error[:300] for r in rows]


# round 9
def test_a_batch_claims_a_contact_sheet_in_the_folder_it_makes_before_its_first_pair(images, tmp_path, monkeypatch,
                                                                                       synthetic_weights):
    """Round 9: a sheet whose folder the batch makes (--out-dir o --contact-sheet o/sheet.png) was not claimed:
    a second batch wrote its sheet there meanwhile, and the first failed after all its pairs."""
    probe = ("import sys\nfrom stylize.claims import claim_file\nfrom stylize.errors import ClaimError\n"
             "try:\n    claim_file(sys.argv[1]).take()\nexcept ClaimError:\n    print('held')\n")
    seen = []
    work = batch.run

    def run_pairs(*args, **kwargs):  # while the pairs run, another process tries the sheet's claim
        seen.append(subprocess.run([sys.executable, "-c", probe, str(tmp_path / "o" / "sheet.png")],
                                   capture_output=True, text=True).stdout.strip())
        return work(*args, **kwargs)

    monkeypatch.setattr(batch, "run", run_pairs)
    r = run("batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir", tmp_path / "o",
            "--contact-sheet", tmp_path / "o" / "sheet.png", *synthetic(synthetic_weights))
    assert r.exit_code == 0 and seen == ["held"], cli_result_text(r)
    assert (tmp_path / "o" / "sheet.png").exists() and not list((tmp_path / "o").glob(".stylize-claim-*"))


def test_a_batch_pair_whose_bmp_mark_name_holds_a_users_file_fails_before_its_work(images, tmp_path):
    """Round 9: batch checked only the .bmp output's name, not its mark's: interrupted, the pair's partial image
    was lost ("not stylize's" at the save); a --report at that name was taken, and then called not stylize's."""
    from stylize.report import Record

    out = tmp_path / "o"
    out.mkdir()
    (out / "x.bmp.stylize.json").write_text("my notes")
    pair = batch.plan([(str(images / "photo0.png"), str(images / "art0.jpg"), "x.bmp")], out)[0]
    record = Record(0, pair.content, pair.style, str(pair.output))
    assert batch.triage(pair, record) is None and record.status == "failed" and "is not stylize's" in record.error
    (out / "x.bmp.stylize.json").unlink()
    r = run("batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir", out,
            "--name-template", "x.bmp", "--report", out / "x.bmp.stylize.json", *FAST)
    assert r.exit_code == 1 and "the name of the mark stylize keeps beside x.bmp (its format holds no metadata" \
        in one_line(r), cli_result_text(r)  # (round 30: refused as a name, whatever the batch writes)
    # round 16: a --report at a pair's claim name was taken, and that pair failed at its turn ("not a file stylize
    # made"); round 17: at the contact sheet's claim name, the report was written over the claim, then removed
    # with it (exit 0). Every output refuses the names of stylize's own hidden files (images.OWN_NAMES).
    from stylize.claims import claim_file

    for report in (claim_file(out / "photo0__art0.png").lock_file, claim_file(tmp_path / "sheet.png").lock_file):
        for flags in ([], ["--overwrite"]):
            r = run("batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir", out,
                    "--report", report, "--contact-sheet", tmp_path / "sheet.png", *flags, *FAST)
            assert r.exit_code == 1 and "a name stylize keeps for its own hidden files (claims, locks, temporary " \
                "files); choose another name" in one_line(r), cli_result_text(r)
            assert list(out.iterdir()) == [] and not (tmp_path / "sheet.png").exists()


@pytest.mark.vgg  # (a batch loads its weights before its first pair)
def test_a_full_disk_while_a_report_takes_its_lock_is_one_line_and_leaves_no_folder(images, tmp_path, monkeypatch):
    import errno

    from stylize import report
    from stylize.report import LOCK_MARK

    write = os.write

    def full(fd, data):
        if data == LOCK_MARK:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(fd, data)

    monkeypatch.setattr(report.os, "write", full)
    r = run("batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir", tmp_path / "o",
            "--report", tmp_path / "r.json", *FAST)
    assert r.exit_code == 1 and "(No space left on device)" in one_line(r) and "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]  # no out-dir, no lock or claim file


def test_a_commands_name_that_is_also_an_image_here_is_refused_as_ambiguous(photo, art, tmp_path, monkeypatch):
    """Round 9: `stylize content-recon s.png` beside an image named content-recon ran the command, silently."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "grid").write_bytes(photo.read_bytes())
    r = run("grid", art, "-o", "x.png")
    assert r.exit_code == 2 and "'grid' is a stylize command and an image file here" in r.stderr.splitlines()[-1]
    (tmp_path / "batch").write_text("#!/bin/sh\n")  # a script: no image, no doubt: the command
    r = run("batch", "--out-dir", "o")
    assert "is a stylize command and" not in r.stderr


def test_small_messages_of_round_9(tmp_path):
    """Round 9: `report merge -o nodir/x.json` named the claim file, not the missing folder; a cells folder's lock
    is in it, not beside it; an animated GIF among numbered frames counted as one frame."""
    from stylize import report
    from stylize.claims import claim_folder
    from stylize.errors import ManifestError

    (tmp_path / "r.json").write_text(json.dumps(report.document("x", {}, 1, [])))
    with pytest.raises(ManifestError, match=r"x.json: the folder .*nodir does not exist"):
        report.merge([tmp_path / "r.json"], tmp_path / "nodir" / "x.json")
    (tmp_path / "cells").mkdir()
    (tmp_path / "cells" / ".stylize.lock").write_text("")
    with pytest.raises(Exception, match=r".stylize.lock in it is not a file stylize made"):
        claim_folder(tmp_path / "cells").take()
    video = pytest.importorskip("stylize.video")
    frames = tmp_path / "frames"
    frames.mkdir()
    pattern(16, 16).save(frames / "frame_00001.png")
    pattern(16, 16).save(frames / "frame_00002.gif", save_all=True, append_images=[pattern(16, 16, seed=5)])
    with pytest.raises(video.VideoError, match=r"frame_00002.gif: an image of 2 frames; a frames folder holds one"):
        video.open_clip(frames)


def test_a_figure_refused_at_its_cells_folders_lock_leaves_no_empty_cells_folder(photo, art, tmp_path, monkeypatch):
    from stylize import claims
    from stylize.errors import ClaimError

    def full(folder):
        raise ClaimError(f"{folder}: cannot write .stylize.lock in it (No space left on device)")

    monkeypatch.setattr(claims, "claim_folder", full)
    r = run("figure1", photo, art, "-o", tmp_path / "f.png", "--cells-dir", tmp_path / "cells" / "new", *FAST)
    assert r.exit_code == 1 and "No space left on device" in one_line(r), cli_result_text(r)
    assert not (tmp_path / "cells").exists() and not (tmp_path / "f.png").exists()


def test_a_name_over_255_bytes_anywhere_is_one_line_and_a_batch_pair_fails_alone(photo, art, tmp_path, monkeypatch):
    """Round 9: Path.exists()/is_dir()/is_file() raise ENAMETOOLONG (Python <= 3.13): --init, masks, --weights,
    a video's -o, --out-dir, report merge and a manifest's output gave tracebacks; a batch lost all its pairs.
    Every probe of a user's path is os.path's, which says False."""
    monkeypatch.chdir(tmp_path)
    long = "x" * 300
    for args in (["--init", long + ".png"], ["--content-mask", long + ".png", "--style-mask", "white"],
                 ["--style-mask", long + ".png"], ["--weights", long + ".pth"]):
        r = run(photo, art, "-o", "o.png", *FAST, *args)
        assert r.exit_code == 2 and "Traceback" not in r.stderr and args[0] in r.stderr.splitlines()[-1], args
    r = run("batch", "--content", photo, "--style", art, "--out-dir", long, *FAST)
    assert r.exit_code == 1 and r.stderr.startswith("Error: ") and len(r.stderr.splitlines()) == 1
    r = run("report", "merge", long + ".json", "-o", "x.json")  # a missing input: a usage error
    assert r.exit_code == 2 and r.stderr.splitlines()[-1].endswith(f"{long}.json' does not exist.")
    (tmp_path / "o").mkdir()
    rows = batch.read_manifest(f"content,style,output\n{photo},{art},{long}.png\n{photo},{art},ok.png\n")
    pairs = batch.plan(rows, tmp_path / "o")  # (raised OSError: a traceback, and no pair made)
    records = [batch.record_of(p) for p in pairs]
    assert batch.triage(pairs[0], records[0]) is None and "the file name is too long" in records[0].error
    assert batch.triage(pairs[1], records[1]) is False  # the other pair goes on
    # (round 18: a template too long by itself is refused at once; this one is too long with the file's stem)
    pair = batch.plan([(str(photo), str(art), None)], tmp_path / "o", "{content}{index:>250}.png")[0]
    record = batch.record_of(pair)
    assert batch.triage(pair, record) is None and "the file name is too long" in record.error


# round 10
def test_a_shards_report_or_contact_sheet_is_no_file_of_another_shards_pair(images, tmp_path):
    """Round 10: `--shard 1/2 --contact-sheet d.png --overwrite` (d.png: pair 2's content) wrote the sheet over
    it, and so did --report; a sheet at pair 2's output made shard 2 skip it as done. The checks saw one shard."""
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"content,style\n{images / 'photo0.png'},{images / 'art0.jpg'}\n"
                        f"{images / 'photo1.png'},{images / 'art0.jpg'}\n")
    before = (images / "photo1.png").read_bytes()
    other_output = tmp_path / "out" / "photo1__art0.png"
    for flag, path in (("--contact-sheet", images / "photo1.png"), ("--report", images / "photo1.png"),
                       ("--contact-sheet", other_output), ("--report", other_output)):
        r = run("batch", manifest, "--out-dir", tmp_path / "out", "--shard", "1/2", flag, path, "--overwrite", *FAST)
        assert r.exit_code == 1 and ("reads or writes" in one_line(r) or "would overwrite an input" in one_line(r)
                                     or "one of the pairs' outputs" in one_line(r)), (flag, cli_result_text(r))
    assert (images / "photo1.png").read_bytes() == before and not other_output.exists()


@pytest.mark.vgg  # (a batch loads its weights before its first pair)
def test_a_frames_folder_a_video_is_writing_is_its_own(tmp_path, photo, art, synthetic_weights):
    """Round 10: `stylize c.png s.png -o vf/frame_00002.png` while `video ... -o vf` ran said "Wrote", then the
    video replaced that file with its frame (frames were saved with overwrite, whatever appeared meanwhile)."""
    from stylize.claims import claim_folder, folder_held
    from stylize.images import check_output

    vf = tmp_path / "vf"
    vf.mkdir()
    probe = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom stylize.claims import claim_folder\n"
                              "c = claim_folder(sys.argv[1]).take()\nprint('held', flush=True)\ntime.sleep(60)",
                              str(vf)], stdout=subprocess.PIPE, text=True)
    try:
        assert probe.stdout.readline().strip() == "held" and folder_held(vf)
        with pytest.raises(Exception, match=rf"is a folder a running stylize writes in \(pid {probe.pid}\) \(a video's "
                                            r"frames, a figure's --cells-dir\)"):  # round 30: a grid's was "a video's"
            check_output(vf / "frame_00002.png")
        r = run("batch", "--content", photo, "--style", art, "--out-dir", vf, *FAST)
        assert r.exit_code == 3 and "a folder a running stylize writes in" in r.stderr, cli_result_text(r)
        # round 18: a batch's --report or --contact-sheet, and `report merge -o`, were written there (at a frame's
        # name too), and the video failed at that frame after its work
        report = tmp_path / "r.json"
        assert run("batch", "--content", photo, "--style", art, "--out-dir", tmp_path / "o", "--report", report,
                   *synthetic(synthetic_weights)).exit_code == 0
        for args in (["--report", vf / "r.json"], ["--contact-sheet", vf / "frame_00003.png"]):
            r = run("batch", "--content", photo, "--style", art, "--out-dir", tmp_path / "o2", *args, *FAST)
            assert r.exit_code == 1 and "a folder a running stylize writes in" in r.stderr, cli_result_text(r)
        r = run("report", "merge", report, "-o", vf / "frame_00002.png")
        assert r.exit_code == 1 and "a folder a running stylize writes in" in r.stderr, cli_result_text(r)
        r = run("batch", "--content", photo, "--style", art, "--out-dir", vf / "sub", *FAST)  # round 19: below it
        assert r.exit_code == 3 and "a folder a running stylize writes in" in r.stderr, cli_result_text(r)
        assert sorted(f.name for f in vf.iterdir()) == [".stylize.lock"]
    finally:
        probe.kill()
        probe.wait()
    assert not folder_held(vf)
    with claim_folder(vf):  # this process's own claim: its own outputs there are not refused by it
        assert not folder_held(vf)


def test_ctrl_c_whose_best_image_cannot_be_saved_says_why(photo, art, tmp_path, monkeypatch, synthetic_weights):
    """Round 10: a full disk (or a user's file at a .jpg's mark name) when Ctrl-C saved the best image so far:
    only "Interrupted." and 130, though nothing was saved; the README's 130 promises the image."""
    import contextlib
    from signal import SIGINT

    from stylize import cli as cli_module, files, synthesis
    from stylize.errors import ImageError

    passes, real = [], synthesis.Bookkeeper._pass
    monkeypatch.setattr(synthesis.Bookkeeper, "_pass", lambda self, leaf: passes.append(1) or real(self, leaf))

    class AfterTheFirstIteration:  # (once a pass has ended: should_stop is also asked while one computes)
        signal = SIGINT

        def __call__(self):
            return len(passes) > 1

    def full(image, path, *args, **kwargs):
        raise ImageError(f"{path}: cannot write the image (No space left on device)")

    monkeypatch.setattr(cli_module, "catch_signals", lambda: contextlib.nullcontext(AfterTheFirstIteration()))
    monkeypatch.setattr(files, "save_image", full)
    r = run(photo, art, "-o", tmp_path / "o.png", *synthetic(synthetic_weights))
    assert r.exit_code == 130 and r.stderr.strip().endswith(
        "Interrupted; the best image so far could not be saved: " + f"{tmp_path / 'o.png'}: cannot write the image "
        "(No space left on device)"), cli_result_text(r)
    (tmp_path / "out.jpg.stylize.json").write_text('{"mine": true}')  # where a large .jpg mark would go
    r = run(photo, art, "-o", tmp_path / "out.jpg", *synthetic(synthetic_weights))
    assert r.exit_code == 1 and "out.jpg.stylize.json: already exists and is not stylize's" in one_line(r)
    (tmp_path / "out.00001.png").mkdir()  # a folder at an intermediate's name: refused before the work
    r = run(photo, art, "-o", tmp_path / "out.png", "--save-every", "1", "--overwrite", *synthetic(synthetic_weights))
    assert r.exit_code == 1 and "out.00001.png: is a directory" in one_line(r)


@pytest.mark.vgg
def test_round_10_numbers_reports_and_messages(images, tmp_path, monkeypatch):
    """Round 10 (b): a JSON blend weight 1e-400 (a float literal, not a string) read as 0; --skip-existing
    replaced another batch's report; a 5000-digit $STYLIZE_MEMORY_LIMIT echoed whole; an ImportError without
    words gave "cannot load a module ()"; cv2 failing to map under `ulimit -v` was "not installed"."""
    from stylize import memory
    from stylize.errors import OutOfMemoryError

    rows = batch.read_manifest('{"content": "a.png", "style": ["b.png", "c.png"], "blend": [1e-400, 1]}\n'
                               '{"content": "a.png", "style": ["b.png", "c.png"], "blend": [0.5, 1]}\n')
    assert "line 1: blend weight 1 of 2: '1e-400' is too small to be told from 0" in rows[0].error \
        and rows[1].blend == (0.5, 1.0)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(f"content,style\n{images / 'photo0.png'},{images / 'art0.jpg'}\n")
    b.write_text(f"content,style\n{images / 'photo1.png'},{images / 'art1.jpg'}\n")
    assert run("batch", a, "--out-dir", tmp_path / "oa", "--report", tmp_path / "r.json", *FAST).exit_code == 0
    before = (tmp_path / "r.json").read_text()
    r = run("batch", b, "--out-dir", tmp_path / "ob", "--report", tmp_path / "r.json", "--skip-existing", *FAST)
    assert r.exit_code == 1 and "the report of another manifest's pairs" in one_line(r) and (tmp_path / "r.json").read_text() \
        == before
    monkeypatch.setenv("STYLIZE_MEMORY_LIMIT", "9" * 5000)
    with pytest.raises(OutOfMemoryError, match=r"=a text of 5000 characters is not a positive number"):
        memory.budget_override()
    video = pytest.importorskip("stylize.video")
    error = video._missing(ImportError("libopencv_core.so: failed to map segment from shared object", name="cv2"),
                           "cv2")
    assert str(error).startswith("out of memory: cannot load cv2")


def test_a_run_whose_loss_is_too_flat_to_lower_says_so(photo, art, tmp_path, synthetic_weights):
    """Round 10: --content-weight 1e-12 --style-weight 1e-12 (in range) ended after 1 iteration, recorded as
    "iterations" with no word why: L-BFGS found no step that lowers the loss. It says so now ("stalled")."""
    r = run(photo, art, "-o", tmp_path / "o.png", "--no-until-done", "--content-weight", "1e-12", "--style-weight",
            "1e-12", *[o for o in synthetic(synthetic_weights) if o != "--quiet"])
    assert r.exit_code == 0 and "stopped early: no step lowers the loss any more" in r.stderr, cli_result_text(r)
    assert read_metadata(tmp_path / "o.png")["stopped"] == "stalled"


# round 11
def test_a_snapshot_or_a_cell_never_takes_a_name_another_run_is_making(photo, art, tmp_path):
    """Round 11: a run writing `a.png --save-every 50` wrote a.00050.png while another run made `-o a.00050.png`
    (that run then failed after all its work); a figure's cells folder took a running transfer's
    `cells/style-A.png` the same way. A snapshot is skipped; a figure is refused at its start."""
    from types import SimpleNamespace

    import torch

    from stylize import figures, files
    from stylize.errors import ClaimError

    from .test_claims import holder

    other = holder(tmp_path / "a.00050.png")  # the other run, making -o a.00050.png
    try:
        progress = SimpleNamespace(level=0, levels=1, iteration=50, image=torch.rand(1, 3, 8, 8), content=1.0,
                                   style=1.0, loss=1.0)
        assert files.save_intermediate(progress, tmp_path / "a.png") is None
        assert not (tmp_path / "a.00050.png").exists()
        (tmp_path / "cells").mkdir()
        cell = figures.cell_paths(tmp_path / "cells", ["style-A"])[0]
        making = holder(cell)
        try:
            with pytest.raises(ClaimError, match="another stylize run"):
                figures.prepare_cells(tmp_path / "cells", ["style-A"])
        finally:
            making.kill()
            making.wait()
    finally:
        other.kill()
        other.wait()
    assert files.save_intermediate(progress, tmp_path / "a.png") == tmp_path / "a.00050.png"  # free: written


def test_a_signal_after_the_works_last_check_leaves_a_finished_run_finished(tmp_path, monkeypatch):
    """Round 11: SIGINT while a video's frames were removed (after "Wrote out.mp4") exited 130 "Interrupted.",
    and the rerun the README advises was refused ("already exists"). A finished run exits 0."""
    import signal as signals

    from stylize import cli as cli_module, console, report

    (tmp_path / "r.json").write_text(json.dumps(report.document("x", {}, 1, [])))
    merge = report.merge

    def merge_then_signal(*args, **kwargs):
        done = merge(*args, **kwargs)
        console.EARLY.signal = signals.SIGINT  # noted after the work, as catch_signals' handler does
        return done

    monkeypatch.setattr(report, "merge", merge_then_signal)
    monkeypatch.setattr(console.EARLY, "signal", None)
    monkeypatch.setattr(sys, "argv", ["stylize", "report", "merge", str(tmp_path / "r.json"), "-o",
                                      str(tmp_path / "m.json")])
    with pytest.raises(SystemExit) as e:
        cli_module.main()
    for s in (signals.SIGINT, signals.SIGTERM):  # main ignores both once done: give them back to pytest
        signals.signal(s, signals.default_int_handler if s == signals.SIGINT else signals.SIG_DFL)
    assert e.value.code == 0 and (tmp_path / "m.json").exists()
    rows = batch.read_manifest('{"content": "a\\ud800.png", "style": "b.png"}\n{"content": "a.png", "style": "b.png"}')
    assert "line 1: a path holds a character no file name can" in rows[0].error and rows[1].error is None
