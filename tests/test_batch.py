"""Batches: manifests, globs, shards, resume, reports, exit codes, one network and targets reused."""

import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from stylize import batch, synthesis
from stylize.cli import cli
from stylize.errors import ClusterError, ImageError, ManifestError, StylizeError, UsageError
from stylize.settings import Settings

from .conftest import EXAMPLES, cli_result_text, pattern, synthetic

FAST = ["--size", "32", "--iterations", "2", "--quiet"]


def run(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)


def test_manifest_formats():
    Row = batch.Row
    assert batch.read_manifest("content,style\na.jpg,b.jpg\n") == [Row("a.jpg", ("b.jpg",))]
    assert batch.read_manifest("Content, Style ,output\na.jpg,b.jpg,o.png\n") == [Row("a.jpg", ("b.jpg",), "o.png")]
    assert batch.read_manifest('{"content": "a.jpg", "style": "b.jpg"}\n\n{"content": "c", "style": "d", "output": "x.png"}\n') \
        == [Row("a.jpg", ("b.jpg",)), Row("c", ("d",), "x.png")]
    # several styles with blend weights; an empty output means "use the name template" in both formats
    assert batch.read_manifest('content,style,output,blend\na.jpg,b.jpg;c.jpg,,"3,7"\n') \
        == [Row("a.jpg", ("b.jpg", "c.jpg"), None, (3.0, 7.0))]
    assert batch.read_manifest('{"content": "a", "style": ["b", "c"], "blend": [1, 2], "output": ""}\n') \
        == [Row("a", ("b", "c"), None, (1.0, 2.0))]
    for bad, message in (("", "is empty"), ("a,b\n1,2\n", "not a manifest: JSON lines, or CSV whose header names the columns")):
        with pytest.raises(ManifestError, match=message):
            batch.read_manifest(bad)
    for bad, message in (('{"content": "a"}\n', "line 1: needs \"content\" and \"style\""), ("{oops\n", "not JSON"),
                         ("content,style\na.jpg,\n", "line 2: the style cell is empty"),
                         ("content,style\n,b.jpg\n", "line 2: the content cell is empty"),
                         ("content,style,output\na.jpg\n", "line 2: 1 cell for the 3 columns of the header (no style)"),
                         ('{"content": "a", "style": "b", "output": 3}\n', "must be a file name")):
        assert message in batch.read_manifest(bad)[0].error  # that line fails alone


def test_a_bad_blend_is_the_pairs_own_error_not_the_manifests():
    rows = batch.read_manifest('{"content": "a", "style": ["b", "c"], "blend": [1]}\n'
                               '{"content": "a", "style": "b", "blend": [0]}\n{"content": "a", "style": "b"}\n')
    assert "1 blend weights for 2 style" in rows[0].error
    assert "blend weight 1 of 1 is 0: its style image would have no effect" in rows[1].error
    assert rows[2].error is None


def test_plan_names_outputs_and_refuses_collisions(tmp_path):
    pairs = batch.plan([("x/a.jpg", "y/b.png", None), ("a2.jpg", "b.png", "sub/o.jpg")], tmp_path)
    assert [p.output for p in pairs] == [tmp_path / "a__b.png", tmp_path / "sub" / "o.jpg"]
    with pytest.raises(ManifestError, match="pairs 1 and 2 would both write"):
        batch.plan([("d1/a.jpg", "b.jpg", None), ("d2/a.jpg", "b.jpg", None)], tmp_path)
    with pytest.raises(ManifestError, match="unknown placeholder"):
        batch.plan([("a.jpg", "b.jpg", None)], tmp_path, "{photo}.png")
    with pytest.raises(ImageError, match="unknown output extension"):
        batch.plan([("a.jpg", "b.jpg", None)], tmp_path, "{content}.nope")


def test_shards_are_disjoint_and_cover_everything(tmp_path):
    pairs = batch.plan([(f"c{i}.jpg", "s.jpg", None) for i in range(23)], tmp_path)
    shares = [batch.shard(pairs, i, 4) for i in range(1, 5)]
    indices = sorted(p.index for share in shares for p in share)
    assert indices == list(range(23))
    assert batch.shard(pairs, 2, 4) == batch.shard(pairs, 2, 4)


@pytest.mark.vgg
def test_product_of_globs_one_network_and_targets_computed_once(images, tmp_path, monkeypatch):
    counts = {"content": 0, "style": 0}
    real_c, real_s = synthesis.content_targets, synthesis.style_targets

    def count(kind, real):
        def wrapped(*a, **k):
            counts[kind] += 1
            return real(*a, **k)
        return wrapped

    monkeypatch.setattr(synthesis, "content_targets", count("content", real_c))
    monkeypatch.setattr(synthesis, "style_targets", count("style", real_s))
    out = tmp_path / "out"
    r = run("batch", "--content", images / "photo*.png", "--style", images / "art*.jpg", "--out-dir", out,
            "--report", tmp_path / "report.json", *FAST)
    assert r.exit_code == 0, cli_result_text(r)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"photo{i}__art{j}.png" for i in range(3) for j in range(2))
    assert Image.open(out / "photo0__art1.png").size == (32, 26)
    assert counts == {"content": 3, "style": 2}  # 6 pairs: each image's targets once
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["summary"] == {"ok": 6}
    assert all(p["status"] == "ok" and p["seconds"] > 0 and p["style_loss"] > 0 for p in report["pairs"])


@pytest.mark.vgg
def test_csv_manifest_from_stdin_with_failures_reported_and_exit_3(images, tmp_path):
    (tmp_path / "broken.jpg").write_text("not a jpeg")
    manifest = ("content,style,output\n"
                f"{images / 'photo0.png'},{images / 'art0.jpg'},\n"
                f"{tmp_path / 'broken.jpg'},{images / 'art0.jpg'},\n"
                f"{images / 'photo1.png'},{images / 'art1.jpg'},named.webp\n")
    r = run("batch", "-", "--out-dir", tmp_path / "o", "--report", tmp_path / "r.json", *FAST, input=manifest)
    assert r.exit_code == 3, cli_result_text(r)
    report = json.loads((tmp_path / "r.json").read_text())
    assert [p["status"] for p in report["pairs"]] == ["ok", "failed", "ok"]
    assert "not an image Pillow can read" in report["pairs"][1]["error"]
    assert (tmp_path / "o" / "named.webp").exists()
    assert "Traceback" not in r.output


@pytest.mark.vgg  # (a batch loads its weights before its first pair)
def test_stop_on_error_leaves_the_rest_pending(images, tmp_path):
    (tmp_path / "broken.jpg").write_text("x")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"content": str(tmp_path / "broken.jpg"), "style": str(images / "art0.jpg")}) + "\n"
                        + json.dumps({"content": str(images / "photo0.png"), "style": str(images / "art0.jpg")}) + "\n")
    r = run("batch", manifest, "--out-dir", tmp_path / "o", "--stop-on-error", "--report", tmp_path / "r.json", *FAST)
    assert r.exit_code == 3
    assert [p["status"] for p in json.loads((tmp_path / "r.json").read_text())["pairs"]] == ["failed", "pending"]


def _signal_after(real_run):
    """batch.run, then a SIGINT to this process as if Ctrl-C came right after (real_run None: instead of it)."""
    import signal

    def run_then_signal(*args, **kwargs):
        if real_run is not None:
            real_run(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
    return run_then_signal


@pytest.mark.vgg  # (a batch loads its weights before its first pair)
def test_a_batch_interrupted_before_its_first_pair_leaves_no_new_out_dir(images, tmp_path, monkeypatch):
    from stylize import console

    monkeypatch.setattr(console.EARLY, "signal", None)
    monkeypatch.setattr(batch, "run", _signal_after(None))
    r = run("batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir",
            tmp_path / "new" / "out", *FAST[:-1])
    assert r.exit_code == 130 and "1 pending" in r.stderr and "Interrupted: rerun" in r.stderr, cli_result_text(r)
    assert not (tmp_path / "new").exists()  # neither new folder is left
    console.EARLY.signal = None  # (as in a new process: a signal before a command's work counts as its first)
    r = run("batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir",
            tmp_path / "new" / "out", "--overwrite", *FAST[:-1])  # round 15: --skip-existing would keep the old
    assert r.exit_code == 130 and r.stderr.endswith("Interrupted: rerun with --overwrite to make every pair.\n")


def test_the_apis_batch_stopped_before_its_first_pair_leaves_no_empty_out_dir(images, tmp_path, synthetic_weights):
    """Hostile round 37: batch.run_batch stopped before anything was written left the --out-dir it had made (the
    command line removed it, the API did not); with every pair failed too."""
    pairs = batch.intake(None, [str(images / "photo0.png")], [str(images / "art0.jpg")], tmp_path / "new" / "out")
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    rep = batch.run_batch(pairs, tmp_path / "new" / "out", settings, should_stop=lambda: True)
    assert [r.status for r in rep.records] == ["pending"] and not (tmp_path / "new").exists()
    (tmp_path / "broken.png").write_bytes(b"not an image")
    pairs = batch.intake(None, [str(tmp_path / "broken.png")], [str(images / "art0.jpg")], tmp_path / "new" / "out")
    rep = batch.run_batch(pairs, tmp_path / "new" / "out", settings)
    assert [r.status for r in rep.records] == ["failed"] and not (tmp_path / "new").exists()


@pytest.mark.vgg  # (a batch loads its weights before its first pair)
def test_a_second_ctrl_c_leaves_no_claim_of_the_contact_sheet_and_no_empty_out_dir(images, tmp_path, monkeypatch):
    """Hostile round 14: a second Ctrl-C (KeyboardInterrupt) while the network loaded left the sheet's hidden
    claim file in the new --out-dir, and the folder."""
    def second_ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "run", second_ctrl_c)
    r = run("batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir",
            tmp_path / "o", "--contact-sheet", tmp_path / "o" / "sheet.png", *FAST)
    assert r.exit_code == 1 and "Aborted" in r.stderr  # (click's words in-process; cli.main says "Interrupted.")
    assert not (tmp_path / "o").exists()


def test_a_signal_after_every_pair_is_done_leaves_the_batch_finished(images, tmp_path, monkeypatch,
                                                                     synthetic_weights):
    from stylize import console

    monkeypatch.setattr(console.EARLY, "signal", None)
    monkeypatch.setattr(batch, "run", _signal_after(batch.run))
    tiny = synthetic(synthetic_weights)[:-1]
    r = run("batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir", tmp_path / "o",
            *tiny)
    assert r.exit_code == 0 and "1 ok" in r.stderr and "Interrupted" not in r.stderr, cli_result_text(r)
    assert len(os.listdir(tmp_path / "o")) == 1
    console.EARLY.signal = None
    sheet = tmp_path / "sheet.png"  # with a contact sheet still to write, the signal stops the batch before it
    r = run("batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir", tmp_path / "o",
            "--skip-existing", "--contact-sheet", sheet, *tiny)
    assert r.exit_code == 130 and "Interrupted: rerun" in r.stderr and not sheet.exists(), cli_result_text(r)


@pytest.mark.vgg
def test_skip_existing_resumes_and_existing_outputs_are_never_replaced(images, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    pattern(20, 16, 5).save(out / "photo0__art0.png")  # a picture of the user's (no stylize metadata)
    mine = (out / "photo0__art0.png").read_bytes()
    args = ["batch", "--content", images / "photo0.png", "--content", images / "photo1.png",
            "--style", images / "art0.jpg", "--out-dir", out, "--report", tmp_path / "r.json", *FAST]
    r = run(*args)
    assert r.exit_code == 3 and (out / "photo0__art0.png").read_bytes() == mine
    first = json.loads((tmp_path / "r.json").read_text())["pairs"]
    assert first[0]["error"].endswith("already exists (use --skip-existing or --overwrite)")
    r = run(*args, "--skip-existing")
    assert r.exit_code == 0
    pairs = json.loads((tmp_path / "r.json").read_text())["pairs"]
    assert [p["status"] for p in pairs] == ["skipped", "skipped"]
    # a resumed pair keeps what its earlier run measured (read from its output); the user's file has nothing
    measured = ("content_loss", "style_loss", "iterations", "evaluations")
    assert [pairs[1][k] for k in measured] == [first[1][k] for k in measured] and first[1]["iterations"] > 0
    assert [pairs[0][k] for k in measured] == [None] * 4
    # round 21: an output made with other settings was kept as this batch's (the report told the new settings)
    before = (out / "photo1__art0.png").read_bytes()
    r = run(*args[:-len(FAST) - 2], "--report", tmp_path / "r40.json", *FAST, "--size", "40", "--skip-existing")
    pairs = json.loads((tmp_path / "r40.json").read_text())["pairs"]
    assert r.exit_code == 3 and [p["status"] for p in pairs] == ["skipped", "failed"], cli_result_text(r)
    assert "photo1__art0.png exists, made with --size 32, not 40; rerun with --overwrite in place of --skip-existing" in pairs[1]["error"]
    assert (out / "photo1__art0.png").read_bytes() == before


@pytest.mark.vgg
def test_partial_outputs_are_redone_on_resume(images, tmp_path):
    from stylize.images import save_image

    out = tmp_path / "o"
    out.mkdir()
    save_image(pattern(8, 8), out / "photo0__art0.png", {"partial": True})
    r = run("batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir", out,
            "--skip-existing", "--report", tmp_path / "r.json", *FAST)
    assert r.exit_code == 0
    assert json.loads((tmp_path / "r.json").read_text())["pairs"][0]["status"] == "ok"
    assert Image.open(out / "photo0__art0.png").size == (32, 26)


@pytest.mark.vgg
def test_shard_option_runs_only_its_share(images, tmp_path):
    args = ["batch", "--content", images / "photo*.png", "--style", images / "art0.jpg", "--out-dir", tmp_path / "o", *FAST]
    assert run(*args, "--shard", "2/2").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["photo1__art0.png"]
    assert run(*args, "--shard", "1/2").exit_code == 0
    assert len(list((tmp_path / "o").iterdir())) == 3


def test_a_shard_that_holds_no_pair_shares_the_report_and_merges(images, tmp_path, synthetic_weights):
    """Round 33: --shard 4/4 of a 3-pair manifest (a Job with more completions than pairs) wrote a report of
    "manifest_pairs": 0, which refused the other shards' shared report ("another batch") and `report merge`."""
    args = ["batch", "--content", images / "photo*.png", "--style", images / "art0.jpg", "--out-dir", tmp_path / "o",
            *[a for a in synthetic(synthetic_weights) if a != "--quiet"]]
    r = run(*args, "--shard", "4/4", "--report", tmp_path / "r.json")
    assert r.exit_code == 0 and "no pair: this shard holds none of the manifest's 3; report:" in r.stderr
    assert not (tmp_path / "o").exists()
    assert json.loads((tmp_path / "r.json").read_text())["manifest_pairs"] == 3
    for i in (1, 2, 3):
        assert run(*args, "--shard", f"{i}/4", "--report", tmp_path / "r.json").exit_code == 0
        assert run(*args, "--shard", f"{i}/4", "--report", tmp_path / f"r{i}.json", "--skip-existing").exit_code == 0
    assert json.loads((tmp_path / "r.json").read_text())["summary"] == {"ok": 3}
    shards = [tmp_path / f"r{i}.json" for i in (1, 2, 3)]
    r = run("report", "merge", tmp_path / "r.json", *shards, "-o", tmp_path / "m.json")
    assert r.exit_code == 0 and json.loads((tmp_path / "m.json").read_text())["summary"] == {"skipped": 3}, \
        cli_result_text(r)


@pytest.mark.parametrize("args,message", [
    (["--shard", "3/2"], "need 1 <= I <= N"),
    (["--shard", "x"], "is not of the form I/N"),
    ([], "give a MANIFEST, or both --content and --style"),
])
def test_batch_usage_errors(tmp_path, args, message):
    r = run("batch", "--out-dir", tmp_path, *args)
    assert r.exit_code == 2 and message in r.stderr


def test_a_missing_content_style_or_manifest_is_a_usage_error(tmp_path, images):
    art = images / "art0.jpg"
    (tmp_path / "loop.jpg").symlink_to(tmp_path / "loop.jpg")
    for args, message in ((["--content", tmp_path / "nope.jpg", "--style", art], "--content {t}/nope.jpg: no such file"),
                          (["--content", art, "--style", tmp_path], "--style {t}: is a directory: give its files as a "
                                                                    "glob, e.g. {t}/*.jpg"),
                          ([tmp_path / "nope.csv"], "{t}/nope.csv: no such file"),
                          # round 36: a pipe, a device, a looping link were "no such file"
                          (["--content", "/dev/null", "--style", art], "--content /dev/null: not a regular file (a "
                                                                        "pipe, socket or device)"),
                          (["--content", tmp_path / "loop.jpg", "--style", art], "--content {t}/loop.jpg: a link "
                                                                                 "that loops")):
        r = run("batch", *args, "--out-dir", tmp_path / "o", *FAST)
        assert r.exit_code == 2 and message.format(t=tmp_path) in r.stderr, cli_result_text(r)
    assert not (tmp_path / "o").exists()


def test_a_mask_that_does_not_fit_a_pair_fails_it_before_the_first_pair(tmp_path, synthetic_weights):
    """Hostile round 12: a content mask of another shape than the second content image was found only after
    the first pair's work (and --stop-on-error stopped only then)."""
    from PIL import Image

    pattern(40, 30, 1).save(tmp_path / "a.png")
    pattern(30, 40, 2).save(tmp_path / "tall.png")
    pattern(40, 30, 3).save(tmp_path / "s.png")
    Image.new("RGB", (40, 30), "white").save(tmp_path / "mask.png")
    args = ["batch", "--content", tmp_path / "a.png", "--content", tmp_path / "tall.png", "--style", tmp_path / "s.png",
            "--content-mask", tmp_path / "mask.png", "--style-mask", "white", "--report", tmp_path / "r.json",
            *synthetic(synthetic_weights)]
    r = run(*args, "--out-dir", tmp_path / "o1", "--stop-on-error")
    assert r.exit_code == 3, cli_result_text(r)
    pairs = json.loads((tmp_path / "r.json").read_text())["pairs"]
    assert [p["status"] for p in pairs] == ["pending", "failed"] and not (tmp_path / "o1").exists()
    assert pairs[1]["error"].startswith(f"pair 2: {tmp_path / 'mask.png'}: the mask is 40x30 px but the content image ")
    r = run(*args, "--out-dir", tmp_path / "o2", "--overwrite")
    assert r.exit_code == 3, cli_result_text(r)
    assert [p["status"] for p in json.loads((tmp_path / "r.json").read_text())["pairs"]] == ["ok", "failed"]


def test_an_output_name_only_a_folder_can_have_fails_its_pair_and_the_record_names_what_was_asked(tmp_path, images):
    """Hostile round 13: a manifest's "x.png/" (or a template ending in '/') wrote out/x.png; a JSON "output" of
    a space was taken for the template's name; a failed pair's record named --out-dir as its output."""
    photo, art = images / "photo0.png", images / "art0.jpg"
    lines = [{"content": str(photo), "style": str(art), "output": o} for o in ("x.png/", "y.png/.", " ", ".")]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    r = run("batch", tmp_path / "m.jsonl", "--out-dir", tmp_path / "o", "--report", tmp_path / "r.json", *FAST)
    assert r.exit_code == 3, cli_result_text(r)
    pairs = json.loads((tmp_path / "r.json").read_text())["pairs"]
    assert [p["error"].partition(": ")[2] for p in pairs] == [
        '"output" x.png/ names a folder: give a file name', '"output" y.png/. names a folder: give a file name',
        f"{tmp_path / 'o'}/ : the name has no extension; use .png, .jpg, .webp, .tif, ...",
        '"output" . names a folder: give a file name']
    assert pairs[2]["output"] == f"{tmp_path / 'o'}/ " and not (tmp_path / "o").exists()
    r = run("batch", "--content", photo, "--style", art, "--out-dir", tmp_path / "o", "--name-template",
            "{content}.png/", *FAST)
    assert r.exit_code == 2 and "name template '{content}.png/' names a folder" in r.stderr, cli_result_text(r)
    for template, name in (("{content:.0}", ""), ("x/{content:.0}", "x/")):  # round 14: "o: unknown extension"
        r = run("batch", "--content", photo, "--style", art, "--out-dir", tmp_path / "o", "--name-template", template,
                *FAST)
        assert r.exit_code == 1 and f"gives {name!r} for pair 1, which names no file" in r.stderr, cli_result_text(r)
    assert not (tmp_path / "o").exists()


def test_dash_beside_a_file_named_dash_is_refused_as_ambiguous(tmp_path, images, monkeypatch):
    """Hostile round 13: `batch -` read standard input though a file named '-' was there (as `--init noise`
    beside a file named noise, both readings are possible: the user says which)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-").write_text(f"content,style\n{images / 'photo0.png'},{images / 'art0.jpg'}\n")
    r = run("batch", "-", "--out-dir", tmp_path / "o", *FAST, input=(tmp_path / "-").read_text())
    assert r.exit_code == 2 and "write ./- for the file" in r.stderr and not (tmp_path / "o").exists()


@pytest.mark.vgg  # (a batch loads its weights before its first pair)
def test_skip_existing_keeps_a_link_to_nothing_or_a_pipe_at_an_output_name(tmp_path, images):
    """Hostile round 14: --skip-existing replaced a user's dangling link or FIFO at an output name (neither is a
    finished output, so it was "redone"); and a folder at one pair's output name refused the whole batch."""
    art = images / "art0.jpg"
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "photo0__art0.png").symlink_to(tmp_path / "nowhere.png")
    os.mkfifo(tmp_path / "o" / "photo1__art0.png")
    (tmp_path / "o" / "photo2__art0.png").mkdir()
    contents = [a for k in range(3) for a in ("--content", images / f"photo{k}.png")]
    r = run("batch", *contents, "--style", art, "--out-dir", tmp_path / "o", "--skip-existing", "--report",
            tmp_path / "r.json", *FAST)
    assert r.exit_code == 3, cli_result_text(r)
    errors = [p["error"] for p in json.loads((tmp_path / "r.json").read_text())["pairs"]]
    assert [e.endswith("exists and is not an image file (a link to nothing, a pipe, ...); move it away (a "
                       "--skip-existing resume then makes it), or rerun with --overwrite in place of --skip-existing "
                       "(which makes every pair again)") for e in errors[:2]] == [True, True]  # (round 95)
    assert errors[2].endswith("photo2__art0.png: is a directory; an output is a file")
    assert (tmp_path / "o" / "photo0__art0.png").is_symlink() and not os.path.isfile(tmp_path / "o" / "photo1__art0.png")


def test_a_header_without_pairs_and_a_control_character_in_a_template_are_refused(tmp_path, images):
    """Hostile round 15: a manifest of its header alone exited 0 with an empty report and contact sheet; a '\\r'
    typed into --name-template went into the file names."""
    for text in ("content,style\n", "content,style\r\n\r\n"):
        with pytest.raises(ManifestError, match="m.csv has a header and no pairs"):
            batch.read_manifest(text, "m.csv")
    r = run("batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir", tmp_path / "o",
            "--name-template", "{content}\r.png", *FAST)
    assert r.exit_code == 2 and "holds a control character" in r.stderr and not (tmp_path / "o").exists()


def test_glob_matching_nothing_is_an_error(tmp_path, images):
    r = run("batch", "--content", tmp_path / "*.nothing", "--style", images / "art0.jpg", "--out-dir", tmp_path / "o")
    assert r.exit_code == 2 and "matches no file" in r.stderr


# A file that exists is that file: only a name that does not exist is read as a glob or a list
def test_an_existing_file_is_never_a_glob_or_a_list(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pattern(40, 32).save("photo[1].png")
    pattern(40, 32, seed=3).save("photo1.png")
    pattern(36, 36, seed=4).save("a;b.png")
    assert batch.expand(["photo[1].png"]) == ["photo[1].png"]
    assert batch.expand(["photo[0-9].png"]) == ["photo1.png"]
    rows = batch.read_manifest('{"content": "photo1.png", "style": "a;b.png"}\n')
    assert rows[0].styles == ("a;b.png",)
    assert batch.read_manifest("content,style\nphoto1.png,a;b.png\n")[0].styles == ("a;b.png",)
    assert batch.read_manifest("content,style\nphoto1.png,x.png;y.png\n")[0].styles == ("x.png", "y.png")
    pairs = batch.intake(None, ["photo[1].png"], ["a;b.png"], tmp_path / "o")
    assert [(p.content, p.styles) for p in pairs] == [("photo[1].png", ("a;b.png",))]
    # round 10: a folder that exists is that folder too: 'dir[1]/*.png' took dir1's files, not dir[1]'s
    for folder, name in (("dir[1]", "mine.png"), ("dir1", "other.png")):
        (tmp_path / folder).mkdir()
        pattern(8, 8).save(tmp_path / folder / name)
    assert batch.expand(["dir[1]/*.png"]) == [os.path.join("dir[1]", "mine.png")]
    assert batch.expand(["dir[0-9]/*.png"]) == [os.path.join("dir1", "other.png")]  # no such folder: a glob


def _row_height():
    return batch.SHEET_THUMB + batch.SHEET_TEXT + batch.SHEET_PAD


@pytest.mark.vgg
def test_contact_sheet_has_a_row_per_pair_the_bar_names_each_pair_and_an_existing_sheet_is_refused(images, tmp_path):
    sheet = tmp_path / "sheet.jpg"
    args = ["batch", "--content", images / "photo0.png", "--content", images / "photo1.png", "--style",
            images / "art0.jpg", "--size", "32", "--iterations", "2", "--contact-sheet", sheet]
    r = run(*args, "--out-dir", tmp_path / "o")
    assert r.exit_code == 0, cli_result_text(r)
    assert "1/2 photo0.png x art0.jpg" in r.stderr and "2/2 photo1.png x art0.jpg" in r.stderr
    im = Image.open(sheet)
    assert im.format == "JPEG" and im.height == batch.SHEET_PAD + 2 * _row_height()
    assert im.width >= batch.SHEET_PAD + 3 * (batch.SHEET_THUMB + batch.SHEET_PAD)  # content | style | result
    before = sheet.read_bytes()
    r = run(*args, "--out-dir", tmp_path / "again", "--quiet")
    assert r.exit_code == 1 and r.stderr.strip() == f"Error: {sheet}: already exists; pass --overwrite to replace it"
    assert sheet.read_bytes() == before and not (tmp_path / "again").exists()  # refused before any work
    # resuming replaces the batch's own sheet
    r = run(*args, "--out-dir", tmp_path / "o", "--skip-existing", "--quiet")
    assert r.exit_code == 0, cli_result_text(r)


def test_contact_sheet_rows_failed_pairs_and_refusals(images, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    pattern(40, 32, seed=5).save(out / "a.png")
    records = [batch.Record(0, str(images / "photo0.png"), f"{images / 'art0.jpg'};{images / 'art1.jpg'}",
                            str(out / "a.png"), "ok", 1.5, 2.0, 3.0, 2, 3),
               batch.Record(1, str(images / "photo1.png"), str(images / "art0.jpg"), str(out / "b.png"), "failed",
                            error="out of memory"),
               batch.Record(2, str(images / "photo2.png"), str(images / "art1.jpg"), str(out / "c.png"), "pending")]
    mine = batch.plan([(r.content, r.style.split(";"), r.output) for r in records], out)
    path = batch.contact_sheet(records, tmp_path / "sheet.png", batch=batch.sheet_batch(mine, Settings()))
    im = Image.open(path).convert("RGB")
    assert im.height == batch.SHEET_PAD + 3 * _row_height()
    assert im.width == batch.SHEET_PAD + 4 * (batch.SHEET_THUMB + batch.SHEET_PAD)  # content | 2 styles | result
    result_box = (batch.SHEET_PAD + 3 * (batch.SHEET_THUMB + batch.SHEET_PAD) + 2, batch.SHEET_PAD + _row_height() + 2)
    assert im.getpixel(result_box) == (200, 200, 200)  # the failed pair: a grey box, not a result
    assert im.getpixel((result_box[0], batch.SHEET_PAD + batch.SHEET_THUMB // 2)) != (255, 255, 255)  # a result
    pairs = batch.plan([(str(images / "photo0.png"), str(images / "art0.jpg"), None)], out)
    with pytest.raises(ManifestError, match="already exists; pass --overwrite"):
        batch.check_contact_sheet(path, pairs, Settings())
    assert batch.check_contact_sheet(path, pairs, Settings(), overwrite=True) == path
    with pytest.raises(ManifestError, match="already exists"):  # another batch's sheet: resuming is not ours
        batch.check_contact_sheet(path, pairs, Settings(), resume=True)
    assert batch.check_contact_sheet(path, mine, Settings(), resume=True) == path  # this batch's own sheet, resumed
    with pytest.raises(ManifestError, match="of these outputs with other settings"):  # (round 72: its pairs at other
        batch.check_contact_sheet(path, mine, Settings(size=40), resume=True)  # settings: another batch)
    with pytest.raises(ManifestError, match="a file the batch reads or writes"):
        batch.check_contact_sheet(pairs[0].output, pairs, Settings())
    with pytest.raises(ManifestError, match="a .png or .jpg file"):
        batch.check_contact_sheet(tmp_path / "sheet.gif", pairs, Settings())
    assert batch.label(records[0]) == "photo0.png x art0.jpg+art1.jpg"
    # round 30: the API's contact_sheet wrote over an input given as its path, with overwrite=True
    for name in (images / "art1.jpg", out / "a.png"):
        kept = name.read_bytes()
        with pytest.raises(ManifestError, match="a file the batch reads or writes"):
            batch.contact_sheet(records, name, overwrite=True)
        assert name.read_bytes() == kept
    # round 31: and over an --init image or a mask (which records do not name): --overwrite replaces a sheet only
    mine = tmp_path / "mask.png"
    pattern(40, 32, seed=6).save(mine)
    kept = mine.read_bytes()
    with pytest.raises(ManifestError, match="is not a contact sheet stylize made; --overwrite replaces only a contact"):
        batch.contact_sheet(records, mine, overwrite=True)
    for overwrite in (True, False):  # round 37: without it, "pass --overwrite", which then refused it
        with pytest.raises(ManifestError, match="is not a contact sheet stylize made"):
            batch.check_contact_sheet(mine, pairs, Settings(), overwrite=overwrite)
    assert mine.read_bytes() == kept
    assert batch.contact_sheet(records, path, overwrite=True) == path  # a sheet is replaced


def test_a_line_break_in_a_name_or_an_error_is_drawn_escaped_on_the_sheet(images, tmp_path):
    """Round 34: a content named 'a\\nb.jpg' made every pair, then the contact sheet raised Pillow's "can't measure
    length of multiline text" (a traceback, exit 1, no sheet)."""
    content = tmp_path / "a\nb.png"
    content.write_bytes((images / "photo0.png").read_bytes())
    records = [batch.Record(0, str(content), str(images / "art0.jpg"), str(tmp_path / "x\ny.png"), "failed",
                            error="line one\nline two")]
    path = batch.contact_sheet(records, tmp_path / "sheet.png")
    assert Image.open(path).height == batch.SHEET_PAD + _row_height()


@pytest.mark.vgg
def test_a_contact_sheet_may_go_in_the_out_dir_the_batch_creates(images, tmp_path):
    out = tmp_path / "new"
    r = run("batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--size", "32",
            "--iterations", "2", "--quiet", "--out-dir", out, "--contact-sheet", out / "sheet.png")
    assert r.exit_code == 0, cli_result_text(r)
    assert (out / "sheet.png").is_file()


# -- --shard auto: the job array's engine gives the share -----------------------------------------------
SLURM_TASK_2_OF_4 = {"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3",
                     "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_STEP": "1"}


@pytest.mark.parametrize("env,count,share", [
    (SLURM_TASK_2_OF_4, None, (3, 4)),
    (SLURM_TASK_2_OF_4, 4, (3, 4)),
    ({"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "8"}, None, (7, 8)),  # 1-8
    ({"SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "12",
      "SLURM_ARRAY_TASK_STEP": "4", "SLURM_ARRAY_TASK_COUNT": "4"}, None, (3, 4)),  # --array=0-12:4
    ({"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"}, None, (1, 2)),
    ({"JOB_COMPLETION_INDEX": "0"}, 3, (1, 3)),
    ({"JOB_COMPLETION_INDEX": "2"}, 3, (3, 3)),
])
def test_shard_auto_reads_the_array_task_from_its_engine(env, count, share):
    i, n, where = batch.shard_from_environment(count, env)
    assert (i, n) == share
    assert where.startswith("Slurm array: SLURM_ARRAY_TASK_ID=" if "SLURM_ARRAY_TASK_ID" in env
                            else "Kubernetes indexed Job: JOB_COMPLETION_INDEX=")


@pytest.mark.parametrize("env,count,message", [
    ({}, None, "--shard auto: not in a job array (neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set); "
               "give --shard I/N"),
    ({"JOB_COMPLETION_INDEX": "1"}, None, "gives the index (JOB_COMPLETION_INDEX=1), not the count; write --shard "
                                          "auto/N with N the Job's completions"),
    ({"JOB_COMPLETION_INDEX": "3"}, 3, "--shard auto/3: JOB_COMPLETION_INDEX=3 is not below 3"),
    (SLURM_TASK_2_OF_4, 8, "--shard auto/8: the Slurm array has 4 tasks"),
    ({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "7",
      "SLURM_ARRAY_TASK_COUNT": "3"}, None, "a Slurm array with gaps (3 tasks with ids 1 to 7)"),
    ({"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "2"}, None,
     "SLURM_ARRAY_TASK_ID: 'x' is not a whole number"),
    ({"SLURM_ARRAY_TASK_ID": "1"}, None, "neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX"),
    ({"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2", "JOB_COMPLETION_INDEX": "0"}, 2, "both Slurm"),
    # round 9: a step of 0 was read as 1, a maximum below the minimum made "the array's -4 ids"
    ({"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MAX": "3", "SLURM_ARRAY_TASK_STEP": "0"}, None,
     "SLURM_ARRAY_TASK_STEP=0 with ids from 0 to 3: not a Slurm array's ids"),
    ({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "5", "SLURM_ARRAY_TASK_MAX": "0"}, None,
     "SLURM_ARRAY_TASK_MAX=0 is below SLURM_ARRAY_TASK_MIN=5"),
    # round 17: a 5000-digit index was quoted whole (a 5066-character line); 4000 digits were read, then quoted
    ({"JOB_COMPLETION_INDEX": "1" * 5000}, 4, "JOB_COMPLETION_INDEX: a text of 5000 characters is too large"),
    ({"JOB_COMPLETION_INDEX": "1" * 4000}, 4, "JOB_COMPLETION_INDEX=a text of 4000 characters is over 1e+12"),
    ({"SLURM_ARRAY_TASK_ID": "-1", "SLURM_ARRAY_TASK_COUNT": "2"}, None, "SLURM_ARRAY_TASK_ID='-1' is negative"),
    # round 21: '-0' was read as 0, '+1' refused as "digits only"
    ({"JOB_COMPLETION_INDEX": "-0"}, 2, "JOB_COMPLETION_INDEX: '-0' is not a whole number (digits only)"),
])
def test_shard_auto_refuses_what_is_not_an_array_task(env, count, message):
    with pytest.raises(ClusterError) as e:
        batch.shard_from_environment(count, env)
    assert message in str(e.value)


def test_shard_auto_outside_an_array_job_is_one_usage_line(tmp_path, monkeypatch):
    for name in ("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(b"")  # (not read: the usage error comes first)
    r = run("batch", "--content", "a.png", "--style", "b.png", "--out-dir", tmp_path / "o", "--shard", "auto")
    assert r.exit_code == 2 and not (tmp_path / "o").exists()
    assert r.stderr.splitlines()[-1] == ("Error: --shard auto: not in a job array (neither SLURM_ARRAY_TASK_ID nor "
                                         "JOB_COMPLETION_INDEX is set); give --shard I/N")
    r = run("batch", "--content", "a.png", "--style", "b.png", "--out-dir", tmp_path / "o", "--shard", "auto/0")
    assert r.exit_code == 2 and "need 1 <= I <= N" in r.stderr


def test_shard_auto_runs_the_share_its_engine_gives_and_says_so(images, tmp_path, synthetic_weights, one_thread):
    args = ["batch", "--content", images / "photo*.png", "--style", images / "art0.jpg", "--out-dir", tmp_path / "o",
            "--shard", "auto", *[a for a in synthetic(synthetic_weights) if a != "--quiet"]]
    env = {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "2",
           "SLURM_ARRAY_TASK_COUNT": "3", "JOB_COMPLETION_INDEX": None}
    r = CliRunner(env=env).invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert r.exit_code == 0, cli_result_text(r)
    assert r.stderr.startswith("Shard 2/3 from the Slurm array: SLURM_ARRAY_TASK_ID=1, SLURM_ARRAY_TASK_MIN=0, "
                               "SLURM_ARRAY_TASK_MAX=2, SLURM_ARRAY_TASK_COUNT=3\n")
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["photo1__art0.png"]


def _example_argv(argv: list[str]) -> dict:
    """The parameters `stylize batch ...` (an example's command line) parses into: every option exists."""
    assert argv[:2] == ["stylize", "batch"], argv
    return cli.commands["batch"].make_context("batch", argv[2:]).params


def test_the_slurm_example_gives_each_array_task_its_own_share(tmp_path):
    script = EXAMPLES / "slurm_array.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    text = script.read_text()
    low, high = (int(v) for v in re.search(r"^#SBATCH --array=(\d+)-(\d+)$", text, re.M).groups())
    assert text.index("#SBATCH") < text.index("set -euo")  # Slurm reads #SBATCH lines only before the commands
    recorder = tmp_path / "srun"
    recorder.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\t" "$a"; done > "{tmp_path}/argv"\n')
    recorder.chmod(0o755)
    shares = set()
    for task in range(low, high + 1):
        env = {"SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_TASK_MIN": str(low), "SLURM_ARRAY_TASK_MAX": str(high),
               "SLURM_ARRAY_TASK_COUNT": str(high - low + 1), "SLURM_ARRAY_TASK_STEP": "1"}
        proc = subprocess.run(["bash", str(script)], env={**os.environ, **env, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr
        params = _example_argv((tmp_path / "argv").read_text().rstrip("\t").split("\t"))
        assert params["shard"] == (None, None) and params["skip_existing"]
        shares.add(batch.shard_from_environment(None, env)[:2])
    assert shares == {(i, high - low + 1) for i in range(1, high - low + 2)}


def test_the_kubernetes_example_is_an_indexed_job_whose_shards_match_its_completions():
    text = (EXAMPLES / "k8s_indexed_job.yaml").read_text()
    try:
        import yaml
    except ImportError:  # not a dependency: the few fields that matter, read by hand
        job = None
        completions = int(re.search(r"^  completions: (\d+)$", text, re.M).group(1))
        assert re.search(r"^kind: Job$", text, re.M) and re.search(r"^  completionMode: Indexed$", text, re.M)
        command = json.loads(re.search(r"command: (\[.*?\])", text, re.S).group(1))
    else:
        job = yaml.safe_load(text)
        assert (job["apiVersion"], job["kind"], job["spec"]["completionMode"]) == ("batch/v1", "Job", "Indexed")
        completions = job["spec"]["completions"]
        pod = job["spec"]["template"]["spec"]
        assert pod["restartPolicy"] == "Never"
        (container,) = pod["containers"]
        command = container["command"]
        assert {m["mountPath"] for m in container["volumeMounts"]} == {"/shared"}
    params = _example_argv(command)
    assert params["shard"] == (None, completions) and params["skip_existing"]
    assert params["out_dir"].startswith("/shared/") and params["report"].startswith("/shared/")
    for index in range(completions):
        assert batch.shard_from_environment(params["shard"][1], {"JOB_COMPLETION_INDEX": str(index)})[:2] == \
            (index + 1, completions)


def test_a_csv_pair_is_one_line_and_a_stray_quote_costs_only_its_line(tmp_path, monkeypatch):
    from stylize.batch import read_manifest

    monkeypatch.chdir(tmp_path)
    (tmp_path / " sp.png").write_bytes(b"")  # a name that starts with a space
    text = 'content,style,output\na.png,b.png,\n"unterminated,a.png\nc.png," sp.png"\n  e.png , f.png \nx,y,z,w\n'
    rows = read_manifest(text, "m.csv")
    assert [(r.content, r.styles, r.error) for r in rows] == [
        ("a.png", ("b.png",), None),
        ("", (), "m.csv line 3: not CSV (unexpected end of data); a name with a quote or a line break is written in "
                 "JSON lines"),
        ("c.png", (" sp.png",), None),  # an existing file keeps its spaces
        ("e.png", ("f.png",), None),  # spaces around other names are layout
        ("", (), "m.csv line 6: 4 cells for the 3 columns of the header")]


@pytest.mark.parametrize("what", ["init", "mask", "manifest", "weights"])
def test_no_output_of_a_batch_replaces_a_file_it_reads_whatever_the_flags(tmp_path, photo, art, synthetic_weights, what):
    """Hostile round 2: with --overwrite a batch wrote its result over the --init image, the mask or the manifest."""
    os.chdir(tmp_path)
    read = tmp_path / "read.png"  # (a weights file may have any name)
    if what == "weights":
        read.write_bytes(synthetic_weights.read_bytes())
    else:
        pattern(64, 48).save(read)
    before = read.read_bytes()
    opts = {"init": ["--init", read], "mask": ["--content-mask", read, "--style-mask", "white"],
            "manifest": [], "weights": []}[what]
    if what == "manifest":
        read.write_text(f"content,style,output\n{photo},{art},read.png\n")
        before = read.read_bytes()
        args = [read]
    else:
        args = ["--content", photo, "--style", art, "--name-template", read.name]
    weights = ["--weights", read] if what == "weights" else ["--weights", synthetic_weights]
    r = run("batch", *args, "--out-dir", tmp_path, *opts, "--overwrite", *weights, "--no-normalize", *FAST)
    assert r.exit_code == 1 and "which the batch reads; choose another output" in r.output
    assert read.read_bytes() == before


def test_two_names_of_one_output_are_one_output(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "link").symlink_to(".")
    with pytest.raises(ManifestError, match="pairs 1 and 2 would both write"):
        batch.plan([("a.jpg", "b.jpg", "a.png"), ("a.jpg", "c.jpg", "link/a.png")], tmp_path / "out")


def test_a_manifest_line_ends_only_at_a_line_break():
    """Form feed, U+0085 and U+2028 are characters of a name (str.splitlines split lines at them)."""
    names = ["photo\u2028one.png", "photo\x85two.png", "photo\x0cthree.png"]
    text = "".join(json.dumps({"content": n, "style": "s.jpg"}, ensure_ascii=False) + "\n" for n in names)
    assert [r.content for r in batch.read_manifest(text)] == names
    csv_rows = batch.read_manifest("content,style\r\na\x0cb.png,s.jpg\r\nc.png,s.jpg\n")
    assert [(r.content, r.error) for r in csv_rows] == [("a\x0cb.png", None), ("c.png", None)]


def test_json_true_and_false_are_not_blend_weights():
    assert "blend weight 1 of 2 is not a number (true); blend weights are numbers" in batch.read_manifest(
        '{"content": "a", "style": ["b", "c"], "blend": [true, false]}\n')[0].error


def test_a_json_style_list_names_the_item_that_is_not_a_file_name():
    """Round 18: ["s.png", 3] was "needs a content and at least one style" (the line has both)."""
    rows = batch.read_manifest('{"content": "t.png", "style": ["s.png", 3]}\n{"content": "t.png", "style": ["s", ""]}\n'
                               '{"content": "t.png", "style": []}\n')
    assert [r.error for r in rows] == ["manifest line 1: style 2 of 2 is not a file name (3)",
                                       'manifest line 2: style 2 of 2 is not a file name ("")',
                                       'manifest line 3: "style" is an empty list; give at least one file name']
    rows = batch.read_manifest('{"content": ["t.png"], "style": "s.png"}\n{"content": "t.png", "style": {"x": 1}}\n')
    assert [r.error for r in rows] == ['manifest line 1: "content" is a file name (text), not ["t.png"]',
                                       'manifest line 2: "style" is a file name or a list of them, not {"x": 1}']


def test_json_style_and_output_of_the_wrong_kind_are_named():
    """Round 24: "output": null was read as the name template's (only "" means that), "style": [] as a missing key,
    and "style": [["s.png"]] as "needs a content and at least one style"."""
    rows = batch.read_manifest('{"content": "t.png", "style": "s.png", "output": null}\n'
                               '{"content": "t.png", "style": []}\n{"content": "t.png", "style": [["s.png"]]}\n',
                               "m.jsonl")
    assert [r.error for r in rows] == [
        'm.jsonl line 1: "output" must be a file name, not null; leave it out to use the name template',
        'm.jsonl line 2: "style" is an empty list; give at least one file name',
        'm.jsonl line 3: style 1 of 1 is not a file name (["s.png"])']


def test_json_empty_names_falsy_values_and_a_line_that_is_no_object_are_named():
    """Round 25: "content": "" (the key is there), 0, false, [] and a line that is a JSON list were all "needs
    "content" and "style"" (or "needs a content and at least one style")."""
    lines = ['{"content": "", "style": "s.png"}', '{"content": "t.png", "style": ""}', '["t.png", "s.png"]',
             '{"content": 0, "style": "s.png"}', '{"content": false, "style": "s.png"}',
             '{"content": [], "style": "s.png"}', '{"content": "t.png", "style": null}', '{"style": "s.png"}']
    rows = batch.read_manifest('{"content": "t.png", "style": "s.png"}\n' + "\n".join(lines) + "\n", "m.jsonl")
    assert [r.error for r in rows[1:]] == [
        'm.jsonl line 2: "content" is an empty name; give a file name',
        'm.jsonl line 3: "style" is an empty name; give a file name',
        'm.jsonl line 4: a JSON object {"content": ..., "style": ...}, not ["t.png", "s.png"]',
        'm.jsonl line 5: "content" is a file name (text), not 0',
        'm.jsonl line 6: "content" is a file name (text), not false',
        'm.jsonl line 7: "content" is a file name (text), not []',
        'm.jsonl line 8: "style" is a file name or a list of them, not null',
        'm.jsonl line 9: needs "content" and "style"']


def test_a_json_blend_list_holds_numbers_not_texts():
    rows = batch.read_manifest('{"content": "a", "style": ["b", "c"], "blend": [1, "2"]}\n'
                               '{"content": "a", "style": ["b", "c"], "blend": "1,2"}\n'
                               '{"content": "a", "style": ["b", "c"], "blend": {"a": true}}\n')
    assert 'blend weight 2 of 2 is not a number ("2")' in rows[0].error
    assert rows[1].error == 'manifest line 2: "blend" is a list of numbers, e.g. [3, 7], not "1,2"'  # round 13
    assert rows[2].error.endswith('not {"a": true}')  # round 22: as written, not Python's {'a': True}
    rows = batch.read_manifest("content,style\na.png,b.png;;c.png\na.png,b.png;c.png;\na.png,b.png;c.png\n", "m.csv")
    assert [r.error for r in rows] == [
        "m.csv line 2: the style cell 'b.png;;c.png' has an empty item; separate the artworks with single semicolons",
        "m.csv line 3: the style cell 'b.png;c.png;' has an empty item; separate the artworks with single semicolons",
        None]  # (round 13: read short, it blended two artworks where three were asked)


def test_a_key_or_column_given_twice_is_refused_not_dropped():
    row = batch.read_manifest('{"content": "a.jpg", "style": "s.jpg", "content": "b.jpg"}\n')[0]
    assert row.error == "manifest line 1: the key 'content' is given twice"
    with pytest.raises(ManifestError, match="names the column 'style' twice"):
        batch.read_manifest("content,style,style\na.jpg,b.jpg,c.jpg\n")


def test_a_bad_output_name_fails_its_own_pair_only(tmp_path):
    (tmp_path / "dir.png").mkdir()
    pairs = batch.plan([("a.jpg", "b.jpg", "sub/"), ("a.jpg", "b.jpg", "ok.png"), ("a.jpg", "b.jpg", "dir.png")],
                       tmp_path)
    assert "sub/ names a folder: give a file name" in pairs[0].error and pairs[1].error is None
    assert pairs[2].error == f"pair 3: {tmp_path / 'dir.png'}: is a directory; an output is a file"
    with pytest.raises(ImageError, match="the name has no extension"):  # the template's: every pair's
        batch.plan([("a.jpg", "b.jpg", None)], tmp_path, "{content}")


def test_a_contact_sheet_never_replaces_an_init_image_a_mask_or_the_weights(tmp_path, images, synthetic_weights):
    """Hostile round 8: `--contact-sheet init.png --init init.png --overwrite` wrote the sheet over the --init
    image (and over a --style-mask): the sheet's check saw only the pairs' images, the manifest and the report."""
    pairs = batch.plan([(str(images / "photo0.png"), str(images / "art0.jpg"), None)], tmp_path / "out")
    for name in ("m.png", "sm.png", "part.png", "w.png"):
        (tmp_path / name).write_bytes(b"the user's")
    t = {n: str(tmp_path / n) for n in ("m.png", "sm.png", "part.png", "w.png")}
    settings = Settings(content_mask=t["m.png"], style_masks=(t["part.png"] + "+white",), weights=t["w.png"])
    for name in t:
        with pytest.raises(ManifestError, match="a file the batch reads or writes"):
            batch.check_contact_sheet(t[name], pairs, settings if name != "sm.png" else Settings(
                content_mask=t["m.png"], style_masks=(t["sm.png"],)), overwrite=True)
    pattern(40, 32).save(tmp_path / "init.png")
    before = (tmp_path / "init.png").read_bytes()
    r = CliRunner().invoke(cli, ["batch", "--content", str(images / "photo0.png"), "--style", str(images / "art0.jpg"),
                                 "--out-dir", str(tmp_path / "o"), "--init", str(tmp_path / "init.png"),
                                 "--contact-sheet", str(tmp_path / "init.png"), "--overwrite",
                                 *synthetic(synthetic_weights)])
    assert r.exit_code == 1 and "a file the batch reads or writes" in r.stderr, cli_result_text(r)
    assert (tmp_path / "init.png").read_bytes() == before and not (tmp_path / "o").exists()


def test_a_contact_sheet_too_tall_for_its_format_is_refused_before_the_first_pair(tmp_path):
    pairs = batch.plan([(f"c{i}.jpg", "s.jpg", None) for i in range(400)], tmp_path)
    with pytest.raises(ManifestError, match=r"a contact sheet of 400 pairs would be 480x\d+; use .png, or one sheet"):
        batch.check_contact_sheet(tmp_path / "sheet.jpg", pairs, Settings())
    batch.check_contact_sheet(tmp_path / "sheet.png", pairs, Settings())


@pytest.mark.parametrize("template", ["{index:c}.png", "{content:/>9}.png", "{content:\\>9}.png"])
def test_a_name_template_cannot_put_a_separator_or_a_control_character_in_a_name(template):
    """Hostile round 3: {index:c} made a NUL (a traceback), {content:/>9} an absolute path."""
    with pytest.raises(ManifestError, match="would put a separator or a control character in a name"):
        batch.check_template(template)
    batch.check_template("{index:_>4}_{content}.png")


def test_a_file_whose_stem_is_dot_dot_never_takes_a_templates_output_out_of_the_out_dir(tmp_path):
    """Hostile round 8: content '...png' (its stem is '..') with --name-template '{content}/{style}_out.png' wrote
    ./s_out.png beside --out-dir; '{content}/{style}.png' named the style image itself."""
    out = tmp_path / "o"
    pairs = batch.plan([("...png", "s.png", None), ("c.png", "s.png", None)], out, "{content}/{style}_out.png")
    assert pairs[0].error == ("pair 1: the name template makes '../s_out.png' of its file names, a name that climbs "
                              "out of --out-dir ('..'); rename the file or change the template")
    assert pairs[1].error is None and pairs[1].output == out / "c" / "s_out.png"
    assert batch.plan([("...png", "s.png", None)], out)[0].output == out / "..__s.png"  # one name: no climb
    assert batch.plan([("c.png", "s.png", None)], out / "a", "../{content}.png")[0].output == out / "a/../c.png"


def test_a_json_output_is_the_name_as_written_and_a_csv_cell_loses_its_spaces():
    """Hostile round 8: a JSON "output": " y.jpg" wrote y.jpg (stripped), so --skip-existing redid a pair whose
    ' y.jpg' was there; `-o ' y.png'` keeps the space. JSON strings are exact; CSV cells are trimmed."""
    rows = batch.read_manifest('{"content": "c.png", "style": "s.png", "output": " y.jpg "}\n'
                               '{"content": "c.png", "style": "s.png", "output": "  "}')
    assert rows[0].output == " y.jpg " and rows[1].output == "  "  # (round 13: all spaces too: a name, not "")
    assert batch.read_manifest("content,style,output\nc.png,s.png, y.jpg \n")[0].output == "y.jpg"


def test_a_style_whose_name_holds_a_semicolon_is_one_artwork_on_the_sheet(images, tmp_path):
    # hostile round 7: the sheet split the report's ';'-joined style field and showed two "unreadable" boxes
    art = tmp_path / "a;b.png"
    art.write_bytes((images / "art0.jpg").read_bytes())
    pair = batch.plan([(str(images / "photo0.png"), [str(art)], str(tmp_path / "o.png"))], tmp_path)[0]
    record = batch.record_of(pair)
    assert record.artworks() == [str(art)] and batch.label(record) == "photo0.png x a;b.png"
    im = Image.open(batch.contact_sheet([record], tmp_path / "sheet.png")).convert("RGB")
    assert im.width == batch.sheet_size(1, 1)[0]  # photo | one artwork | result
    style_box = (batch.SHEET_PAD + (batch.SHEET_THUMB + batch.SHEET_PAD) + batch.SHEET_THUMB // 2,
                 batch.SHEET_PAD + batch.SHEET_THUMB // 2)
    assert im.getpixel(style_box) != (200, 200, 200)  # the artwork itself, not the grey "unreadable" box


@pytest.mark.vgg
def test_a_link_at_the_report_or_contact_sheet_is_written_through_never_replaced(images, tmp_path):
    """Round 16: shard 1 with --report out/r.json, shard 2 with --report link.json (a link to it): the link was
    replaced by a file holding both pairs and out/r.json kept one; so was a link at a resumed contact sheet."""
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "link.json").symlink_to(out / "r.json")
    (tmp_path / "sheet-link.png").symlink_to(out / "sheet.png")
    args = ["batch", "--content", images / "photo[01].png", "--style", images / "art0.jpg", "--out-dir", out, *FAST]
    assert run(*args, "--shard", "1/2", "--report", out / "r.json", "--contact-sheet", out / "sheet.png").exit_code == 0
    os.utime(out / "sheet.png", (0, 0))
    r = run(*args, "--shard", "1/2", "--report", tmp_path / "link.json", "--contact-sheet",
            tmp_path / "sheet-link.png", "--skip-existing")  # a resume through the links
    assert r.exit_code == 0, cli_result_text(r)
    assert run(*args, "--shard", "2/2", "--report", tmp_path / "link.json").exit_code == 0
    assert (tmp_path / "link.json").is_symlink() and (tmp_path / "sheet-link.png").is_symlink()
    assert [p["status"] for p in json.loads((out / "r.json").read_text())["pairs"]] == ["skipped", "ok"]  # (resumed)
    assert os.stat(out / "sheet.png").st_mtime > 0  # the resumed sheet was written where the link points
    assert sorted(f.name for f in out.iterdir()) == ["photo0__art0.png", "photo1__art0.png", "r.json", "sheet.png"]


def test_what_every_pair_shares_is_checked_once_before_the_first_pair(images, tmp_path):
    """Round 16: --content-mask without --style-mask, or an --init image that cannot be read, failed every pair
    of a batch one by one (exit 3); `transfer` refuses them at once. A batch does too, before any work."""
    mask = tmp_path / "m.png"
    Image.new("L", (40, 32), 255).save(mask)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    base = ["batch", "--content", images / "photo*.png", "--style", images / "art0.jpg", "--out-dir", tmp_path / "o",
            "--report", tmp_path / "r.json", *FAST]
    r = run(*base, "--content-mask", mask)
    assert r.exit_code == 2 and "0 --style-mask for 1 style image(s)" in r.stderr \
        and "this batch's pairs have 1" in r.stderr, cli_result_text(r)
    r = run(*base, "--init", tmp_path / "broken.png")
    assert r.exit_code == 1 and "broken.png: not an image Pillow can read" in r.stderr, cli_result_text(r)
    assert len(r.stderr.splitlines()) == 1
    assert not (tmp_path / "o").exists() and not (tmp_path / "r.json").exists()


def test_an_unreadable_line_s_record_names_no_output(tmp_path):
    """Round 17: the records of manifest lines that could not be read ({}, a bare "c.jpg") named --out-dir as
    their output (round 13 fixed it for lines whose output could be named)."""
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{}\n"c.jpg"\n{"content": "c.jpg", "style": []}\n')
    r = run("batch", manifest, "--out-dir", tmp_path / "o", "--report", tmp_path / "r.json", *FAST)
    assert r.exit_code == 3, cli_result_text(r)
    pairs = json.loads((tmp_path / "r.json").read_text())["pairs"]
    assert [(p["status"], p["output"]) for p in pairs] == [("failed", "")] * 3


@pytest.mark.vgg  # (a batch loads its weights before its first pair)
def test_an_init_image_of_another_shape_fails_its_pair_before_the_first_pair(images, tmp_path):
    """Round 19: `--init wide.png` with a tall content among the pairs: pair 1 was made, then pair 2 failed at its
    turn (with --stop-on-error, after pair 1's work). An --init that does not fit a pair fails it at once."""
    pattern(32, 40, seed=5).save(images / "tall.png")
    r = run("batch", "--content", images / "photo0.png", "--content", images / "tall.png", "--style",
            images / "art0.jpg", "--out-dir", tmp_path / "o", "--init", images / "photo1.png", "--stop-on-error",
            "--report", tmp_path / "r.json", *FAST)
    assert r.exit_code == 3, cli_result_text(r)
    pairs = json.loads((tmp_path / "r.json").read_text())["pairs"]
    assert [p["status"] for p in pairs] == ["pending", "failed"] and "another shape than the output" in pairs[1]["error"]
    assert not (tmp_path / "o").exists()


@pytest.mark.vgg
def test_a_pair_stopped_before_its_first_evaluation_stays_pending_and_names_nothing_written(images, tmp_path):
    """Round 26: Ctrl-C before a pair's first evaluation recorded it "interrupted" (0 iterations) with its output
    named, though nothing was written (there is no best image so far)."""
    from stylize import Session

    (tmp_path / "o").mkdir()
    pairs = batch.plan([(str(images / "photo0.png"), str(images / "art0.jpg"), None)], tmp_path / "o")
    record = batch.record_of(pairs[0])
    session = Session(Settings(size=32, iterations=3))
    batch.synthesize(session, pairs[0], record, False, should_stop=lambda: True)
    assert record.status == "pending" and record.iterations is None and record.content_loss is None
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == []  # (no image, no claim left)


def test_a_manifest_blend_for_one_style_image_fails_that_pair():
    """Round 26: a blend cell `2` beside one style image was accepted (normalised to 1, no effect)."""
    rows = batch.read_manifest("content,style,blend\nt.png,s.png,2\nt.png,a.png;b.png,1;3\n", "m.csv")
    assert rows[0].error == "m.csv line 2: a blend weight for one style image has no effect; leave it out"
    assert rows[1].error is None and rows[1].blend == (1.0, 3.0)


@pytest.mark.vgg
def test_skip_existing_keeps_a_users_image_whose_own_json_has_a_partial_key(images, tmp_path):
    """Round 27: a user's JPEG with the comment {"partial": ...} (or a PNG with such an EXIF description) at an
    output's name was taken for stylize's interrupted output and replaced by --skip-existing, without --overwrite.
    Only metadata stamped with stylize's version is stylize's."""
    from stylize import images as stylize_images

    out = tmp_path / "out"
    out.mkdir()
    mine = pattern(40, 32, seed=5)
    mine.save(out / "photo0__art0.jpg", comment='{"partial": "see notes", "camera": "x"}')
    exif = Image.Exif()
    exif[0x010E] = '{"partial": 1, "title": "holiday"}'
    mine.save(out / "photo0__art1.png", exif=exif)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert stylize_images.read_metadata(out / "photo0__art0.jpg") is None
    for template in ("{content}__{style}.jpg", "{content}__{style}.png"):
        r = run("batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--style",
                images / "art1.jpg", "--out-dir", out, "--name-template", template, "--skip-existing", *FAST)
        assert r.exit_code == 0, cli_result_text(r)
    assert all((out / name).read_bytes() == data for name, data in before.items())


def test_a_device_is_no_manifest(tmp_path):
    """Round 27: `batch /dev/zero` read without end until memory ran out ("out of memory: ... MemoryError")."""
    r = run("batch", "/dev/zero", "--out-dir", tmp_path / "o", *FAST)
    assert r.exit_code == 1 and r.stderr.strip().endswith("/dev/zero: a device or socket, not a manifest (a file or "
                                                          "a pipe)"), cli_result_text(r)
    assert not (tmp_path / "o").exists()


def test_a_json_blend_weight_below_a_floats_range_keeps_its_pairs_names():
    """Round 27: `"blend": [1e-400]` made the whole line unread (a record without content, style or output), while
    every other bad weight names its pair; a number where a name goes is still named as such."""
    rows = batch.read_manifest('{"content": "t.png", "style": "s.png", "blend": [1e-400]}\n'
                               '{"content": 1e-400, "style": "s.png"}\n', "m.jsonl")
    assert (rows[0].content, rows[0].styles) == ("t.png", ("s.png",))
    assert rows[0].error == ("m.jsonl line 1: blend weight 1 of 1: '1e-400' is too small to be told from 0 (a "
                             "float's least is about 5e-324)")
    assert rows[1].error == 'm.jsonl line 2: "content" is a file name (text), not 1e-400'


def test_a_csv_headers_names_are_read_in_any_case_as_the_readme_says():
    """Round 27: the README's "a typo such as Output is refused" held for JSON keys only; CSV headers are read in
    any case (as spreadsheets write them), and the README now says so. A name stylize does not know is refused."""
    rows = batch.read_manifest("Content, Style ,OUTPUT\nt.png,s.png,q.png\n", "m.csv")
    assert (rows[0].content, rows[0].styles, rows[0].output, rows[0].error) == ("t.png", ("s.png",), "q.png", None)
    with pytest.raises(ManifestError, match="Outptu"):
        batch.read_manifest("content,style,Outptu\nt.png,s.png,q.png\n", "m.csv")


@pytest.mark.vgg
def test_a_pairs_output_folder_that_cannot_be_made_fails_that_pair_alone(images, tmp_path):
    """Round 29: a file (or a link that loops) at a manifest output's folder name refused the whole batch (exit 1,
    no pair made), where a bad `output` fails its pair alone."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "f").write_text("mine")
    (out / "loop").symlink_to("loop")
    photo, art = images / "photo0.png", images / "art0.jpg"
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps({"content": str(photo), "style": str(art), "output": o}) + "\n"
                                for o in ("f/y.png", "new/z.png", "loop/x.png")))
    r = run("batch", manifest, "--out-dir", out, "--report", tmp_path / "r.json", *FAST)
    assert r.exit_code == 3, cli_result_text(r)
    assert [p["status"] for p in json.loads((tmp_path / "r.json").read_text())["pairs"]] == ["failed", "ok", "failed"]
    assert "failed: pair 1 (photo0.png x art0.jpg): " in r.stderr and "f: is a file, not a folder" in r.stderr
    assert "loop: a link to nothing (its target is missing, or it loops)" in r.stderr
    assert (out / "new" / "z.png").is_file() and (out / "f").read_text() == "mine"


def test_a_line_that_fails_alone_does_not_clash_with_another_pairs_output():
    """Round 29: a line with a bad blend weight and a good line with the same default name refused the whole
    batch ("pairs 2 and 3 would both write ..."), though the bad line writes nothing and fails alone."""
    text = ('{"content": "c.png", "style": "t.png"}\n'
            '{"content": "c.png", "style": ["s.png", "s.png"], "blend": [1, -1]}\n'
            '{"content": "c.png", "style": ["s.png", "s.png"], "blend": [1, 2]}\n')
    pairs = batch.plan(batch.read_manifest(text, "m.jsonl"), Path("o"))
    assert [p.error is None for p in pairs] == [True, False, True]
    assert "blend weight 2 of 2 is negative" in pairs[1].error
    with pytest.raises(ManifestError, match="pairs 2 and 3 would both write"):  # two good lines still clash
        batch.plan(batch.read_manifest(text.replace("[1, -1]", "[1, 1]"), "m.jsonl"), Path("o"))


def test_a_resume_compares_the_inputs_pixels_the_blend_and_the_command(tmp_path, images, synthetic_weights):
    """Round 30: --skip-existing kept an output after its content (or --init) file was replaced by another picture
    under the same name, kept a 9:1 blend's output for a manifest now asking 1:9 (its report said 1:9), and
    replaced a partial image of `style-recon` or `grid` at a pair's name without --overwrite. An output records its
    inputs' pixel digests ("inputs"); a kept or redone output must be this pair's, made from the same pixels."""
    from stylize.images import read_metadata, save_image

    photo, art, other = images / "photo0.png", images / "art0.jpg", images / "art1.jpg"
    (tmp_path / "init.png").write_bytes((images / "photo1.png").read_bytes())
    for name, size, split in (("mask.png", (40, 32), (0, 0, 20, 32)), ("art_mask.png", (36, 36), (0, 0, 36, 18))):
        mask = Image.new("RGB", size, "black")
        mask.paste((255, 255, 255), split)
        mask.save(tmp_path / name)

    def resumed(out, *extra, manifest=None, report=None):
        head = ["batch", str(manifest)] if manifest else ["batch", "--content", photo, "--style", art]
        report = report or tmp_path / f"{out.name}.json"
        r = run(*head, "--out-dir", out, "--report", report, "--skip-existing", *synthetic(synthetic_weights), *extra)
        return r, json.loads(report.read_text())["pairs"][0]

    out, kept = tmp_path / "o1", photo.read_bytes()
    r, pair = resumed(out)
    assert r.exit_code == 0 and pair["status"] == "ok", cli_result_text(r)
    made = (out / "photo0__art0.png").read_bytes()
    pattern(40, 32, 9).save(photo)  # other pixels under the same name
    r, pair = resumed(out)
    assert r.exit_code == 3 and pair["status"] == "failed", cli_result_text(r)
    assert pair["error"].endswith(f"photo0__art0.png exists, made from another {photo} (its pixels differ now); "
                                  f"rerun with --overwrite in place of --skip-existing (which makes every pair "
                                  f"again), or choose another --out-dir")  # (round 63: both flags are refused)
    assert (out / "photo0__art0.png").read_bytes() == made
    photo.write_bytes(kept)
    r, pair = resumed(out)
    assert r.exit_code == 0 and pair["status"] == "skipped", cli_result_text(r)
    kept = art.read_bytes()  # round 31: an input that cannot be read now was "skipped" (exit 0), never checked
    art.write_bytes(b"garbage")
    r, pair = resumed(out)
    assert r.exit_code == 3 and pair["status"] == "failed" and "not an image Pillow can read" in pair["error"]
    art.write_bytes(kept)

    # --init and the masks: recorded by a run, compared as the content is (batch.made_from, as triage calls it)
    init, mask, art_mask = tmp_path / "init.png", tmp_path / "mask.png", tmp_path / "art_mask.png"
    extra = ["--init", init, "--content-mask", mask, "--style-mask", art_mask]
    r, pair = resumed(tmp_path / "o2", *extra)
    assert r.exit_code == 0 and pair["status"] == "ok", cli_result_text(r)
    meta = read_metadata(tmp_path / "o2" / "photo0__art0.png")
    settings = Settings(init=str(init), content_mask=str(mask), style_masks=(str(art_mask),))
    pair = batch.plan([(str(photo), str(art), None)], tmp_path / "o2")[0]
    assert batch.made_from(meta, pair, settings) is None
    for changed in (init, mask, art_mask):
        kept = changed.read_bytes()
        picture = Image.open(changed).convert("RGB")
        picture.paste((255, 0, 0), (0, 0, 30, 16))
        picture.save(changed, format="PNG")
        assert batch.made_from(meta, pair, settings) == f"made from another {changed} (its pixels differ now)"
        changed.write_bytes(kept)
    # round 33: colours of the content mask are settings, not files whose pixels changed ("another black")
    two = batch.plan([batch.Row(str(photo), (str(art), str(other)))], tmp_path / "o2")[0]
    swapped, colours = (Settings(content_mask=str(mask), style_masks=m) for m in (("black", "white"),
                                                                                   ("white", "black")))
    made = {"inputs": batch.job_inputs(batch.transfer_job(swapped, two.content, two.styles),
                                       lambda image: batch.digest(batch.load_image(image)))}
    assert batch.made_from(made, two, colours) == "made with --style-mask black, not white"
    made["inputs"]["style_masks"][0] = meta["inputs"]["style_masks"][0]  # a file's digest then
    assert batch.made_from(made, two, colours) == "made with --style-mask a mask file, not white"
    # round 34: one style more or fewer, or the same in another order, was "made from another art0.jpg (its pixels
    # differ now)", of a file untouched
    for styles, told in (((str(art),), "made from 1 style image, not 2 style images"),
                         ((str(other), str(art)), "made from the same style images in another order")):
        made = {"inputs": batch.job_inputs(batch.transfer_job(Settings(), two.content, styles),
                                           lambda image: batch.digest(batch.load_image(image)))}
        assert batch.made_from(made, two, Settings()) == told

    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"content": str(photo), "style": [str(art), str(other)], "blend": [9, 1]}) + "\n")
    r, pair = resumed(tmp_path / "o4", manifest=manifest)
    assert r.exit_code == 0 and pair["status"] == "ok", cli_result_text(r)
    manifest.write_text(json.dumps({"content": str(photo), "style": [str(art), str(other)], "blend": [1, 9]}) + "\n")
    r, pair = resumed(tmp_path / "o4", manifest=manifest)  # (round 88: its report is another manifest's)
    assert r.exit_code == 1 and "the report of another manifest's pairs" in r.stderr and pair["status"] == "ok"
    r, pair = resumed(tmp_path / "o4", manifest=manifest, report=tmp_path / "o4-edited.json")
    assert r.exit_code == 3 and "exists, made with the blend 0.9,0.1, not 0.1,0.9; rerun with --overwrite in place of --skip-existing" in pair["error"]
    manifest.write_text(json.dumps({"content": str(photo), "style": [str(art), str(other)], "blend": [18, 2]}) + "\n")
    r, pair = resumed(tmp_path / "o4", manifest=manifest, report=tmp_path / "o4-shares.json")  # (another manifest)
    assert r.exit_code == 0 and pair["status"] == "skipped", cli_result_text(r)  # the same shares: the output kept

    out = tmp_path / "o5"
    out.mkdir()
    for theirs, told in (({"command": "style-recon", "partial": True}, "the output of stylize style-recon"),
                       ({"command": "grid", "partial": True}, "the output of stylize grid"),
                       ({"contact_sheet": "0123", "pairs": 1}, "a batch's contact sheet"),
                       ({"command": "transfer", "video": {"frame": 1}}, "a video's frame")):
        save_image(pattern(20, 16, 3), out / "photo0__art0.png", theirs, overwrite=True)
        made = (out / "photo0__art0.png").read_bytes()
        r, pair = resumed(out)
        assert r.exit_code == 3 and pair["error"].endswith(f"photo0__art0.png exists, {told}; rerun with --overwrite in "
                                                           f"place of --skip-existing (which makes every pair again), "
                                                           f"or choose another --out-dir"), cli_result_text(r)
        assert (out / "photo0__art0.png").read_bytes() == made
    assert read_metadata(tmp_path / "o1" / "photo0__art0.png")["inputs"]["styles"] == meta["inputs"]["styles"]


def test_a_resume_compares_the_weights_by_their_contents(tmp_path, images, synthetic_weights):
    """Round 33: --skip-existing kept ("skipped", exit 0) an output made with other VGG-19 weights: another
    --weights source, or another file copied under the same name. A .bmp (no metadata) was kept through its
    report, which compared the name only. Weights of the same contents under another name are the same network."""
    weights = tmp_path / "v.pth"
    weights.write_bytes(synthetic_weights.read_bytes())
    scaled = {k: v * 1.5 for k, v in torch.load(synthetic_weights).items()}

    def resumed(out, template, *report):
        options = [o if o != str(synthetic_weights) else str(weights) for o in synthetic(synthetic_weights)
                   if o != "--quiet"]
        return run("batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir", out,
                   "--name-template", template, *report, "--skip-existing", *options)

    for out, template, report in ((tmp_path / "png", "{content}.png", ()),
                                  (tmp_path / "bmp", "{content}.bmp", ("--report", tmp_path / "r.json"))):
        weights.write_bytes(synthetic_weights.read_bytes())
        assert resumed(out, template, *report).exit_code == 0
        made = next(out.iterdir()).read_bytes()
        torch.save(scaled, weights)  # other weights under the same name
        r = resumed(out, template, *report)
        if not report:  # the output's metadata tells
            assert r.exit_code == 3 and "exists, made with other VGG-19 weights than --weights" in r.output
        else:  # a .bmp holds none: its report, another batch's now, is refused before any work
            assert r.exit_code == 1 and "the report of a batch with other settings; choose another --report" in r.output, cli_result_text(r)
        assert next(out.iterdir()).read_bytes() == made
        weights.write_bytes(synthetic_weights.read_bytes())  # the same network again, under any name
        r = resumed(out, template, *report)
        assert r.exit_code == 0 and "1 skipped" in r.output, cli_result_text(r)


@pytest.mark.vgg  # (torchvision's name, though its filters here are synthetic)
def test_a_batch_on_torchvisions_weights_before_their_download_runs_and_resumes(tmp_path, images, monkeypatch,
                                                                                  synthetic_weights):
    """The weights' digest is compared on a resume and kept in the report: torchvision's file, not downloaded yet
    at the batch's checks, is compared by name there (torch.hub checks the download against its published hash)."""
    from stylize import vgg

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    fake = tmp_path / "vgg19.pth"
    torch.save({f"features.{k}": v.float() for k, v in torch.load(synthetic_weights).items()}, fake)
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda url, dst, *a, **k: os.link(fake, dst))
    args = ["batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir", tmp_path / "o",
            "--report", tmp_path / "r.json", "--weights", "torchvision", "--no-normalize", *FAST]
    vgg._cached_weights.cache_clear()  # (this test's download only, before and after)
    vgg._cached_network.cache_clear()
    try:
        r = run(*args)
        assert r.exit_code == 0 and json.loads((tmp_path / "r.json").read_text())["summary"] == {"ok": 1}, \
            cli_result_text(r)
        r = run(*args, "--skip-existing")
        assert r.exit_code == 0 and json.loads((tmp_path / "r.json").read_text())["summary"] == {"skipped": 1}, \
            cli_result_text(r)
    finally:
        vgg._cached_weights.cache_clear()
        vgg._cached_network.cache_clear()


def test_the_apis_batch_never_writes_over_its_manifest(tmp_path, images, synthetic_weights):
    """Round 33: batch.intake(manifest) then run_batch(..., overwrite=True), as the README's API shows, wrote a
    pair's output over the manifest (the CLI refuses it: the manifest was protected only by the CLI's `inputs`)."""
    manifest = tmp_path / "m.png"
    manifest.write_text(f"content,style,output\n{images / 'photo0.png'},{images / 'art0.jpg'},{manifest}\n")
    kept = manifest.read_bytes()
    pairs = batch.intake(str(manifest), out_dir=tmp_path)
    settings = Settings(weights=str(synthetic_weights), normalize=False, size=32, iterations=2)
    with pytest.raises(ManifestError, match=f"the output {manifest} would replace {manifest}, which the batch reads"):
        batch.run_batch(pairs, tmp_path, settings, overwrite=True)
    assert manifest.read_bytes() == kept


def test_a_second_signal_just_after_a_partial_save_leaves_a_report_that_tells_it(images, tmp_path, monkeypatch,
                                                                                  synthetic_weights):
    """Round 30: Ctrl-C twice, the second just after the pair's best image was saved (marked partial): the batch
    stopped at once, as it must, but its report still said "pending" beside a partial output."""
    from stylize.images import read_metadata

    real = batch.save_output

    def saved_then_a_second_signal(outcome, pair, replace, metadata=None):
        real(outcome, pair, replace, dict(metadata or {}, partial=True))  # (the first signal's save)
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "save_output", saved_then_a_second_signal)
    run("batch", "--content", images / "photo0.png", "--content", images / "photo1.png", "--style",
        images / "art0.jpg", "--out-dir", tmp_path / "o", "--report", tmp_path / "r.json",
        *synthetic(synthetic_weights))
    assert read_metadata(tmp_path / "o" / "photo0__art0.png")["partial"] is True
    pairs = json.loads((tmp_path / "r.json").read_text())["pairs"]
    assert [p["status"] for p in pairs] == ["interrupted", "pending"]


def test_the_batch_apis_wrong_types_are_stylize_errors(images, tmp_path):
    """Hostile kind of round 38: batch.intake(None, 'a.png', ...) read the name's characters as names ('/': a
    directory), run_batch([1, 2], ...) raised AttributeError. One name is a list of one."""
    pairs = batch.intake(None, str(images / "photo0.png"), images / "art0.jpg", tmp_path / "o")
    assert [(p.content, p.styles) for p in pairs] == [(str(images / "photo0.png"), (str(images / "art0.jpg"),))]
    for make, message in ((lambda: batch.intake(5), "manifest: a file name or '-', not int"),
                          (lambda: batch.intake(None, [3], ["a.png"]), "contents: a file name or glob .without a NUL byte., or a list"),
                          (lambda: batch.run_batch([1, 2], tmp_path / "o", Settings()), "pairs: the list batch.intake")):
        with pytest.raises(ManifestError, match=message):
            make()
    assert not (tmp_path / "o").exists()


def test_batch_hints_name_only_a_flag_that_helps(images, tmp_path, synthetic_weights):
    """Hostile round 39: an output made with other settings was "already exists (use --skip-existing or
    --overwrite)", and --skip-existing then refused it; a contact sheet of other pairs on a --skip-existing resume
    was "pass --overwrite" (which cannot join it); a shard of no pair with --contact-sheet failed (its folder) or
    wrote an empty sheet; the API took skip_existing with overwrite and made every pair again; intake(m, None,
    None) raised TypeError."""
    tiny = synthetic(synthetic_weights)
    one = ["batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir", tmp_path / "o",
           "--report", tmp_path / "r.json"]
    assert run(*one, *tiny).exit_code == 0
    r = run(*one[:-2], "--report", tmp_path / "r2.json", *tiny[:3], "--size", "40", *tiny[5:])
    error = json.loads((tmp_path / "r2.json").read_text())["pairs"][0]["error"]
    assert r.exit_code == 3 and "exists, made with --size 32, not 40; pass --overwrite" in error, cli_result_text(r)
    sheet = tmp_path / "sheet.png"
    assert run(*one[:-2], "--contact-sheet", sheet, "--skip-existing", *tiny).exit_code == 0
    r = run("batch", "--content", images / "photo1.png", "--style", images / "art0.jpg", "--out-dir", tmp_path / "o",
            "--contact-sheet", sheet, "--skip-existing", *tiny)
    assert r.exit_code == 1 and "sheet.png: already exists, the contact sheet of other pairs (another batch's or " \
        "shard's); choose another --contact-sheet (one per shard)" in r.stderr, cli_result_text(r)
    r = run(*one[:-2], "--shard", "9/9", "--contact-sheet", tmp_path / "z" / "cs.png", *tiny[:-1])
    assert r.exit_code == 0 and "no pair: this shard holds none" in r.stderr and not (tmp_path / "z").exists()
    pairs = batch.intake(None, [str(images / "photo0.png")], [str(images / "art0.jpg")], tmp_path / "o")
    with pytest.raises(UsageError, match="skip_existing keeps finished outputs and overwrite replaces them"):
        batch.run_batch(pairs, tmp_path / "o", Settings(), skip_existing=True, overwrite=True)
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"content,style\n{images / 'photo0.png'},{images / 'art0.jpg'}\n")
    assert len(batch.intake(str(manifest), None, None, tmp_path / "o")) == 1


def test_a_signal_while_the_manifest_gives_nothing_stops_the_batch(tmp_path):
    """Hostile round 40: `stylize batch -` (a pipe that gives nothing yet) or a FIFO manifest no one opened held a
    SIGTERM until the pipe closed (for ever, for the FIFO): the read runs where a stop abandons it."""
    import signal
    import sys
    import time

    fifo = tmp_path / "m.fifo"
    os.mkfifo(fifo)
    p = subprocess.Popen([sys.executable, "-m", "stylize", "batch", str(fifo), "--out-dir", str(tmp_path / "o")],
                         stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4)  # (started, and waiting for the FIFO's writer)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
    finally:
        p.kill()
    assert p.returncode == 143 and err.strip().splitlines()[-1] == "Interrupted.", err
    assert not (tmp_path / "o").exists()


def test_round_42_pairs_of_two_intakes_and_an_output_made_from_another_name(tmp_path, synthetic_weights, monkeypatch):
    """Round 42: run_batch took the pairs of two intake calls (both numbered 0, one output: both reported ok,
    the file held the second), and an output made from s.png, resumed with s2.png, was "made from another s2.png
    (its pixels differ now)", though s2.png never changed."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    pattern(36, 36, 3).save("s2.png")
    settings = Settings(size=32, iterations=3, weights=str(synthetic_weights), normalize=False)
    a = batch.intake(None, ["c.png"], ["s.png"], "o")
    b = batch.intake(None, ["c.png"], ["s2.png"], "o", template="{content}__s.png")
    with pytest.raises(ManifestError, match="pairs: the pairs of one intake"):
        batch.run_batch(a + b, "o", settings, overwrite=True)
    assert not Path("o").exists()
    batch.run_batch(a, "o", settings)
    result = CliRunner().invoke(cli, ["batch", "--content", "c.png", "--style", "s2.png", "--out-dir", "o",
                                      "--name-template", "{content}__s.png", "--skip-existing",
                                      *synthetic(synthetic_weights)])
    assert result.exit_code == 3 and "o/c__s.png exists, made from s.png, not s2.png" in cli_result_text(result)


def test_round_43_the_hint_names_what_moves_an_output(tmp_path, synthetic_weights, monkeypatch):
    """Hostile round 43: an output not this pair's was told "or choose another --out-dir" where --out-dir does not
    move it (a manifest's absolute or '..' output, an absolute --name-template)."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    first = CliRunner().invoke(cli, ["c.png", "s.png", "-o", "abs.png", *synthetic(synthetic_weights), "--size", "48"])
    assert first.exit_code == 0, cli_result_text(first)
    Path("ma.csv").write_text(f"content,style,output\nc.png,s.png,{tmp_path / 'abs.png'}\n")
    Path("mb.csv").write_text("content,style,output\nc.png,s.png,../abs.png\n")
    Path("mc.csv").write_text("content,style,output\nc.png,s.png,abs.png\n")
    for args, hint in ((["ma.csv"], "give it another output in the manifest"),
                       (["mb.csv"], "give it another output in the manifest"),
                       (["--content", "c.png", "--style", "s.png", "--name-template", str(tmp_path / "abs.png")],
                        "change --name-template"),
                       (["mc.csv", "--out-dir", "."], "choose another --out-dir")):
        r = CliRunner().invoke(cli, ["batch", *args, "--out-dir", "o", *synthetic(synthetic_weights)]
                               if "--out-dir" not in args else ["batch", *args, *synthetic(synthetic_weights)])
        assert r.exit_code == 3 and f"made with --size 48, not 32; pass --overwrite to make it again, or {hint}\n" \
            in r.output, cli_result_text(r)


def test_run_batch_of_pairs_planned_in_another_folder_is_refused(tmp_path, synthetic_weights):
    """Hostile round 43: run_batch(pairs, "ob4") of pairs that intake planned in "ob3" wrote into ob3, silently."""
    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    pairs = batch.intake(None, [str(photo)], [str(art)], tmp_path / "ob3")
    with pytest.raises(ManifestError, match="out_dir: .*ob4, but the pairs were planned in .*ob3"):
        batch.run_batch(pairs, tmp_path / "ob4", Settings(size=32, iterations=2, weights=str(synthetic_weights),
                                                          normalize=False))
    assert not (tmp_path / "ob3").exists() and not (tmp_path / "ob4").exists()


def test_round_46_a_sheet_never_shows_an_input_replaced_after_its_pair_ran(tmp_path, synthetic_weights, monkeypatch):
    """Hostile round 46: the contact sheet read every input again at the end: a style replaced after pair 1 showed
    beside pair 1's result, made from the old one. Such a cell is a grey box "replaced since"."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(40, 32, 2).save("c2.png")
    Image.new("RGB", (36, 36), (255, 0, 0)).save("sty.png")
    Path("m.csv").write_text("content,style\nc.png,sty.png\nc2.png,sty.png\n")
    seen = []

    def replace_after_first(record):  # (the style replaced once pair 1 is written, before pair 2 reads it)
        if not seen:
            seen.append(1)
            Image.new("RGB", (36, 36), (0, 0, 255)).save("sty.png")

    from stylize import Settings

    pairs = batch.intake("m.csv", None, None, "o")
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    rep = batch.run_batch(pairs, "o", settings, on_pair=replace_after_first)
    assert [r.status for r in rep.records] == ["ok", "ok"] and seen
    batch.contact_sheet(rep.records, "o/sheet.png")
    sheet = Image.open("o/sheet.png").convert("RGB")
    row = batch.SHEET_THUMB + batch.SHEET_TEXT + batch.SHEET_PAD
    style_cell = (batch.SHEET_PAD + batch.SHEET_THUMB + batch.SHEET_PAD + 2, batch.SHEET_PAD + 2)
    assert sheet.getpixel(style_cell) == (200, 200, 200)  # pair 1: its style replaced since: grey
    assert sheet.getpixel((style_cell[0] + batch.SHEET_THUMB // 2, style_cell[1] + row + batch.SHEET_THUMB // 2)) \
        == (0, 0, 255)  # pair 2: made from the blue one, shown blue


def two_pairs(folder: Path, monkeypatch, weights: Path) -> Settings:
    """In `folder` (made the working folder): a.png, b.png, s.png and m.csv, their two pairs; the tiny settings on
    `weights`."""
    monkeypatch.chdir(folder)
    pattern(40, 32, 1).save("a.png")
    pattern(40, 32, 2).save("b.png")
    pattern(36, 36, 3).save("s.png")
    Path("m.csv").write_text("content,style\na.png,s.png\nb.png,s.png\n")
    return Settings(size=32, iterations=2, weights=str(weights), normalize=False)


def test_round_47_report_and_sheet_files_put_in_place_during_a_batch(tmp_path, synthetic_weights, monkeypatch):
    """Hostile round 47: a file of the user's put at the --report's name during a batch was overwritten by the next
    rewrite; a file put at the contact sheet's name was refused with "pass --overwrite", which then refused too; a
    stop while the sheet was drawn was ignored (exit 0). Each is refused as a file of the user's, kept; a stop
    during the sheet writes none."""
    settings = two_pairs(tmp_path, monkeypatch, synthetic_weights)

    def mine_at(name):
        def on_pair(record):
            if not Path(name).exists() or b"mine" not in Path(name).read_bytes():
                Path(name).write_bytes(b"mine")
        return on_pair

    with pytest.raises(ManifestError, match="r.json: a file that is not this batch's report .* was put at the report's"):
        batch.run_batch(batch.intake("m.csv", None, None, "o"), "o", settings, report="r.json",
                        on_pair=mine_at("r.json"))
    assert Path("r.json").read_bytes() == b"mine"
    rep = batch.run_batch(batch.intake("m.csv", None, None, "o2"), "o2", settings)
    Path("sheet.png").write_bytes(b"mine")
    for overwrite in (False, True):
        with pytest.raises(ManifestError, match="sheet.png: already exists and is not a contact sheet stylize made"):
            batch.contact_sheet(rep.records, "sheet.png", overwrite=overwrite)
    assert batch.contact_sheet(rep.records, "sheet2.png", should_stop=lambda: True) is None
    assert not Path("sheet2.png").exists() and Path("sheet.png").read_bytes() == b"mine"


def test_round_47_a_stop_while_the_sheet_is_drawn_is_an_interrupted_batch(tmp_path, synthetic_weights, monkeypatch):
    """Hostile round 47: a SIGINT while the contact sheet was drawn was ignored: the sheet written, exit 0."""
    from stylize import console

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("a.png")
    pattern(36, 36, 3).save("s.png")
    args = ["batch", "--content", "a.png", "--style", "s.png", "--out-dir", "o", "--contact-sheet", "sheet.png",
            *synthetic(synthetic_weights)]
    monkeypatch.setattr(console, "stopped", lambda: True)  # (as main's handler notes a signal after the pairs)
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 130 and "Interrupted: rerun with --skip-existing to resume." in r.output, r.output
    assert not Path("sheet.png").exists() and Path("o/a__s.png").exists()


def test_a_result_replaced_after_its_pair_ran_is_not_shown_as_its_result(tmp_path, synthetic_weights, monkeypatch):
    """Hostile round 47: a pair's output replaced by another picture after the pair ran showed on the contact sheet
    as that pair's result. An output this batch made in a format that holds stylize's metadata has it; one without
    is another file now: a grey "replaced since" box."""
    from stylize import Settings

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("a.png")
    pattern(36, 36, 3).save("s.png")
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    rep = batch.run_batch(batch.intake(None, ["a.png"], ["s.png"], "o"), "o", settings)
    Image.new("RGB", (32, 26), (0, 0, 255)).save("o/a__s.png")  # someone's picture at the result's name
    batch.contact_sheet(rep.records, "sheet.png")
    sheet = Image.open("sheet.png").convert("RGB")
    result = (batch.SHEET_PAD + 2 * (batch.SHEET_THUMB + batch.SHEET_PAD) + 2, batch.SHEET_PAD + 2)
    assert sheet.getpixel(result) == (200, 200, 200)


def test_round_48_reports_sheets_and_outputs_another_run_writes(tmp_path, synthetic_weights, monkeypatch):
    """Hostile round 48: another batch's report put at --report's name mid-batch was replaced silently; a report or
    a sheet another run was writing was told "pass --overwrite", which --overwrite then refused; a pair whose output
    another run was writing was "already exists (use --skip-existing ...)" and --skip-existing kept it as skipped
    while the other run replaced it. Each is said as what it is, and nothing of the other run's is replaced."""
    import signal

    from stylize.errors import ClaimError

    from .test_claims import holder

    settings = two_pairs(tmp_path, monkeypatch, synthetic_weights)
    other = Settings(size=32, iterations=3, weights=str(synthetic_weights), normalize=False)
    batch.run_batch(batch.intake("m.csv", None, None, "prev"), "prev", other, report="prev.json")
    theirs = Path("prev.json").read_bytes()

    def put_theirs(record):
        Path("r.json").write_bytes(theirs)

    with pytest.raises(ManifestError, match="r.json: a file that is not this batch's report"):
        batch.run_batch(batch.intake("m.csv", None, None, "o"), "o", settings, report="r.json", on_pair=put_theirs)
    assert Path("r.json").read_bytes() == theirs

    shard = holder(tmp_path / "prev.json", "shared")  # another batch writing its report now
    try:
        for overwrite in (False, True):
            with pytest.raises(ManifestError, match="prev.json: another stylize batch .* is writing this report now"):
                batch.run_batch(batch.intake("m.csv", None, None, "o3"), "o3", settings, report="prev.json",
                                overwrite=overwrite)
    finally:
        shard.send_signal(signal.SIGKILL)
        shard.wait()
    assert Path("prev.json").read_bytes() == theirs

    pairs = batch.intake("m.csv", None, None, "prev")
    sheet_writer = holder(tmp_path / "sheet.png")
    Path("sheet.png").write_bytes(b"not yet")
    try:
        with pytest.raises(ClaimError, match=rf"sheet.png: another stylize run \(pid {sheet_writer.pid}\) is writing"):
            batch.check_contact_sheet("sheet.png", pairs, settings)
        writer = holder(tmp_path / "prev" / "a__s.png")  # another run making pair 1's output
        try:
            rep = batch.run_batch(pairs, "prev", other, skip_existing=True)
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait()
    finally:
        sheet_writer.send_signal(signal.SIGKILL)
        sheet_writer.wait()
    assert [r.status for r in rep.records] == ["failed", "skipped"]
    assert re.search(rf"another stylize run \(pid {writer.pid}\) is writing it", rep.records[0].error)


def test_round_48_a_file_put_at_the_sheets_name_mid_batch_is_kept_and_no_hint_remakes_the_pairs(
        tmp_path, synthetic_weights, monkeypatch):
    """Hostile round 48: another batch's contact sheet put at --contact-sheet's name during the batch: "already
    exists; pass --overwrite", and --overwrite then made every finished pair again. The file is kept, and the
    message says so and how to resume."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("a.png")
    pattern(36, 36, 3).save("s.png")
    run = batch.run
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    rep = batch.run_batch(batch.intake(None, ["a.png"], ["s.png"], "prev"), "prev", settings)
    batch.contact_sheet(rep.records, "theirs.png")
    theirs = Path("theirs.png").read_bytes()

    def run_then_put(*args, **kwargs):
        out = run(*args, **kwargs)
        Path("sheet.png").write_bytes(theirs)
        return out

    monkeypatch.setattr(batch, "run", run_then_put)
    args = ["batch", "--content", "a.png", "--style", "s.png", "--out-dir", "o", "--contact-sheet", "sheet.png",
            *synthetic(synthetic_weights)]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 1 and "sheet.png: a file was put at the contact sheet's name during the batch; it is kept" \
        in r.output and "--skip-existing" in r.output, cli_result_text(r)
    assert Path("sheet.png").read_bytes() == theirs and Path("o/a__s.png").exists()


def test_round_50_arguments_changed_during_the_run_change_nothing(tmp_path, synthetic_weights, monkeypatch):
    """Hostile round 50: run_batch read the caller's metadata dict and pairs when it wrote each output: a callback
    that set metadata["partial"] = False marked a stopped output finished (a resume skipped it), and one that
    pointed a pair's output at the batch's style image wrote over it. The batch runs what it checked."""
    import hashlib

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("a.png")
    pattern(40, 32, 2).save("b.png")
    pattern(36, 36, 3).save("s.png")
    settings = Settings(size=32, iterations=20, weights=str(synthetic_weights), normalize=False, until_done=False)
    metadata, asked = {"request": "42"}, []

    def stop():
        asked.append(1)
        if len(asked) == 2:
            metadata["partial"] = False
        return len(asked) > 6

    rep = batch.run_batch(batch.intake(None, ["a.png"], ["s.png"], "o"), "o", settings, metadata=metadata,
                          should_stop=stop)
    assert [r.status for r in rep.records] == ["interrupted"]
    meta = json.loads(Image.open("o/a__s.png").info["stylize"])
    assert meta["partial"] is True and meta["request"] == "42"
    style = hashlib.sha256(Path("s.png").read_bytes()).hexdigest()
    pairs = batch.intake(None, ["a.png", "b.png"], ["s.png"], "o2")

    def repoint(record):
        pairs[1].output = Path("s.png")

    rep = batch.run_batch(pairs, "o2", settings.replace(iterations=2), on_pair=repoint, overwrite=True)
    assert [r.status for r in rep.records] == ["ok", "ok"] and Path("o2/b__s.png").exists()
    assert hashlib.sha256(Path("s.png").read_bytes()).hexdigest() == style


def test_round_51_a_callbacks_edits_of_what_it_is_told_change_no_record_nor_picture(tmp_path, synthetic_weights,
                                                                                     monkeypatch):
    """Hostile round 51: on_pair editing its Record (output, status) or on_ready its Report (path) made the report
    false or stopped the batch with a false "a file was put at the report's name"; a callback filling progress.image
    made the saved picture white with the real result's losses. Callbacks are told copies."""
    import torch

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("a.png")
    pattern(36, 36, 3).save("s.png")
    pattern(36, 36, 4).save("t.png")
    settings = Settings(size=32, iterations=3, weights=str(synthetic_weights), normalize=False)

    def edit_record(record):
        record.output, record.status = "elsewhere.png", "failed"

    def edit_report(rep):
        rep.path, rep.records[0].status = Path("elsewhere.json"), "failed"

    def whiten(progress):
        with torch.no_grad():
            progress.image.fill_(1.0)

    rep = batch.run_batch(batch.intake(None, ["a.png"], ["s.png", "t.png"], "o"), "o", settings, report="r.json",
                          on_pair=edit_record, on_ready=edit_report, callback=whiten)
    assert [r.status for r in rep.records] == ["ok", "ok"] and not Path("elsewhere.json").exists()
    assert json.loads(Path("r.json").read_text())["summary"] == {"ok": 2}
    assert Image.open("o/a__s.png").convert("L").getextrema() != (255, 255)


def test_round_51_a_chmod_of_the_sheet_is_no_file_put_there_and_a_missing_folder_is_named(tmp_path, synthetic_weights,
                                                                                          monkeypatch):
    """Hostile round 51: a chmod of the earlier contact sheet (or a hard link of it removed) during the batch was
    taken for "a file was put at the contact sheet's name": no sheet, exit 1. A --contact-sheet 'nd/../s.png' where
    nd does not exist blamed a claim file, not the folder."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("a.png")
    pattern(36, 36, 3).save("s.png")
    args = ["batch", "--content", "a.png", "--style", "s.png", "--out-dir", "o", "--contact-sheet", "sheet.png",
            *synthetic(synthetic_weights)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    os.link("sheet.png", "other.png")
    run = batch.run

    def run_then_chmod(*a, **k):  # (round 52: a touch too)
        out = run(*a, **k)
        os.chmod("sheet.png", 0o600)
        os.unlink("other.png")
        os.utime("sheet.png", (1, 1))
        return out

    monkeypatch.setattr(batch, "run", run_then_chmod)
    r = CliRunner().invoke(cli, [*args, "--overwrite"])
    assert r.exit_code == 0, cli_result_text(r)
    r = CliRunner().invoke(cli, ["batch", "--content", "a.png", "--style", "s.png", "--out-dir", "o2",
                                 "--contact-sheet", "nd/../s2.png", *synthetic(synthetic_weights)])
    assert r.exit_code == 1 and "nd/../s2.png: the folder nd/.. does not exist" in r.stderr, cli_result_text(r)


def test_round_53_a_jpeg_output_copied_without_its_mark_is_made_again(tmp_path, synthetic_weights, monkeypatch):
    """Hostile round 53: a .jpg output whose metadata was in its mark, copied without it, was kept by a resume as
    finished ("skipped"), whatever it was made with. It is stylize's, of unknown making: made again."""
    import shutil

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    pairs = batch.intake(None, ["c.png"], ["s.png"], "o", template="{content}__{style}.jpg")
    batch.run_batch(pairs, "o", settings, metadata={"note": "x" * 70000})
    Path("copy").mkdir()
    shutil.copy("o/c__s.jpg", "copy/c__s.jpg")
    pairs = batch.intake(None, ["c.png"], ["s.png"], "copy", template="{content}__{style}.jpg")
    rep = batch.run_batch(pairs, "copy", settings.replace(size=40), skip_existing=True)
    assert [r.status for r in rep.records] == ["ok"] and Image.open("copy/c__s.jpg").size[0] == 40


def test_round_54_an_empty_or_bytes_manifest_name_is_refused(tmp_path, monkeypatch):
    """Hostile round 54: `stylize batch "" --content c --style s` ran the pairs as if no manifest was named, and
    intake took a path object of bytes as the manifest (a message later showed b'...')."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    r = CliRunner().invoke(cli, ["batch", "", "--content", "c.png", "--style", "s.png", "--out-dir", "o"])
    assert r.exit_code == 2 and "an empty MANIFEST name" in r.stderr and not Path("o").exists(), cli_result_text(r)

    class BytesPath(os.PathLike):
        def __fspath__(self):
            return b"m.csv"

    Path("m.csv").write_text("content,style\nc.png,s.png\n")
    for manifest, message in (("", "an empty MANIFEST name"), (BytesPath(), "manifest: a file name")):
        with pytest.raises(ManifestError, match=message):
            batch.intake(manifest, None, None, "o")


def test_round_54_a_long_label_is_cut_at_once(tmp_path):
    """Hostile round 54: a contact-sheet label of 250 long style names (70 KB) was cut one character per measurement
    of the whole text: over ten minutes in one C call, deaf to signals. It is cut by halves."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(Image.new("RGB", (480, 40)))
    text = "1. c.png + " + " + ".join(f"styles/s{i:03d}_" + "x" * 180 + ".png" for i in range(250))
    measure, measured = draw.textlength, []
    draw.textlength = lambda t: measured.append(len(t)) or measure(t)
    cut = batch._fitted(draw, text, 460)
    assert len(measured) < 20 and max(measured[1:]) <= 460  # (once whole, then starts of at most 460 characters)
    draw.textlength = measure
    assert cut.endswith("...") and draw.textlength(cut) <= 460
    assert draw.textlength(cut[:-3] + text[len(cut) - 3] + "...") > 460  # the longest start that fits
    assert batch._fitted(draw, "short", 460) == "short"


def test_round_55_a_name_of_blanks_is_a_name(tmp_path, synthetic_weights, monkeypatch):
    """Hostile round 55: a manifest, a --content image and an --out-dir folder named " " (which existed) were refused
    as "empty", though transfer and a manifest's cells took the same names; only "" is empty."""
    two_pairs(tmp_path, monkeypatch, synthetic_weights)
    Path(" ").write_text("content,style,output\na.png,s.png,one.png\n")
    Path("  ").mkdir()
    pattern(40, 32, 4).save("\t.png")
    r = CliRunner().invoke(cli, ["batch", " ", "--out-dir", "  ", *synthetic(synthetic_weights)])
    assert r.exit_code == 0 and Image.open("  /one.png").size == (32, 26), cli_result_text(r)
    r = CliRunner().invoke(cli, ["batch", "--content", "\t.png", "--style", "s.png", "--out-dir", "  ",
                                 "--report", " r.json", *synthetic(synthetic_weights)])
    assert r.exit_code == 0 and Path("  /\t__s.png").is_file() and Path(" r.json").is_file(), cli_result_text(r)
    assert [p.content for p in batch.intake(None, ["\t.png"], ["s.png"], "o")] == ["\t.png"]  # (a file, as named)
    for args in (["batch", "", "--out-dir", "o"], ["batch", "--content", "", "--style", "s.png", "--out-dir", "o"],
                 ["batch", "m.csv", "--out-dir", ""]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 2 and "empty" in r.stderr, cli_result_text(r)


def test_round_57_the_api_is_each_modules_all_and_checks_its_arguments(tmp_path, monkeypatch):
    """Hostile round 57: batch.plan, shard, read_manifest and contact_sheet raised bare errors for odd arguments.
    They serve the command line; the API is each module's __all__ (README: Python API), whose every function
    refuses an argument of the wrong type with a StylizeError before any work."""
    from stylize import StylizeError, figures, report

    monkeypatch.chdir(tmp_path)
    assert "plan" not in batch.__all__ and "shard" not in batch.__all__
    for call in (lambda: batch.intake(5, None, None, "o"), lambda: batch.intake(None, ["c"], ["s"], 5),
                 lambda: batch.run_batch("pairs", "o", Settings()),
                 lambda: figures.grid("settings", "c.png", "s.png"),
                 lambda: figures.figure1(Settings(), 5, "s.png"),
                 lambda: figures.save("figure", "f.png"),
                 lambda: report.merge(None, "o.json")):
        with pytest.raises(StylizeError):
            call()
    assert os.listdir() == []


def test_round_63_run_batch_takes_the_pairs_intake_made_as_it_made_them(tmp_path, monkeypatch):
    """Hostile round 63: hand-made batch.Pair objects skipped intake's checks: two with one output (with
    overwrite=True the first pair's picture was replaced, both recorded ok), an index past the manifest (the
    batch refused its own report after the work), a str output (a bare AttributeError)."""
    from dataclasses import replace

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    pattern(36, 36, 3).save("t.png")
    made = batch.intake(None, ["c.png"], ["s.png", "t.png"], ".")
    for pairs in ([batch.Pair(0, "c.png", ("s.png",), Path("same.png")), batch.Pair(1, "c.png", ("t.png",),
                                                                                    Path("same.png"))],
                  [replace(made[0], output=made[1].output), made[1]], [replace(made[0], index=3)],
                  [replace(made[0], output=str(made[0].output))]):
        with pytest.raises(ManifestError, match="pairs: the pairs batch.intake returns, as it returned them"):
            batch.run_batch(pairs, ".", Settings(size=32, iterations=2), overwrite=True, report="r.json")
    assert sorted(os.listdir()) == ["c.png", "s.png", "t.png"]


def test_round_64_a_pairs_folder_and_count_are_as_intake_made_them_and_names_never_stylizes(tmp_path, monkeypatch):
    """Hostile round 64: a pair's out_dir or total (or a share's total) changed by hand passed run_batch's check
    (outputs outside its out_dir, a report counting 5 pairs of 1); the default template made .stylize-tmp-a__s.png
    of .stylize-tmp-a.png, which then failed as one of stylize's own names."""
    from dataclasses import replace

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    pattern(36, 36, 3).save("t.png")
    made = batch.intake(None, ["c.png"], ["s.png"], "o1")
    share = batch.intake(None, ["c.png"], ["s.png", "t.png"], "o1", share=(1, 2))
    share.total = 1
    for pairs, out_dir in (([replace(made[0], out_dir=Path("o2"))], "o2"), ([replace(made[0], total=5)], "o1"),
                           (share, "o1")):
        with pytest.raises(ManifestError, match="pairs: the pairs batch.intake returns, as it returned them"):
            batch.run_batch(pairs, out_dir, Settings(size=32, iterations=2), report="r.json")
    assert sorted(os.listdir()) == ["c.png", "s.png", "t.png"]
    Path(".stylize-tmp-a.png").write_bytes(Path("c.png").read_bytes())
    assert [p.output for p in batch.intake(None, [".stylize-tmp-a.png"], ["s.png"], "o")] == \
        [Path("o/stylize-tmp-a__s.png")]
    with pytest.raises(ManifestError, match="a name stylize keeps for its own hidden files; change --name-template"):
        batch.intake(None, ["c.png"], ["s.png"], "o", template=".stylize-claim-{style}.png")


def test_round_64_a_pair_given_twice_is_said_so(tmp_path, monkeypatch):
    """Hostile round 64: run_batch([p, p]) said the pairs came from two intake calls; a pair given twice is said so."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    pairs = batch.intake(None, ["c.png"], ["s.png"], "o")
    with pytest.raises(ManifestError, match="pairs: pair 1 is given twice; give each pair once"):
        batch.run_batch([pairs[0], pairs[0]], "o", Settings(size=32, iterations=2))
    assert sorted(os.listdir()) == ["c.png", "s.png"]


def test_round_65_on_readys_report_is_a_copy_that_holds_and_writes_nothing(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 65: on_ready's report shared the batch's lock, claim, folders and settings: its close() dropped
    the claim (then a bare TypeError), its write() put invented records on disk, a folder appended to its folders
    was removed, an edit of its settings made the batch refuse its own report."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    Path("mine/empty").mkdir(parents=True)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)

    def ready(view):
        view.folders.append(Path("mine/empty"))
        view.settings["size"] = 512
        view.close()
        with pytest.raises(ManifestError, match="a copy its batch handed out"):
            view.write()

    pairs = batch.intake(None, ["c.png"], ["s.png"], "o")
    done = batch.run_batch(pairs, "o", settings, report="r.json", on_ready=ready)
    assert [r.status for r in done.records] == ["ok"] and Path("mine/empty").is_dir()
    assert json.loads(Path("r.json").read_text())["pairs"][0]["status"] == "ok"


def test_round_66_an_out_dir_never_has_one_of_stylizes_own_names(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 66: `--out-dir .stylize-claim-<t9.png's>` made a folder at the claim name of t9.png (every
    later `-o t9.png` then failed, "Is a directory"); `.stylize.lock` and `sub/.stylize-tmp-zz` too. Refused before
    any work, naming --out-dir; a manifest's `output` in such a folder fails that pair alone."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    Path("m.csv").write_text("content,style\nc.png,s.png\n")
    for out_dir in (".stylize-claim-b963386240d63bd9", ".stylize.lock", "sub/.Stylize-tmp-zz"):
        r = CliRunner().invoke(cli, ["batch", "m.csv", "--out-dir", out_dir, *synthetic(synthetic_weights)])
        assert r.exit_code == 1 and f"{out_dir}: --out-dir takes a folder named" in r.stderr, cli_result_text(r)
        with pytest.raises(ManifestError, match="choose another --out-dir"):
            batch.intake("m.csv", out_dir=out_dir)
        with pytest.raises(ManifestError, match="choose another --out-dir"):  # (no pair names it)
            batch.run_batch([], out_dir, Settings(size=32, iterations=2))
    Path("m.jsonl").write_text('{"content": "c.png", "style": "s.png", "output": ".stylize-tmp-sub/x.png"}\n')
    r = CliRunner().invoke(cli, ["batch", "m.jsonl", "--out-dir", "om", *synthetic(synthetic_weights)])
    assert r.exit_code == 3 and "in a folder named .stylize-tmp-sub, a name stylize keeps" in r.stderr
    assert sorted(os.listdir()) == ["c.png", "m.csv", "m.jsonl", "s.png"]


def test_round_67_no_output_report_or_sheet_at_a_folder_the_batch_makes(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 67: a pair's output (`d.png`) or its .bmp's mark name (`a.bmp.stylize.json`) at the folder the
    batch made for another pair's output (`d.png/z.png`) failed after the batch had made it, with a false "pass
    --overwrite" (with it, the pair ran all its iterations and then lost them); a --contact-sheet there was refused
    after every pair had run; a --report there was said to be "a directory". All refused before any work."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    cases = [("c.png,s.png,d.png\nc.png,s.png,d.png/z.png\n", [], "pair 1: the output o/d.png is a folder the batch "
              "makes: pair 2's output o/d.png/z.png is written in it; give one of them another output"),
             ("c.png,s.png,a.bmp.stylize.json/z.png\nc.png,s.png,a.bmp\n", [], "pair 2: its output's mark name "
              "o/a.bmp.stylize.json is a folder the batch makes: pair 1's output"),
             ("c.png,s.png,sh.png/x.png\n", ["--contact-sheet", "o/sh.png"], "o/sh.png: the contact sheet is a "
              "folder the batch makes: pair 1's output o/sh.png/x.png is written in it; choose another --contact"),
             ("c.png,s.png,r.json/x.png\n", ["--report", "o/r.json"], "o/r.json: the report is a folder the batch "
              "makes: pair 1's output o/r.json/x.png is written in it; choose another --report path")]
    for rows, more, message in cases:
        Path("m.csv").write_text("content,style,output\n" + rows)
        for flag in ([], ["--overwrite"]):
            r = CliRunner().invoke(cli, ["batch", "m.csv", "--out-dir", "o", *more, *flag,
                                         *synthetic(synthetic_weights)])
            assert r.exit_code == 1 and message in r.stderr, cli_result_text(r)
            assert sorted(os.listdir()) == ["c.png", "m.csv", "s.png"]


def test_round_67_a_setting_left_unset_is_said_so_not_null(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 67: a --skip-existing resume with --evaluations 4 over an output made without it said "made with
    --evaluations null, not 4": null is no value of any option."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    common = ["batch", "--content", "c.png", "--style", "s.png", "--out-dir", "o", *synthetic(synthetic_weights)]
    assert CliRunner().invoke(cli, common).exit_code == 0
    r = CliRunner().invoke(cli, [*common, "--evaluations", "4", "--skip-existing"])
    assert r.exit_code == 3 and "made with --evaluations unset (its default), not 4;" in r.stderr, cli_result_text(r)


def test_round_69_on_folders_raising_leaves_no_folder(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 69: run_batch's on_folders raising its own error left the new, empty --out-dir behind (the
    other callbacks' errors did not)."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")

    def boom():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        batch.run_batch(batch.intake(None, ["c.png"], ["s.png"], "new/o"), "new/o", Settings(
            size=32, iterations=2, weights=str(synthetic_weights), normalize=False), report="r.json", on_folders=boom)
    assert sorted(os.listdir()) == ["c.png", "s.png"]


def test_round_72_a_skip_existing_run_of_another_batch_never_replaces_its_sheet(tmp_path, monkeypatch,
                                                                                synthetic_weights):
    """Hostile round 72: the contact sheet's mark held only its outputs' names: a --skip-existing run of another
    batch (other settings, or another photo under the same output name) replaced the first batch's sheet with
    one of failures. Refused before any work, as the report of another batch is; the same batch resumes it."""
    from .conftest import synthetic

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(40, 32, 3).save("d.png")
    pattern(36, 36, 2).save("s.png")
    Path("a.csv").write_text("content,style,output\nc.png,s.png,o.png\n")
    Path("b.csv").write_text("content,style,output\nd.png,s.png,o.png\n")
    tiny = synthetic(synthetic_weights)
    assert CliRunner().invoke(cli, ["batch", "a.csv", "--out-dir", "out", "--contact-sheet", "sheet.png",
                                    *tiny]).exit_code == 0
    kept = Path("sheet.png").read_bytes()
    for other in (["a.csv", "--size", "40"], ["b.csv"]):
        r = CliRunner().invoke(cli, ["batch", *other[:1], "--out-dir", "out", "--contact-sheet", "sheet.png", *tiny,
                                     *other[1:], "--skip-existing"])
        assert r.exit_code == 1 and "sheet.png: already exists, the contact sheet of a batch of these outputs with " \
            "other settings or inputs" in r.stderr, \
            cli_result_text(r)
        assert Path("sheet.png").read_bytes() == kept
    r = CliRunner().invoke(cli, ["batch", "a.csv", "--out-dir", "out", "--contact-sheet", "sheet.png", *tiny,
                                 "--skip-existing"])  # (its own batch: resumed, its sheet drawn again)
    assert r.exit_code == 0 and Path("sheet.png").exists(), cli_result_text(r)


def test_round_73_the_sheet_of_these_outputs_at_other_settings_is_said_so(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 73: a --skip-existing run at another --iterations was refused (rightly) as "the contact sheet of
    other pairs (another batch's or shard's)", though the pairs were the same; the report tells the two apart."""
    from .conftest import synthetic

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    tiny = synthetic(synthetic_weights)
    common = ["batch", "--content", "c.png", "--style", "s.png", "--out-dir", "o", "--contact-sheet", "sheet.png"]
    assert CliRunner().invoke(cli, [*common, *tiny]).exit_code == 0
    r = CliRunner().invoke(cli, [*common, *tiny, "--iterations", "4", "--skip-existing"])
    assert r.exit_code == 1 and "sheet.png: already exists, the contact sheet of a batch of these outputs with other " \
        "settings or inputs; choose another --contact-sheet" in r.stderr, cli_result_text(r)


def test_round_74_on_folders_runs_in_the_batchs_folder_and_a_stopped_resumes_copy_keeps_earlier_records(
        tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 74: on_folders changing folder was not undone (the pair failed, the report went to the other
    folder); the Report a stopped --skip-existing resume returned said 'pending' for pairs its file kept 'ok'."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    for n in (2, 3):
        pattern(36, 36, n).save(f"s{n}.png")
    Path("other").mkdir()
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    pairs = batch.intake(None, ["c.png"], ["s2.png", "s3.png"], "out")
    done = batch.run_batch(pairs, "out", settings, report="rep.json", on_folders=lambda: os.chdir("other"))
    assert [r.status for r in done.records] == ["ok", "ok"] and os.getcwd() == str(tmp_path)
    assert Path("rep.json").exists() and os.listdir("other") == []
    asked = []
    stopped = batch.run_batch(pairs, "out", settings, report="rep.json", skip_existing=True,
                              should_stop=lambda: asked.append(1) or len(asked) > 1)
    on_disk = [p["status"] for p in json.loads(Path("rep.json").read_text())["pairs"]]
    assert [r.status for r in stopped.records] == on_disk and "pending" not in on_disk


def test_round_77_a_name_that_exists_is_that_name_whatever_it_is(tmp_path, monkeypatch):
    """Hostile round 77: `--content 'gl[1].png'` where gl[1].png is a folder (or a link to nothing) and gl1.png a
    file stylized gl1.png, exit 0: only a name that is an existing *file* was kept as named. Any name that exists
    is that name: a folder or a link to nothing is refused as such (exit 2), never read as a glob."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("gl1.png")
    pattern(40, 32, 2).save("dl1.png")
    pattern(36, 36, 3).save("s.png")
    Path("gl[1].png").mkdir()
    os.symlink("nowhere", "dl[1].png")
    cases = ((["--content", "gl[1].png", "--style", "s.png"], "--content gl[1].png: is a directory"),
             (["--content", "s.png", "--style", "gl[1].png"], "--style gl[1].png: is a directory"),
             (["--content", "dl[1].png", "--style", "s.png"], "--content dl[1].png: a link to nothing"))
    for args, why in cases:
        r = CliRunner().invoke(cli, ["batch", *args, "--out-dir", "out", "--size", "32", "--iterations", "2"])
        assert r.exit_code == 2 and why in r.stderr, cli_result_text(r)
    for contents, styles, why in ((["gl[1].png"], ["s.png"], "--content gl[1].png: is a directory"),
                                  (["s.png"], ["dl[1].png"], "--style dl[1].png: a link to nothing")):
        with pytest.raises(ManifestError, match=re.escape(why)):
            batch.intake(None, contents, styles, "out")
    assert sorted(os.listdir()) == ["dl1.png", "dl[1].png", "gl1.png", "gl[1].png", "s.png"]
    pattern(40, 32, 4).save("gl[1].png/in.png")  # (its files, as the message says: the folder taken as named)
    assert [p.content for p in batch.intake(None, ["gl[1].png/*.png"], ["s.png"], "out")] == ["gl[1].png/in.png"]
    Path("dl1.png;s.png").mkdir()  # (a CSV cell naming it: that name, not the styles dl1.png and s.png)
    Path("m.csv").write_text("content,style\ngl1.png,dl1.png;s.png\n")
    assert [p.styles for p in batch.intake("m.csv", out_dir="out")] == [("dl1.png;s.png",)]


def test_round_78_a_folder_made_meanwhile_is_still_the_same_folder(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 78: two run_batch calls into one new out_dir at once: one was refused with "out_dir: o3, but
    the pairs were planned in o3" (the folder made by the other between the two looks: one name keyed by its name,
    the other by its inode)."""
    from stylize import images

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    pairs = batch.intake(None, ["c.png"], ["s.png"], "o3")
    real, looks = images.path_key, []

    def key_then_made(path):  # (another run makes o3 just after the first look)
        key = real(path)
        looks.append(path)
        os.makedirs("o3", exist_ok=True)
        return key

    monkeypatch.setattr(images, "path_key", key_then_made)
    monkeypatch.setattr(batch, "path_key", key_then_made)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    report = batch.run_batch(pairs, "o3", settings, should_stop=lambda: True)
    assert looks and [r.status for r in report.records] == ["pending"]


def test_round_89_a_path_object_named_dash_is_a_file(tmp_path, monkeypatch):
    """Hostile round 89: batch.intake(Path("-")) read standard input (or, beside a file named '-', said "write
    ./- for the file", which a path object cannot). A path object is always a file: Path("-") is ./-."""
    import io

    monkeypatch.chdir(tmp_path)
    for name, seed in (("c.png", 1), ("s1.png", 2), ("s2.png", 3)):
        pattern(40, 32, seed).save(name)
    piped = "content,style\nc.png,s2.png\n"
    with pytest.raises(ManifestError, match=r"^\./-: no such file$"):
        batch.intake(Path("-"), out_dir="o", stdin=io.StringIO(piped))
    Path("-").write_text("content,style\nc.png,s1.png\n")
    for manifest in (Path("-"), Path("./-"), "./-"):
        assert [(p.content, p.styles) for p in batch.intake(manifest, out_dir="o", stdin=io.StringIO(piped))] == \
            [("c.png", ("s1.png",))]
    with pytest.raises(ManifestError, match="write ./- for the file"):  # (a text '-' is the keyword, as before)
        batch.intake("-", out_dir="o", stdin=io.StringIO(piped))


def test_round_90_a_path_object_that_names_no_file_is_told_as_given(tmp_path, monkeypatch):
    """Hostile round 90: a path object holding '*' or '?' that names no file was told as "--style s[*].jpg:
    matches no file" (its escaped pattern, as a glob). A path object is a file: told by its own name."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    for name in ("s*.jpg", "s?.jpg", "nofile.jpg"):
        with pytest.raises(ManifestError) as e:
            batch.intake(None, [Path("c.png")], [Path(name)], "o")
        assert str(e.value) == f"--style {name}: no such file"
    with pytest.raises(ManifestError, match=r"^--content d\[1\]: is a directory"):
        os.mkdir("d[1]")
        batch.intake(None, [Path("d[1]")], ["c.png"], "o")


def test_round_93_a_resume_never_keeps_an_output_it_cannot_read(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 93: an output emptied (or cut short) after its pair ran was "skipped" by a --skip-existing
    resume, exit 0, its report record carrying the earlier run's losses (the contact sheet drew it "unreadable").
    An output that cannot be read back is no finished output: that pair fails, the file kept, with how to redo it."""
    from stylize.report import read

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(40, 32, 2).save("c2.png")
    pattern(36, 36, 3).save("s.png")
    Path("m.csv").write_text("content,style\nc.png,s.png\nc2.png,s.png\n")
    args = ["batch", "m.csv", "--out-dir", "o", "--report", "r.json", *synthetic(synthetic_weights)]
    assert run(*args).exit_code == 0
    whole = Path("o/c2__s.png").read_bytes()
    Path("o/c__s.png").write_bytes(b"")
    Path("o/c2__s.png").write_bytes(whole[:len(whole) // 2])
    r = run(*args, "--skip-existing")
    assert r.exit_code == 3, cli_result_text(r)
    records = read(Path("r.json"))["pairs"]
    assert [p["status"] for p in records] == ["failed", "failed"] and records[0]["content_loss"] is None
    assert records[0]["error"] == ("o/c__s.png: the file is empty; it is kept: move it away (a --skip-existing resume "
                                   "then makes it), or rerun with --overwrite in place of --skip-existing (which "
                                   "makes every pair again)")
    assert records[1]["error"].startswith(("o/c2__s.png: the image is damaged (a PNG whose chunks Pillow cannot "
                                           "read: a checksum fails, or a chunk is cut short)",  # (cut in a chunk
                                           "o/c2__s.png: cannot read the image (image file is truncated)"))  # or in
    # its pixels: where half its length falls depends on its metadata's length)
    assert Path("o/c__s.png").read_bytes() == b"" and Path("o/c2__s.png").read_bytes() == whole[:len(whole) // 2]
    r = run("batch", "m.csv", "--out-dir", "o", *synthetic(synthetic_weights))  # (no flag)
    assert r.exit_code == 3 and "o/c__s.png: the file is empty; it is kept: move it away or pass --overwrite" in \
        r.stderr, cli_result_text(r)
    for name in ("o/c__s.png", "o/c2__s.png"):
        os.remove(name)
    r = run(*args, "--skip-existing")
    assert r.exit_code == 0 and read(Path("r.json"))["summary"] == {"ok": 2}, cli_result_text(r)


def test_round_94_a_resume_keeps_only_the_picture_stylize_wrote(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 94: a --skip-existing resume kept (exit 0, "skipped") a PNG output whose checksum fails
    (Pillow decodes it), a JPEG under the .png name carrying the output's metadata, and a picture resized since;
    with --stop-on-error, a later pair's existing or damaged output stopped the batch only after the earlier
    pairs' work. Each fails that pair; with --stop-on-error, before any work."""
    from stylize.report import read

    from .test_images import damaged_crc

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(40, 32, 2).save("c2.png")
    pattern(36, 36, 3).save("s.png")
    Path("m.csv").write_text("content,style\nc.png,s.png\nc2.png,s.png\n")
    args = ["batch", "m.csv", "--out-dir", "o", *synthetic(synthetic_weights)]
    assert run(*args).exit_code == 0
    good = Path("o/c2__s.png").read_bytes()
    meta = Image.open("o/c2__s.png").info["stylize"]
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("stylize", meta)
    for damage, told in (
            (lambda: damaged_crc("o/c2__s.png"), "o/c2__s.png: the image is damaged ("),
            (lambda: Image.open(io.BytesIO(good)).convert("RGB").save("o/c2__s.png", "JPEG", comment=meta.encode()),
             "o/c2__s.png exists, a JPEG picture of 32x26 px where its metadata records the PNG of 32x26 px in colour"),
            (lambda: Image.open(io.BytesIO(good)).resize((64, 52)).save("o/c2__s.png", pnginfo=info),
             "o/c2__s.png exists, a PNG picture of 64x52 px where its metadata records the PNG of 32x26 px in colour")):
        Path("o/c2__s.png").write_bytes(good)
        damage()
        r = run(*args, "--skip-existing", "--report", "r.json")
        assert r.exit_code == 3 and told in r.stderr, cli_result_text(r)
        assert [p["status"] for p in read(Path("r.json"))["pairs"]] == ["skipped", "failed"]
        os.remove("r.json")
    os.remove("o/c__s.png")  # (pair 1 to make; pair 2's output damaged: --stop-on-error stops before pair 1's work)
    for flags in (["--skip-existing"], []):
        r = run(*args, "--stop-on-error", "--report", "r.json", *flags)
        assert r.exit_code == 3 and not os.path.exists("o/c__s.png"), cli_result_text(r)
        assert [p["status"] for p in read(Path("r.json"))["pairs"]] == ["pending", "failed"]
        os.remove("r.json")


def test_round_95_a_resumes_hint_for_what_is_no_image_file_is_one_it_can_take(tmp_path, monkeypatch,
                                                                            synthetic_weights):
    """Hostile round 95: a pipe or a link to nothing at an output's name, on a --skip-existing resume, was told
    "move it away or pass --overwrite", a flag the resume cannot take. Told as a damaged output is."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 3).save("s.png")
    args = ["batch", "--content", "c.png", "--style", "s.png", "--out-dir", "o", *synthetic(synthetic_weights)]
    assert run(*args).exit_code == 0
    os.remove("o/c__s.png")
    os.mkfifo("o/c__s.png")
    for flags, how in ((["--skip-existing"], "move it away (a --skip-existing resume then makes it), or rerun with "
                                             "--overwrite in place of --skip-existing (which makes every pair again)"),
                       ([], "move it away or pass --overwrite")):
        r = run(*args, "--report", "r.json", *flags)
        assert r.exit_code == 3 and json.loads(Path("r.json").read_text())["pairs"][0]["error"] == (
            f"o/c__s.png exists and is not an image file (a link to nothing, a pipe, ...); {how}"), cli_result_text(r)
        os.remove("r.json")


def test_round_100_a_resume_refuses_colour_parts_pillow_does_not_read(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 100: a cICP chunk added to a PNG output (colour code points, read by browsers before any
    profile) and a TIFF output's WhitePoint and PrimaryChromaticities tags were kept by --skip-existing resumes
    ("1 skipped", exit 0). Each fails its pair now, the file kept."""
    from .test_structures import chunk

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 3).save("s.png")
    for template, change, told in (
            ("{content}.png", lambda png: png[:png.index(b"IDAT") - 4] + chunk(b"cICP", bytes([9, 16, 0, 1])) +
             png[png.index(b"IDAT") - 4:], "with colour code points (a PNG cICP chunk)"),
            ("{content}.tif", None, "with chromaticities (a TIFF WhitePoint tag)")):
        args = ["batch", "--content", "c.png", "--style", "s.png", "--out-dir", "o", "--name-template", template,
                *synthetic(synthetic_weights)]
        assert run(*args).exit_code == 0
        output = Path("o") / template.format(content="c")
        if change:
            output.write_bytes(change(output.read_bytes()))
        else:
            tif = Image.open(output)
            tif.load()
            tif.save(output, tiffinfo={**dict(tif.tag_v2), 318: (0.3127, 0.329), 319: (0.708, 0.292, 0.17, 0.797,
                                                                                       0.131, 0.046)})
        kept = output.read_bytes()
        r = run(*args, "--skip-existing")
        assert r.exit_code == 3 and told in r.stderr and "(changed since)" in r.stderr, cli_result_text(r)
        assert output.read_bytes() == kept


def test_round_106_a_report_records_the_settings_its_pairs_read(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 106: a batch report's "settings" recorded a learning rate without Adam, a seed and noise with
    --init content, a guide without masks, which its outputs (round 105) leave out. One rule for both."""
    from stylize.unread import recorded

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 3).save("s.png")
    args = ["batch", "--content", "c.png", "--style", "s.png", "--out-dir", "o", "--report", "r.json", "--init",
            "content", *synthetic(synthetic_weights)]
    assert run(*args).exit_code == 0
    settings = json.loads(Path("r.json").read_text())["settings"]
    assert not {"learning_rate", "seed", "noise", "guide", "coarse_iterations"} & settings.keys()
    assert settings["init"] == "content"
    meta = json.loads(Image.open("o/c__s.png").info["stylize"])["settings"]
    assert {k: v for k, v in settings.items() if k != "weights_sha256"} == meta
    r = run(*args, "--skip-existing")  # (the report resumed: its settings compared as recorded)
    assert r.exit_code == 0 and [p["status"] for p in json.loads(Path("r.json").read_text())["pairs"]] == \
        ["skipped"], cli_result_text(r)
    assert recorded({"optimizer": "adam", "learning_rate": 0.1}, "transfer") == {"optimizer": "adam",
                                                                                  "learning_rate": 0.1}


def test_round_118_bad_weights_stop_the_batch_before_its_first_pair(tmp_path, monkeypatch):
    """Hostile round 118: an unreadable --weights file failed every pair one by one (exit 3, a report of failures)
    where transfer refuses it (exit 1); run_batch refused a missing one after making its out_dir; a link to nothing
    as the manifest was "no such file". The weights are checked once, before any folder or report."""
    from stylize import Settings, StylizeError

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    Path("empty.pth").write_bytes(b"")
    os.symlink("nowhere", "dang")
    Path("m.csv").write_text("content,style\nc.png,s.png\nc.png,c.png\n")
    r = run("batch", "m.csv", "--out-dir", "o", "--report", "r.json", "--size", "32", "--iterations", "2",
            "--weights", "empty.pth")
    assert r.exit_code == 1 and r.stderr == "Error: empty.pth: not a PyTorch state-dict file stylize can read " \
                                           "safely (the file is empty)\n", cli_result_text(r)
    assert not os.path.exists("o") and not os.path.exists("r.json")
    for weights, told in (("empty.pth", "empty.pth: not a PyTorch state-dict file"),
                          ("missing.pth", "weights file missing.pth does not exist"),
                          ("dang", "weights file dang: a link to nothing")):
        pairs = batch.intake(None, ["c.png"], ["s.png"], "ox")
        with pytest.raises(StylizeError, match=re.escape(told)):
            batch.run_batch(pairs, "ox", Settings(size=32, iterations=2, weights=weights))
        assert not os.path.exists("ox")
    r = run("batch", "dang", "--out-dir", "o")
    assert r.exit_code == 2 and r.stderr.endswith("Error: dang: a link to nothing\n"), cli_result_text(r)
    with pytest.raises(StylizeError, match="^dang: a link to nothing$"):
        batch.intake("dang")


def test_round_119_weights_replaced_between_pairs_stop_the_batch(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 119: a weights file replaced between two pairs made the later pairs with the new network while
    the batch's report recorded the old one's digest (a report naming one network for pairs of two). The batch stops
    before the next pair, with its finished pairs kept and recorded."""
    import shutil

    from stylize import Settings

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    pattern(36, 36, 3).save("s2.png")
    state = torch.load(synthetic_weights)
    torch.save({k: (v.float() * 1.5).half() for k, v in state.items()}, "other.pth")
    shutil.copy(synthetic_weights, "w.pth")

    def replace_weights(record):
        if record.index == 0:
            shutil.copy("other.pth", "w.tmp")
            os.replace("w.tmp", "w.pth")

    pairs = batch.intake(None, ["c.png"], ["s.png", "s2.png"], "o")
    with pytest.raises(StylizeError, match=r"^--weights 'w.pth': replaced during this batch"):
        batch.run_batch(pairs, "o", Settings(size=32, iterations=2, weights="w.pth", normalize=False),
                        report="o.json", on_pair=replace_weights)
    assert [r["status"] for r in json.loads(Path("o.json").read_text())["pairs"]] == ["ok", "pending"]
    assert sorted(os.listdir("o")) == ["c__s.png"]
