"""files: what one synthesis reads besides its images, --save-every's intermediates, make_image."""

import pytest

from stylize import Settings, files
from stylize.errors import ImageError
from stylize.images import read_metadata, save_image

from .conftest import pattern


def test_intermediate_names_tell_levels_apart(tmp_path):
    out = tmp_path / "o.png"
    written = ["o.L1.00002.png", "o.L2.00002.png", "o.00002.png", "o.00004.png"]
    assert [files.intermediate_path(out, k, level, 3).name for level, k in ((1, 2), (2, 2), (3, 2), (3, 4))] == written
    ours = files.is_intermediate(out, [3, 3, 4], 2)
    assert all(ours(name) for name in written)
    assert not any(ours(name) for name in ("o.00003.png", "o.00006.png", "o.L1.00004.png", "o.L3.00002.png",
                                           "o.L01.00002.png", "o.000002.png", "o.00002.jpg", "p.00002.png"))
    assert not files.is_intermediate(out, [4], 0)("o.00002.png")


def test_an_intermediate_may_replace_neither_an_input_nor_an_existing_file(tmp_path):
    taken = tmp_path / "o.00002.png"
    taken.write_bytes(b"mine")
    with pytest.raises(ImageError, match="would overwrite an input"):
        files.check_intermediates(tmp_path / "o.png", [4], 2, inputs=[taken], overwrite=True)
    with pytest.raises(ImageError, match="already exists"):
        files.check_intermediates(tmp_path / "o.png", [4], 2)
    with pytest.raises(ImageError, match="not an intermediate of o.png stylize made .*--overwrite replaces only those"):
        files.check_intermediates(tmp_path / "o.png", [4], 2, overwrite=True)  # (round 33: a file of yours)
    files.check_intermediates(tmp_path / "o.png", [4], 3)  # --save-every 3 writes o.00003.png only
    save_image(pattern(8, 8), taken, {"intermediate": 2, "partial": True}, overwrite=True)
    files.check_intermediates(tmp_path / "o.png", [4], 2, overwrite=True)  # stylize's own: replaced


def test_a_file_put_at_an_intermediates_name_during_the_run_costs_neither_it_nor_the_run(tmp_path,
                                                                                          synthetic_weights):
    """Round 33: a file that appeared at OUT.00002.png after the checks (a finished run's -o, a copy) ended the run
    with exit 1 at that snapshot: the best image was never written. The snapshot is skipped, the file kept."""
    photo, art, out = tmp_path / "c.png", tmp_path / "s.png", tmp_path / "o.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=12, weights=str(synthetic_weights), normalize=False)
    for overwrite in (False, True):
        for f in tmp_path.glob("o*.png"):
            f.unlink()

        def appears(p):
            if p.iteration == 1 and not (tmp_path / "o.00002.png").exists():
                save_image(pattern(8, 8), tmp_path / "o.00002.png", {"command": "transfer"})  # not a snapshot

        files.make_image(settings, lambda session: session.transfer_job(photo, art), out, save_every=1,
                         callback=appears, overwrite=overwrite)
        mine = read_metadata(tmp_path / "o.00002.png")
        assert mine["command"] == "transfer" and "intermediate" not in mine
        assert read_metadata(tmp_path / "o.00001.png")["intermediate"] == 1
        assert read_metadata(tmp_path / "o.00003.png")["intermediate"] == 3  # (the run went on past it)
        assert not read_metadata(out)["partial"]


def test_the_intermediates_check_reads_the_folder_once_whatever_the_count(tmp_path, monkeypatch):
    """Round 8: --iterations 100000 --save-every 2 checked 50,000 names one by one (4 s before the first
    iteration, 10^7 iterations: minutes and gigabytes); the check now lists the folder once."""
    import os

    (tmp_path / "o.9999998.png").write_bytes(b"mine")
    looked = []
    monkeypatch.setattr(os.path, "lexists", lambda p: looked.append(p) or False)
    with pytest.raises(ImageError, match=r"o.9999998.png: already exists and is not an intermediate of o"):
        files.check_intermediates(tmp_path / "o.png", [10**7], 1)
    assert len(looked) < 10


def test_input_files_name_each_file_of_a_joined_mask(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    a.write_bytes(b"x")
    b.write_bytes(b"x")
    s = Settings(content_mask=f"{a}+{b}", style_masks=("white",))
    assert files.input_files(s) == [str(a), str(b)]


@pytest.mark.vgg
def test_each_intermediate_records_its_iteration_level_and_losses(photo, art, tmp_path):
    seen = {}

    def callback(p):
        seen.setdefault((p.level, p.iteration), (p.content, p.style))

    out = tmp_path / "o.png"
    files.make_image(Settings(size=64, scales=2, coarse_iterations=2, iterations=3),
                     lambda session: session.transfer_job(photo, art), out, inputs=[photo, art], save_every=1,
                     callback=callback)
    made = {k for k in seen if k[1] >= 1}  # (level, iteration) of every iteration the run finished
    assert {0, 1} <= {level for level, _ in made}  # both levels saved some
    expected = {("o.L1." if level == 0 else "o.") + f"{k:05d}.png" for level, k in made}
    assert sorted(p.name for p in tmp_path.glob("o.*")) == sorted(expected | {"o.png"})
    for level, k in made:
        meta = read_metadata(tmp_path / (("o.L1." if level == 0 else "o.") + f"{k:05d}.png"))
        assert (meta["intermediate"], meta["level"], meta["levels"], meta["partial"]) == (k, level + 1, 2, True)
        assert (meta["content_loss"], meta["style_loss"]) == seen[(level, k)]


def test_overwrite_leaves_only_this_runs_intermediates_beside_the_output(tmp_path, synthetic_weights):
    """Hostile round 40: after a 6-iteration run with --save-every 1, a 2-iteration run with --overwrite replaced
    o.png and o.00001.png and left o.00002-6.png of the first run (another style) in one numbered series. A file
    of yours at such a name stays."""
    from click.testing import CliRunner

    from stylize.cli import cli

    from .conftest import synthetic

    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    out = tmp_path / "o" / "o.png"
    out.parent.mkdir()
    tiny = synthetic(synthetic_weights)[:-3]  # (its own --iterations below)

    def run(iterations, *flags):
        r = CliRunner().invoke(cli, [str(photo), str(art), "-o", str(out), *tiny, "--iterations", str(iterations),
                                     "--evaluations", "100", "--no-until-done", "--save-every", "1", "--quiet", *flags])
        assert r.exit_code == 0, r.output
        return sorted(p.name for p in out.parent.iterdir())

    first = run(6)
    assert first == [f"o.{k:05d}.png" for k in range(1, 7)] + ["o.png"]
    (out.parent / "o.00009.png").write_bytes(b"mine")
    second = run(3, "--overwrite")
    made = [n for n in second if n not in ("o.png", "o.00009.png")]
    assert len(made) < 6 and all(read_metadata(out.parent / n)["intermediate"] for n in made), second
    assert (out.parent / "o.00009.png").read_bytes() == b"mine"


def test_another_outputs_intermediates_are_never_this_outputs(tmp_path, synthetic_weights):
    """Hostile round 41: `-o x.L1.png --save-every` writes x.L1.00002.png, the name of `-o x.png --scales 2`'s
    coarse-level snapshot; `-o x.png --overwrite` then removed (or replaced) the other output's intermediates.
    Each intermediate records the output it belongs to ("intermediate_of")."""
    from click.testing import CliRunner

    from stylize.cli import cli

    from .conftest import synthetic

    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    tiny = synthetic(synthetic_weights)[:-3]

    def run(out, *flags):
        return CliRunner().invoke(cli, [str(photo), str(art), "-o", str(tmp_path / out), *tiny, "--iterations", "4",
                                        "--evaluations", "100", "--no-until-done", "--quiet", *flags])

    assert run("x.L1.png", "--save-every", "2").exit_code == 0
    theirs = {p.name: p.read_bytes() for p in tmp_path.glob("x.L1.0*.png")}
    assert theirs and read_metadata(tmp_path / "x.L1.00002.png")["intermediate_of"] == "x.L1.png"
    assert run("x.png").exit_code == 0
    assert run("x.png", "--overwrite").exit_code == 0  # (no --save-every: nothing of another output goes)
    for flags in ([], ["--overwrite"]):
        r = run("x.png", "--scales", "2", "--size", "64", "--save-every", "2", *flags)
        assert r.exit_code == 1 and "x.L1.00002.png: already exists and is not an intermediate of x.png" in \
            r.output, r.output
    assert {p.name: p.read_bytes() for p in tmp_path.glob("x.L1.0*.png")} == theirs


def test_overwrite_never_removes_an_earlier_intermediate_this_run_reads(tmp_path, synthetic_weights, monkeypatch):
    """Hostile round 42: `-o x.png --overwrite` removed the earlier run's x.00006.png that this run read as its
    style (or --init, or content-recon's image) once the output was written; without --save-every it removed
    every snapshot. The cleanup is --save-every's, and never takes an input."""
    from click.testing import CliRunner

    from stylize.cli import cli

    from .conftest import synthetic

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    tiny = [*synthetic(synthetic_weights)[:-3], "--evaluations", "100", "--no-until-done", "--quiet"]

    def run(*args):
        result = CliRunner().invoke(cli, [*args, *tiny])
        assert result.exit_code == 0, result.output

    run("c.png", "s.png", "-o", "x.png", "--iterations", "6", "--save-every", "1")
    snapshots = sorted(p.name for p in tmp_path.glob("x.0*.png"))
    assert len(snapshots) == 6
    run("c.png", "x.00006.png", "-o", "x.png", "--iterations", "2", "--save-every", "1", "--overwrite")
    assert sorted(p.name for p in tmp_path.glob("x.0*.png")) == ["x.00001.png", "x.00002.png", "x.00006.png"]
    run("c.png", "s.png", "-o", "x.png", "--iterations", "2", "--overwrite", "--init", "x.00006.png")
    assert sorted(p.name for p in tmp_path.glob("x.0*.png")) == ["x.00001.png", "x.00002.png", "x.00006.png"]
    run("content-recon", "x.00006.png", "-o", "x.png", "--iterations", "1", "--save-every", "1", "--overwrite")
    assert sorted(p.name for p in tmp_path.glob("x.0*.png")) == ["x.00001.png", "x.00006.png"]


@pytest.mark.parametrize("color", ["luminance", "swap"])
def test_round_78_an_intermediate_is_the_picture_a_stop_there_would_save(tmp_path, monkeypatch, synthetic_weights,
                                                                        color):
    """Hostile round 78: with --color luminance or swap, --save-every's intermediates lacked the colour step (grey,
    or the artwork's colours) that the output and a stopped run's partial have: the last one, at the output's
    iteration, differed from the output itself."""
    import numpy as np
    from click.testing import CliRunner
    from PIL import Image

    from stylize.cli import cli

    from .conftest import cli_result_text, synthetic

    monkeypatch.chdir(tmp_path)
    pattern(40, 30, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    r = CliRunner().invoke(cli, ["c.png", "s.png", "-o", "o.png", *synthetic(synthetic_weights), "--iterations", "4",
                                 "--evaluations", "30", "--save-every", "2", "--color", color])  # (the last given)
    assert r.exit_code == 0, cli_result_text(r)
    last, out = (np.asarray(Image.open(n).convert("RGB")) for n in ("o.00004.png", "o.png"))
    assert last.shape == out.shape and np.array_equal(last, out)
    assert read_metadata("o.00004.png")["partial"] is True
