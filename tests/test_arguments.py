"""The Python API's argument checks (arguments.py), and the entry points that use them: hostile round 40 found a
string "no" taken as overwrite=True (files replaced), a bad metadata noticed after the work (lost), callbacks that
were no functions failing halfway, names of the wrong type or with a NUL byte, PIL images of a mode with no RGB."""

import pytest
from PIL import Image

from stylize import Settings, arguments, batch, figures, report
from stylize.errors import ImageError, LayerError, ManifestError, SettingsError

from .conftest import pattern


def test_each_check_names_the_argument_and_what_it_takes(tmp_path):
    arguments.flags(a=True, b=False)
    arguments.functions(a=None, b=print)
    arguments.names(a=None, b="x.png", c=tmp_path)
    arguments.mappings(a=None, b={})
    for check, value, message in ((arguments.flags, "no", "overwrite: True or False, not 'no'"),
                                  (arguments.flags, 1, "overwrite: True or False, not 1"),
                                  (arguments.functions, 5, "overwrite: a function .or None., not 5"),
                                  (arguments.names, 123, "overwrite: a file name .a str or a path., not 123"),
                                  (arguments.names, b"x.png", "overwrite: a file name"),
                                  (arguments.names, "a\0b.png", "overwrite: a file name cannot hold a NUL byte"),
                                  (arguments.mappings, 5, "overwrite: a dict .or None., not 5")):
        with pytest.raises(SettingsError, match=message):
            check(overwrite=value)


def test_the_entry_points_refuse_before_any_work(tmp_path, synthetic_weights):
    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    pairs = batch.intake(None, [str(photo)], [str(art)], tmp_path / "o")
    closed = Image.open(art)
    closed.close()
    cases = [
        lambda: figures.grid(settings, photo, art, ratios=1e-3, layer_sets=["conv1_1"], overwrite="no"),
        lambda: figures.grid(settings, photo, art, ratios=1e-3, layer_sets=["conv1_1"], callback=5),
        lambda: figures.grid(settings, photo, art, ratios=1e-3, layer_sets=["conv1_1"], output="g\0.png"),
        lambda: batch.run_batch(pairs, tmp_path / "o", settings, metadata=5),
        lambda: batch.run_batch(pairs, tmp_path / "o", settings, on_pair=5),
        lambda: batch.run_batch(pairs, tmp_path / "o", settings, overwrite="false"),
        lambda: batch.run_batch(pairs, 5, settings),
        lambda: batch.intake(None, [str(photo)], [str(art)], tmp_path / "o", share=(5, 2)),
        lambda: batch.intake(None, [str(photo)], [str(art)], tmp_path / "o", template=5),
        lambda: report.merge([tmp_path / "r.json"], tmp_path / "m.json", overwrite="no"),
        lambda: Settings(normalize="no"), lambda: Settings(ratio=10**400), lambda: Settings(style_blend=1),
        lambda: Settings(init=None),
        lambda: figures.grid(settings, photo, closed, ratios=1e-3, layer_sets=["conv1_1"]),
        lambda: figures.grid(settings, Image.new("La", (8, 8)), art, ratios=1e-3, layer_sets=["conv1_1"]),
        lambda: figures.figure1(settings, photo, art, content_layers=["conv1_1"], layer_sets=["conv1_1"],
                                should_stop="x"),
    ]
    for k, make in enumerate(cases):
        with pytest.raises((SettingsError, ManifestError, ImageError, LayerError)):
            make()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "s.png"]  # nothing made, nothing replaced


def test_a_pil_photo_makes_a_figure_with_an_output(tmp_path, synthetic_weights):
    """Round 40: a PIL image as the photo worked without output= and raised TypeError with it."""
    art = tmp_path / "s.png"
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    fig = figures.grid(settings, pattern(40, 30, 1), art, ratios=1e-3, layer_sets=["conv1_1"],
                       output=tmp_path / "g.png")
    assert fig.output == tmp_path / "g.png" and (tmp_path / "g.json").exists()


def test_round_41_the_rest_of_the_api_checks_before_any_work(tmp_path, synthetic_weights):
    """Hostile round 41: metadata={1: 2} was found after the work; stylize_frames and encode took overwrite="no";
    intake('-') from Python ignored a piped stdin; a NUL in init=; run_batch(inputs='x.jpg') was refused;
    plan(memory_of='x') and an empty start were bare errors."""
    import torch

    from stylize import Session

    video = pytest.importorskip("stylize.video")
    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    pairs = batch.intake(None, [str(photo)], [str(art)], tmp_path / "o")
    s = Session(settings)
    job = s.transfer_job(photo, art)
    cases = [lambda: batch.run_batch(pairs, tmp_path / "o", settings, metadata={1: 2}),
             lambda: Settings(init="a\0b"),
             lambda: s.plan(job, memory_of="x"),
             lambda: s.run(s.plan(job), start=torch.zeros(1, 3, 0, 0)),
             lambda: s.run(s.plan(job), start=torch.full((1, 3, 8, 8), 255.0)),
             lambda: s.image(5)]
    clip = video.open_clip(video.write_clip([pattern(32, 24, k) for k in range(2)], tmp_path / "clip.mp4"))
    cases += [lambda: video.stylize_frames(s, clip, art, tmp_path / "f", overwrite="no"),
              lambda: video.encode(tmp_path / "f", tmp_path / "v.mp4", clip, "libx264", overwrite="no")]
    for make in cases:
        with pytest.raises((SettingsError, ImageError, ManifestError, video.VideoError)):
            make()
    assert not (tmp_path / "o").exists() and not (tmp_path / "f").exists()
    rep = batch.run_batch(pairs, tmp_path / "o", settings, inputs=str(art))  # one name alone: a list of one
    assert [r.status for r in rep.records] == ["ok"]


def test_intake_from_python_reads_the_piped_stdin_and_a_stop_on_a_fifo_lets_the_script_end(tmp_path):
    import os
    import subprocess
    import sys

    pattern(40, 32, 1).save(tmp_path / "c.png")
    pattern(36, 36, 2).save(tmp_path / "s.png")
    piped = subprocess.run([sys.executable, "-c", "from stylize import batch; print(len(batch.intake('-', out_dir='o')))"],
                           input="content,style\nc.png,s.png\n", capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert (piped.returncode, piped.stdout) == (0, "1\n"), piped.stderr
    os.mkfifo(tmp_path / "m.fifo")
    script = ("import time\nfrom stylize import batch\nt = time.time()\ntry:\n"
              "    batch.intake('m.fifo', out_dir='o', should_stop=lambda: time.time() - t > 1)\n"
              "except KeyboardInterrupt:\n    print('stopped')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert (done.returncode, done.stdout) == (0, "stopped\n"), done.stderr
