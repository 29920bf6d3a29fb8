"""The paper's claims on tiny images: orderings, not absolute dB (README has the real-size figures)."""

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from stylize import Session, Settings, figures
from stylize.errors import ImageError
from stylize.cli import cli
from stylize.figures import panel
from stylize.images import fit, load_image, to_tensor
from stylize.synthesis import noise_image

from .conftest import cli_result_text, pattern, psnr

pytestmark = pytest.mark.vgg


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def made_figure(image, meta) -> figures.Figure:
    """A Figure as figure1/grid seal one (what save takes back), without running one."""
    fig = figures.Figure(image, meta)
    fig.made = figures._made_key(fig)
    return fig


def test_content_reconstruction_loses_detail_along_the_hierarchy(photo):
    session = Session(size=48, iterations=70)  # (measured: 32.8, 25.9 and 10.8 dB)
    reference = to_tensor(fit(load_image(photo), 48))
    quality = {layer: psnr(to_tensor(session.reconstruct_content(photo, layer).image), reference)
               for layer in ("conv1_1", "conv3_1", "conv5_1")}
    assert quality["conv1_1"] > quality["conv3_1"] > quality["conv5_1"], quality
    assert quality["conv1_1"] > 30, quality


def test_style_reconstruction_matches_gram_matrices_not_pixels(art):
    layers = ("conv1_1", "conv2_1", "conv3_1")
    session = Session(size=48, iterations=80)  # (measured: the style loss 1/3600 of the start's; content 280x)
    out = session.reconstruct_style(art, layers)
    # the white-noise start's style loss, on the same objective
    objective = session.objective(session.style_job(art, layers))
    start = float(objective(noise_image(48, 48, session.settings.noise, 0))[0])
    assert out.style_loss < start / 1000
    # its content (conv4_2 responses, and pixels) stays far from the artwork's
    c = session.objective(session.content_job(art, "conv4_2"))
    result_content = float(c(to_tensor(out.image))[0])
    recon = session.reconstruct_content(art, "conv4_2")
    assert result_content > 5 * recon.content_loss
    assert psnr(to_tensor(out.image), to_tensor(fit(load_image(art), 48))) < 20


def test_style_recon_command_takes_an_output_size(art, tmp_path):
    r = run("style-recon", art, "--layers", "conv1_1,conv2_1", "-o", tmp_path / "t.png", "--out-size", "40x24",
            "--iterations", "3", "--quiet")
    assert r.exit_code == 0, cli_result_text(r)
    assert Image.open(tmp_path / "t.png").size == (40, 24)


def test_content_recon_command(photo, tmp_path):
    r = run("content-recon", photo, "--layer", "conv2_1", "-o", tmp_path / "c.png", "--size", "32",
            "--iterations", "3", "--quiet")
    assert r.exit_code == 0 and Image.open(tmp_path / "c.png").size == (32, 24)
    for command, option, own in (("content-recon", "--content-layer", "--layer"),  # newcomer, session 6: it
                                 ("style-recon", "--style-layers", "--layers")):  # silently used conv4_2
        r = run(command, photo, option, "conv1_1", "-o", tmp_path / "x.png", "--size", "32", "--iterations", "3")
        assert r.exit_code == 2 and f"'{option}': this command takes {own}, not this option" in r.stderr


def test_grid_trades_content_against_style_monotonically(photo, art, tmp_path):
    # one row (the paper's five style layers) x 2 columns at 32 px, the paper's extreme ratios (three decades
    # apart): the content loss rises and the style loss falls as alpha/beta falls (rows: the layout tests)
    out = tmp_path / "grid.png"
    r = run("grid", photo, art, "-o", out, "--layer-sets", "conv1_1,conv2_1,conv3_1,conv4_1,conv5_1",
            "--ratios", "1e-2,1e-5", "--size", "32", "--iterations", "60", "--cells-dir", tmp_path / "cells",
            "--quiet")
    assert r.exit_code == 0, cli_result_text(r)
    meta = json.loads(out.with_suffix(".json").read_text())
    cells = meta["cells"]
    assert meta["ratios"] == [1e-2, 1e-5]
    assert len(cells) == 2 and len(list((tmp_path / "cells").iterdir())) == 2
    high, low = sorted(cells, key=lambda c: -c["ratio"])
    assert (high["ratio"], low["ratio"]) == (1e-2, 1e-5)
    assert low["content_loss"] > high["content_loss"], (low, high)
    assert low["style_loss"] < high["style_loss"], (low, high)
    assert Image.open(out).width > 2 * 32 and Image.open(out).height > 24


def test_figure1_layout(photo, art, tmp_path):
    out = tmp_path / "fig1.png"
    r = run("figure1", photo, art, "-o", out, "--size", "32", "--iterations", "2", "--quiet")
    assert r.exit_code == 0, cli_result_text(r)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert [c["row"] for c in meta["cells"]] == ["content"] * 5 + ["style"] * 5
    figure = Image.open(out).convert("RGB")
    cells = tmp_path / "cells"
    r = run("figure1", photo, art, "-o", tmp_path / "again.png", "--size", "32", "--iterations", "2", "--quiet",
            "--cells-dir", cells)
    assert r.exit_code == 0, cli_result_text(r)
    names = [f"content-conv{b}_1.png" for b in range(1, 6)] + [f"style-{k}.png" for k in "ABCDE"]
    places = [where(figure, Image.open(cells / n).convert("RGB")) for n in names]
    assert all(p is not None for p in places), places
    top, bottom = places[:5], places[5:]
    assert len({y for _, y in top}) == 1 and len({y for _, y in bottom}) == 1 and bottom[0][1] > top[0][1]
    assert [x for x, _ in top] == sorted(x for x, _ in top) and [x for x, _ in bottom] == [x for x, _ in top]


def where(big: Image.Image, small: Image.Image):
    """(x, y) of the top-left corner where `small` appears pixel for pixel inside `big`, or None."""
    W, w, h = big.width, small.width, small.height
    data, first = big.tobytes(), small.crop((0, 0, w, 1)).tobytes()
    rows = [small.crop((0, j, w, j + 1)).tobytes() for j in range(h)]
    for y in range(big.height - h + 1):
        start = 0
        line = data[y * W * 3:(y + 1) * W * 3]
        while (x := line.find(first, start)) != -1:
            if x % 3 == 0 and all(data[((y + j) * W + x // 3) * 3:((y + j) * W + x // 3 + w) * 3] == rows[j]
                                  for j in range(h)):
                return x // 3, y
            start = x + 1
    return None


def test_panel_places_every_cell():
    cells = [[pattern(20, 10, seed=i * 3 + j) for j in range(3)] for i in range(2)]
    im = panel(cells, ["A", "B"], ["x", "y", "z"], "title")
    places = [[where(im, c) for c in row] for row in cells]
    assert all(p is not None for row in places for p in row), places
    for row in places:  # each row on one line, its cells left to right
        assert len({y for _, y in row}) == 1 and [x for x, _ in row] == sorted(x for x, _ in row)
    assert places[1][0][1] > places[0][0][1] and [x for x, _ in places[0]] == [x for x, _ in places[1]]


def test_every_cell_is_checked_before_the_first_is_computed(photo, art, tmp_path):
    cells = tmp_path / "cells"
    r = run("figure1", photo, art, "-o", tmp_path / "f.png", "--init", "content", "--cells-dir", cells,
            "--size", "32", "--iterations", "2", "--quiet")  # the style cells have no content image to start from
    assert r.exit_code == 2 and r.stderr.strip().endswith(  # round 33: exit 1, "this command has no content image"
        "Error: Invalid value for '--init': 'content': figure1's cells are reconstructions of one image each (its "
        "content cells have no style image, its style cells no content image); start from noise or an image file")
    assert not cells.exists()
    with pytest.raises(ImageError, match="--init content: a style-recon synthesis has no content image"):
        figures.figure1(Settings(init="content", size=32, iterations=2), photo, art, cells_dir=cells)
    assert not cells.exists()


def test_two_cells_never_share_a_name(photo, art, tmp_path):
    from stylize.figures import grid_names

    assert grid_names((1e-3, 0.0010000001), [("conv1_1",)]) == ["A_0.001", "A_0.0010000001"]
    assert grid_names((1e-3, 1e-2), [("conv1_1",)]) == ["A_0.001", "A_0.01"]
    cells = tmp_path / "cells"
    r = run("figure1", photo, art, "-o", tmp_path / "f.png", "--content-layers", "conv1_1,conv1_1",
            "--layer-sets", "conv1_1", "--cells-dir", cells, "--size", "32", "--iterations", "2", "--quiet")
    assert r.exit_code == 2 and "conv1_1 is given twice" in r.stderr, cli_result_text(r)  # a usage error now
    assert not cells.exists() and not (tmp_path / "f.png").exists()



@pytest.mark.parametrize("command", ["grid", "figure1"])
def test_a_figure_never_replaces_a_file_it_reads_whatever_the_flags(photo, art, tmp_path, command):
    """Hostile round 2: `grid -o init.png --init init.png --overwrite` wrote the grid over its start image; a
    start image named like a cell in --cells-dir was replaced the same way."""
    from stylize import figures

    if command == "grid":
        extra, names = ["--ratios", "1e-3", "--layer-sets", "conv1_1"], figures.grid_names((1e-3,), (("conv1_1",),))
    else:
        extra = ["--content-layers", "conv1_1", "--layer-sets", "conv1_1"]
        names = figures.figure1_names(("conv1_1",), (("conv1_1",),))
    cells = tmp_path / "cells"
    cells.mkdir()
    cell = figures.cell_paths(cells, names)[0]
    for start, target, message in ((tmp_path / "init.png", ["-o", tmp_path / "init.png"], "would overwrite an input"),
                                   (cell, ["-o", tmp_path / "f.png", "--cells-dir", cells], "a cell would overwrite")):
        pattern(64, 48, seed=5).save(start)
        before = start.read_bytes()
        r = run(command, photo, art, *target, "--init", start, "--overwrite", "--size", "32", "--iterations", "2",
                *extra)
        assert r.exit_code == 1 and message in cli_result_text(r), cli_result_text(r)
        assert start.read_bytes() == before


@pytest.mark.parametrize("command, extra", [("grid", ["--ratios", "1e-5,1e-4,1e-3,1e-2,1e-1,1", "--layer-sets", "conv1_1"]),
                                            ("figure1", [])])
def test_a_figure_too_large_for_its_format_is_refused_before_any_cell(photo, art, tmp_path, command, extra):
    """Hostile round 3: `grid -o g.ico` ran every cell, wrote them, then refused the 350 px picture."""
    r = run(command, photo, art, "-o", tmp_path / "g.ico", "--cells-dir", tmp_path / "cells", "--size", "48",
            "--iterations", "2", *extra)
    assert r.exit_code == 1 and re.search(r"a \.ico image is at most 256 px a side and this one would be \d+x\d+",
                                          cli_result_text(r)), cli_result_text(r)
    assert not list((tmp_path / "cells").glob("*.png")) and not (tmp_path / "g.ico").exists()


def test_a_long_ratio_list_plans_one_cell_a_row_before_its_checks(photo, art, tmp_path, monkeypatch):
    """Hostile round 12: `grid --ratios` of 2100 ratios planned (and held) every cell before the size check:
    13 GB in a minute, then a memory error. The cells of a row differ only in alpha/beta, which no check reads."""
    plans = []
    real = Session.plan
    monkeypatch.setattr(Session, "plan", lambda self, job: plans.append(job) or real(self, job))
    ratios = ",".join(f"{1e-3 * (1 + k / 1e4):.7g}" for k in range(2100))
    r = run("grid", photo, art, "-o", tmp_path / "g.jpg", "--size", "32", "--iterations", "1", "--ratios", ratios,
            "--layer-sets", "conv1_1;conv1_1,conv2_1")
    assert r.exit_code == 1 and "a .jpg image is at most 65500 px a side" in cli_result_text(r), cli_result_text(r)
    assert len(plans) == 2  # one a row


def test_a_panel_is_as_wide_as_its_title():
    im = panel([[pattern(20, 10)]], ["A"], ["x"], "a title much wider than one small cell")
    assert im.width > 20 * 6  # (the title was cut at the cells' width)
    assert im.getpixel((im.width - 8, 8)) == (255, 255, 255)  # the white margin after it


def test_overwrite_replaces_only_this_figures_json_never_another_figures_of_the_same_stem(tmp_path):
    """Hostile round 8: `figure1 -o fig.jpg --overwrite` (a new file) replaced fig.png's fig.json: both figures'
    .json is fig.json, and it did not say whose it was. It now records its figure."""
    from stylize.errors import ImageError

    pattern(16, 16).save(tmp_path / "c.png")
    side = tmp_path / "fig.json"
    side.write_text(json.dumps({"command": "grid", "cells": [], "figure": "fig.png"}))
    with pytest.raises(ImageError, match=r"fig.json: the .json of another figure \(fig.png\); choose another"):
        figures.check_outputs(tmp_path / "fig.jpg", [tmp_path / "c.png"], overwrite=True)
    figures.check_outputs(tmp_path / "fig.png", [tmp_path / "c.png"], overwrite=True)  # its own: replaced
    side.write_text(json.dumps({"command": "grid", "cells": []}))  # an older figure's: says no name
    with pytest.raises(ImageError, match="the .json of another figure; choose another"):
        figures.check_outputs(tmp_path / "fig.jpg", [tmp_path / "c.png"], overwrite=True)
    pattern(16, 16).save(tmp_path / "fig.jpg")
    figures.check_outputs(tmp_path / "fig.jpg", [tmp_path / "c.png"], overwrite=True)  # beside its figure: its own
    fig = made_figure(Image.new("RGB", (8, 8)), {"command": "grid", "cells": []})
    assert json.loads(figures.save(fig, tmp_path / "new.png").read_text())["figure"] == "new.png"


def test_round_102_a_figures_json_name_holding_no_file_is_named_as_what_it_is(tmp_path):
    """Hostile round 102: a link to nothing or a folder at a figure's .json name was "already exists and is not a
    figure's .json", with or without overwrite. Named as what is there."""
    pattern(16, 16).save(tmp_path / "c.png")
    os.symlink("nowhere", tmp_path / "l.json")
    (tmp_path / "d.json").mkdir()
    for name, told in (("l", "a link to nothing, not"), ("d", "a folder, not")):
        for overwrite in (False, True):
            with pytest.raises(ImageError, match=re.escape(f"{name}.json: {told} a figure's .json stylize wrote; "
                                                           f"move it away")):
                figures.check_outputs(tmp_path / f"{name}.png", [tmp_path / "c.png"], overwrite=overwrite)


def test_pass_overwrite_is_said_only_when_overwrite_would_do_it(tmp_path):
    """Hostile round 37: an existing figure beside a .json of the user's was "fig.png: already exists; pass
    --overwrite", and --overwrite then refused the .json. What no flag changes is said first, whatever the flags."""
    from stylize.errors import ImageError

    pattern(16, 16).save(tmp_path / "c.png")
    pattern(16, 16).save(tmp_path / "fig.png")
    (tmp_path / "fig.json").write_text('{"my": "notes"}')
    for overwrite in (False, True):
        with pytest.raises(ImageError, match="fig.json: already exists and is not a figure's .json stylize wrote; "
                                             "move it away"):
            figures.check_outputs(tmp_path / "fig.png", [tmp_path / "c.png"], overwrite=overwrite)
    (tmp_path / "fig.json").write_text(json.dumps({"command": "grid", "cells": [], "figure": "fig.png"}))
    with pytest.raises(ImageError, match="fig.png: already exists; pass --overwrite"):
        figures.check_outputs(tmp_path / "fig.png", [tmp_path / "c.png"])
    (tmp_path / "fig.png").unlink()
    with pytest.raises(ImageError, match=r"fig.json: already exists \(the figure's .json\); pass --overwrite"):
        figures.check_outputs(tmp_path / "fig.png", [tmp_path / "c.png"])
    figures.check_outputs(tmp_path / "fig.png", [tmp_path / "c.png"], overwrite=True)


@pytest.mark.parametrize("command, extra, cell", [
    ("figure1", [], "style-E.png"), ("grid", ["--ratios", "1e-3,1e-2", "--layer-sets", "conv1_1"], "A_0.001.png")])
def test_a_folder_at_a_cells_name_is_refused_before_any_work_whatever_the_flags(photo, art, tmp_path, command,
                                                                                extra, cell):
    """Round 18: with --overwrite, a folder at a cell's name passed the checks; the figure failed after its work."""
    cells = tmp_path / "cells"
    (cells / cell).mkdir(parents=True)
    r = run(command, photo, art, "-o", tmp_path / "f.png", "--cells-dir", cells, "--overwrite", *extra, "--size", "32",
            "--iterations", "2", "--quiet")
    assert r.exit_code == 1 and f"{cells / cell}: is a directory" in r.stderr, cli_result_text(r)
    assert [p.name for p in cells.iterdir()] == [cell] and not (tmp_path / "f.png").exists()


@pytest.mark.parametrize("command", ["figure1", "grid"])
@pytest.mark.parametrize("cells, what", [("f.json", ".json"), ("f.png", "output")])
def test_cells_dir_at_the_figures_own_name_is_told_as_such(photo, art, tmp_path, command, cells, what):
    """Round 21: --cells-dir f.json made that folder first, then refused it as "f.json: already exists (the
    figure's .json); pass --overwrite", a file the user never had."""
    out = tmp_path / "out"
    out.mkdir()
    for flags in ([], ["--overwrite"]):
        r = run(command, photo, art, "-o", out / "f.png", "--cells-dir", out / cells, *flags, "--size", "32",
                "--iterations", "2", "--quiet")
        assert r.exit_code == 1 and f"--cells-dir is the figure's own {what} name" in r.stderr, cli_result_text(r)
        assert not any(out.iterdir())


def test_a_full_disk_at_the_figures_json_leaves_neither_picture_nor_json(tmp_path, monkeypatch):
    """Round 25: the picture was placed, then the .json failed on a full disk; the rerun, with room, was refused
    ("fig.png: already exists"). The .json is now written to disk before the picture appears."""
    import errno

    from stylize import images
    from stylize.errors import ImageError

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    fig = made_figure(Image.new("RGB", (8, 8)), {"command": "grid", "cells": []})
    with monkeypatch.context() as m:
        m.setattr(images.json, "dump", full)
        with pytest.raises(ImageError, match=r"fig.json: cannot write \(No space left on device\)"):
            figures.save(fig, tmp_path / "fig.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    figures.save(fig, tmp_path / "fig.png")  # with room, the same command writes both
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.json", "fig.png"]


def test_layer_sets_after_the_26th_are_labelled_aa_ab_never_by_characters_after_z():
    """Round 26: `--layer-sets` of 70 sets named cells `style-[`, `style-a` (row A's file where letter case is
    ignored), `style-\\x7f` and C1 controls (U+0085 is a line break to many readers)."""
    labels = [figures.row_label(k) for k in range(800)]
    assert labels[:3] == ["A", "B", "C"] and labels[25:28] == ["Z", "AA", "AB"] and labels[701:703] == ["ZZ", "AAA"]
    assert len({label.lower() for label in labels}) == 800 and all(re.fullmatch("[A-Z]+", x) for x in labels)
    names = figures.figure1_names(["conv1_1"], [["conv1_1"]] * 70)
    assert names[-1] == "style-BR" and len({n.lower() for n in names}) == len(names) == 71


def test_the_apis_save_checks_as_a_run_with_an_output_does(tmp_path, synthetic_weights):
    """Round 30: figures.save (the README's Python API) wrote the picture, then refused the .json (half a figure
    left); with overwrite=True it replaced a user's fig.json and wrote over the figure's own content image."""
    from stylize import Settings
    from stylize.errors import StylizeError

    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    fig = figures.grid(settings, photo, art, ratios=(1e-3,), layer_sets=(("conv1_1",),))
    (tmp_path / "fig.json").write_text('{"mine": true}')
    kept = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    for name, overwrite, told in (("fig.png", False, "fig.json: already exists"),
                                  ("fig.png", True, "fig.json: already exists and is not a figure's .json"),
                                  (photo, True, "c.png: ")):
        with pytest.raises(StylizeError, match=re.escape(told)):
            figures.save(fig, tmp_path / name if isinstance(name, str) else name, overwrite=overwrite)
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == kept
    assert figures.save(fig, tmp_path / "ok.png") == tmp_path / "ok.json" and (tmp_path / "ok.png").is_file()


@pytest.mark.parametrize("command", ["grid", "figure1"])
def test_a_cell_stopped_before_its_first_evaluation_is_no_cell(tmp_path, synthetic_weights, monkeypatch, command):
    """A stop in a cell's first pass (now at once, synthesis._Worker) left its start image, noise, as a cell of
    the figure; its losses were a further forward pass of the start. The figure holds the cells made so far."""
    import math

    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    real, runs = Session.run, []

    def second_cell_stopped_at_once(self, plan, callback=None, should_stop=None, **kwargs):
        runs.append(1)
        return real(self, plan, callback, (lambda: True) if len(runs) == 2 else should_stop, **kwargs)

    monkeypatch.setattr(Session, "run", second_cell_stopped_at_once)
    if command == "grid":
        fig = figures.grid(settings, photo, art, ratios=(1e-3, 1e-2), layer_sets=(("conv1_1",),),
                           should_stop=lambda: False)
    else:
        fig = figures.figure1(settings, photo, art, content_layers=("conv1_1", "conv2_1"),
                              layer_sets=(("conv1_1",),), should_stop=lambda: False)
    assert len(runs) == 2 and len(fig.cells) == 1 and len(fig.meta["cells"]) == 1 and fig.meta["partial"]
    assert all(math.isfinite(v) for cell in fig.meta["cells"] for k, v in cell.items() if k.endswith("_loss"))


@pytest.mark.parametrize("command", ["figure1", "grid"])
def test_saving_a_figure_stopped_before_its_first_cell_is_one_error(tmp_path, synthetic_weights, command):
    """Hostile round 38: figures.save of a figure stopped before its first cell (the README's Python API pattern)
    raised AttributeError ('NoneType' object has no attribute 'size'); now a StylizeError, and nothing written."""
    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    make = figures.grid if command == "grid" else figures.figure1
    fig = make(settings, photo, art, should_stop=lambda: True)
    assert fig.image is None and fig.meta["partial"]
    with pytest.raises(ImageError, match=r"f.png: the figure has no finished cell \(it was stopped before its first\); "
                                         r"nothing to save$"):
        figures.save(fig, tmp_path / "f.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "s.png"]


def test_overwrite_replaces_only_the_cells_stylize_made(tmp_path, synthetic_weights):
    """Round 32: figure1/grid --cells-dir --overwrite replaced a user's file (or a link) at a cell's name."""
    from stylize import Settings
    from stylize.errors import StylizeError

    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    cells = tmp_path / "cells"
    cells.mkdir()
    (cells / "A_0.001.png").write_text("my notes")
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    kwargs = dict(ratios=(1e-3,), layer_sets=(("conv1_1",),), cells_dir=cells, overwrite=True)
    with pytest.raises(StylizeError, match="is not a cell stylize made; --overwrite replaces only those"):
        figures.grid(settings, photo, art, **kwargs)
    assert (cells / "A_0.001.png").read_text() == "my notes"
    (cells / "A_0.001.png").unlink()
    figures.grid(settings, photo, art, **kwargs)
    figures.grid(settings, photo, art, **kwargs)  # its own cells: replaced
    assert Image.open(cells / "A_0.001.png").size == (32, 26)
    (cells / "A_0.001.png").rename(tmp_path / "made.png")  # round 33: a link to a cell stylize made is the user's
    (cells / "A_0.001.png").symlink_to(tmp_path / "made.png")
    with pytest.raises(StylizeError, match="is not a cell stylize made; --overwrite replaces only those"):
        figures.grid(settings, photo, art, **kwargs)
    assert (cells / "A_0.001.png").is_symlink()
    (cells / "A_0.001.png").unlink()  # round 34: a transfer's result of the user's, stylize's but not a cell
    from stylize.images import save_image

    save_image(pattern(40, 32, 3), cells / "A_0.001.png", {"command": "transfer"})
    mine = (cells / "A_0.001.png").read_bytes()
    with pytest.raises(StylizeError, match="is not a cell stylize made; --overwrite replaces only those"):
        figures.grid(settings, photo, art, **kwargs)
    assert (cells / "A_0.001.png").read_bytes() == mine


def test_a_cells_dir_another_run_writes_in_is_refused_at_the_start(photo, art, tmp_path):
    """Round 35: grid --cells-dir c, started while figure1 wrote c/fig.png, made its cells; figure1 then failed at
    its save, after all its work ("a folder a running stylize writes in"). The later run is refused now."""
    import subprocess
    import sys

    cells = tmp_path / "c"
    cells.mkdir()
    hold = ("import sys, time\nfrom stylize.claims import claim_file\nclaim_file(sys.argv[1]).take()\n"
            "print('held', flush=True)\ntime.sleep(60)\n")
    other = subprocess.Popen([sys.executable, "-c", hold, str(cells / "fig.png")], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "held"
        r = run("grid", photo, art, "-o", tmp_path / "g.png", "--cells-dir", cells, "--size", "32", "--iterations",
                "2", "--quiet")
        assert r.exit_code == 1 and f"another stylize run (pid {other.pid}) is writing a file in it" in r.stderr, \
            cli_result_text(r)
        assert not (tmp_path / "g.png").exists() and not any(p.suffix == ".png" for p in cells.iterdir())
    finally:
        other.kill()
        other.wait()


def test_a_refused_figure_leaves_no_folder_its_cells_dir_made(photo, art, tmp_path, monkeypatch):
    """Round 35: `--cells-dir new/..` made new/, then the figure was refused (its output exists): new/ stayed."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fig.png").write_bytes(b"mine")
    r = run("figure1", photo, art, "-o", "fig.png", "--cells-dir", "new/..", "--size", "32", "--quiet")
    assert r.exit_code == 1 and "fig.png: already exists" in r.stderr, cli_result_text(r)
    assert not (tmp_path / "new").exists()



def test_the_figure_apis_wrong_types_are_stylize_errors(tmp_path):
    """Hostile kind of round 38: figures.grid(ratios=5) was TypeError, layer_sets=['conv1_1'] an unknown layer 'c',
    settings=None AttributeError, figures.save(5) AttributeError. One name is a list of one; None is the defaults."""
    from stylize.errors import LayerError, SettingsError

    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    fig = figures.grid(None, photo, art, ratios=5, layer_sets=["conv1_1"], should_stop=lambda: True)
    assert fig.meta["ratios"] == [5] and fig.image is None
    cases = [(lambda: figures.grid(Settings(), photo, art, ratios="x"), SettingsError, "ratios: a number or a list"),
             (lambda: figures.grid(Settings(), photo, art, layer_sets=[["conv1_1", 2]]), LayerError,
              "a layer set: a layer name or a list of them"),
             (lambda: figures.figure1(Settings(), photo, art, content_layers=[]), LayerError, "content_layers: a layer"),
             (lambda: figures.figure1(5, photo, art), SettingsError, "settings: a stylize.Settings, not int"),
             (lambda: figures.save(5, tmp_path / "x.png"), ImageError, "figure: what figures.figure1 or figures.grid")]
    for make, error, message in cases:
        with pytest.raises(error, match=message):
            make()


def test_round_44_a_photo_replaced_during_a_grid_is_refused_not_mixed(tmp_path, synthetic_weights):
    """Hostile round 44: a grid plans each later cell when its turn comes (a Session of its own): a photograph
    replaced after the first cell made the third from the other picture, in one figure marked whole."""
    import os

    from .conftest import pattern

    photo, art, other = tmp_path / "c.png", tmp_path / "s.png", tmp_path / "other.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    pattern(40, 32, 3).save(other)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    seen = []

    def swap(progress):
        seen.append(progress)
        if len(seen) == 1:
            os.replace(other, photo)

    with pytest.raises(ImageError, match="c.png: replaced during this run"):
        figures.grid(settings, photo, art, ratios=(1e-3, 1e-2), layer_sets=["conv1_1"], output=tmp_path / "g.png",
                     cells_dir=tmp_path / "cells", callback=swap)
    assert not (tmp_path / "g.png").exists() and [p.name for p in (tmp_path / "cells").iterdir()] == ["A_0.001.png"]
    figures.grid(settings, photo, art, ratios=(1e-3, 1e-2), layer_sets=["conv1_1"])  # (once it stays put: made)


def test_round_62_an_ico_figure_is_told_to_lower_size_only_where_that_helps(tmp_path, synthetic_weights):
    """Hostile round 62: a one-cell grid as .ico said "lower --size" at every --size, though its labels alone are
    284 px wide; a figure saved once made was told the same. --size is named only where a smaller one fits."""
    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    with pytest.raises(ImageError, match=r"g.ico: a .ico image is at most 256 px a side and this one would be "
                                         r"\d+x\d+ \(choose another format: its labels alone are wider than that"):
        figures.grid(settings, photo, art, ratios=[1e-3], layer_sets=[["conv1_1"]], output=tmp_path / "g.ico")
    figure = figures.grid(settings, photo, art, ratios=[1e-3], layer_sets=[["conv1_1"]])
    with pytest.raises(ImageError, match=r"\(choose another format\)$"):
        figures.save(figure, tmp_path / "f.ico")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "s.png"]


def one_cell_grid(tmp_path, weights):
    """A grid of one cell on synthetic weights (c.png x s.png in tmp_path): the Figure, its photo, the photo's bytes."""
    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    figure = figures.grid(Settings(size=32, iterations=2, weights=str(weights), normalize=False), photo, art,
                          ratios=[1e-3], layer_sets=[["conv1_1"]])
    return figure, photo, photo.read_bytes()


def test_round_65_save_refuses_a_figure_changed_since_it_was_made(tmp_path, synthetic_weights):
    """Hostile round 65: figures.save took an edited Figure as it now was: meta["partial"] set False saved a stopped
    figure as finished; its inputs cleared let save write over its own content image."""
    from stylize.errors import ImageError

    figure, photo, kept = one_cell_grid(tmp_path, synthetic_weights)
    figure.meta["partial"] = True
    with pytest.raises(ImageError, match="figure: not as figures.figure1 or figures.grid returned it"):
        figures.save(figure, tmp_path / "g.png")
    figure.meta["partial"] = False
    figure.inputs.clear()
    with pytest.raises(ImageError, match="figure: not as figures.figure1 or figures.grid returned it"):
        figures.save(figure, photo, overwrite=True)
    assert photo.read_bytes() == kept and not (tmp_path / "g.png").exists()


def test_round_66_save_takes_only_a_figure_as_figure1_or_grid_returned_it(tmp_path, synthetic_weights):
    """Hostile round 66: the round-65 check was passed by a copy (dataclasses.replace made its `made` again): one
    with its inputs emptied was saved over the grid's own photo, one with another picture under the grid's record;
    a Figure made by hand was saved with invented metadata, or failed with a bare KeyError or AttributeError."""
    import dataclasses

    figure, photo, kept = one_cell_grid(tmp_path, synthetic_weights)
    hand = Image.new("RGB", (8, 8))
    for bad, out in ((dataclasses.replace(figure, inputs=[]), photo),
                     (dataclasses.replace(figure, image=Image.new("RGB", figure.image.size, "blue")), tmp_path / "b.png"),
                     (figures.Figure(hand, {"partial": False, "cells": []}), tmp_path / "h.png"),
                     (figures.Figure(hand, {}), tmp_path / "h.png"), (figures.Figure("x.png", {}), tmp_path / "h.png")):
        with pytest.raises(ImageError, match="figure: not as figures.figure1 or figures.grid returned it"):
            figures.save(bad, out, overwrite=True)
    assert photo.read_bytes() == kept and sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "s.png"]
    figures.save(figure, tmp_path / "g.png")  # as it was returned: saved
    assert load_image(tmp_path / "g.png").size == figure.image.size


def test_round_66_a_cells_folder_never_has_one_of_stylizes_own_names(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 66: `--cells-dir vfy/.stylize.lock` made a folder at the lock name of the video writing `vfy`:
    that video then failed for good ("Is a directory"). Refused, before any work, as a file of that name is."""
    from .conftest import synthetic

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    for cells in ("vfy/.stylize.lock", ".Stylize-tmp-x", ".stylize-claim-0123/sub"):
        r = run("grid", "c.png", "s.png", "-o", "g.png", "--cells-dir", cells, "--ratios", "1e-3", "--layer-sets",
                "conv1_1", *synthetic(synthetic_weights))
        assert r.exit_code == 1 and f"{cells}: --cells-dir takes a folder named" in r.stderr, cli_result_text(r)
    assert sorted(os.listdir()) == ["c.png", "s.png"]


def test_round_75_a_stopped_figure_says_it_wrote_its_json_too(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 75: Ctrl-C mid-grid said "wrote the cells made so far to g.png (marked partial)", though g.json
    was written too (marked partial as well)."""
    import contextlib
    from signal import SIGINT

    from stylize import cli as cli_module

    from .conftest import synthetic

    class CtrlC:  # (noted once the first cell is in the cells folder)
        signal = SIGINT

        def __call__(self):
            return len(list(Path("c").glob("*.png"))) >= 1

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("p.png")
    pattern(36, 36, 2).save("s.png")
    monkeypatch.setattr(cli_module, "catch_signals", lambda: contextlib.nullcontext(CtrlC()))
    r = run("grid", "p.png", "s.png", "-o", "g.png", "--cells-dir", "c", "--ratios", "1e-3,1e-2", "--layer-sets",
            "conv1_1", *synthetic(synthetic_weights))
    assert r.exit_code == 130, cli_result_text(r)
    assert r.stderr.strip() == "Interrupted: wrote g.png and g.json, the cells so far (marked partial)"
    assert json.loads(Path("g.json").read_text())["partial"] is True


def test_round_85_a_figure_too_small_names_its_deepest_layer_first(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 85: a 300x12 photo's figure1 at --size 64 said "conv3_1 needs at least 4 px (raise --size)",
    then at 100 px conv4_1's 8, then at 200 px conv5_1's 16 (grid: conv4_2, then conv5_1): each remedy refused
    again. The deepest layer any cell reads is named first."""
    from .conftest import synthetic

    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (300, 12), (10, 200, 30)).save("wide.png")
    pattern(36, 36, 2).save("s.png")
    for command in ("figure1", "grid"):
        r = run(command, "wide.png", "s.png", "-o", "f.png", *synthetic(synthetic_weights), "--size", "64")
        assert r.exit_code == 1 and r.stderr.strip() == ("Error: the output is 64x3 px at this size; conv5_1 needs "
                                                         "at least 16 px on each side (raise --size)"), cli_result_text(r)
    assert sorted(os.listdir()) == ["s.png", "wide.png"]


def test_round_86_a_figures_artwork_too_small_names_its_deepest_layer_first(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 86: a grid or figure1 with --style-size 1 said "conv2_1 needs at least 2 px (raise
    --style-size)", then at 2 px conv5_1's 16: the artwork was checked cell by cell. Named first, as the output."""
    from .conftest import synthetic

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("p.png")
    pattern(36, 36, 2).save("s.png")
    for command in ("figure1", "grid"):
        r = run(command, "p.png", "s.png", "-o", "f.png", *synthetic(synthetic_weights), "--style-size", "1")
        assert r.exit_code == 1 and r.stderr.strip() == ("Error: s.png: the style image is 1x1 px at this size; conv5_1 "
                                                         "needs at least 16 px on each side (raise --style-size)"), \
            cli_result_text(r)
    assert sorted(os.listdir()) == ["p.png", "s.png"]


def test_round_87_a_figures_artwork_hint_is_the_planners(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 87: a figure's early artwork check said "raise --style-scale" for an artwork too narrow at
    any --style-scale up to its largest, 64 (a transfer said what helps). One check, the planner's, for both."""
    monkeypatch.chdir(tmp_path)
    pattern(64, 48, 1).save("p.png")
    Image.new("RGB", (4000, 10), (30, 60, 200)).save("narrow.png")
    settings = Settings(size=32, iterations=2, style_scale=64, weights=str(synthetic_weights), normalize=False)
    told = ("narrow.png: the style image is 2048x5 px at this size; conv5_1 needs at least 16 px on each side "
            "(--style-scale is at most 64: raise --size, or give --style-size)")
    for make, kw in ((figures.figure1, dict(content_layers=["conv1_1"])), (figures.grid, dict(ratios=[1e-3]))):
        with pytest.raises(ImageError) as e:
            make(settings, "p.png", "narrow.png", layer_sets=[["conv5_1"]], output="f.png", **kw)
        assert str(e.value) == told
    with pytest.raises(ImageError) as e:
        Session(settings.replace(style_layers=("conv5_1",), style_layer_weights=None)).transfer(
            "p.png", "narrow.png")
    assert str(e.value) == told
    assert sorted(os.listdir()) == ["narrow.png", "p.png"]


def test_round_87_a_figure_records_what_it_was_made_from(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 87: a figure made through the API recorded neither its photo, its artwork nor the weights'
    digest (the command line's argv alone named the images). Recorded as a transfer's, in the .json and the PNG."""
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("p.png")
    pattern(36, 36, 2).save("art.png")
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    outcome = Session(settings).transfer("p.png", "art.png")
    figures.grid(settings, "p.png", "art.png", ratios=[1e-3], layer_sets=["conv1_1"], output="g.png")
    figures.figure1(settings, Image.open("p.png"), "art.png", content_layers=["conv1_1"], layer_sets=["conv1_1"],
                    output="h.png")
    keys = ("device", "torch", "weights_sha256")
    for name, content in (("g", "p.png"), ("h", "<image>")):
        for meta in (json.loads(Path(f"{name}.json").read_text()), json.loads(Image.open(f"{name}.png").info["stylize"])):
            assert (meta["content"], meta["style"]) == (content, "art.png")
            assert meta["inputs"] == {"content": outcome.metadata["inputs"]["content"],
                                      "style": outcome.metadata["inputs"]["styles"][0], "init": None}
            assert {k: meta[k] for k in keys} == {k: outcome.metadata[k] for k in keys}


def test_round_102_a_figure_and_its_cells_record_no_setting_they_never_read(tmp_path, synthetic_weights):
    """Hostile round 102: figure1's content cells recorded a ratio and style layers, its style cells a ratio and a
    content layer, and a figure's .json the ratio and style layers no cell used (the command line refuses them as
    never read). Each records what it read: a grid's cells their ratio and layers."""
    pattern(40, 32, 1).save(tmp_path / "c.png")
    pattern(36, 36, 2).save(tmp_path / "s.png")
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    weights = {"ratio", "content_weight", "style_weight"}
    fig = figures.figure1(settings, tmp_path / "c.png", tmp_path / "s.png", content_layers=["conv1_1"],
                          layer_sets=[["conv1_1"]])
    content, style = (cell.metadata["settings"] for cell in fig.cells)
    assert not (weights | {"style_layers", "style_layer_weights"}) & content.keys() and content["content_layer"] == \
        "conv1_1"
    assert not (weights | {"content_layer"}) & style.keys() and list(style["style_layers"]) == ["conv1_1"]
    assert not (weights | {"content_layer", "style_layers"}) & fig.meta["settings"].keys()
    fig = figures.grid(settings, tmp_path / "c.png", tmp_path / "s.png", ratios=[1e-2], layer_sets=[["conv1_1"]])
    assert not (weights | {"style_layers"}) & fig.meta["settings"].keys()
    cell = fig.cells[0].metadata["settings"]
    assert (cell["ratio"], list(cell["style_layers"]), cell["content_layer"]) == (1e-2, ["conv1_1"], "conv4_2")


def test_round_120_save_names_the_argument_at_fault(tmp_path, synthetic_weights):
    """Hostile round 120: figures.save with an argv that is not a text blamed `out` ("out: a file name (not None),
    and argv a text"), which was fine. Each argument is named alone."""
    from stylize.errors import SettingsError

    from .conftest import pattern

    pattern(48, 40, 1).save(tmp_path / "c.png")
    pattern(40, 40, 2).save(tmp_path / "s.png")
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    fig = figures.grid(settings, tmp_path / "c.png", tmp_path / "s.png", ratios=(1e-3,), layer_sets=(("conv1_1",),))
    for argv, kind in ((["stylize", "grid"], "list"), (None, "NoneType"), (5, "int")):
        with pytest.raises(SettingsError, match=rf"^argv: a text, not {kind}$"):
            figures.save(fig, tmp_path / "g.png", argv=argv)
    with pytest.raises(SettingsError, match="^out: a file name, not None$"):
        figures.save(fig, None)
    assert not (tmp_path / "g.png").exists()
