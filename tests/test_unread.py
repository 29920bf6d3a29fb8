"""unread.py: a setting given where the run leaves it unread is refused, by the command line (typed) and by the API
(not at its default) alike. Hostile round 43 found the API taking what the command line refuses: a grid's columns
all alike (both weights given), Settings(init="content", seed=5) recorded and never resumable from the command
line, VideoOptions(independent=True, pass_blend=0.9) in a video's fingerprint."""

import json
import os

import pytest
from click.testing import CliRunner

from stylize import Session, Settings, batch, figures, unread, video
from stylize.cli import cli
from stylize.errors import SettingsError
from stylize.images import ours

from .conftest import pattern, synthetic


def test_the_rules_name_the_first_field_left_unread():
    assert unread.unread({"optimizer": "lbfgs"}, ["learning_rate"]) == ("learning_rate", "it needs --optimizer adam")
    assert unread.unread({"optimizer": "adam"}, ["learning_rate", "history"])[0] == "history"
    assert unread.unread({"content_weight": 1.0, "style_weight": 2.0}, ["ratio"])[0] == "ratio"
    assert unread.unread({}, ["ratio"], "grid") == ("ratio", unread.UNREAD_BY["grid"][1])
    assert unread.unread({"init": "noise", "optimizer": "lbfgs"}, ["seed", "history"]) is None
    assert sorted(unread.changed(Settings(seed=5, size=64))) == ["seed", "size"]
    assert unread.changed(video.VideoOptions(passes=3)) == ["passes"]


def two_frames(folder, width: int, height: int):
    """A frames folder of two frames of this size."""
    folder.mkdir()
    for n in (1, 2):
        pattern(width, height, n).save(folder / f"frame_{n:05d}.png")
    return folder


@pytest.fixture
def pair(tmp_path):
    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    return photo, art


def test_the_api_refuses_a_setting_its_run_leaves_unread_before_any_work(tmp_path, pair, synthetic_weights):
    photo, art = pair
    tiny = dict(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    for extra, message in ((dict(init="content", seed=5), "seed: has no effect here: it needs --init noise"),
                           (dict(init="content", noise=0.1), "noise: has no effect here"),
                           (dict(learning_rate=0.1), "learning_rate: has no effect here: it needs --optimizer adam"),
                           (dict(optimizer="adam", history=50), "history: has no effect here: it needs --optimizer "
                                                                "lbfgs"),
                           (dict(coarse_iterations=5), "coarse_iterations: has no effect here: it needs --scales 2"),
                           (dict(ratio=1e-2, content_weight=1.0, style_weight=2.0), "ratio: has no effect here")):
        session = Session(**tiny, **extra)
        with pytest.raises(SettingsError, match=message):
            session.transfer(photo, art)
        with pytest.raises(SettingsError, match=message):
            batch.run_batch(batch.intake(None, [str(photo)], [str(art)], tmp_path / "o"), tmp_path / "o",
                            session.settings)
    with pytest.raises(SettingsError, match="style_size: has no effect here: content-recon has no style term"):
        Session(**tiny, style_size=50).reconstruct_content(photo)
    with pytest.raises(SettingsError, match="content_weight: has no effect here: grid's columns are its --ratios"):
        figures.grid(Settings(**tiny, content_weight=1.0, style_weight=1e3), photo, art, ratios=(1e-4, 1e-1),
                     layer_sets=["conv1_1"], output=tmp_path / "g.png")
    with pytest.raises(SettingsError, match="content_weight: has no effect here: figure1.s cells"):
        figures.figure1(Settings(**tiny, content_weight=1.0, style_weight=0.0), photo, art)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "s.png"]  # nothing made
    f = figures.figure1(Settings(**tiny, style_size=40), photo, art, content_layers=["conv1_1"],
                        layer_sets=[["conv1_1"]])  # (figure1's style cells read --style-size: its content cells too)
    assert len(f.cells) == 2


def test_video_options_and_a_videos_own_options_left_unread_are_refused(tmp_path, pair):
    photo, art = pair
    for options, message in ((dict(independent=True, temporal_weight=500.0), "temporal_weight: has no effect here"),
                             (dict(independent=True, long_term=(1, 5)), "long_term: has no effect here"),
                             (dict(passes=2, frame_iterations=7), "frame_iterations: has no effect here"),
                             (dict(temporal_weight=0, long_term=(1, 5)), "long_term: has no effect here"),
                             (dict(pass_blend=0.9), "pass_blend: has no effect here: it needs --passes 2"),
                             (dict(independent=True, warp="bilinear"), "warp: has no effect here")):
        with pytest.raises(video.VideoError, match=message):
            video.VideoOptions(**options)
    frames = two_frames(tmp_path / "frames", 32, 24)
    for kw, message in ((dict(keep_frames=True), "keep_frames: has no effect here: it needs -o a video file"),
                        (dict(codec="libx264"), "codec: has no effect here")):
        with pytest.raises(video.VideoError, match=message):
            video.make_video(frames, art, tmp_path / "out/", Settings(size=32, iterations=2), **kw)
    assert not (tmp_path / "out").exists()


def test_a_presets_value_the_run_leaves_unread_is_dropped_not_refused(tmp_path, pair, synthetic_weights):
    """--preset paper sets the ratio; with both weights typed the ratio is unread: the run takes the default's
    (the library refuses a given one), where it used to record the preset's."""
    photo, art = pair
    out = tmp_path / "o.png"
    r = CliRunner().invoke(cli, [str(photo), str(art), "-o", str(out), "--preset", "paper", "--content-weight", "1",
                                 "--style-weight", "1000", *synthetic(synthetic_weights)])
    assert r.exit_code == 0, r.output
    assert "ratio" not in ours(out)["settings"] and ours(out)["preset"] == "paper"  # (round 105: a ratio the run
    assert ours(out)["settings"]["content_weight"] == 1  # never reads is not recorded)
    r = CliRunner().invoke(cli, [str(photo), str(art), "-o", str(tmp_path / "p.png"), "--learning-rate", "0.1",
                                 *synthetic(synthetic_weights)])
    assert r.exit_code == 2 and "'--learning-rate': has no effect here: it needs --optimizer adam" in r.output



def test_round_44_an_argument_of_the_call_replaces_a_field_given(tmp_path, pair, synthetic_weights):
    """Hostile round 44: Session.transfer(blend=...) beside Settings(style_blend=...), reconstruct_content(layer)
    beside content_layer, reconstruct_style(layers) beside style_layer_weights, out_size with style_size beside a
    size: the call's argument was used, the field recorded; the command line refuses each."""
    photo, art = pair
    tiny = dict(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    cases = [(lambda: Session(**tiny, style_blend=(9, 1)).transfer(photo, [art, photo], blend=(1, 1)),
              "style_blend: has no effect here: the blend= given replaces it"),
             (lambda: Session(**tiny, content_layer="conv2_1").reconstruct_content(photo, "conv1_1"),
              "content_layer: has no effect here: the layer= given"),
             (lambda: Session(**tiny, style_layer_weights=(1, 2, 3, 4, 5)).reconstruct_style(art, ["conv1_1"]),
              "style_layer_weights: has no effect here: the layers= given"),
             (lambda: Session(**{**tiny, "size": 48}, style_size=40).reconstruct_style(art, ["conv1_1"], (32, 24)),
              "size: has no effect here: the out_size= .with style_size or style_scale. given")]
    for run, message in cases:
        with pytest.raises(SettingsError, match=message):
            run()
    assert Session(**tiny, content_layer="conv1_1").reconstruct_content(photo, "conv1_1").image.size == (32, 26)
    r = CliRunner().invoke(cli, ["style-recon", str(art), "--layers", "conv1_1", "--out-size", "32x24",
                                 "--style-size", "40", "--preset", "fast", "-o", str(tmp_path / "t.png"), "--weights",
                                 str(synthetic_weights), "--no-normalize", "--evaluations", "3", "--quiet"])
    # (the preset's --size, unread beside --out-size WxH and --style-size: dropped; its iterations used)
    assert r.exit_code == 0 and ours(tmp_path / "t.png")["settings"]["size"] == Settings().size, r.output


def test_round_44_style_blend_beside_every_pairs_own_blend_is_a_usage_error(tmp_path, pair, synthetic_weights):
    photo, art = pair
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(f'{{"content": "{photo}", "style": ["{art}", "{photo}"], "blend": [1, 1]}}\n')
    r = CliRunner().invoke(cli, ["batch", str(manifest), "--out-dir", str(tmp_path / "o"), "--style-blend", "9,1",
                                 *synthetic(synthetic_weights)])
    assert r.exit_code == 2 and "--style-blend (style_blend): has no effect here: no pair of the batch blends " \
                                "several style images without a blend of its own" in r.output, r.output
    assert not (tmp_path / "o").exists()
    manifest.write_text(manifest.read_text() + f'{{"content": "{photo}", "style": ["{art}", "{photo}"], '
                                                f'"output": "second.png"}}\n')
    r = CliRunner().invoke(cli, ["batch", str(manifest), "--out-dir", str(tmp_path / "o"), "--style-blend", "9,1",
                                 *synthetic(synthetic_weights)])  # (read by the pair without a blend of its own)
    assert r.exit_code == 0, r.output
    assert ours(tmp_path / "o" / "second.png")["blend"] == pytest.approx([0.9, 0.1])


def test_round_44_multi_pass_and_noiseless_runs_leave_these_unread(tmp_path, pair, synthetic_weights):
    """Hostile round 44: `video --passes 2` took --iterations and --long-term (multi-pass reads --pass-iterations and
    holds a frame to its neighbours) and kept --preset fast's iterations; --seed with --noise 0 (a mid-grey start)
    was taken: identical pictures recorded as other settings, so a resume refused them."""
    photo, art = pair
    frames = two_frames(tmp_path / "fr", 32, 24)
    tiny = ["--weights", str(synthetic_weights), "--no-normalize", "--size", "32", "--quiet"]
    for extra, option in ((["--iterations", "7"], "--iterations"), (["--long-term", "1"], "--long-term")):
        r = CliRunner().invoke(cli, ["video", str(frames), str(art), "-o", str(tmp_path / "v"), "--passes", "2",
                                     "--pass-iterations", "2", *extra, *tiny])
        assert r.exit_code == 2 and f"'{option}': has no effect here" in r.output, r.output
    r = CliRunner().invoke(cli, ["video", str(frames), str(art), "-o", str(tmp_path / "vp"), "--passes", "2",
                                 "--pass-iterations", "2", "--preset", "fast", *tiny])  # (its iterations unread, its
    assert r.exit_code == 2 and "'--preset': has no effect here" in r.output, r.output  # size typed: round 69)
    with pytest.raises(video.VideoError, match="long_term: has no effect here"):
        video.VideoOptions(passes=2, long_term=(1,))
    with pytest.raises(video.VideoError, match="iterations: has no effect here: it needs one pass"):
        video.make_video(frames, art, tmp_path / "va", Settings(size=32, iterations=7), video.VideoOptions(passes=2))
    r = CliRunner().invoke(cli, [str(photo), str(art), "-o", str(tmp_path / "n.png"), "--noise", "0", "--seed", "1",
                                 *synthetic(synthetic_weights)])
    assert r.exit_code == 2 and "'--seed': has no effect here: it needs --init noise with --noise above 0" in r.output
    with pytest.raises(SettingsError, match="seed: has no effect here"):
        Session(size=32, noise=0.0, seed=5).transfer(photo, art)
    assert not (tmp_path / "va").exists() and not (tmp_path / "n.png").exists()


def test_round_45_iterations_read_by_coarse_levels_and_style_blend_no_pair_reads(tmp_path, pair, synthetic_weights):
    """Hostile round 45: `video --passes 2 --scales 2` refused --iterations (its coarse levels read it: the default
    of --coarse-iterations) and dropped a preset's; stylize_frames took Settings(iterations=7) with passes=2 (never
    read); `batch --style-blend 3,7` where no pair blends two styles failed pair by pair (exit 3) with a hint to give
    a blend column, which one style cannot have."""
    photo, art = pair
    frames = two_frames(tmp_path / "fr", 64, 48)
    tiny = ["--weights", str(synthetic_weights), "--no-normalize", "--size", "64", "--quiet"]
    r = CliRunner().invoke(cli, ["video", str(frames), str(art), "-o", str(tmp_path / "v"), "--passes", "2",
                                 "--pass-iterations", "2", "--scales", "2", "--iterations", "2", *tiny])
    assert r.exit_code == 0, r.output
    coarse = {"passes": 2, "scales": 2, "coarse_iterations": None}  # (so a preset's iterations are kept there)
    assert unread.unread(coarse, ["iterations"]) is None
    assert unread.unread(dict(coarse, coarse_iterations=3), ["iterations"])[0] == "iterations"
    with pytest.raises(video.VideoError, match="iterations: has no effect here"):
        video.stylize_frames(Session(size=32, iterations=7), video.open_clip(frames), art, tmp_path / "api",
                             video.VideoOptions(passes=2, pass_iterations=2))
    assert not (tmp_path / "api").exists()
    r = CliRunner().invoke(cli, ["batch", "--content", str(photo), "--style", str(art), "--style", str(photo),
                                 "--style-blend", "3,7", "--out-dir", str(tmp_path / "sb"), *synthetic(synthetic_weights)])
    assert r.exit_code == 2 and "no pair of the batch blends several style images without a blend of its own" in \
        r.output, r.output
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"content,style\n{photo},{art};{photo}\n{photo},{art}\n")
    r = CliRunner().invoke(cli, ["batch", str(manifest), "--style-blend", "3,7", "--out-dir", str(tmp_path / "sb"),
                                 *synthetic(synthetic_weights)])
    assert r.exit_code == 3 and "2 style blend weights for 1 style image(s); run it without --style-blend" in \
        r.output, r.output


def test_round_46_a_blend_without_a_style_term_and_the_preset_a_run_applied(tmp_path, pair, synthetic_weights):
    """Hostile round 46: a manifest's blend with --style-weight 0 was taken (and compared on a resume) where
    --style-blend is a usage error; figure1 and grid recorded no --preset, content-recon recorded bold's, all of
    whose values it dropped."""
    import json

    photo, art = pair
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"content,style,blend\n{photo},{art};{photo},1;2\n")
    r = CliRunner().invoke(cli, ["batch", str(manifest), "--out-dir", str(tmp_path / "o"), "--content-weight", "1",
                                 "--style-weight", "0", *synthetic(synthetic_weights)])
    assert r.exit_code == 2 and "pair 1's blend: has no effect here: it needs a style term" in r.output, r.output
    r = CliRunner().invoke(cli, ["grid", str(photo), str(art), "-o", str(tmp_path / "g.png"), "--ratios", "1e-3",
                                 "--layer-sets", "conv1_1", "--preset", "paper", *synthetic(synthetic_weights)])
    assert r.exit_code == 0, r.output
    assert ours(tmp_path / "g.png")["preset"] == "paper" == json.loads((tmp_path / "g.json").read_text())["preset"]
    r = CliRunner().invoke(cli, ["content-recon", str(photo), "-o", str(tmp_path / "cr.png"), "--preset", "bold",
                                 *synthetic(synthetic_weights)])  # (none of its values read: a usage error, round 69)
    assert r.exit_code == 2 and "'--preset': has no effect here" in r.output, r.output


def test_round_47_style_recon_out_size_records_no_preset_it_did_not_use(tmp_path, pair, synthetic_weights):
    """Hostile round 47: `style-recon --preset fast --out-size 32 --iterations 2` recorded "fast", none of whose
    values reached the run (--out-size gives the size, the iterations are typed)."""
    photo, art = pair
    for out_size, extra in (("32", []), ("32x24", ["--style-size", "40"])):
        out = tmp_path / f"sr{out_size}.png"
        r = CliRunner().invoke(cli, ["style-recon", str(art), "-o", str(out), "--preset", "fast", "--out-size",
                                     out_size, *extra, "--iterations", "2", "--weights", str(synthetic_weights),
                                     "--no-normalize", "--quiet"])
        assert r.exit_code == 2 and "'--preset': has no effect here" in r.output, r.output  # (round 69)
    out = tmp_path / "kept.png"
    r = CliRunner().invoke(cli, ["style-recon", str(art), "-o", str(out), "--preset", "fast", "--out-size", "32",
                                 "--weights", str(synthetic_weights), "--no-normalize", "--quiet",
                                 "--evaluations", "3"])  # (the preset's iterations are used: recorded)
    assert r.exit_code == 0 and ours(out)["preset"] == "fast", r.output


def test_round_103_a_reconstruction_records_nothing_that_combines_two_pictures(tmp_path, synthetic_weights):
    """Hostile round 103: content-recon and style-recon pictures (and figure1's .json) recorded "color",
    "style_blend", "content_mask", "style_masks" and "guide", which a reconstruction always refuses (it has no
    photograph and artwork to combine). What a transfer (a grid's cells) reads is still recorded."""
    from PIL import Image

    pattern(40, 32, 1).save(tmp_path / "c.png")
    pattern(36, 36, 2).save(tmp_path / "s.png")
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    session = Session(settings)
    content = session.reconstruct_content(Image.open(tmp_path / "c.png"), "conv1_1").metadata["settings"]
    style = session.reconstruct_style(Image.open(tmp_path / "s.png")).metadata["settings"]
    fig = figures.figure1(settings, tmp_path / "c.png", tmp_path / "s.png", content_layers=["conv1_1"],
                          layer_sets=[["conv1_1"]])
    for command, record in (("content-recon", content), ("style-recon", style), ("figure1", fig.meta["settings"])):
        assert not (set(unread.TRANSFER_ONLY) | set(unread.UNREAD_BY[command][0])) & record.keys(), command
        assert record["tv_weight"] == settings.tv_weight and record["iterations"] == 2  # (what it reads: kept)
    grid = figures.grid(settings, tmp_path / "c.png", tmp_path / "s.png", ratios=[1e-3], layer_sets=[["conv1_1"]])
    assert {"color", "style_blend", "content_mask", "style_masks"} <= grid.meta["settings"].keys()  # (no guide
    assert grid.cells[0].metadata["settings"]["color"] == "style"  # without a mask: round 105)


def test_round_105_a_frame_and_a_picture_record_only_what_their_run_reads(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 105: a video frame recorded every video option (an --independent frame its flow, warp,
    temporal weight and pass blend; a --passes 2 frame its long-term distances and --iterations), which the command
    line refuses as unread. Every picture records what its run reads, by the rule that refuses the unread."""
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    os.mkdir("fr")
    for i in (1, 2, 3):
        pattern(40, 32, i).save(f"fr/frame_{i:05d}.png")
    pattern(36, 36, 9).save("s.png")
    runner = CliRunner()
    temporal = {"temporal_weight", "flow", "warp", "long_term", "frame_iterations"}
    for args, missing, kept in (
            (["--independent", "--iterations", "2"], temporal | {"pass_blend", "pass_iterations"}, set()),
            (["--passes", "2", "--pass-iterations", "1"], {"long_term", "frame_iterations"},
             {"temporal_weight", "pass_blend", "pass_iterations"}),
            (["--iterations", "2", "--frame-iterations", "1"], {"pass_blend", "pass_iterations"},
             temporal - {"long_term"})):
        r = runner.invoke(cli, ["video", "fr", "s.png", "-o", "out/", "--weights", str(synthetic_weights),
                                "--no-normalize", "--size", "32", "--quiet", "--overwrite", *args])
        assert r.exit_code == 0, r.output
        meta = json.loads(Image.open("out/frame_00002.png").info["stylize"])
        assert not missing & meta["video"].keys() and kept <= meta["video"].keys(), (args, meta["video"])
        assert ("iterations" in meta["settings"]) == ("--passes" not in args and "--frame-iterations" not in args), \
            args  # (round 110: frame 2's count is --frame-iterations')
        first = json.loads(Image.open("out/frame_00001.png").info["stylize"])["video"]
        assert not temporal & first.keys() if "--passes" not in args else "temporal_weight" in first, args
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False, init="content")
    meta = Session(settings).transfer(pattern(40, 32, 1), pattern(36, 36, 2)).metadata["settings"]
    assert not {"noise", "seed", "learning_rate", "coarse_iterations", "guide"} & meta.keys()
    assert {"history", "evaluations", "iterations", "ratio", "init"} <= meta.keys()
