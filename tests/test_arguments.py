"""The Python API's argument checks (arguments.py), and the entry points that use them: hostile round 40 found a
string "no" taken as overwrite=True (files replaced), a bad metadata noticed after the work (lost), callbacks that
were no functions failing halfway, names of the wrong type or with a NUL byte, PIL images of a mode with no RGB."""

import json

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


def test_round_42_an_item_given_twice_and_numbers_out_of_range_are_refused_by_the_api(tmp_path, synthetic_weights):
    """Round 42: the command line refused a layer, ratio or frame distance given twice and numbers beyond
    1e-12..1e12; the API merged or ran them (Settings(style_layers=(a, a), style_layer_weights=...) ended in an
    IndexError), and a grid's second ratio was checked only after the first cell was made and written."""
    from stylize import Session, video

    with pytest.raises(LayerError, match="conv1_1 is given twice"):
        Settings(style_layers=("conv1_1", "conv1_1"), style_layer_weights=(1.0, 0.0))
    with pytest.raises(LayerError, match="layers: conv1_1 is given twice"):
        Session().style_job(tmp_path / "s.png", ["conv1_1", "conv1_1"])
    with pytest.raises(LayerError, match="content_layers: conv1_1 is given twice"):
        figures.figure1(None, "c.png", "s.png", content_layers=["conv1_1", "conv1_1"])
    with pytest.raises(LayerError, match="the layer set conv2_1,conv1_1 is given twice"):
        figures.grid(None, "c.png", "s.png", layer_sets=[["conv1_1", "conv2_1"], ["conv2_1", "conv1_1"]])
    with pytest.raises(SettingsError, match="the ratio 0.001 is given twice"):
        figures.grid(None, "c.png", "s.png", ratios=(1e-3, 1e-3))
    with pytest.raises(video.VideoError, match="the frame distance 1 is given twice"):
        video.VideoOptions(long_term=(1, 1))
    for kw, message in ((dict(ratio=1e30), "ratio must be from 1e-12 to 1e"),
                        (dict(tv_weight=1e-300), "TV weight must be 0 or from 1e-12"),
                        (dict(content_weight=1e13, style_weight=1.0), "content weight must be 0 or from"),
                        (dict(style_blend=(1e300, 1.0)), "style blend weight must be from")):
        with pytest.raises(SettingsError, match=message):
            Settings(**kw)
    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    for ratios in ((1e-3, float("nan")), (1e-3, 1e30), (1e-3, 0)):
        with pytest.raises(SettingsError, match="ratio must be"):
            figures.grid(settings, photo, art, ratios=ratios, layer_sets=["conv1_1"], output=tmp_path / "g.png",
                         cells_dir=tmp_path / "cells")
        assert not (tmp_path / "cells").exists() and not (tmp_path / "g.png").exists()


def test_round_42_metadata_never_sets_a_key_stylize_records(tmp_path, synthetic_weights):
    """Round 42: run_batch(metadata={"partial": False}) marked a stopped pair's output finished, and a
    --skip-existing resume kept a one-iteration partial; every key stylize records is its own."""
    from stylize import Session
    from stylize.images import ours

    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    pairs = batch.intake(None, [str(photo)], [str(art)], tmp_path / "o")
    for key in ("partial", "inputs", "settings", "command", "frames_for", "intermediate_of"):
        with pytest.raises(SettingsError, match=f"metadata: '{key}' is a key stylize records itself"):
            batch.run_batch(pairs, tmp_path / "o", settings, metadata={key: False, "note": "mine"})
    assert not (tmp_path / "o").exists()
    batch.run_batch(pairs, tmp_path / "o", settings, metadata={"note": "mine"})
    meta = ours(pairs[0].output)
    assert meta["note"] == "mine" and set(meta) - {"note"} <= arguments.OWN_KEYS  # the list holds every key
    outcome = Session(settings).reconstruct_style(art, ["conv1_1"])
    assert set(outcome.metadata) <= arguments.OWN_KEYS


def test_round_42_api_names_are_what_the_command_line_takes(tmp_path, synthetic_weights):
    """Round 42: a figure, a batch report and a merged report named 'x.png/' were written as 'x.png'; an empty
    out_dir was the current folder; report.merge('') blamed '.', and a NUL byte raised ValueError."""
    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    cases = [
        (lambda: figures.grid(settings, photo, art, ratios=1e-3, layer_sets=["conv1_1"], output=f"{tmp_path}/g.png/"),
         "output: .* names a folder"),
        (lambda: batch.intake(None, [str(photo)], [str(art)], ""), "out_dir: the name is empty"),
        (lambda: batch.run_batch([], tmp_path / "o", settings, report=f"{tmp_path}/r.json/"), "report: .* names a folder"),
        (lambda: report.merge([tmp_path / "r.json"], ""), "output: the name is empty"),
        (lambda: report.merge([tmp_path / "r.json"], "m\0.json"), "output: a file name cannot hold a NUL byte"),
        (lambda: report.merge(["r\0.json"], tmp_path / "m.json"), r"paths\[0\]: a file name cannot hold a NUL"),
    ]
    for run, message in cases:
        with pytest.raises(SettingsError, match=message):
            run()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "s.png"]


def test_round_42_a_path_object_is_a_file_and_a_start_word_beside_its_file_is_refused(tmp_path, monkeypatch,
                                                                                     synthetic_weights):
    """Round 42: Settings(init=Path("content")) was the keyword, and init="content" beside a file named content
    ran the keyword (the command line refuses it as ambiguous)."""
    import pathlib

    from stylize import Session

    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    assert Settings(init=pathlib.Path("content")).init == "./content"
    assert Settings(weights=pathlib.Path("original")).weights == "./original"
    assert Settings(init="content").init == "content" and Settings(init=pathlib.Path("a.png")).init == "a.png"
    pattern(40, 32, 3).save("content", format="PNG")
    session = Session(size=32, iterations=2, weights=str(synthetic_weights), normalize=False, init="content")
    with pytest.raises(ImageError, match="'content' is both a start .the keyword. and a file here: write ./content"):
        session.transfer("c.png", "s.png")
    o = Session(session.settings.replace(init=pathlib.Path("content"))).transfer("c.png", "s.png")
    assert o.metadata["settings"]["init"] == "./content"


def test_round_48_metadata_never_sets_what_the_command_line_records(tmp_path, synthetic_weights):
    """Hostile round 48: figures.save(metadata={"preset": "quality", "argv": ...}) recorded a preset no part of
    stylize applied, and the argv given was replaced silently. Those keys are the command line's own record."""
    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    fig = figures.grid(settings, photo, art, ratios=1e-3, layer_sets=["conv1_1"])
    for key in ("preset", "argv"):
        with pytest.raises(SettingsError, match=f"metadata: '{key}' is a key stylize records itself"):
            figures.save(fig, tmp_path / "f.png", metadata={key: "quality"})
        with pytest.raises(SettingsError, match=f"metadata: '{key}' is a key stylize records itself"):
            batch.run_batch(batch.intake(None, [str(photo)], [str(art)], tmp_path / "o"), tmp_path / "o", settings,
                            metadata={key: "x"})
    assert not (tmp_path / "f.png").exists() and not (tmp_path / "o").exists()
    figures.save(fig, tmp_path / "f.png", metadata=arguments.CommandLineMetadata(preset="fast", argv="stylize grid"))


def test_round_49_numbers_of_numpys_types_everywhere_and_metadata_that_json_cannot_hold(tmp_path, synthetic_weights):
    """Hostile round 49: numpy and Fraction numbers were taken by Settings only (figures' ratios, run's iterations,
    style_job's out_size, intake's share, VideoOptions refused them as "not a number"); metadata holding a dict of
    mixed keys (or itself) passed the check and failed after the work with a bare TypeError."""
    from fractions import Fraction

    import numpy as np

    from stylize import Session, video

    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    fig = figures.grid(settings, photo, art, ratios=[np.float32(1e-3), Fraction(1, 100)], layer_sets=["conv1_1"])
    assert fig.meta["ratios"] == [float(np.float32(1e-3)), 0.01]
    session = Session(settings)
    assert session.run(session.transfer_job(photo, art), iterations=np.int64(1)).iterations == 1
    assert session.style_job(art, out_size=(np.int64(40), np.int32(24))).out_size == (40, 24)
    assert batch.intake(None, [str(photo)], [str(art)], tmp_path / "o", share=(np.int64(1), np.int64(1)))
    options = video.VideoOptions(passes=np.int64(2), temporal_weight=np.float32(100), pass_blend=Fraction(1, 2),
                                 pass_iterations=np.int16(3))
    assert (options.passes, options.pass_blend, options.pass_iterations) == (2, 0.5, 3)
    assert video.VideoOptions(long_term=(np.int64(1), np.int8(4))).long_term == (1, 4)
    looped = {}
    looped["me"] = looped
    for metadata, why in (({"x": {1: "a", "b": 2}}, "not supported between"), (looped, "Circular reference")):
        with pytest.raises(SettingsError, match=f"metadata: cannot be written as JSON .*{why}"):
            batch.run_batch(batch.intake(None, [str(photo)], [str(art)], tmp_path / "o"), tmp_path / "o", settings,
                            metadata=metadata)
        with pytest.raises(SettingsError, match="metadata: cannot be written as JSON"):
            figures.grid(settings, photo, art, ratios=1e-3, layer_sets=["conv1_1"], output=tmp_path / "g.png",
                         metadata=metadata)
    assert not (tmp_path / "o").exists() and not (tmp_path / "g.png").exists()


def test_round_51_metadata_of_nan_is_no_json_and_a_defaultdict_is_a_dict(tmp_path, synthetic_weights):
    """Hostile round 51: metadata={"x": nan} was written as NaN, which strict JSON readers refuse; a defaultdict gave
    a bare TypeError."""
    import collections

    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    with pytest.raises(SettingsError, match="metadata: cannot be written as JSON"):
        batch.run_batch(batch.intake(None, [str(photo)], [str(art)], tmp_path / "o"), tmp_path / "o", settings,
                        metadata={"x": float("nan")})
    assert not (tmp_path / "o").exists()
    batch.run_batch(batch.intake(None, [str(photo)], [str(art)], tmp_path / "o"), tmp_path / "o", settings,
                    metadata=collections.defaultdict(list, {"note": "mine"}))
    assert json.loads(Image.open(tmp_path / "o" / "c__s.png").info["stylize"])["note"] == "mine"


def test_round_52_metadata_numbers_of_numpy_and_values_json_has_not(tmp_path, synthetic_weights):
    """Hostile round 52: metadata was checked with default=str: numpy numbers were written as text, a float32 NaN
    passed as 'nan', and a set was written in the hash seed's order (two identical runs, two different files)."""
    import numpy as np

    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    for bad in ({"score": np.float32("nan")}, {"tags": {"a", "b"}}, {"raw": b"ab"}, {"curve": np.array([1.0])}):
        with pytest.raises(SettingsError, match="metadata: cannot be written as JSON"):
            batch.run_batch(batch.intake(None, [str(photo)], [str(art)], tmp_path / "o"), tmp_path / "o", settings,
                            metadata=bad)
    assert not (tmp_path / "o").exists()
    batch.run_batch(batch.intake(None, [str(photo)], [str(art)], tmp_path / "o"), tmp_path / "o", settings,
                    metadata={"frame": np.int64(5), "gain": np.float32(1.5)})
    meta = json.loads(Image.open(tmp_path / "o" / "c__s.png").info["stylize"])
    assert (meta["frame"], meta["gain"]) == (5, 1.5)


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
def test_round_52_arguments_of_the_wrong_kind_are_stylize_errors(tmp_path, synthetic_weights):
    """Hostile round 52: a sparse, float8 or nested start tensor, open_clip(None/[...]/bytes), stylize_frames given
    Settings as its session, objective("job") and a path object of bytes in intake raised bare Python errors."""
    import os

    import torch

    from stylize import Session, video
    from stylize.errors import StylizeError

    class BytesPath(os.PathLike):
        def __fspath__(self):
            return b"c.png"

    pattern(40, 32, 1).save(tmp_path / "c.png")
    pattern(36, 36, 2).save(tmp_path / "s.png")
    frames = tmp_path / "fr"
    frames.mkdir()
    pattern(32, 24, 1).save(frames / "frame_00001.png")
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    session = Session(settings)
    job = session.transfer_job(tmp_path / "c.png", tmp_path / "s.png")
    for call in (lambda: session.run(job, start=torch.rand(1, 3, 8, 8).to_sparse()),
                 lambda: session.run(job, start=torch.rand(1, 3, 8, 8).to(torch.float8_e4m3fn)),
                 lambda: session.run(job, start=torch.nested.nested_tensor([torch.rand(3, 8, 8)])),
                 lambda: video.open_clip(None), lambda: video.open_clip([str(frames)]),
                 lambda: video.open_clip(os.fsencode(frames)),
                 lambda: video.stylize_frames(settings, video.open_clip(frames), tmp_path / "s.png", tmp_path / "of"),
                 lambda: session.objective("job"),
                 lambda: batch.intake(None, [BytesPath()], [str(tmp_path / "s.png")], tmp_path / "o3")):
        with pytest.raises(StylizeError):
            call()
    assert not (tmp_path / "of").exists() and not (tmp_path / "o3").exists()


def test_round_53_metadata_fractions_beyond_a_float_and_an_empty_clip_name(tmp_path):
    """Hostile round 53: metadata={"a": Fraction(10**400, 3)} raised a bare OverflowError, Fraction(1, 10**400) was
    written as 0.0; video.open_clip("") opened the current folder."""
    from fractions import Fraction

    from stylize import video

    for value in (Fraction(10**400, 3), Fraction(1, 10**400)):
        with pytest.raises(SettingsError, match="metadata: cannot be written as JSON"):
            arguments.mappings(metadata={"a": value})
    with pytest.raises(video.VideoError, match="path: a video file's or a frames folder's name"):
        video.open_clip("")
    with pytest.raises(video.VideoError, match="  : no such file or folder"):  # (round 55: blanks are a name)
        video.open_clip("  ")


def test_round_53_numbers_python_cannot_write_out_tiny_numbers_path_objects_and_shares(tmp_path):
    """Hostile round 53: 10**5000 anywhere gave a bare ValueError from the refusal's own message (Python writes out at
    most 4300 digits); VideoOptions' pass_blend and a grid's ratios took Fraction(1, 10**400) as 0; intake read a
    Path('tub*.jpg') as a pattern; intake took share=(1, 10**8), beyond --shard's range."""
    import os
    from fractions import Fraction
    from pathlib import Path

    from stylize import Session, video
    from stylize.errors import StylizeError

    pattern(40, 32, 1).save(tmp_path / "tubingen.png")
    pattern(36, 36, 2).save(tmp_path / "s.png")
    big, tiny = 10**5000, Fraction(1, 10**400)
    settings = Settings(size=32, iterations=2)
    for call, message in (
            (lambda: Settings(size=big), "a number of more than 4300 digits"),
            (lambda: Settings(ratio=big), "a number of more than 4300 digits"),
            (lambda: video.VideoOptions(passes=big), "a number of more than 4300 digits"),
            (lambda: video.check_fps(big), "a number of more than 4300 digits"),
            (lambda: Session(settings).transfer_job(tmp_path / "tubingen.png", tmp_path / "s.png").size and
             Session(settings).run(Session(settings).transfer_job(tmp_path / "tubingen.png", tmp_path / "s.png"),
                                   iterations=big), "a number of more than 4300 digits"),
            (lambda: video.VideoOptions(passes=2, pass_blend=tiny), "give 0 or a number from 1e-12 to 1"),  # (108)
            (lambda: figures.grid(settings, tmp_path / "tubingen.png", tmp_path / "s.png", ratios=[tiny],
                                  layer_sets=["conv1_1"]), "too small to be told from 0"),
            (lambda: batch.intake(None, [Path(tmp_path / "tub*.png")], [str(tmp_path / "s.png")], tmp_path / "o"),
             "tub"),
            (lambda: batch.intake(None, [str(tmp_path / "tubingen.png")], [str(tmp_path / "s.png")], tmp_path / "o",
                                  share=(1, 10**8)), "share: .* N <= 10000000")):
        with pytest.raises(StylizeError, match=message):
            call()
    assert batch.intake(None, [str(tmp_path / "tub*.png")], [str(tmp_path / "s.png")], tmp_path / "o")  # (a text:
    assert os.path.exists(tmp_path / "tubingen.png")  # a pattern)


def test_round_100_a_numpy_timedelta_is_no_number(tmp_path, synthetic_weights):
    """Hostile round 100: numpy's timedelta64 (which numpy registers as an integer) passed the number checks: with
    a unit a bare TypeError from Settings, Session, transfer, grid and VideoOptions; without one taken as a count
    (iterations=np.timedelta64(5) ran 5 iterations). A span of time is refused as any other non-number."""
    import numpy as np

    from stylize import Session, transfer, video
    from stylize.errors import StylizeError

    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    for call in (lambda: Settings(size=np.timedelta64(48, "s")), lambda: Settings(iterations=np.timedelta64(5)),
                 lambda: Session(size=np.timedelta64(48, "s")),
                 lambda: transfer(photo, art, size=np.timedelta64(32, "s")),
                 lambda: figures.grid(settings, photo, art, ratios=[np.timedelta64(1, "ms")]),
                 lambda: video.VideoOptions(temporal_weight=np.timedelta64(1, "ms")),
                 lambda: batch.run_batch(batch.intake(None, [str(photo)], [str(art)], tmp_path / "o"),
                                         tmp_path / "o", settings, metadata={"span": np.timedelta64(5)})):
        with pytest.raises(StylizeError):  # (SettingsError, VideoError: never a bare TypeError)
            call()
    assert not arguments.is_whole(np.timedelta64(5)) and not arguments.is_real(np.timedelta64(5, "s"))
    assert arguments.is_whole(np.int64(5)) and arguments.is_real(np.float32(0.5))
    assert not (tmp_path / "o").exists()
