"""The batch report (report.py): one report shared by the shards of a batch (merged under a lock, another
batch refused), and `stylize report merge` joining per-shard reports into the report one run writes."""

import json
import re
import os
import stat
import multiprocessing
from pathlib import Path

import pytest
from PIL import Image
from click.testing import CliRunner

from stylize import report
from stylize.cli import cli
from stylize.errors import ManifestError
from stylize.report import Record, Report

from .conftest import cli_result_text, pattern, synthetic

SAME = ("index", "content", "style", "output", "status", "content_loss", "style_loss", "iterations", "evaluations")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def manifest(tmp_path):
    for i in range(3):
        pattern(40, 32, seed=i).save(tmp_path / f"photo{i}.png")
    pattern(36, 36, seed=9).save(tmp_path / "art.png")
    path = tmp_path / "pairs.csv"
    path.write_text("content,style\n" + "".join(f"{tmp_path / f'photo{i}.png'},{tmp_path / 'art.png'}\n"
                                                for i in range(3)))
    return path


def pairs_of(path: Path) -> list[dict]:
    return json.loads(path.read_text())["pairs"]


# Issue 19: two shards with one --report: the second failed with "not a stylize report" (it is one), and
# with --skip-existing the report kept only the last shard's pairs.
def test_the_shards_of_a_batch_share_one_report(manifest, tmp_path, synthetic_weights, one_thread):
    args = ["batch", manifest, "--out-dir", tmp_path / "o", "--report", tmp_path / "r.json",
            *synthetic(synthetic_weights)]
    assert run(*args, "--shard", "1/2").exit_code == 0
    r = run(*args, "--shard", "2/2")
    assert r.exit_code == 0, cli_result_text(r)
    assert [(p["index"], p["status"]) for p in pairs_of(tmp_path / "r.json")] == [(0, "ok"), (1, "ok"), (2, "ok")]
    r = run(*args, "--shard", "2/2", "--skip-existing")
    assert r.exit_code == 0, cli_result_text(r)
    data = json.loads((tmp_path / "r.json").read_text())
    assert [p["status"] for p in data["pairs"]] == ["ok", "skipped", "ok"]
    assert data["summary"] == {"ok": 2, "skipped": 1} and data["manifest_pairs"] == 3
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".stylize")] == []  # the lock file is gone
    r = run(*args, "--shard", "1/2")  # its own pairs are done: a rerun must say how
    assert r.exit_code == 1 and "already holds results of these pairs; pass --skip-existing" in r.stderr


def test_shards_of_two_manifests_never_share_a_report_or_merge(manifest, tmp_path, synthetic_weights, one_thread):
    """Hostile round 37: shard 1/2 of one manifest and shard 2/2 of another (as many pairs, each shard's own pairs
    disjoint) wrote into one --report, and `report merge` joined their reports, exit 0: a report records which
    manifest (its pairs' sha256), not only how many pairs."""
    other = tmp_path / "other.csv"
    header, *lines = manifest.read_text().splitlines(keepends=True)
    other.write_text(header + "".join(lines[1:] + lines[:1]))  # the same images, in another order
    common = ["--out-dir", tmp_path / "o", *synthetic(synthetic_weights)]
    assert run("batch", manifest, "--shard", "1/2", "--report", tmp_path / "r.json", *common).exit_code == 0
    r = run("batch", other, "--shard", "2/2", "--report", tmp_path / "r.json", "--out-dir", tmp_path / "p",
            *synthetic(synthetic_weights))
    assert r.exit_code == 1 and "r.json: already exists, the report of another manifest's pairs" in r.stderr, \
        cli_result_text(r)
    assert run("batch", other, "--shard", "2/2", "--report", tmp_path / "r2.json", "--out-dir", tmp_path / "p",
               *synthetic(synthetic_weights)).exit_code == 0
    r = run("report", "merge", tmp_path / "r.json", tmp_path / "r2.json", "-o", tmp_path / "m.json")
    assert r.exit_code == 1 and "are not shards of one batch: their manifests differ" in r.stderr, cli_result_text(r)
    assert not (tmp_path / "m.json").exists()
    assert len(json.loads((tmp_path / "r.json").read_text())["manifest_sha256"]) == 64


def test_a_report_of_an_edited_manifest_is_never_replaced_by_a_hint(manifest, tmp_path, synthetic_weights,
                                                                    one_thread):
    """Hostile round 38: after editing one line of the manifest, `--skip-existing` with the same --report was
    refused with "pass --overwrite to replace it", and --overwrite then made every pair again (and, sharded, dropped
    the other shard's records from the shared report). The refusal now says to choose another report, and a
    resume there keeps every finished output."""
    args = ["batch", manifest, "--out-dir", tmp_path / "o", *synthetic(synthetic_weights)]
    for k in (1, 2):
        assert run(*args, "--shard", f"{k}/2", "--report", tmp_path / "r.json").exit_code == 0
    before = json.loads((tmp_path / "r.json").read_text())
    pattern(40, 32, seed=9).save(tmp_path / "photo9.png")
    manifest.write_text(manifest.read_text().replace("photo0.png,", "photo9.png,", 1))  # shard 1's first line
    for shard in (["--shard", "1/2"], []):
        r = run(*args, *shard, "--report", tmp_path / "r.json", "--skip-existing")
        assert r.exit_code == 1 and r.stderr == (
            f"Error: {tmp_path / 'r.json'}: already exists, the report of another manifest's pairs (edited since it was "
            f"written?); choose another --report (--skip-existing, as given, keeps each finished output whatever the "
            f"report)\n"), \
            cli_result_text(r)
    assert json.loads((tmp_path / "r.json").read_text()) == before
    made = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "o").iterdir()}
    r = run(*args, "--report", tmp_path / "new.json", "--skip-existing")  # the edited pair alone is made
    assert r.exit_code == 0 and json.loads((tmp_path / "new.json").read_text())["summary"] == {"ok": 1, "skipped": 2}
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "o").iterdir() if p.name in made} == made


def test_a_link_to_nothing_as_report_or_contact_sheet_is_told_as_such(manifest, tmp_path):
    """Hostile round 38: `--report dl.json` (or `--contact-sheet`) where dl.json is a link to nothing was refused as
    "already exists and is not a stylize report" (a contact sheet: "an image of yours"): a file that is not there."""
    (tmp_path / "dl.json").symlink_to(tmp_path / "nowhere.json")
    (tmp_path / "dl.png").symlink_to(tmp_path / "nowhere.png")
    for flags, told in ((["--report", tmp_path / "dl.json"], "dl.json: a link to nothing, not a stylize report"),
                        (["--contact-sheet", tmp_path / "dl.png"], "dl.png: a link to nothing, not a contact sheet")):
        for overwrite in ([], ["--overwrite"]):
            r = run("batch", manifest, "--out-dir", tmp_path / "o", *flags, *overwrite, "--size", "32")
            assert r.exit_code == 1 and told in r.stderr and "move it away" in r.stderr, cli_result_text(r)
    assert not (tmp_path / "o").exists() and not (tmp_path / "nowhere.json").exists()
    assert (tmp_path / "dl.json").is_symlink() and (tmp_path / "dl.png").is_symlink()


def test_a_report_of_a_manifest_that_gained_a_pair_or_other_settings_never_hints_a_flag_that_cannot_help(
        manifest, tmp_path, synthetic_weights, one_thread):
    """Hostile round 39: a manifest that gained a pair, resumed with --skip-existing and its report, was told "pass
    --overwrite" (which cannot join --skip-existing, and alone makes every pair again); so were other settings."""
    args = ["batch", manifest, "--out-dir", tmp_path / "o", "--report", tmp_path / "r.json",
            *synthetic(synthetic_weights)]
    assert run(*args).exit_code == 0
    before = (tmp_path / "r.json").read_text()
    pattern(40, 32, seed=7).save(tmp_path / "photo7.png")
    with manifest.open("a") as f:
        f.write(f"{tmp_path / 'photo7.png'},{tmp_path / 'art.png'}\n")
    r = run(*args, "--skip-existing")
    assert r.exit_code == 1 and "r.json: already exists, the report of another manifest's pairs (edited since it was " \
        "written?); choose another --report" in r.stderr, cli_result_text(r)
    r = run(*args, "--skip-existing", "--size", "40")
    assert r.exit_code == 1 and r.stderr.endswith("r.json: already exists, the report of a batch with other settings; "
                                                  "choose another --report\n"), cli_result_text(r)
    r = run(*args, "--size", "40")
    assert r.exit_code == 1 and "(a report of a batch with other settings); pass --overwrite to replace it, or " \
        "choose another --report" in r.stderr, cli_result_text(r)
    assert (tmp_path / "r.json").read_text() == before


def _settings(size=32, weights="original") -> dict:
    return {"size": size, "style_layers": ["conv1_1"], "weights": weights}


def _records(indices) -> list[Record]:
    return [Record(k, f"c{k}.png", "s.png", f"out/c{k}.png") for k in indices]


def _writer(path, indices, rounds, ready, go):
    """A shard in its own process: joins the report, then rewrites it `rounds` times."""
    rep = Report(Path(path), _settings(), _records(indices), manifest_pairs=12)
    rep.open()
    ready.set()
    go.wait()
    for k in range(rounds):
        for r in rep.records:
            r.status, r.iterations = "ok", k
        rep.write()
    rep.close()


def _fork():
    try:
        return multiprocessing.get_context("fork")
    except ValueError:
        pytest.skip("needs fork")


def test_shards_writing_one_report_at_once_lose_no_record(tmp_path):
    ctx = _fork()
    path = tmp_path / "r.json"
    go = ctx.Event()
    shares = [range(k, 12, 3) for k in range(3)]
    readies = [ctx.Event() for _ in shares]
    procs = [ctx.Process(target=_writer, args=(path, list(s), 20, ready, go)) for s, ready in zip(shares, readies)]
    for p in procs:
        p.start()
    assert all(ready.wait(30) for ready in readies)
    go.set()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    data = json.loads(path.read_text())
    assert [(p["index"], p["status"], p["iterations"]) for p in data["pairs"]] == [(k, "ok", 19) for k in range(12)]
    assert data["summary"] == {"ok": 12} and not list(tmp_path.glob(".stylize-report-lock-*"))


def _holder(path, ready, done):
    rep = Report(Path(path), _settings(), _records([0]), manifest_pairs=2)
    rep.open()
    ready.set()
    done.wait(30)
    rep.close()


def test_another_batch_is_refused_while_one_writes_the_report(tmp_path):
    ctx = _fork()
    path = tmp_path / "r.json"
    ready, done = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_holder, args=(path, ready, done))
    holder.start()
    try:
        assert ready.wait(30)
        other = Report(path, _settings(size=64), _records([1]), manifest_pairs=2)
        with pytest.raises(ManifestError, match="another stylize batch .* is writing this report now"):
            other.open(overwrite=True)
        (tmp_path / "link.json").symlink_to(path)  # round 19: through a link, its lock was another's: replaced
        linked = Report(tmp_path / "link.json", _settings(size=64), _records([1]), manifest_pairs=2)
        with pytest.raises(ManifestError, match="another stylize batch .* is writing this report now"):
            linked.open(overwrite=True)
        shard = Report(path, _settings(), _records([1]), manifest_pairs=2)  # the same batch's other shard
        shard.open()
        shard.close()
    finally:
        done.set()
        holder.join(30)
    assert [p["index"] for p in pairs_of(path)] == [0, 1]
    with pytest.raises(ManifestError, match=r"other settings\); pass --overwrite to replace it, or choose another"):
        other.open()
    other.open(overwrite=True)
    other.close()
    assert [(p["index"], p["style"]) for p in pairs_of(path)] == [(1, "s.png")]


def test_merge_gives_the_report_one_run_writes(manifest, tmp_path, synthetic_weights, one_thread):
    args = ["batch", manifest, "--out-dir", tmp_path / "o", *synthetic(synthetic_weights)]
    for k in (1, 2):
        assert run(*args, "--shard", f"{k}/2", "--report", tmp_path / f"r{k}.json").exit_code == 0
    r = run("report", "merge", tmp_path / "r2.json", tmp_path / "r1.json", "-o", tmp_path / "merged.json")
    assert r.exit_code == 0 and r.stderr == f"Merged 2 reports into {tmp_path / 'merged.json'}: 3 pairs (3 ok)\n"
    r = run("report", "merge", tmp_path / "r1.json", "-o", tmp_path / "alone.json")  # round 15: "1 reports"
    assert r.exit_code == 0 and r.stderr.startswith(f"Merged 1 report into {tmp_path / 'alone.json'}: ")
    assert run(*args, "--overwrite", "--report", tmp_path / "one.json").exit_code == 0
    merged, one = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("merged", "one"))
    assert [{k: p[k] for k in SAME} for p in merged["pairs"]] == [{k: p[k] for k in SAME} for p in one["pairs"]]
    assert {k: merged[k] for k in ("settings", "manifest_pairs", "summary")} == \
        {k: one[k] for k in ("settings", "manifest_pairs", "summary")}
    r = run("report", "merge", tmp_path / "r1.json", "-o", tmp_path / "half.json")
    assert r.exit_code == 0 and "Warning: 1 of the manifest's 3 pairs is in none of these reports (pair 2)" in r.stderr


def test_merge_refusals(tmp_path):
    def write(name, settings=None, pairs=2, records=(0,), status="ok"):
        recs = _records(records)
        for rec in recs:
            rec.status = status
        (tmp_path / name).write_text(json.dumps(report.document("2026-01-01T00:00:00", settings or _settings(), pairs,
                                                                recs)))
        return tmp_path / name

    a, b = write("a.json"), write("b.json", records=(1,))
    cases = [
        ([a, write("big.json", _settings(size=64))], "a.json and " + str(tmp_path / "big.json") + " are not shards of "
         "one batch: their settings differ (size 32 vs 64)"),  # (round 70: the values in the names' order)
        ([a, write("long.json", pairs=5)], "a.json and " + str(tmp_path / "long.json") + " are not shards of one "
         "batch: manifests of 2 and 5 pairs"),
        ([a, manifest_like(tmp_path)], "notes.json: not a stylize report"),
        # round 16: a damaged report's 200,000-character value was quoted whole in the one line; a 4001-digit count
        ([a, write("wide.json", _settings(weights="w" * 200000))], "settings differ (weights 'original' vs a str of "
                                                                     "200002 characters)"),
    ]
    for reports, message in cases:
        r = run("report", "merge", *reports, "-o", tmp_path / "m.json")
        assert r.exit_code == 1 and message in r.stderr and len(r.stderr.splitlines()) == 1, cli_result_text(r)
    data, _ = report.merge(str(a), tmp_path / "lone.json")  # round 39: one name alone was read letter by letter
    assert [p["index"] for p in data["pairs"]] == [0]
    with pytest.raises(ManifestError, match="give the reports to merge as file names"):
        report.merge([a, 5], tmp_path / "m.json")
    r = run("report", "merge", a, tmp_path / "nothing.json", "-o", tmp_path / "m.json")  # a missing input: usage
    assert r.exit_code == 2 and "nothing.json' does not exist" in r.stderr, cli_result_text(r)
    r = run("report", "merge", a, b, "-o", a)
    assert r.exit_code == 1 and "is one of the reports to merge" in r.stderr
    os.mkfifo(tmp_path / "pipe.json")  # round 35: `<(cat r.json)` was "not a stylize report"
    r = run("report", "merge", a, tmp_path / "pipe.json", "-o", tmp_path / "m.json")
    assert r.exit_code == 1 and "pipe.json: a pipe, not a regular file (save the report" in r.stderr, \
        cli_result_text(r)
    (tmp_path / "folder").mkdir()  # round 101: the API called a folder "a pipe, a device"
    os.symlink("gone.json", tmp_path / "dangling.json")
    for given, told in (("folder", "a folder, not a stylize report"), ("dangling.json", "a link to nothing")):
        with pytest.raises(ManifestError, match=re.escape(f"{given}: {told}")):
            report.merge([a, tmp_path / given], tmp_path / "m.json")
    os.link(a, tmp_path / "a-too.json")  # round 13: one report given twice counted twice (a usage error)
    os.symlink(a, tmp_path / "la.json")  # (round 118: two names of one file said so; each name as typed)
    for twice, also in ((a, ""), (tmp_path / "a-too.json", ": two names of one file"),
                        (tmp_path / "la.json", ": two names of one file"), (f"{tmp_path}/./{a.name}", "")):
        r = run("report", "merge", a, b, twice, "-o", tmp_path / "m.json")
        assert r.exit_code == 2 and f"{twice}: given twice (as {a}{also}); give each report once" in r.stderr, \
            cli_result_text(r)
    (tmp_path / "m.json").write_text("mine")  # round 37: "pass --overwrite", which then refused it
    r = run("report", "merge", a, b, "-o", tmp_path / "m.json")
    assert r.exit_code == 1 and "m.json: already exists and is not a stylize report; --overwrite replaces only a " \
        "report: move it away" in r.stderr, cli_result_text(r)
    assert (tmp_path / "m.json").read_text() == "mine"
    report.merge([a, b], tmp_path / "m2.json")
    r = run("report", "merge", a, b, "-o", tmp_path / "m2.json")
    assert r.exit_code == 1 and "m2.json: already exists; pass --overwrite to replace it" in r.stderr
    # round 33: a link to a report was refused as "not a stylize report" (a batch's --report writes through one)
    report.merge([a, b], tmp_path / "earlier.json")
    (tmp_path / "link.json").symlink_to(tmp_path / "earlier.json")
    (tmp_path / "nowhere.json").symlink_to(tmp_path / "gone.json")
    r = run("report", "merge", a, b, "-o", tmp_path / "nowhere.json", "--overwrite")
    assert r.exit_code == 1 and "nowhere.json: a link to nothing, not a stylize report" in r.stderr, cli_result_text(r)
    r = run("report", "merge", a, b, "-o", tmp_path / "link.json", "--overwrite")
    assert r.exit_code == 0 and (tmp_path / "link.json").is_symlink(), cli_result_text(r)
    r = run("report", "merge", a, b, "-o", tmp_path / "link.json")
    assert r.exit_code == 1 and "link.json (a link to " in r.stderr and \
        "earlier.json): already exists; pass --overwrite" in r.stderr, cli_result_text(r)
    # a pair in two reports: the furthest record wins (a rerun's ok over a first try's failure)
    data, missing = report.merge([write("ok.json"), write("failed.json", status="failed"), b], tmp_path / "n.json")
    assert [p["status"] for p in data["pairs"]] == ["ok", "ok"] and missing == []


def manifest_like(tmp_path):
    (tmp_path / "notes.json").write_text('{"my": "notes"}')
    return tmp_path / "notes.json"


@pytest.mark.parametrize("damage", [
    {"status": [1]}, {"status": "done"}, {"index": -1}, {"index": 1.0}, {"manifest_pairs": 1, "index": 5},
    {"manifest_pairs": "7"}, {"manifest_pairs": True}, {"manifest_pairs": 10**400},
    {"settings": []}, {"settings": "x"}, {"seconds": float("nan")}, {"content_loss": "x"}, {"attempts": -5},
    {"iterations": 1.5}, {"output": 5}, {"style_loss": float("inf")},  # round 14: a traceback, or NaN copied
    {"iterations": 10**4000},  # round 16: a 4001-digit count was merged as it was
    {"blend": [float("nan")]}, {"blend": [float("inf"), -1]}, {"blend": [True]}, {"styles": [1, 2]},
    {"output": None}, {"content": None},  # round 25: copied into the merged report (NaN: not JSON to other readers)
])
def test_a_damaged_report_is_not_a_report_and_merge_writes_nothing(tmp_path, damage):
    """Hostile round 2: a hand-made status list, an index past the manifest, a count that is not a count."""
    record = {"index": 0, "content": "a", "style": "b", "output": "c", "status": "ok"}
    record.update({k: v for k, v in damage.items() if k not in ("manifest_pairs", "settings")})
    data = {"started": "x", "settings": damage.get("settings", {}), "manifest_pairs": damage.get("manifest_pairs", 1),
            "pairs": [record]}
    (tmp_path / "r.json").write_text(json.dumps(data))
    assert report.read(tmp_path / "r.json") is None
    r = CliRunner().invoke(cli, ["report", "merge", str(tmp_path / "r.json"), "-o", str(tmp_path / "m.json")])
    assert r.exit_code == 1 and r.stderr.strip().endswith("r.json: not a stylize report")
    assert "Traceback" not in cli_result_text(r) and not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("text", ["[" * 200_000 + "]" * 200_000, '{"started": ' + "9" * 5000 + "}"],
                         ids=["nested-too-deep", "5000-digits"])
def test_json_python_cannot_read_is_not_a_report_and_a_batch_leaves_nothing(tmp_path, synthetic_weights, text):
    """Hostile round 8: JSON nested 200,000 deep, or with a 5000-digit integer, at --report or given to `report
    merge`, was a RecursionError/ValueError traceback, and the batch left its new, empty --out-dir."""
    (tmp_path / "r.json").write_text(text)
    assert report.read(tmp_path / "r.json") is None
    r = CliRunner().invoke(cli, ["report", "merge", str(tmp_path / "r.json"), "-o", str(tmp_path / "m.json")])
    assert r.exit_code == 1 and r.stderr.strip().endswith("r.json: not a stylize report"), cli_result_text(r)
    pattern(40, 32).save(tmp_path / "a.png")
    for flags in ([], ["--skip-existing"], ["--overwrite"]):  # (round 21: --overwrite replaced it, as `merge -o` never)
        r = CliRunner().invoke(cli, ["batch", "--content", str(tmp_path / "a.png"), "--style", str(tmp_path / "a.png"),
                                     "--out-dir", str(tmp_path / "out"), "--report", str(tmp_path / "r.json"), *flags,
                                     *synthetic(synthetic_weights)])
        assert r.exit_code == 1 and "r.json" in r.stderr and "not a stylize report" in r.stderr, cli_result_text(r)
        assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
    assert (tmp_path / "r.json").read_text() == text
    pattern(8, 8).save(tmp_path / "other.png")  # an image of the user's, mistyped as the report
    before = (tmp_path / "other.png").read_bytes()
    r = CliRunner().invoke(cli, ["batch", "--content", str(tmp_path / "a.png"), "--style", str(tmp_path / "a.png"),
                                 "--out-dir", str(tmp_path / "out"), "--report", str(tmp_path / "other.png"),
                                 "--overwrite", *synthetic(synthetic_weights)])
    assert r.exit_code == 1 and "--overwrite replaces only a report" in r.stderr, cli_result_text(r)
    assert (tmp_path / "other.png").read_bytes() == before


def test_a_report_is_never_written_where_another_run_holds_the_file_alone(tmp_path, synthetic_weights):
    """Hostile round 8: `batch --report fig.json` while `grid -o fig.png` ran wrote its report over the figure's
    claimed .json; the figure failed after all its cells. So would `report merge -o fig.json`."""
    import signal

    from .test_claims import holder

    (tmp_path / "r.json").write_text(json.dumps(report.document("x", _settings(), 1, _records((0,)))))
    figure = holder(tmp_path / "fig.json")  # what a running figure holds
    try:
        pattern(40, 32).save(tmp_path / "a.png")
        r = CliRunner().invoke(cli, ["batch", "--content", str(tmp_path / "a.png"), "--style", str(tmp_path / "a.png"),
                                     "--out-dir", str(tmp_path / "out"), "--report", str(tmp_path / "fig.json"),
                                     *synthetic(synthetic_weights)])
        assert r.exit_code == 1 and "fig.json: another stylize run" in r.stderr, cli_result_text(r)
        r = CliRunner().invoke(cli, ["report", "merge", str(tmp_path / "r.json"), "-o", str(tmp_path / "fig.json")])
        assert r.exit_code == 1 and "fig.json: another stylize run" in r.stderr, cli_result_text(r)
        assert not (tmp_path / "fig.json").exists() and not (tmp_path / "out").exists()
    finally:
        figure.send_signal(signal.SIGKILL)
        figure.wait()


def test_merge_counts_the_missing_pairs_of_a_huge_manifest_without_listing_them(tmp_path):
    data = {"started": "x", "settings": {}, "manifest_pairs": 10**12,
            "pairs": [{"index": 1, "content": "a", "style": "b", "output": "c", "status": "ok"}]}
    (tmp_path / "r.json").write_text(json.dumps(data))
    merged, missing = report.merge([tmp_path / "r.json"], tmp_path / "m.json")
    assert len(missing) == 10**12 - 1 and missing[:3] == [0, 2, 3] and merged["manifest_pairs"] == 10**12


def test_a_resumed_pair_keeps_its_losses_from_the_report_where_its_format_holds_no_metadata(manifest, tmp_path,
                                                                                             synthetic_weights):
    """Round 22: a .bmp kept by --skip-existing had no losses in the new report (a .bmp holds no metadata once
    finished); the report being resumed has them, and gives them to its own pairs."""
    args = ["batch", manifest, "--out-dir", tmp_path / "o", "--name-template", "{content}.bmp", "--report",
            tmp_path / "r.json", *synthetic(synthetic_weights)]
    assert run(*args).exit_code == 0
    first = pairs_of(tmp_path / "r.json")
    assert run(*args, "--skip-existing").exit_code == 0
    again = pairs_of(tmp_path / "r.json")
    assert [p["status"] for p in again] == ["skipped"] * 3
    for key in ("content_loss", "style_loss", "iterations", "evaluations"):
        assert [p[key] for p in again] == [p[key] for p in first] and None not in [p[key] for p in first]
    r = run(*args[:-len(synthetic(synthetic_weights)) - 2], "--report", tmp_path / "new.json",
            *synthetic(synthetic_weights), "--skip-existing")  # another report: nothing to take them from
    assert r.exit_code == 0 and [p["content_loss"] for p in pairs_of(tmp_path / "new.json")] == [None] * 3


HOLDING_BATCH = (
    "import sys\n"
    "from stylize import Settings, batch\n"
    "manifest, out, report, weights = sys.argv[1:5]\n"
    "pairs = batch.intake(manifest, None, None, out, share=(1, 2))\n"
    "def ready(rep):\n"
    "    print('ready', flush=True)\n"
    "    sys.stdin.readline()  # (holding the report until told)\n"
    "batch.run_batch(pairs, out, Settings(size=32, iterations=2, weights=weights, normalize=False), report=report,\n"
    "                on_ready=ready)\n")


def test_round_49_a_second_run_of_the_same_pairs_never_shares_a_report_nor_is_a_running_one_merged(
        manifest, tmp_path, synthetic_weights):
    """Hostile round 49: the same batch started twice with one --report was let in as a shard: both wrote every
    pair's record, the last writer's won (a finished output recorded "failed"). And `report merge` joined a report a
    running shard was still writing, exit 0. A run holds its pairs' records in the report's lock file: a shard (other
    pairs) is let in, a run of the same pairs is refused at its start; merge waits for no one: it refuses."""
    import subprocess
    import sys

    from stylize import Settings, batch

    holder = subprocess.Popen([sys.executable, "-c", HOLDING_BATCH, str(manifest), str(tmp_path / "o"),
                               str(tmp_path / "r.json"), str(synthetic_weights)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
        for share in ((1, 2), None):
            with pytest.raises(ManifestError, match="r.json: another stylize batch is writing the records of these "
                                                    "pairs into this report now"):
                batch.run_batch(batch.intake(str(manifest), None, None, tmp_path / "o", share=share), tmp_path / "o",
                                settings, report=tmp_path / "r.json")
        other = batch.run_batch(batch.intake(str(manifest), None, None, tmp_path / "o", share=(2, 2)), tmp_path / "o",
                                settings, report=tmp_path / "r.json")  # the other shard: its own pairs
        assert [r.status for r in other.records] == ["ok"]
        with pytest.raises(ManifestError, match=r"r.json: a stylize batch \(pid \d+\) is still writing this report"):
            report.merge([tmp_path / "r.json"], tmp_path / "m.json")
        assert not (tmp_path / "m.json").exists()
    finally:
        holder.communicate("\n", timeout=60)
    assert holder.returncode == 0
    assert [p["status"] for p in pairs_of(tmp_path / "r.json")] == ["ok", "ok", "ok"]
    report.merge([tmp_path / "r.json"], tmp_path / "m.json")


def test_round_49_a_closed_report_is_not_written_again(manifest, tmp_path, synthetic_weights):
    """Hostile round 49: Report.write() on the report run_batch returned raised a bare TypeError."""
    from stylize import Settings, batch

    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    rep = batch.run_batch(batch.intake(str(manifest), None, None, tmp_path / "o"), tmp_path / "o", settings,
                          report=tmp_path / "r.json")
    before = (tmp_path / "r.json").read_bytes()
    with pytest.raises(ManifestError, match="r.json: this Report is a copy its batch handed out"):
        rep.write()
    assert (tmp_path / "r.json").read_bytes() == before


def test_round_50_a_report_of_several_names_is_refused(manifest, tmp_path, synthetic_weights):
    """Hostile round 50: a report named by two hard links had two locks (they go by name): the same batch started
    under each name ran twice at once, and each rewrite split the file into two reports that contradict."""
    from stylize import Settings, batch

    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    batch.run_batch(batch.intake(str(manifest), None, None, tmp_path / "o", share=(1, 2)), tmp_path / "o", settings,
                    report=tmp_path / "r.json")
    os.link(tmp_path / "r.json", tmp_path / "h.json")
    for name in ("r.json", "h.json"):
        with pytest.raises(ManifestError, match=rf"{name}: the file has other names \(hard links, 2 in all\)"):
            batch.run_batch(batch.intake(str(manifest), None, None, tmp_path / "o", share=(2, 2)), tmp_path / "o",
                            settings, report=tmp_path / name)
    assert os.stat(tmp_path / "r.json").st_nlink == 2 and len(pairs_of(tmp_path / "r.json")) == 2


def test_round_66_the_report_run_batch_returns_neither_claims_opens_nor_writes(manifest, tmp_path, synthetic_weights):
    """Hostile round 66: the Report run_batch returned could be opened again (open(overwrite=True), then write():
    invented records on disk after its batch), and its check() took a claim it never released: the same script's
    next batch was refused as "another stylize run (pid <its own>)"."""
    from stylize import Settings, batch

    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    pairs = batch.intake(str(manifest), None, None, tmp_path / "o")
    done = batch.run_batch(pairs, tmp_path / "o", settings, report=tmp_path / "r.json")
    before = (tmp_path / "r.json").read_bytes()
    done.records[0].status, done.records[0].error = "failed", "made up"
    for use in (lambda: done.open(overwrite=True), lambda: done.check(resume=True), done.write):
        with pytest.raises(ManifestError, match="r.json: this Report is a copy its batch handed out"):
            use()
    done.close()  # (nothing: it holds nothing)
    assert (tmp_path / "r.json").read_bytes() == before
    again = batch.run_batch(pairs, tmp_path / "o", settings, report=tmp_path / "r.json", skip_existing=True)
    assert [r.status for r in again.records] == ["skipped"] * 3


def test_round_69_merges_missing_positions_index_and_slice_as_a_list():
    """Hostile round 69: merge's second value took only [:n]: m[1:5] gave the first missing position, m[0] an
    AttributeError, m[:] and m[-1:] a TypeError."""
    from stylize.report import Missing

    held = Missing(8, [1, 3, 4, 9, -1])  # (positions past the manifest's end, or negative: none of its pairs)
    expected = [0, 2, 5, 6, 7]
    assert list(held) == expected and len(held) == 5 and held == expected
    for part in (slice(None), slice(1, 3), slice(-2, None), slice(None, None, 2), slice(4, 1, -1), slice(6, 9)):
        assert held[part] == expected[part], part
    assert [held[i] for i in range(-5, 5)] == [expected[i] for i in range(-5, 5)]
    assert 5 in held and 3 not in held and "x" not in held
    for bad, error in ((5, IndexError), (-6, IndexError), ("0", TypeError)):
        with pytest.raises(error):
            held[bad]


def test_round_70_a_report_made_by_hand_is_checked_before_it_writes(tmp_path, monkeypatch):
    """Hostile round 70: Report(path, "notadict", []) opened and wrote r.json, then its write() said a file "was put
    at the report's name during the batch" (its own), leaving its claim and lock behind; records that are no
    Record gave a bare TypeError; settings holding NaN were written as JSON's non-standard NaN."""
    monkeypatch.chdir(tmp_path)
    cases = [((Path("r.json"), "notadict", []), "settings: a dict that JSON can hold"),
             ((Path("r.json"), {"ratio": float("nan")}, []), "settings: a dict that JSON can hold"),
             ((Path("r.json"), {}, ["notarecord"]), "records: a list of report.Record"),
             ((Path("r.json"), {}, [], -5), "manifest_pairs: the manifest's number of pairs"),
             ((Path("r.json"), {}, [], "7"), "manifest_pairs: the manifest's number of pairs"),
             ((Path("r.json"), {}, [Record(3, "c.png", "s.png", "o.png")], 2), "above every record's index"),
             ((5, {}, []), "path: the report's file name"), ((Path("r.json"), {}, [], 1, 5), "manifest_sha256: a text")]
    for arguments, message in cases:
        with pytest.raises(ManifestError, match=re.escape(message)):
            Report(*arguments)
    assert os.listdir() == []
    done = Report(Path("r.json"), {"ratio": 1e-3}, [Record(0, "c.png", "s.png", "o.png")], 1)
    done.open()
    done.close()
    assert json.loads(Path("r.json").read_text())["manifest_pairs"] == 1 and os.listdir() == ["r.json"]


def test_round_70_missing_positions_answer_in_and_eq_as_a_list():
    """Hostile round 70: `numpy.int64(1) in missing` and `1.0 in missing` were False (a list's: True), and
    `missing == (1, 2, 3)` was True (a list's: False)."""
    import numpy as np

    from stylize.report import Missing

    held, as_list = Missing(4, [0]), [1, 2, 3]
    for value in (np.int64(1), 1.0, 1.5, "1", float("nan"), float("inf"), 0, 3, 4, -1, True, np.bool_(True), 2 + 0j,
                  np.complex128(2), np.array([2]), None):  # (round 71: numpy's bool, complex numbers, arrays)
        assert (value in held) == (value in as_list), value
    assert held == as_list and held != tuple(as_list) and held == Missing(4, [0])


def test_round_71_a_hand_made_reports_records_are_checked_and_what_it_writes_reads_back(tmp_path, monkeypatch):
    """Hostile round 71: a Report made by hand took records a report cannot hold (a numpy index, a content of 5, an
    unknown status, a NaN loss, a pair twice) or a name ending in '/', wrote the file, then called it "a file put at
    the report's name" (its own); merge of reports without manifest_pairs wrote one it refused to read back."""
    import numpy

    from stylize.errors import SettingsError

    monkeypatch.chdir(tmp_path)

    def record(**fields):
        return Record(**{"index": 0, "content": "a", "style": "s", "output": "o", **fields})

    for records in ([record(index=numpy.int64(0))], [record(content=5)], [record(status="bogus")],
                    [record(content_loss=float("nan"))], [record(index=True)]):
        with pytest.raises(ManifestError, match=r"records\[0\]: not as a report holds one"):
            Report(Path("r.json"), {"size": 32}, records)
    with pytest.raises(ManifestError, match="records: two of pair 1; give each pair once"):
        Report(Path("r.json"), {"size": 32}, [record(), record(output="p")])
    with pytest.raises(SettingsError, match="names a folder"):
        Report("r.json/", {"size": 32}, [record()])
    assert os.listdir() == []
    made = Report(Path("r.json"), {"size": 32}, [record()], numpy.int64(3))  # (numpy's whole numbers: taken)
    made.open()
    made.close()
    assert report.read(Path("r.json"))["manifest_pairs"] == 3

    def old(name, index):  # (an earlier version's report: no manifest_pairs)
        Path(name).write_text(json.dumps({"started": "2026-01-01T00:00:00+0000", "settings": {"size": 32}, "pairs": [
            {"index": index, "content": "c", "style": "s", "output": f"o{index}.png", "status": "ok"}]}))
        return name

    with pytest.raises(ManifestError, match=r"^a\.json: a report that counts no manifest pairs \(written by an "
                                            r"earlier stylize version\); merge only reports that record their manifest"):
        report.merge([old("a.json", 5), old("b.json", 0)], "m.json")  # (round 92: never given a count made up)
    assert not os.path.lexists("m.json")


def test_round_72_a_hand_made_report_edited_after_it_was_made_writes_nothing(tmp_path, monkeypatch):
    """Hostile round 72: a Report checked when made, then edited (a status "bogus", a NaN, a pair twice, settings
    holding infinity, manifest_pairs -5), wrote a file no command reads back, then called it "put at the report's
    name during the batch". Checked again as it will be written: nothing written."""
    import math

    monkeypatch.chdir(tmp_path)

    def edits(rep):
        yield lambda: setattr(rep.records[0], "status", "bogus")
        yield lambda: setattr(rep.records[0], "seconds", math.nan)
        yield lambda: rep.records.append(Record(0, "a.png", "b.png", "o.png"))
        yield lambda: rep.settings.update(x=math.inf)
        yield lambda: setattr(rep, "manifest_pairs", -5)

    for k in range(5):
        rep = Report(Path("h.json"), {"a": 1}, [Record(0, "a.png", "b.png", "o.png")])
        list(edits(rep))[k]()
        with pytest.raises(ManifestError, match="h.json: this report's settings, records or count of pairs are not as "
                                                "a report holds them"):
            rep.open()
        assert os.listdir() == [], k


def test_round_73_a_resume_stopped_early_keeps_the_earlier_records_of_pairs_it_did_not_reach(tmp_path, monkeypatch,
                                                                                             synthetic_weights):
    """Hostile round 73: a --skip-existing resume stopped before its first pair rewrote the report with every pair
    'pending' and no losses: for .bmp outputs (no metadata) the losses were lost for good, and the report no longer
    told what each finished output was. A pair not reached keeps its earlier run's record."""
    from stylize import Settings, batch

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("a.png")
    pattern(40, 32, 2).save("b.png")
    pattern(36, 36, 3).save("s.png")
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)

    def pairs():
        return batch.intake(None, ["a.png", "b.png"], ["s.png"], "ob", template="{content}.bmp")

    batch.run_batch(pairs(), "ob", settings, report="ob/r.json")
    before = [(p["status"], p["content_loss"]) for p in json.loads(Path("ob/r.json").read_text())["pairs"]]
    assert [s for s, _ in before] == ["ok", "ok"] and all(loss is not None for _, loss in before)
    stopped = batch.run_batch(pairs(), "ob", settings, report="ob/r.json", skip_existing=True, should_stop=lambda: True)
    assert [r.status for r in stopped.records] == ["ok", "ok"]  # (round 74: the copy returned says what the file does)
    assert [(p["status"], p["content_loss"]) for p in json.loads(Path("ob/r.json").read_text())["pairs"]] == before
    again = batch.run_batch(pairs(), "ob", settings, report="ob/r.json", skip_existing=True)
    assert [(r.status, r.content_loss) for r in again.records] == [("skipped", loss) for _, loss in before]


def test_round_74_a_stopped_resume_keeps_an_earlier_record_only_where_its_output_is(tmp_path, monkeypatch,
                                                                                  synthetic_weights):
    """Hostile round 74: a --skip-existing resume stopped early kept "ok" in the report for pairs whose outputs had
    been removed (the run said "3 pending"): an earlier record is kept only while its output is there."""
    from stylize import Settings, batch

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    for n in (2, 3, 4):
        pattern(36, 36, n).save(f"s{n}.png")
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    pairs = batch.intake(None, ["c.png"], ["s2.png", "s3.png", "s4.png"], "o")
    batch.run_batch(pairs, "o", settings, report="r.json")
    os.remove("o/c__s2.png")
    os.remove("o/c__s4.png")
    stopped = batch.run_batch(pairs, "o", settings, report="r.json", skip_existing=True, should_stop=lambda: True)
    on_disk = [p["status"] for p in json.loads(Path("r.json").read_text())["pairs"]]
    assert on_disk == ["pending", "ok", "pending"] == [r.status for r in stopped.records]


def test_round_82_a_child_made_by_fork_writes_none_of_its_parents_report(tmp_path):
    """Hostile round 82: a child forked from a batch's callback that left with sys.exit unwound the parent's batch:
    its close() wrote the parent's report as it stood at the fork (over the parent's later records) and left its
    lock. In the child, write() and close() do nothing: the report, its lock and claim are the parent's."""
    path = tmp_path / "r.json"
    rep = Report(path, _settings(), _records([0]), manifest_pairs=2)
    rep.open()
    before = path.read_bytes()
    pid = os.fork()
    if pid == 0:
        rep.records[0].status = "failed"  # (what the child would write)
        rep.write()
        rep.close()
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    assert path.read_bytes() == before and list(tmp_path.glob(".stylize-report-lock-*"))
    rep.close()
    assert not list(tmp_path.glob(".stylize-*"))


def test_round_88_a_manifest_whose_blend_was_edited_is_another_manifest(tmp_path, monkeypatch, synthetic_weights,
                                                                      one_thread):
    """Hostile round 88: editing only a pair's blend (1;3 to 3;1) resumed the same --report: a .ppm output made
    with the old blend was kept as "skipped" under the new one (a PNG's pair failed and its ok record was lost).
    A record's key is what the manifest's digest holds, blend and artworks too: the report is refused."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    pattern(36, 36, 3).save("t.png")
    args = ["batch", "p.csv", "--out-dir", "o", "--report", "o/rep.json", "--name-template", "{content}.ppm",
            *synthetic(synthetic_weights)]
    Path("p.csv").write_text("content,style,blend\nc.png,s.png;t.png,1;3\n")
    assert run(*args).exit_code == 0
    before = {name: (tmp_path / "o" / name).read_bytes() for name in ("rep.json", "c.ppm")}
    Path("p.csv").write_text("content,style,blend\nc.png,s.png;t.png,3;1\n")
    r = run(*args, "--skip-existing")
    assert r.exit_code == 1 and "o/rep.json: already exists, the report of another manifest's pairs" in r.stderr, \
        cli_result_text(r)
    assert {name: (tmp_path / "o" / name).read_bytes() for name in before} == before
    Path("p.csv").write_text("content,style,blend\nc.png,s.png;t.png,1;3\n")
    r = run(*args, "--skip-existing")
    assert r.exit_code == 0 and json.loads(Path("o/rep.json").read_text())["summary"] == {"skipped": 1}, \
        cli_result_text(r)


def test_a_records_key_holds_the_pairs_position_names_output_and_blend():
    """Two records of one position, images and output differ when their blends do; a report written before
    `styles` existed (None) is the same pair (a name holding ';' is told apart by the manifest's digest)."""
    a = Record(0, "c.png", "s.png;t.png", "o.png", blend=[0.25, 0.75], styles=["s.png", "t.png"])
    assert a.key() == Record(0, "c.png", "s.png;t.png", "o.png", blend=[0.25, 0.75]).key()
    assert a.key() != Record(0, "c.png", "s.png;t.png", "o.png", blend=[0.75, 0.25], styles=["s.png", "t.png"]).key()
    assert a.key() != Record(0, "c.png", "s.png;t.png", "o2.png", blend=[0.25, 0.75]).key()


def test_round_89_an_edited_manifest_never_takes_over_a_shards_report(tmp_path, monkeypatch, synthetic_weights,
                                                                     one_thread):
    """Hostile round 89: shard 1/2 of a manifest edited only in shard 2's pair resumed shard 1/2's --report of
    the original and wrote its own digest there (the original's shard 2/2 was then refused). The manifest's
    digest is compared whenever the report holds one, whichever pairs it holds."""
    monkeypatch.chdir(tmp_path)
    for name, seed in (("c.png", 1), ("s.png", 2), ("t.png", 3)):
        pattern(40, 32, seed).save(name)
    Path("a.csv").write_text("content,style,blend\nc.png,s.png;t.png,9;1\nc.png,t.png;s.png,3;7\n")
    Path("b.csv").write_text("content,style,blend\nc.png,s.png;t.png,9;1\nc.png,t.png;s.png,7;3\n")
    common = ["--out-dir", "o", "--report", "o/r.json", *synthetic(synthetic_weights)]
    assert run("batch", "a.csv", "--shard", "1/2", *common).exit_code == 0
    before = Path("o/r.json").read_bytes()
    for shard in (["--shard", "1/2"], []):
        r = run("batch", "b.csv", *shard, *common, "--skip-existing")
        assert r.exit_code == 1 and "o/r.json: already exists, the report of another manifest's pairs" in r.stderr, \
            cli_result_text(r)
        assert Path("o/r.json").read_bytes() == before
    r = run("batch", "a.csv", "--shard", "2/2", *common)
    assert r.exit_code == 0 and json.loads(Path("o/r.json").read_text())["summary"] == {"ok": 2}, cli_result_text(r)


def test_round_89_a_report_without_styles_resumes_an_artwork_named_with_a_semicolon(tmp_path, monkeypatch,
                                                                                    synthetic_weights, one_thread):
    """Hostile round 89 (of round 88's change): a report written before records held `styles` (or by hand) was
    refused as another manifest's when an artwork's name holds ';', its records' `style` split there; merge said
    "pair 1 differs". A record's key holds the names as written; what a name holding ';' means, the digest's."""
    monkeypatch.chdir(tmp_path)
    for name, seed in (("c.png", 1), ("a;b.png", 2), ("s.png", 3)):
        pattern(40, 32, seed).save(name)
    Path("m.jsonl").write_text('{"content": "c.png", "style": ["a;b.png", "s.png"], "blend": [9, 1]}\n'
                               '{"content": "c.png", "style": "a;b.png"}\n')
    args = ["batch", "m.jsonl", "--out-dir", "o", *synthetic(synthetic_weights)]
    assert run(*args, "--report", "o/r.json").exit_code == 0
    data = json.loads(Path("o/r.json").read_text())
    for record in data["pairs"]:
        record.pop("styles")
    Path("o/old.json").write_text(json.dumps(data))
    r = run(*args, "--report", "o/old.json", "--skip-existing")
    assert r.exit_code == 0 and json.loads(Path("o/old.json").read_text())["summary"] == {"skipped": 2}, \
        cli_result_text(r)
    assert run("report", "merge", "o/r.json", "o/old.json", "-o", "m.json").exit_code == 0


def test_round_90_a_report_made_without_a_digest_keeps_the_files(tmp_path, monkeypatch, synthetic_weights,
                                                                 one_thread):
    """Hostile round 90: a Report made by hand without manifest_sha256 (its default) joining a batch's report
    rewrote it without its digest; shard 2/2 of an edited manifest then took the report over (round 93: kept the
    file's digest over records of other images). A Report without a digest joins no report that has one. (An earlier version's report, with no count or no digest, is never resumed nor
    merged: round 92.)"""
    monkeypatch.chdir(tmp_path)
    for name, seed in (("c.png", 1), ("s.png", 2), ("t.png", 3)):
        pattern(40, 32, seed).save(name)
    Path("m.csv").write_text("content,style,output\nc.png,s.png,o1.png\nc.png,t.png,o2.png\n")
    common = ["batch", "m.csv", "--out-dir", "o", *synthetic(synthetic_weights)]
    assert run(*common, "--shard", "1/2", "--report", "rep.json").exit_code == 0
    data = json.loads(Path("rep.json").read_text())
    before = Path("rep.json").read_bytes()
    joined = Report("rep.json", data["settings"], [], manifest_pairs=data["manifest_pairs"])
    for step in (joined.check, joined.open):  # (round 93: refused, as a report without a digest is to a batch)
        with pytest.raises(ManifestError, match=r"^rep\.json: already exists, the report of a manifest it records by "
                                                r"its digest, and this Report records none \(made without "
                                                r"manifest_sha256\)"):
            step()
    assert Path("rep.json").read_bytes() == before
    joined = Report("rep.json", data["settings"], [], manifest_pairs=data["manifest_pairs"],
                    manifest_sha256=data["manifest_sha256"])
    joined.check()
    joined.open()
    joined.close()
    assert json.loads(Path("rep.json").read_text())["manifest_sha256"] == data["manifest_sha256"]
    Path("edited.csv").write_text("content,style,output\nc.png,t.png,o1.png\nc.png,t.png,o2.png\n")
    r = run("batch", "edited.csv", "--out-dir", "o", *synthetic(synthetic_weights), "--shard", "2/2",
            "--report", "rep.json")
    assert r.exit_code == 1 and "rep.json: already exists, the report of another manifest's pairs" in r.stderr, \
        cli_result_text(r)

    older = {k: v for k, v in data.items() if k not in ("manifest_pairs", "manifest_sha256")}
    Path("older.json").write_text(json.dumps(older))
    Path("undigested.json").write_text(json.dumps({k: v for k, v in data.items() if k != "manifest_sha256"}))
    for name, why in (("older.json", "counts no manifest pairs (written by an earlier stylize version)"),
                      ("undigested.json", "records no manifest digest (written by an earlier stylize version, or by "
                                          "a Report made without manifest_sha256)")):
        before = Path(name).read_bytes()
        r = run("report", "merge", name, "rep.json", "-o", "merged.json")
        assert r.exit_code == 1 and r.stderr == (f"Error: {name}: a report that {why}; merge only reports that record "
                                                 f"their manifest (rerun that shard with a new --report to make one)\n"), \
            cli_result_text(r)
        r = run(*common, "--shard", "1/2", "--report", name, "--skip-existing")
        assert r.exit_code == 1 and r.stderr.startswith(f"Error: {name}: already exists, a report that {why}: its "
                                                        f"pairs cannot be told to be this manifest's; choose another "
                                                        f"--report"), cli_result_text(r)
        assert Path(name).read_bytes() == before and not os.path.lexists("merged.json")
    r = run(*common, "--shard", "1/2", "--report", "older.json", "--overwrite")  # (a stylize report: replaced)
    assert r.exit_code == 0 and json.loads(Path("older.json").read_text())["manifest_sha256"] == data["manifest_sha256"]


def test_round_90_a_link_to_a_pipe_is_refused_by_its_own_name(tmp_path, monkeypatch, synthetic_weights, one_thread):
    """Hostile round 90: `report merge -o /dev/stdout` (a link to a pipe) said "/proc/N/fd/pipe:[M]: cannot write
    .stylize-claim-... beside it (No such file or directory)". A link to what is no file is not followed: refused
    by the name given, as what it leads to (a --report and a --contact-sheet too)."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    common = ["batch", "--content", "c.png", "--style", "s.png", "--out-dir", "o", *synthetic(synthetic_weights)]
    assert run(*common, "--report", "r.json").exit_code == 0
    os.mkfifo("pipe")
    os.symlink(tmp_path / "pipe", "out.json")
    os.symlink(tmp_path / "pipe", "sheet.png")
    told = "a link to a pipe, not a"
    r = run("report", "merge", "r.json", "-o", "out.json", "--overwrite")
    assert r.exit_code == 1 and r.stderr.startswith(f"Error: out.json: {told} stylize report;"), cli_result_text(r)
    r = run(*common, "--report", "out.json", "--overwrite")
    assert r.exit_code == 1 and r.stderr.startswith(f"Error: out.json: {told} stylize report;"), cli_result_text(r)
    r = run(*common, "--contact-sheet", "sheet.png", "--overwrite")
    assert r.exit_code == 1 and r.stderr.startswith(f"Error: sheet.png: {told} contact sheet;"), cli_result_text(r)
    assert os.path.islink("out.json") and stat.S_ISFIFO(os.stat("pipe").st_mode)


def test_round_91_merge_refuses_an_older_report_of_a_longer_manifest(tmp_path, monkeypatch):
    """Hostile round 91: merging a report that counts 3 pairs with an earlier version's (no count) holding pair 5
    wrote a report of 3 pairs holding pair 5, which no command then read back (nor --overwrite replaced); round
    92: merged alone, such a report was given a count made up from its pairs. Refused before anything is
    written, in either order: which manifest it is of cannot be told."""
    monkeypatch.chdir(tmp_path)
    record = {"content": "a.jpg", "style": "s.jpg", "status": "ok"}
    Path("new.json").write_text(json.dumps({"started": "2021", "settings": {"size": 32}, "manifest_pairs": 3,
                                            "pairs": [{**record, "index": 0, "output": "o0.png"}]}))
    Path("old.json").write_text(json.dumps({"started": "2020", "settings": {"size": 32},
                                            "pairs": [{**record, "index": 4, "output": "o4.png"}]}))
    for order in (["new.json", "old.json"], ["old.json", "new.json"], ["old.json"]):
        r = run("report", "merge", *order, "-o", "m.json")
        assert r.exit_code == 1 and r.stderr.startswith("Error: old.json: a report that counts no manifest pairs"), \
            cli_result_text(r)
        assert not os.path.lexists("m.json")
    assert run("report", "merge", "new.json", "-o", "m.json").exit_code == 0
    assert report.read(Path("m.json"))["summary"] == {"ok": 1}


def test_round_91_a_link_is_named_as_given_and_as_what_it_leads_to(tmp_path, monkeypatch, synthetic_weights,
                                                                  one_thread):
    """Hostile round 91: a link to a file given as --report, --contact-sheet or `report merge -o` was refused
    under its target's name alone (a name the user never typed: /dev/stdout's file, a link's), and a link to a
    device as a folder was "is a file". Named as given, with where it leads; a device is a device."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    common = ["batch", "--content", "c.png", "--style", "s.png", *synthetic(synthetic_weights)]
    assert run(*common, "--out-dir", "o", "--report", "r.json").exit_code == 0
    for name in ("notes.txt", "mine.png"):
        Path(name).write_text("mine")
    os.symlink("notes.txt", "lnotes.json")
    os.symlink("mine.png", "lmine.png")
    os.symlink("r.json", "lr.json")
    os.symlink("/dev/null", "dn")
    target = tmp_path / "notes.txt"
    for args, told in (
            ([*common, "--out-dir", "p", "--report", "lnotes.json"],
             f"lnotes.json (a link to {target}): already exists and is not a stylize report;"),
            (["report", "merge", "r.json", "-o", "lnotes.json", "--overwrite"],
             f"lnotes.json (a link to {target}): already exists and is not a stylize report;"),
            (["report", "merge", "r.json", "-o", "lr.json"],
             f"lr.json (a link to {tmp_path / 'r.json'}): is one of the reports to merge;"),
            ([*common, "--out-dir", "p", "--contact-sheet", "lmine.png", "--overwrite"],
             f"lmine.png (a link to {tmp_path / 'mine.png'}): already exists and is not a contact sheet stylize made;"),
            ([*common, "--out-dir", "dn"], "dn: is a link to a device, not a folder;"),
            (["grid", "c.png", "s.png", "-o", "g.png", "--cells-dir", "dn", *synthetic(synthetic_weights)],
             "dn: is a link to a device, not a folder;")):
        r = run(*args)
        assert r.exit_code == 1 and r.stderr.startswith(f"Error: {told}"), cli_result_text(r)
    assert Path("notes.txt").read_text() == Path("mine.png").read_text() == "mine" and not os.path.exists("p")


def test_round_92_an_empty_file_at_a_reports_name_is_replaced_with_overwrite(tmp_path, monkeypatch,
                                                                            synthetic_weights, one_thread):
    """Hostile round 92: `report merge -o /dev/stdout > so.json` was refused, --overwrite too, with "move it away"
    (the shell had made so.json, empty, before stylize started). An empty file holds nothing: --overwrite
    replaces it; without, the hint is the flag (a resume's, which cannot take it: remove it)."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    common = ["batch", "--content", "c.png", "--style", "s.png", "--out-dir", "o", *synthetic(synthetic_weights)]
    assert run(*common, "--report", "r.json").exit_code == 0
    os.symlink("so.json", "out")
    Path("so.json").write_bytes(b"")
    r = run("report", "merge", "r.json", "-o", "out")
    assert r.exit_code == 1 and r.stderr == (f"Error: out (a link to {tmp_path / 'so.json'}): already exists; pass "
                                             f"--overwrite to replace it\n"), cli_result_text(r)
    assert run("report", "merge", "r.json", "-o", "out", "--overwrite").exit_code == 0
    assert report.read(Path("so.json"))["summary"] == {"ok": 1}
    Path("e.json").write_bytes(b"")
    for flag, told in (([], "pass --overwrite to replace it"), (["--skip-existing"], "remove it or choose another "
                                                                                    "--report")):
        r = run(*common, "--report", "e.json", *flag)
        assert r.exit_code == 1 and r.stderr == f"Error: e.json: already exists (an empty file); {told}\n", \
            cli_result_text(r)
        assert Path("e.json").read_bytes() == b""
    assert run(*common, "--report", "e.json", "--overwrite").exit_code == 0
    assert report.read(Path("e.json"))["summary"] == {"ok": 1}
    Path("n.json").write_text(" ")  # (not empty: a file of yours, never replaced)
    r = run(*common, "--report", "n.json", "--overwrite")
    assert r.exit_code == 1 and "n.json: already exists and is not a stylize report" in r.stderr, cli_result_text(r)
    Path("sheet.png").write_bytes(b"")  # (a contact sheet's name: the same)
    for flag, told in (([], "pass --overwrite to replace it"), (["--skip-existing"], "remove it or choose another "
                                                                                    "--contact-sheet")):
        r = run(*common, "--contact-sheet", "sheet.png", *flag)
        assert r.exit_code == 1 and r.stderr == f"Error: sheet.png: already exists (an empty file); {told}\n", \
            cli_result_text(r)
    assert run(*common, "--contact-sheet", "sheet.png", "--overwrite").exit_code == 0
    assert Image.open("sheet.png").size[0] > 0


def test_round_106_a_report_of_these_pairs_written_elsewhere_is_told_so(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 106: a --report reused with another --out-dir (the manifest untouched) was "the report of
    another manifest's pairs (edited since it was written?)", and with --skip-existing given, the hint offered
    --skip-existing. The outputs are told as what differs; a flag given is not offered."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    Path("m.csv").write_text("content,style\nc.png,s.png\n")
    tiny = synthetic(synthetic_weights)
    assert run("batch", "m.csv", "--out-dir", "out", "--report", "r.json", *tiny).exit_code == 0
    before = Path("r.json").read_text()
    for flags, told in (([], "(--skip-existing keeps"), (["--skip-existing"], "(--skip-existing, as given, keeps")):
        for other in (["--out-dir", "out2"], ["--out-dir", "out", "--name-template", "{content}-{style}.png"]):
            r = run("batch", "m.csv", *other, "--report", "r.json", *tiny, *flags)
            assert r.exit_code == 1 and "r.json: already exists, the report of these pairs written to other outputs " \
                "(another --out-dir or --name-template, or the manifest's output names); choose another --report " \
                f"{told} each finished output whatever the report)" in r.stderr, cli_result_text(r)
    Path("m.csv").write_text("content,style\ns.png,c.png\n")
    r = run("batch", "m.csv", "--out-dir", "out", "--report", "r.json", *tiny)
    assert r.exit_code == 1 and "the report of another manifest's pairs (edited since" in r.stderr, cli_result_text(r)
    assert Path("r.json").read_text() == before and not os.path.exists("out2")


def test_round_117_a_name_spelt_otherwise_is_no_link(tmp_path, monkeypatch, synthetic_weights, one_thread):
    """Hostile round 117: a name written as ./x, d//x or d/./x was told "(a link to x)" where no link was (the
    name was compared with its own normal form as text). Only a link followed is told as one."""
    from stylize import images

    monkeypatch.chdir(tmp_path)
    for given in ("./x.json", "d//x.json", "d/./x.json", "d/x.json"):
        assert images.as_given(given, images.through_link(Path(given))) == given
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    common = ["batch", "--content", "c.png", "--style", "s.png", *synthetic(synthetic_weights)]
    assert run(*common, "--out-dir", "o", "--report", "r.json").exit_code == 0
    Path("mine.json").write_text("mine")
    for args, told in ((["report", "merge", "r.json", "-o", "./mine.json"],
                        "./mine.json: already exists and is not a stylize report;"),
                       ([*common, "--out-dir", "o", "--contact-sheet", "./o//c__s.png", "--skip-existing"],
                        "./o//c__s.png: the contact sheet would replace a file the batch reads or writes;")):
        r = run(*args)
        assert r.exit_code == 1 and r.stderr.startswith(f"Error: {told}"), cli_result_text(r)
    assert Path("mine.json").read_text() == "mine"
