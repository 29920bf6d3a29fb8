"""Video (Ruder et al. 2016): flow, reliability, the temporal term, stylize_frames (resume, frames in = frames
out, less flicker than independent frames) and `stylize video`'s bad input, each one line and its exit status."""

import os
import re
import shutil
from pathlib import Path
from fractions import Fraction
from signal import SIGINT
from types import SimpleNamespace

import pytest
import torch
from click.testing import CliRunner
from PIL import Image, ImageDraw

from stylize import Session, images
from stylize.cli import cli
from stylize.objective import TemporalTerm

from .conftest import cli_result_text, halves, pattern, psnr, synthetic

video = pytest.importorskip("stylize.video")
pytest.importorskip("av")
pytest.importorskip("cv2")

FAST = ["--size", "32", "--iterations", "4", "--frame-iterations", "2", "--quiet"]
ALONE = ["--independent", "--size", "32", "--iterations", "4", "--quiet"]  # (each frame --iterations: no --frame-*)


def moving_frames(n=6, width=48, height=40, seed=3, disc=True):
    """A textured background panning slowly and a disc moving across it (occlusions): n RGB frames."""
    background = pattern(width + 3 * n, height + 2 * n, seed=seed)
    frames = []
    for i in range(n):
        im = background.crop((2 * i, i, 2 * i + width, i + height))
        if not disc:
            frames.append(im)
            continue
        draw = ImageDraw.Draw(im)
        x = 4 + i * (width - 16) // max(n - 1, 1)
        draw.ellipse((x, height // 3, x + 11, height // 3 + 11), fill=(235, 40, 30), outline=(20, 20, 20))
        frames.append(im)
    return frames


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def clip(tmp_path):
    return video.write_clip(moving_frames(), tmp_path / "clip.mp4", fps=12)


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "in_frames"
    d.mkdir()
    for i, im in enumerate(moving_frames(), 1):
        im.save(d / f"frame_{i:05d}.png")
    return d


def flicker(frames, sources):
    """Mean temporal error over consecutive pairs (reliable pixels, the source frames' flow)."""
    flow = video.Flow()
    total = []
    for k in range(1, len(frames)):
        a, b = images.fit(sources[k - 1], frames[k].width), images.fit(sources[k], frames[k].width)
        e, _ = video.temporal_error(images.to_tensor(frames[k - 1]), images.to_tensor(frames[k]), flow(a, b), flow(b, a))
        total.append(e)
    return sum(total) / len(total)


# -- flow, reliability, warp, the temporal term (no network) -------------------------------------
def test_warp_by_the_backward_flow_moves_the_previous_frame_onto_the_next():
    flow = video.Flow()
    for disc, gain in ((False, 4), (True, 1.5)):  # a pure pan; the pan with the disc crossing it
        frames = moving_frames(disc=disc)
        a, b = frames[1], frames[2]
        backward, forward = flow(b, a), flow(a, b)
        ta, tb = images.to_tensor(a), images.to_tensor(b)
        c = video.reliability(forward, backward)
        before = float((((tb - ta) ** 2).mean(1, keepdim=True) * c).sum() / c.sum())
        after, share = video.temporal_error(ta, tb, forward, backward)
        assert after < before / gain, (disc, after, before)
        assert 0.5 < share <= 1.0
        warped = video.warp(ta, backward, "bicubic").clamp(0, 1)
        assert after == pytest.approx(float((((tb - warped) ** 2).mean(1, keepdim=True) * c).sum() / c.sum()), rel=1e-5)


def test_reliability_is_one_everywhere_for_a_still_frame_and_zero_at_the_moving_disc():
    frames = moving_frames()
    flow = video.Flow()
    still = flow(frames[0], frames[0])
    assert float(video.reliability(still, still).min()) == 1.0
    a, b = frames[2], frames[3]
    c = video.reliability(flow(a, b), flow(b, a))[0, 0]
    assert c.shape == (40, 48) and set(c.unique().tolist()) <= {0.0, 1.0}
    assert float(c.mean()) > 0.5 and float(c.mean()) < 1.0


def test_the_temporal_term_is_the_mean_of_c_times_the_squared_difference_and_ignores_unreliable_pixels():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 8, 10, generator=g, requires_grad=True)
    target = torch.rand(1, 3, 8, 10, generator=g)
    c = (torch.rand(1, 1, 8, 10, generator=g) > 0.5).float()
    term = TemporalTerm(target, c, 5.0)
    loss = term.loss(x, {})
    assert torch.allclose(loss, (c * (x - target) ** 2).sum() / x.numel())
    assert term.name == "temporal" and term.weight == 5.0 and term.layers == ()
    loss.backward()
    assert float(x.grad[c.expand_as(x) == 0].abs().max()) == 0.0


def test_bicubic_warp_is_exact_at_whole_pixel_shifts_and_keeps_the_detail_bilinear_loses_at_half_pixels():
    import numpy as np

    g = torch.Generator().manual_seed(1)
    x = images.to_tensor(pattern(40, 32, seed=5)) * 0.5 + torch.rand(1, 3, 32, 40, generator=g) * 0.5
    shift = np.zeros((32, 40, 2), np.float32)
    shift[..., 0], shift[..., 1] = 3, -2  # read each pixel from 3 to the right, 2 up
    for mode in ("bilinear", "bicubic"):
        assert torch.allclose(video.warp(x, shift, mode)[..., 2:, :-3], x[..., :-2, 3:], atol=1e-5), mode
    half = np.zeros((32, 40, 2), np.float32)
    half[..., 0] = 0.5
    back = {m: video.warp_image(video.warp_image(x, half, m), -half, m) for m in ("bilinear", "bicubic")}
    inner = (..., slice(3, -3), slice(3, -3))
    assert video.sharpness(back["bicubic"]) > 1.2 * video.sharpness(back["bilinear"])
    assert psnr(back["bicubic"][inner], x[inner]) > psnr(back["bilinear"][inner], x[inner]) + 2
    assert video.sharpness(halves(41, 8)) == pytest.approx(255 / 40)  # one step of 255 levels in 40 columns
    assert video.sharpness(Image.new("RGB", (9, 9), (90, 20, 200))) == 0


def test_long_term_weights_keep_for_each_pixel_the_nearest_earlier_frame_that_saw_it():
    c = torch.tensor([[1, 0, 0, 1, 0.6], [1, 1, 0, 0, 0.7], [0, 1, 1, 1, 1]]).view(3, 1, 1, 5)  # i-1, i-2, i-4
    assert torch.allclose(video.long_term_weights(c).flatten(1),
                          torch.tensor([[1, 0, 0, 1, 0.6], [0, 1, 0, 0, 0.1], [0, 0, 1, 0, 0]]))


def test_a_region_hidden_in_frame_2_gets_frame_1s_look_back_in_frame_3():
    """A disc crosses a still background: the middle of frame 3 was under the disc in frame 2 and is seen again;
    the temporal term holds it to frame 1's stylised frame there, and to frame 2's elsewhere."""
    background = pattern(64, 48, seed=7)
    f1, f2, f3 = (background.copy() for _ in range(3))
    for im, x in ((f1, 2), (f2, 24), (f3, 46)):
        ImageDraw.Draw(im).ellipse((x, 16, x + 15, 31), fill=(235, 40, 30), outline=(20, 20, 20))
    styled1, styled2 = torch.full((1, 3, 48, 64), 0.2), torch.full((1, 3, 48, 64), 0.8)
    flow = video.Flow()
    targets, weights = video.held_to([video.warp_onto(f3, f2, styled2, flow), video.warp_onto(f3, f1, styled1, flow)])
    assert targets.shape == (2, 3, 48, 64) and weights.shape == (2, 1, 48, 64)
    assert float((weights[0] * weights[1]).max()) == 0  # one earlier frame per pixel
    middle = (0, slice(19, 29), slice(27, 37))  # under frame 2's disc
    assert float(weights[0][middle].max()) == 0 and float(weights[1][middle].mean()) > 0.6
    held = (weights * targets).sum(0) / weights.sum(0).clamp(min=1e-9)  # what the term pulls each pixel to
    seen = weights[1][middle] > 0
    assert torch.allclose(held[:, 19:29, 27:37][:, seen], torch.tensor(0.2))
    assert float(weights[0][0, :8].mean()) > 0.5 and torch.allclose(held[:, :8][:, weights[0][0, :8] > 0],
                                                                     torch.tensor(0.8))


def test_raft_without_its_weights_in_the_torch_cache_is_one_line_naming_the_file(tmp_path, monkeypatch, folder, art):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(video.VideoError, match=r"--flow raft: torchvision's RAFT weights raft_large\S*\.pth are not in "):
        video.Flow("raft")
    out = tmp_path / "out"
    r = run("video", folder, art, "-o", out, "--flow", "raft", *FAST)
    assert r.exit_code == 1, cli_result_text(r)
    assert r.stderr.count("\n") == 1 and "nothing is downloaded" in r.stderr
    assert not out.exists()
    assert not (tmp_path / "torch").exists() or not any((tmp_path / "torch").rglob("*.pth"))


# -- bad input: one line, its exit status, nothing under the output name --------------------------
def empty_video(path):
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=12)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        out.start_encoding()
    return path


def unknown_codec(path, tmp_path):
    good = video.write_clip(moving_frames(), tmp_path / "good.mkv", fps=12)
    data = good.read_bytes()
    assert data.count(b"V_MPEG4/ISO/AVC") == 1
    path.write_bytes(data.replace(b"V_MPEG4/ISO/AVC", b"V_MPEG4/ISO/XYZ"))
    return path


def mixed_sizes(path):
    path.mkdir()
    for i, im in enumerate(moving_frames(4), 1):
        (im if i != 3 else im.resize((40, 40))).save(path / f"frame_{i:05d}.png")
    return path


def with_gap(path):
    path.mkdir()
    for i, im in enumerate(moving_frames(5), 1):
        if i != 3:
            im.save(path / f"frame_{i:05d}.png")
    return path


def rotated_frame(path):
    """Frame 2 stored 48x40 like the others, but with an EXIF rotation: loaded, it is 40x48."""
    path.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6
    for i, im in enumerate(moving_frames(3), 1):
        im.save(path / f"frame_{i:05d}.png", **({"exif": exif} if i == 2 else {}))
    return path


def truncated_frame(path):
    path.mkdir()
    for i, im in enumerate(moving_frames(3), 1):
        im.save(path / f"frame_{i:05d}.png")
    data = (path / "frame_00002.png").read_bytes()
    (path / "frame_00002.png").write_bytes(data[:len(data) // 2])
    return path


BAD_SOURCES = {
    "rotated frame": (lambda p, t: rotated_frame(p), "frames",
                      r"^Error: .*frame_00002\.png: 40x48 px, but frame_00001\.png is 48x40; every frame must have "
                      r"the same size$"),
    "truncated frame": (lambda p, t: truncated_frame(p), "frames",
                        r"^Error: .*frame_00002\.png: not an image that can be read in full \(.*\)$"),
    "text": (lambda p, t: (p.write_text("not a video"), p)[1], "clip.mp4",
             r"^Error: .*clip\.mp4: not a video FFmpeg can read \(Invalid data found when processing input\)$"),
    "image": (lambda p, t: (pattern(48, 40).save(p), p)[1], "still.png",
              r"^Error: .*still\.png: is an image, not a video \(for one picture use `stylize transfer`\)$"),
    "animated webp": (lambda p, t: (moving_frames(3)[0].save(p, save_all=True, append_images=moving_frames(3)[1:]), p)[1],
                      "anim.webp", r"^Error: .*anim\.webp: an image of several frames \(an animated WebP, a multi-page "
                                   r"TIFF\) that FFmpeg cannot read frame by frame; save its frames as a folder"),
    "zero frames": (lambda p, t: empty_video(p), "empty.mp4", r"^Error: .*empty\.mp4: has no video frames \(no video stream\)$"),
    "empty folder": (lambda p, t: (p.mkdir(), p)[1], "frames",
                     r"^Error: .*frames: no frames \(numbered images such as frame_00001\.png\)$"),
    "unknown codec": (unknown_codec, "odd.mkv",
                      r"^Error: .*odd\.mkv: its video codec is unknown to this FFmpeg build; re-encode it"),
    "mixed sizes": (lambda p, t: mixed_sizes(p), "frames",
                    r"^Error: .*frame_00003\.png: 40x40 px, but frame_00001\.png is 48x40; every frame must have the "
                    r"same size$"),
    "gap": (lambda p, t: with_gap(p), "frames",
            r"^Error: .*frames: frame 3 is missing \(the numbers jump from frame_00002\.png to frame_00004\.png\)$"),
}


@pytest.mark.parametrize("case", list(BAD_SOURCES))
@pytest.mark.parametrize("output", ["out.mp4", "out_frames"])
def test_bad_source_is_one_line_exit_1_and_nothing_written(case, output, tmp_path, art):
    make, name, message = BAD_SOURCES[case]
    source = make(tmp_path / name, tmp_path)
    before = set(tmp_path.rglob("*"))
    r = run("video", source, art, "-o", tmp_path / output, *FAST)
    assert r.exit_code == 1, cli_result_text(r)
    assert r.stderr.count("\n") == 1, r.stderr
    import re
    assert re.search(message, r.stderr.strip()), r.stderr
    assert set(tmp_path.rglob("*")) == before  # no output, no frames folder, no temporary file


BAD_OUTPUTS = [
    (["-o", "{t}/out.webm", "--codec", "libx264"],
     r"^Error: .*out\.webm: the \.webm container cannot hold libx264 video \(.*\); use another --codec or container$"),
    (["-o", "{t}/out.xyz"], r"^Error: .*out\.xyz: not a video name \(\.mp4, \.m4v, \.mov, \.mkv, \.webm, \.avi\); for "
                            r"a folder of frames give a name without an extension, or end it with /$"),
    (["-o", "{t}/missing/out.mp4"], r"^Error: .*out\.mp4: the folder .*missing does not exist$"),
    (["-o", "{t}/out.mp4", "--size", "60000"], r"^Error: a \d+x\d+ px synthesis .*"),
]


@pytest.mark.parametrize("args,message", BAD_OUTPUTS)
def test_bad_output_or_size_is_one_line_exit_1_and_nothing_written(args, message, tmp_path, clip, art):
    before = set(tmp_path.rglob("*"))
    r = run("video", clip, art, *[a.format(t=tmp_path) for a in args], "--iterations", "2", "--quiet")
    assert r.exit_code == 1, cli_result_text(r)
    assert r.stderr.count("\n") == 1, r.stderr
    import re
    assert re.search(message, r.stderr.strip()), r.stderr
    assert set(tmp_path.rglob("*")) == before


def test_a_frame_rate_the_encoder_cannot_time_is_blamed_not_the_container(tmp_path, folder, art):
    """Hostile round 8: `--fps 999.99` into .avi was "the .avi container cannot hold mpeg4 video": mpeg4's time
    base has at most 65535 steps a second, and 999.99 needs 99999."""
    r = run("video", folder, art, "-o", tmp_path / "b.avi", "--fps", "999.99", "--iterations", "2", "--quiet")
    assert r.exit_code == 1 and r.stderr.count("\n") == 1, cli_result_text(r)
    assert "b.avi: the mpeg4 encoder cannot take 999.99 frames a second" in r.stderr and "--fps" in r.stderr
    assert not (tmp_path / "b.avi").exists()


def test_an_existing_output_is_kept_without_overwrite(tmp_path, clip, art):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"mine")
    r = run("video", clip, art, "-o", out, *FAST)
    assert r.exit_code == 1 and r.stderr.strip() == f"Error: {out}: already exists; pass --overwrite to replace it"
    assert out.read_bytes() == b"mine" and not video.work_folder(out).exists()


def test_usage_errors_exit_2(tmp_path, clip, art):
    r = run("video", clip, art, "-o", tmp_path / "o.mp4", "--temporal-weight", "-1")
    assert r.exit_code == 2, cli_result_text(r)
    r = run("video", clip, art, "-o", tmp_path / "o.mp4", "--flow", "farneback")
    assert r.exit_code == 2, cli_result_text(r)
    r = run("video", clip, art, "-o", tmp_path / "o.mp4", "--codec", "nosuchcodec")
    assert r.exit_code == 2 and "not an encoder of this FFmpeg build" in r.stderr, cli_result_text(r)
    for args, message in ((["--long-term", "0,10"], "Invalid value for '--long-term': '0,10': give frame distances from 1"),
                          (["--long-term", "1,x"], "Invalid value for '--long-term': '1,x' is not a list of whole numbers"),
                          (["--warp", "nearest"], "Invalid value for '--warp'"),
                          (["--passes", "0"], "Invalid value for '--passes'"),
                          (["--pass-blend", "1.5"], "Invalid value for '--pass-blend': '1.5' must be at most 1"),
                          (["--passes", "2", "--temporal-from-pass", "3"],
                           "Invalid value for '--temporal-from-pass': 3 is after the last pass (--passes 2)")):
        r = run("video", clip, art, "-o", tmp_path / "o.mp4", *args)
        assert r.exit_code == 2 and message in r.stderr, cli_result_text(r)
    assert not any(tmp_path.glob("o.mp4*"))


def test_without_the_video_extra_the_command_says_how_to_install_it(tmp_path, clip, art, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "av", None)
    r = run("video", clip, art, "-o", tmp_path / "o.mp4", *FAST)
    assert r.exit_code == 1, cli_result_text(r)
    assert r.stderr.strip() == ("Error: video needs PyAV and OpenCV, which are not installed: "
                                "pip install 'gatys-stylize[video]' (from a clone: pip install -e '.[video]')")


# -- stylizing (VGG-19) ------------------------------------------------------------------------------
SETTINGS = dict(size=32, iterations=4)
OPTIONS = dict(frame_iterations=2)


def frames_of(folder, n):
    return [Image.open(video.frame_path(folder, k)).convert("RGB") for k in range(1, n + 1)]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The synthetic clip as a frames folder, an artwork, and one uninterrupted temporal run of it."""
    root = tmp_path_factory.mktemp("video")
    source = root / "in"
    source.mkdir()
    for i, im in enumerate(moving_frames(), 1):
        im.save(source / f"frame_{i:05d}.png")
    style = root / "art.png"
    pattern(56, 56, seed=2).save(style)
    clip = video.open_clip(source)
    result = video.stylize_frames(Session(**SETTINGS), clip, style, root / "whole", video.VideoOptions(**OPTIONS))
    assert (result.finished, result.skipped, result.stopped) == (6, 0, False)
    return root, clip, style


@pytest.mark.vgg
def test_temporal_consistency_flickers_less_than_independent_frames(made):
    root, clip, style = made
    r = run("video", clip.path, style, "-o", root / "independent", *ALONE)
    assert r.exit_code == 0, cli_result_text(r)
    sources = moving_frames()
    independent = flicker(frames_of(root / "independent", 6), sources)
    temporal = flicker(frames_of(root / "whole", 6), sources)
    assert temporal < independent / 3, (temporal, independent)


@pytest.mark.vgg
def test_resume_after_an_interruption_gives_the_same_frames_as_an_uninterrupted_run(made, tmp_path):
    root, clip, style = made
    done, evaluations = [], [0]

    def should_stop():  # interrupt the 4th frame in the middle of its optimization
        if len(done) == 3:
            evaluations[0] += 1
        return evaluations[0] > 2

    out = tmp_path / "resumed"
    first = video.stylize_frames(Session(**SETTINGS), clip, style, out, video.VideoOptions(**OPTIONS),
                                 should_stop=should_stop, on_frame=lambda p: done.append(p.frame))
    assert first.stopped and first.finished == 3 and done == [1, 2, 3]
    assert sorted(f.name for f in out.iterdir()) == [f"frame_{k:05d}.png" for k in (1, 2, 3)]  # no partial frame
    kept = {k: video.frame_path(out, k).stat().st_mtime_ns for k in (1, 2, 3)}
    second = video.stylize_frames(Session(**SETTINGS), clip, style, out, video.VideoOptions(**OPTIONS))
    assert (second.finished, second.skipped, second.stopped) == (6, 3, False)
    assert {k: video.frame_path(out, k).stat().st_mtime_ns for k in (1, 2, 3)} == kept  # not redone
    for a, b in zip(frames_of(out, 6), frames_of(root / "whole", 6)):
        assert a.tobytes() == b.tobytes()
    # other settings do not pass for finished frames: refused without --overwrite
    with pytest.raises(video.VideoError, match="a frame of another run"):
        video.stylize_frames(Session(size=32, iterations=5), clip, style, out, video.VideoOptions(**OPTIONS))


@pytest.mark.vgg
def test_multi_pass_the_backward_pass_repaints_the_first_frames_and_a_resumed_run_makes_the_same(made, tmp_path):
    root, _, style = made
    source = tmp_path / "in"
    source.mkdir()
    for i, im in enumerate(moving_frames(3), 1):
        im.save(source / f"frame_{i:05d}.png")
    clip = video.open_clip(source)
    options = video.VideoOptions(passes=2, pass_iterations=2)
    first_pass, steps = {}, []

    def on_frame(p):
        steps.append((p.pass_number, p.frame))
        if p.pass_number == 1:
            first_pass[p.frame] = p.path.read_bytes()

    settings = dict(SETTINGS, iterations=500)  # (multi-pass reads --pass-iterations only: the default)
    whole = video.stylize_frames(Session(**settings), clip, style, tmp_path / "whole", options, on_frame=on_frame)
    assert (whole.finished, whole.stopped) == (3, False)
    assert steps == [(1, 1), (1, 2), (1, 3), (2, 3), (2, 2), (2, 1)]  # forward, then back
    for k in (1, 2):  # made last, from frame k + 1 of the backward pass warped back onto them
        meta = images.read_metadata(video.frame_path(tmp_path / "whole", k))["video"]
        assert meta["pass"] == 2 and meta["start"] == f"own result of the last pass blended with frame {k + 1} warped"
        assert video.frame_path(tmp_path / "whole", k).read_bytes() != first_pass[k]
    # stopped in the middle of the backward pass: a rerun does the rest and gives the same frames
    out, made_now = tmp_path / "resumed", []
    stopped = video.stylize_frames(Session(**settings), clip, style, out, options,
                                   should_stop=lambda: len(made_now) >= 4, on_frame=lambda p: made_now.append(p.frame))
    assert stopped.stopped and stopped.finished == 1  # frame 3 has had both passes
    again = video.stylize_frames(Session(**settings), clip, style, out, options)
    assert (again.finished, again.skipped, again.stopped) == (3, 1, False)
    assert [k for k, _ in again.seconds] == [2, 1]
    for a, b in zip(frames_of(out, 3), frames_of(tmp_path / "whole", 3)):
        assert a.tobytes() == b.tobytes()


def with_audio(path, frames, fps=12):
    """A clip with an AAC audio track (a tone) beside the video."""
    import math
    from fractions import Fraction

    import numpy as np

    av = pytest.importorskip("av")
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=Fraction(fps))
        v.width, v.height, v.pix_fmt = frames[0].width, frames[0].height, "yuv420p"
        a = out.add_stream("aac", rate=44100)
        for im in frames:
            for p in v.encode(av.VideoFrame.from_image(im)):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
        samples = int(44100 * len(frames) / fps)
        t = np.arange(samples) / 44100
        tone = (0.2 * np.sin(2 * math.pi * 440 * t)).astype(np.float32)[None]
        for start in range(0, samples, 1024):
            frame = av.AudioFrame.from_ndarray(tone[:, start:start + 1024], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, start
            for p in a.encode(frame):
                out.mux(p)
        for p in a.encode(None):
            out.mux(p)
    return path


@pytest.mark.vgg
def test_a_video_keeps_its_frame_count_rate_time_stamps_and_audio(tmp_path, art):
    source = with_audio(tmp_path / "clip.mp4", moving_frames(n=6, width=48, height=40))
    before = video.open_clip(source)
    out = tmp_path / "styled.mp4"
    r = run("video", source, art, "-o", out, "--size", "40", "--iterations", "1", "--frame-iterations", "1", "--quiet")
    assert r.exit_code == 0, cli_result_text(r)
    after = video.open_clip(out)
    assert after.count == before.count == 6
    assert after.rate == before.rate == Fraction(12) and after.pts == before.pts and after.time_base == before.time_base
    assert after.size == (40, 34) and after.audio == 1  # 40x33, padded to even sides for 4:2:0
    assert not video.work_folder(out).exists()  # the frames folder goes once the video is written
    import av

    count = lambda p: sum(1 for _ in av.open(str(p)).demux(audio=0) if _.size)
    assert count(out) == count(source) > 0
    r = run("video", source, art, "-o", out, *FAST)
    assert r.exit_code == 1 and "already exists; pass --overwrite" in r.stderr
    r = run("video", source, art, "-o", tmp_path / "styled.webm", *FAST)  # round 16: "use --codec" for the audio
    assert r.exit_code == 1 and "the .webm container cannot hold the clip's audio, which is copied as it is" \
        in r.stderr and r.stderr.rstrip().endswith("use another container (.mkv holds any)"), cli_result_text(r)


def video_interrupted_when(monkeypatch, stop, *args):
    """`stylize video *args` with a Ctrl-C noted as soon as stop() says so (the flag catch_signals yields)."""
    import contextlib

    from stylize import cli as cli_module

    class CtrlC:
        signal = SIGINT

        def __call__(self):
            return stop()

    with monkeypatch.context() as m:
        m.setattr(cli_module, "catch_signals", lambda: contextlib.nullcontext(CtrlC()))
        return run("video", *args)


def frames_made(folder, n):
    """stop() for video_interrupted_when: true once `folder` holds n frames."""
    return lambda: len(list(folder.glob("frame_*.png"))) >= n


@pytest.mark.vgg
def test_ctrl_c_keeps_finished_frames_exits_130_and_a_rerun_finishes_the_same_frames(made, tmp_path, monkeypatch):
    root, clip, style = made
    out = tmp_path / "frames"
    r = video_interrupted_when(monkeypatch, frames_made(out, 2), clip.path, style, "-o", out, *FAST)
    assert r.exit_code == 130, cli_result_text(r)
    assert r.stderr.strip() == (f"Interrupted: 2 of 6 frames finished in {out}; run the same command again to "
                                f"continue")
    assert sorted(f.name for f in out.iterdir()) == ["frame_00001.png", "frame_00002.png"]
    r = CliRunner().invoke(cli, [str(a) for a in ("video", clip.path, style, "-o", out, *FAST[:-1])])
    assert r.exit_code == 0, cli_result_text(r)
    assert f"Wrote {out} (6 frames at 32x27; 2 finished before)" in r.stderr
    assert len(list(out.iterdir())) == 6  # frames in = frames out
    for a, b in zip(frames_of(out, 6), frames_of(root / "whole", 6)):
        assert a.tobytes() == b.tobytes()


@pytest.mark.vgg
def test_ctrl_c_in_a_multi_pass_run_counts_the_passes_kept(made, tmp_path, monkeypatch):
    """Hostile round 11: it said "0 of 6 frames finished" of a run that had kept every frame's first pass."""
    root, clip, style = made
    out = tmp_path / "frames"
    r = video_interrupted_when(monkeypatch, frames_made(out, 6), clip.path, style, "-o", out, "--passes", "2",
                               "--pass-iterations", "2", *FAST[:2], "--quiet")  # (Ctrl-C once every frame has its first pass)
    assert r.exit_code == 130, cli_result_text(r)
    assert r.stderr.strip() == (f"Interrupted: 6 of 12 frame passes (2 a frame) finished in {out}; run the same "
                                f"command again to continue")


def test_ctrl_c_before_the_first_frame_says_nothing_was_written(made, tmp_path, monkeypatch):
    """Hostile round 8: it said "0 of 6 frames finished in OUT.mp4.frames; run the same command again" of a
    frames folder it had just removed (empty, and new)."""
    root, clip, style = made
    r = video_interrupted_when(monkeypatch, lambda: True, clip.path, style, "-o", tmp_path / "out.mp4", *FAST)
    assert r.exit_code == 130 and r.stderr.strip() == "Interrupted before the first frame was finished; nothing written."
    assert list(tmp_path.iterdir()) == []


# D. a folder stylize works in is its own; inputs are never outputs; the fingerprint sees what files hold
def test_inputs_are_never_outputs_whatever_the_flags(tmp_path, art):
    frames = tmp_path / "old.mp4.frames"
    frames.mkdir()
    for i, im in enumerate(moving_frames(3), 1):
        im.save(frames / f"frame_{i:05d}.png")
    before = {f.name: f.read_bytes() for f in frames.iterdir()}
    r = run("video", frames, art, "-o", tmp_path / "old.mp4", "--overwrite", *FAST)
    assert r.exit_code == 1 and "would overwrite the input" in r.stderr and r.stderr.count("\n") == 1, cli_result_text(r)
    assert {f.name: f.read_bytes() for f in frames.iterdir()} == before and not (tmp_path / "old.mp4").exists()
    with pytest.raises(video.VideoError, match="would overwrite the input"):  # a mask inside the output folder
        video.check_not_inputs([tmp_path / "o" / "m.png"], [tmp_path / "o"])
    clip = video.write_clip(moving_frames(3, 32, 24), tmp_path / "clip.mp4", fps=12)  # round 20: a hard link
    os.link(clip, tmp_path / "h.mp4")
    r = run("video", clip, art, "-o", tmp_path / "h.mp4", "--overwrite", *FAST)
    assert r.exit_code == 1 and "h.mp4: would overwrite the input" in r.stderr, cli_result_text(r)
    assert os.stat(clip).st_nlink == 2 and os.path.samefile(clip, tmp_path / "h.mp4")


@pytest.mark.vgg
def test_one_run_at_a_time_in_a_frames_folder_until_its_video_is_written(tmp_path, art, monkeypatch):
    """The folder's claim (claims.py) is held through the encoding: a second run that starts while the first
    encodes is refused, not let in to redo every frame the first is about to remove."""
    import subprocess
    import sys

    source = video.write_clip(moving_frames(3), tmp_path / "clip.mp4", fps=12)
    out = tmp_path / "out.mp4"
    encode, seen = video.encode, []

    def second_run_while_encoding(*args, **kwargs):  # another process (POSIX locks are per process)
        code = ("import sys\nfrom stylize.claims import claim_folder\nfrom stylize.errors import ClaimError\n"
                "try:\n    claim_folder(sys.argv[1]).take(); print('let in')\n"
                "except ClaimError as e:\n    print(e)\n")
        said = subprocess.run([sys.executable, "-c", code, str(video.work_folder(out))], capture_output=True,
                              text=True).stdout
        seen.append(said.strip())
        return encode(*args, **kwargs)

    monkeypatch.setattr(video, "encode", second_run_while_encoding)
    r = run("video", source, art, "-o", out, *FAST)
    assert r.exit_code == 0, cli_result_text(r)
    assert seen == [f"{video.work_folder(out)}: another stylize run (pid {os.getpid()}) is writing it; wait for it "
                    f"to end, or choose another output"]
    assert not video.work_folder(out).exists()  # frames and claim removed once the video is written

def test_the_resume_fingerprint_changes_with_a_style_images_content(tmp_path, folder):
    from types import SimpleNamespace

    from stylize.settings import Settings

    style = tmp_path / "style.png"
    pattern(36, 36, seed=1).save(style)
    session = SimpleNamespace(settings=Settings())
    clip = video.open_clip(folder)
    before = video.frame_marks(session, clip, [style], None, video.VideoOptions())
    assert video.frame_marks(session, clip, [style], None, video.VideoOptions()) == before
    pattern(36, 36, seed=2).save(style)  # another painting under the same name
    after = video.frame_marks(session, clip, [style], None, video.VideoOptions())
    assert after != before
    frame = clip.files[0]  # another frame of the same byte size and time stamp: still another input
    stat = frame.stat()
    data = bytearray(frame.read_bytes())
    data[-20] ^= 0xFF
    frame.write_bytes(bytes(data))
    os.utime(frame, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert frame.stat().st_size == stat.st_size and frame.stat().st_mtime_ns == stat.st_mtime_ns
    assert video.frame_marks(session, clip, [style], None, video.VideoOptions()) != after


# Nothing lost while the video is written: the work folder keeps what stylize did not write; a stopped or
# killed encoding leaves no temporary file; a folder that cannot be written is one line before any work.
def encoded_frames(tmp_path, n=3):
    frames = tmp_path / "out.mp4.frames"
    frames.mkdir()
    for i, im in enumerate(moving_frames(n), 1):
        im.save(video.frame_path(frames, i))
    clip = video.open_clip(frames)
    return frames, clip


def _encoder(name: str) -> bool:
    import av

    try:
        return av.codec.Codec(name, "w").type == "video"
    except Exception:
        return False


def test_an_encoder_gets_a_pixel_format_it_opens_with_and_keeps_its_own_log_lines_off_stderr(tmp_path, capfd):
    """Hostile round 12: ProRes, MJPEG and libx264rgb were refused as "the container cannot hold" them (every
    video was asked for 4:2:0, which they refuse); SVT-AV1 printed ~47 [info] lines, whatever --quiet."""
    import av

    frames, clip = encoded_frames(tmp_path)
    assert video.pixel_format("libx264") == "yuv420p"
    cases = [("prores_ks", ".mov", "yuv422p10le"), ("mjpeg", ".avi", "yuvj420p"), ("libx264rgb", ".mkv", None),
             ("libsvtav1", ".mkv", "yuv420p")]
    for codec, suffix, pix_fmt in [c for c in cases if _encoder(c[0])]:
        out = tmp_path / f"{codec}{suffix}"
        assert video.check_video_output(out, codec, (48, 40), clip, 25.0, False) == codec
        video.encode(frames, out, clip, codec)
        with av.open(str(out)) as c:
            stream = c.streams.video[0]
            assert (pix_fmt is None or stream.codec_context.pix_fmt == pix_fmt) and \
                sum(1 for _ in c.decode(video=0)) == 3, codec
    if _encoder("libx265"):  # (round 14: x265 aborts now and then on frames under 64 px wide: refused)
        with pytest.raises(video.VideoError, match="x265 corrupts its memory on frames under 64 px wide"):
            video.check_video_output(tmp_path / "h.mkv", "libx265", (48, 40), clip, 25.0, False)
        assert video.pixel_format("libx265") == "yuv420p"
    err = capfd.readouterr().err
    assert "Svt[" not in err and "x265 [" not in err  # (round 14: the pixel format's probe printed x265's)


def test_a_clip_whose_timing_an_encoder_refuses_is_not_blamed_on_fps(tmp_path):
    clip = video.open_clip(video.write_clip(moving_frames(3), tmp_path / "c.mp4", fps=10))  # time base 1/10240
    with pytest.raises(video.VideoError, match=r"the mpeg2video encoder cannot take the clip's timing \(10 frames a "
                                               r"second, in steps of 1/10240 s\)") as e:
        video.check_video_output(tmp_path / "o.mkv", "mpeg2video", (48, 40), clip, 25.0, False)
    assert "--fps" not in str(e.value)
    if _encoder("vc2"):  # round 14: it opened, and failed only when the frames were encoded, after every frame
        with pytest.raises(video.VideoError, match="vc2"):
            video.check_video_output(tmp_path / "o.mkv", "vc2", (48, 40), clip, 25.0, False)
    if _encoder("h264_nvenc") and video._opens(__import__("av"), "h264_nvenc", (48, 40), "yuv420p"):  # no GPU here
        with pytest.raises(video.VideoError, match="--codec h264_nvenc: the encoder does not open here"):
            video.check_video_output(tmp_path / "o.mkv", "h264_nvenc", (48, 40), clip, 25.0, False)


def test_the_same_frames_encode_to_the_same_bytes(tmp_path):
    """Hostile round 8: the same command gave another video file each run: Matroska/WebM write a random id and
    the date, and x264's macroblock tree reads memory it never wrote when the height is not a multiple of 16
    (3 different files in 5 runs, only where the heap holds other data: a whole run, not a lone encode)."""
    frames, clip = encoded_frames(tmp_path)  # 48x40 frames
    for name in ("a.mkv", "a.webm", "a.mp4"):
        codec = video.CONTAINERS[name[1:]]
        first = video.encode(frames, tmp_path / name, clip, codec).read_bytes()
        assert video.encode(frames, tmp_path / name, clip, codec, overwrite=True).read_bytes() == first, name
    assert b"mbtree=0" in (tmp_path / "a.mp4").read_bytes()  # the encoder's settings, as x264 records them
    h264 = video.encode(frames, tmp_path / "h.mp4", clip, "h264").read_bytes()  # round 10: a name of libx264
    assert b"mbtree=0" in h264 and b"crf=18.0" in h264
    sixteen = tmp_path / "sixteen"
    sixteen.mkdir()
    for i, im in enumerate(moving_frames(3, height=48), 1):
        im.save(video.frame_path(sixteen, i))
    out = video.encode(sixteen, tmp_path / "b.mp4", video.open_clip(sixteen), "libx264")
    assert b"mbtree=1" in out.read_bytes()  # where it is safe, x264's default stays


def test_removing_the_work_folder_keeps_every_file_stylize_did_not_write(tmp_path):
    frames, clip = encoded_frames(tmp_path)
    for n in (1, 3):  # frames stylize made (round 35: frame 2, put there by the user meanwhile, is kept)
        images.save_image(Image.open(video.frame_path(frames, n)), video.frame_path(frames, n), {"video": {"frame": n}},
                          overwrite=True)
    (frames / "project.stylize.json").write_text("{}")  # the user's, though its name looks like a sidecar
    video.frame_path(frames, 9).write_bytes(b"not this run's")  # beyond the clip's frames: not ours
    video.remove_work_folder(frames, clip.count)
    assert sorted(f.name for f in frames.iterdir()) == ["frame_00002.png", "frame_00009.png", "project.stylize.json"]


def test_a_stop_while_encoding_writes_nothing_and_leaves_no_temporary_file(tmp_path):
    frames, clip = encoded_frames(tmp_path)
    asked = []

    def stop_at_the_second_frame():
        asked.append(1)
        return len(asked) >= 2

    from stylize import StylizeError

    with pytest.raises(StylizeError, match="out.mp4: stopped while encoding; nothing was written"):  # (round 68:
        video.encode(frames, tmp_path / "out.mp4", clip, "libx264", should_stop=stop_at_the_second_frame)  # was a
    assert sorted(f.name for f in tmp_path.iterdir()) == ["out.mp4.frames"]  # bare Exception, no message)
    assert issubclass(video.EncodingStopped, video.VideoError)


def test_sigterm_while_encoding_is_interrupted_130_with_the_frames_kept(tmp_path, art):
    import subprocess
    import sys

    source = video.write_clip(moving_frames(3), tmp_path / "clip.mp4", fps=12)
    code = ("import os, signal, sys\n"
            "from stylize import video, cli\n"
            "encode = video.encode\n"
            "def terminated_then_encode(*args, **kwargs):\n"  # SIGTERM as the encoding begins
            "    os.kill(os.getpid(), signal.SIGTERM)\n"
            "    return encode(*args, **kwargs)\n"
            "video.encode = terminated_then_encode\n"
            "sys.argv = ['stylize', *sys.argv[1:]]\n"
            "cli.main()\n")
    out = tmp_path / "out.mp4"
    args = ["video", source, art, "-o", out, "--keep-frames", *FAST]
    r = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 143 and "Traceback" not in r.stderr, r.stderr
    assert "Interrupted" in r.stderr and not out.exists()
    assert [f.name for f in tmp_path.iterdir() if f.name.startswith(".")] == []  # no temporary video left
    assert len(list(video.work_folder(out).glob("frame_*.png"))) == 3  # the finished frames are kept


def test_a_filesystem_without_hard_links_still_gets_its_video(tmp_path, monkeypatch):
    import errno
    import os

    frames, clip = encoded_frames(tmp_path)

    def no_links(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)  # as on FAT, exFAT or SMB
    out = video.encode(frames, tmp_path / "out.mp4", clip, "libx264")
    assert video.open_clip(out).count == 3
    with pytest.raises(video.VideoError, match="already exists; pass --overwrite"):
        video.encode(frames, out, clip, "libx264")


def test_an_output_folder_that_cannot_be_written_is_one_line_before_any_work(tmp_path, clip, art, monkeypatch):
    def read_only(folder):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(images, "check_writable", read_only)
    r = run("video", clip, art, "-o", tmp_path / "out.mp4", *FAST)
    assert r.exit_code == 1 and r.stderr.strip() == (
        f"Error: {tmp_path / 'out.mp4'}: cannot write in {tmp_path} (Permission denied)"), cli_result_text(r)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["art.png", "clip.mp4"]


@pytest.mark.vgg
def test_a_content_mask_drawn_on_the_clips_frames_follows_them_to_any_size(tmp_path, clip, art):
    mask = Image.new("L", (48, 40), 0)
    mask.paste(255, (0, 0, 48, 16))
    mask.save(tmp_path / "sky.png")
    style_mask = Image.new("L", (56, 56), 0)
    style_mask.paste(255, (0, 0, 28, 56))
    style_mask.save(tmp_path / "art_mask.png")
    out = tmp_path / "frames"
    r = run("video", clip, art, "-o", out, "--content-mask", tmp_path / "sky.png", "--style-mask",
            tmp_path / "art_mask.png", *FAST)  # --size 32, not the frames' 48
    assert r.exit_code == 0, cli_result_text(r)
    assert len(list(out.glob("frame_*.png"))) == 6
    r = run("video", clip, art, "-o", tmp_path / "v.mp4", "--content-mask", tmp_path / "art_mask.png", "--style-mask",
            tmp_path / "art_mask.png", *FAST)  # round 16: the message named the clip's frame "<image>"
    assert r.exit_code == 1 and f"but the content image {clip} frame 1 is 48x40 px" in r.stderr, cli_result_text(r)


@pytest.mark.vgg
def test_overwriting_a_frames_folder_removes_only_the_frames_stylize_made(tmp_path, art):
    """Hostile round 2: --overwrite removed a user's frame_00007.png that no frame of the clip replaces. Round 17:
    kept, the folder then read as a longer clip (and the message had promised --overwrite would redo it): a file
    of yours numbered after the clip's frames is refused, whatever the flags; stylize's own frames there go."""
    frames = moving_frames(3)
    long, short = tmp_path / "long", tmp_path / "short"
    for d, n in ((long, 3), (short, 2)):
        d.mkdir()
        for i in range(n):
            frames[i].save(d / f"frame_{i + 1:05d}.png")
    out = tmp_path / "out"
    assert run("video", long, art, "-o", out, *FAST).exit_code == 0
    mine = out / "frame_00007.png"
    pattern(32, 27).save(mine)
    for flags in ([], ["--overwrite"]):
        r = run("video", short, art, "-o", out, *flags, *FAST)
        assert r.exit_code == 1 and r.stderr == (f"Error: {mine}: not a frame stylize made, numbered after this clip's "
                                                 f"2 frames (the folder would read as a longer clip); move it away or "
                                                 f"choose another output\n"), cli_result_text(r)
    assert sorted(p.name for p in out.glob("frame_*.png")) == [f"frame_0000{i}.png" for i in (1, 2, 3, 7)]
    mine.rename(tmp_path / "mine.png")
    r = run("video", short, art, "-o", out, *FAST)
    assert r.exit_code == 1 and "pass --overwrite to redo such frames (or remove those after this clip's)" in r.stderr
    assert run("video", short, art, "-o", out, "--overwrite", *FAST).exit_code == 0
    assert sorted(p.name for p in out.glob("frame_*.png")) == ["frame_00001.png", "frame_00002.png"]


def test_a_file_of_yours_in_the_frames_folder_is_said_before_pass_overwrite(tmp_path, clip, art):
    """Hostile round 37 (the kind): an existing v.mp4 was "already exists; pass --overwrite", and --overwrite then
    refused a file of the user's in v.mp4.frames/. What no flag changes is said first, whatever the flags."""
    out = tmp_path / "v.mp4"
    out.write_bytes(b"an earlier video")
    (tmp_path / "v.mp4.frames").mkdir()
    mine = tmp_path / "v.mp4.frames" / "frame_00002.png"
    pattern(32, 27).save(mine)
    for flags in ([], ["--overwrite"]):
        r = run("video", clip, art, "-o", out, *flags, *FAST)
        assert r.exit_code == 1 and r.stderr.startswith(f"Error: {mine}: not a frame stylize made, at a name this "
                                                        f"clip's frame 2 needs"), cli_result_text(r)
    assert out.read_bytes() == b"an earlier video"
    mine.unlink()
    r = run("video", clip, art, "-o", out, *FAST)
    assert r.exit_code == 1 and r.stderr == f"Error: {out}: already exists; pass --overwrite to replace it\n"


def test_a_video_name_too_long_for_its_frames_folder_is_refused_as_too_long(tmp_path, clip, art):
    """Hostile round 3: a 250-byte name was blamed on the container and codec."""
    out = tmp_path / ("W" * 246 + ".mp4")
    r = run("video", clip, art, "-o", out, *FAST)
    assert r.exit_code == 1 and "the file name is too long (250 bytes; a video's at most" in r.stderr, cli_result_text(r)


@pytest.mark.vgg
def test_wrote_gives_the_size_the_video_holds(tmp_path, art):
    """Hostile round 3: `--size 33` said 33x25 frames; the encoder's video is 34x26 (even sides, edge copied)."""
    import re

    d = tmp_path / "clip"
    d.mkdir()
    for i, im in enumerate(moving_frames(2), 1):
        im.save(d / f"frame_{i:05d}.png")
    out = tmp_path / "v.mp4"
    r = run("video", d, art, "-o", out, *[a for a in FAST if a != "--quiet"], "--size", "33")
    assert r.exit_code == 0, cli_result_text(r)
    w, h = re.search(r"frames at (\d+)x(\d+) \(the frames' 33x\d+, padded by a copied edge row or column\)",
                     r.stderr).groups()
    first = next(video.open_clip(out).frames())
    assert first.size == (int(w), int(h)) and int(w) % 2 == 0 and int(h) % 2 == 0


def test_a_file_of_the_users_at_a_frames_name_is_never_replaced(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "frame_00002.png").write_text("mine")
    for overwrite in (False, True):  # (round 94: told as what it is, no image)
        with pytest.raises(video.VideoError, match="frame_00002.png: not an image Pillow can read; it is kept"):
            video.check_folder(folder, 3, "mark", overwrite)
    pattern(20, 16, 1).save(folder / "frame_00002.png")  # (a picture of the user's)
    for overwrite in (False, True):
        with pytest.raises(video.VideoError, match="not a frame stylize made"):
            video.check_folder(folder, 3, "mark", overwrite)
    (folder / "frame_00002.png").write_text("mine")
    with pytest.raises(video.VideoError, match=r"numbered after this clip's 1 frame \(the folder would read as a "
                                               r"longer clip\)"):  # round 17: beyond this clip's frames too
        video.check_folder(folder, 1, "mark", True)
    assert (folder / "frame_00002.png").read_text() == "mine"


def test_a_frame_made_for_another_number_or_a_users_numbered_image_is_no_frame_of_this_run(tmp_path):
    """Hostile round 15: frame 1 copied to frame_00002.png was kept by a resume as frame 2 (its fingerprint
    matched; its number was not checked); a user's frame_00003.webp in `-o FOLDER` made a folder of two frame 3s,
    which stylize itself then refused to read."""
    folder = tmp_path / "out"
    folder.mkdir()
    images.save_image(pattern(8, 6), folder / "frame_00001.png", {"video": {"frame": 1, "fingerprint": "mark"}})
    assert video.check_folder(folder, 3, ["mark"] * 3, False) == {1: 1}
    (folder / "frame_00002.png").write_bytes((folder / "frame_00001.png").read_bytes())
    with pytest.raises(video.VideoError, match="frame_00002.png: a frame of another run .* or of another frame"):
        video.check_folder(folder, 3, ["mark"] * 3, False)
    assert video.check_folder(folder, 3, ["mark"] * 3, True) == {1: 1}  # --overwrite redoes it
    (folder / "frame_00002.png").unlink()
    pattern(8, 6).save(folder / "frame_00003.webp")
    for overwrite in (False, True):
        with pytest.raises(video.VideoError, match="frame_00003.webp: a numbered image at frame 3 of this clip"):
            video.check_folder(folder, 3, ["mark"] * 3, overwrite)
    with pytest.raises(video.VideoError, match="frame_00003.webp: not a frame stylize made, numbered after this "
                                               "clip's 2 frames"):  # round 17: beyond this clip's frames too
        video.check_folder(folder, 2, ["mark"] * 3, True)
    (folder / "frame_00003.webp").rename(folder / "IMG_0003.webp")  # a photo of yours: not named as a frame
    assert video.check_folder(folder, 2, ["mark"] * 3, True) == {1: 1}


def test_the_temporary_video_is_a_new_file_never_one_already_there(tmp_path):
    # a predictable name (.OUT.PID.tmp.mp4) let a link planted there make stylize write through it
    frames, clip = encoded_frames(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    for pid in range(os.getpid() - 2, os.getpid() + 3):
        (tmp_path / f".out.{pid}.tmp.mp4").symlink_to(victim)
    (tmp_path / ".out.mine.tmp.mp4").write_text("the user's")
    video.check_video_output(tmp_path / "out.mp4", None, (48, 40), clip, 12.0, False)
    video.encode(frames, tmp_path / "out.mp4", clip, "libx264")
    assert victim.read_text() == "precious" and (tmp_path / ".out.mine.tmp.mp4").read_text() == "the user's"
    assert (tmp_path / "out.mp4").stat().st_size > 0
    assert (tmp_path / "out.mp4").stat().st_mode & 0o777 == images.file_mode()  # not mkstemp's 0600: as any output
    left = sorted(f.name for f in tmp_path.iterdir() if f.name.startswith(".out."))
    assert len(left) == 6  # the links and the user's file, and nothing of stylize's


@pytest.mark.vgg
def test_a_run_that_fails_before_its_first_frame_leaves_no_empty_frames_folder(tmp_path, clip, art, monkeypatch):
    def fails(self, *args):
        raise video.VideoError("the first frame could not be made")

    monkeypatch.setattr(video._FrameRun, "all", fails)
    r = run("video", clip, art, "-o", tmp_path / "out.mp4", *FAST)
    assert r.exit_code == 1 and "could not be made" in r.stderr
    assert not (tmp_path / "out.mp4.frames").exists() and not (tmp_path / "out.mp4").exists()


def test_a_numbered_frame_in_any_readable_format_is_a_frame(tmp_path):
    # a frame_00004.gif was left out without a word
    folder = tmp_path / "clip"
    folder.mkdir()
    frames = moving_frames(4)
    for i, im in enumerate(frames[:3], 1):
        im.save(folder / f"frame_{i:05d}.png")
    frames[3].save(folder / "frame_00004.gif")
    assert video.open_clip(folder).count == 4


def _clip_with(tmp_path, name, rotation=None, aspect=None):
    """A 3-frame 48x32 clip (red left quarter) whose file asks players to rotate it or to stretch its pixels."""
    import av

    im = Image.new("RGB", (48, 32), "white")
    im.paste(Image.new("RGB", (12, 32), "red"), (0, 0))
    with av.open(str(tmp_path / name), "w") as out:
        s = out.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 48, 32, "yuv420p"
        if rotation is not None:
            s.set_display_rotation(rotation)
        if aspect is not None:
            s.codec_context.sample_aspect_ratio = aspect
        for n in range(3):
            frame = av.VideoFrame.from_image(im)
            frame.pts = n
            for packet in s.encode(frame):
                out.mux(packet)
        for packet in s.encode(None):
            out.mux(packet)
    return tmp_path / name


def test_a_phone_clip_is_made_upright_and_its_pixels_square_as_players_show_it(tmp_path):
    """Hostile round 8: a clip whose display matrix turns it a quarter (a phone held upright) came out sideways,
    and one with 2:1 pixels squashed: the frames were used as stored, as a photograph's EXIF rotation is not."""
    turned = video.open_clip(_clip_with(tmp_path, "turned.mp4", rotation=-90))  # players turn it clockwise
    frame = next(turned.frames())
    assert turned.size == frame.size == (32, 48)
    assert frame.getpixel((16, 2))[1] < 80 and frame.getpixel((16, 45))[1] > 200  # the red band is now on top
    wide = video.open_clip(_clip_with(tmp_path, "wide.mp4", aspect=Fraction(2, 1)))
    assert wide.size == next(wide.frames()).size == (96, 32)
    plain = video.open_clip(_clip_with(tmp_path, "plain.mp4"))
    assert plain.size == (48, 32) and (plain.rotation, plain.aspect) == (0, 1)


@pytest.mark.vgg
def test_a_file_that_appears_at_a_frames_name_during_the_run_is_never_replaced(made, tmp_path, monkeypatch):
    """Hostile round 10: the video saved every frame with overwrite: a file put in the frames folder while it
    ran (a user's copy, another command's output) was replaced."""
    root, clip, style = made
    out = tmp_path / "frames"
    save = images.save_image

    def appearing(image, path, *args, **kwargs):
        if Path(path).name == "frame_00002.png":
            Path(path).write_bytes(b"the user's")  # just before the run's frame 2 is saved
        return save(image, path, *args, **kwargs)

    monkeypatch.setattr(images, "save_image", appearing)
    r = run("video", clip.path, style, "-o", out, *FAST)
    assert r.exit_code == 1 and "frame_00002.png: already exists" in r.stderr, cli_result_text(r)
    assert (out / "frame_00002.png").read_bytes() == b"the user's"


def test_a_decoder_that_cannot_start_under_an_address_space_limit_names_the_limit(clip, monkeypatch):
    """Hostile round 10: under `ulimit -v` 3.7 GB FFmpeg's decoder threads fail to start (EAGAIN): "cannot
    decode its video (Resource temporarily unavailable)", as if the clip were damaged. The limit is named."""
    import errno

    import av

    def eagain(*args, **kwargs):
        raise av.error.FFmpegError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(video, "limits", lambda: "; the address-space limit (ulimit -v) is 3.4 GiB")
    monkeypatch.setattr(av.container.InputContainer, "decode", eagain)
    with pytest.raises(video.VideoError, match=r"cannot decode its h264 video \(.*Resource temporarily unavailable\); "
                                               r"the address-space limit \(ulimit -v\) is 3.4 GiB$"):
        video.open_clip(clip)


def test_a_clip_named_like_an_ffmpeg_protocol_is_that_file(tmp_path, monkeypatch):
    """Round 16: `file:real.mp4` read real.mp4 (FFmpeg took `file:` as a protocol): a name is the file it names."""
    monkeypatch.chdir(tmp_path)
    video.write_clip(moving_frames(3, 32, 24), Path("real.mp4"), fps=12)
    video.write_clip(moving_frames(2, 40, 30, seed=5), Path("file:real.mp4"), fps=12)
    clip = video.open_clip("file:real.mp4")
    assert (clip.count, clip.size) == (2, (40, 30))
    assert [im.size for im in clip.frames()] == [(40, 30)] * 2


@pytest.mark.vgg
def test_a_name_ending_in_a_slash_is_a_frames_folder_whatever_its_dots(tmp_path, folder, art):
    """Round 16: `-o out.d` was "not a video name", with no way to name a frames folder with a dot in it."""
    r = run("video", folder, art, "-o", f"{tmp_path / 'out.d'}/", *ALONE)
    assert r.exit_code == 0, cli_result_text(r)
    assert len(list((tmp_path / "out.d").glob("frame_*.png"))) == 6


def test_a_video_that_cannot_be_written_is_told_so_not_blamed_on_its_codec(tmp_path, folder, art):
    """Round 17: a full disk or `ulimit -f` at the trial encode said "the .mp4 container cannot hold libx264 video
    (File too large); use another --codec or container"."""
    import resource
    import signal
    import subprocess
    import sys

    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # (the write fails with EFBIG instead of killing)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    p = subprocess.run([sys.executable, "-m", "stylize", "video", str(folder), str(art), "-o", str(tmp_path / "v.mp4"),
                        *FAST], preexec_fn=limited, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stderr
    assert p.stderr == f"Error: {tmp_path / 'v.mp4'}: cannot write it (File too large)\n"
    assert not (tmp_path / "v.mp4").exists() and not video.work_folder(tmp_path / "v.mp4").exists()


@pytest.mark.parametrize("name, link", [("v[1].mp4", "v[1].mp4.frames"), ("vd", "vd")])
def test_a_link_to_nothing_at_the_frames_folder_is_told_as_such_and_kept(tmp_path, folder, art, name, link):
    """Round 24: a dangling link at OUT.mp4.frames (or at -o FOLDER) was "cannot create the frames folder (File
    exists)"."""
    os.symlink(tmp_path / "nowhere", tmp_path / link)
    r = run("video", folder, art, "-o", tmp_path / name, "--overwrite", *ALONE)
    assert r.exit_code == 1 and f"{link}: a link to nothing, not a frames folder" in r.stderr, cli_result_text(r)
    assert os.path.islink(tmp_path / link) and not (tmp_path / "nowhere").exists()


@pytest.mark.vgg
@pytest.mark.parametrize("name", ["cut.mkv", "cut.gif"])
def test_a_damaged_video_is_refused_before_any_work_not_made_shorter(tmp_path, art, name):
    """Round 25: FFmpeg hides damage, a Matroska file cut short gave 2 of its 6 frames and a GIF with a broken
    frame decoded it patched. Both made a video, exit 0. Now it is "damaged", exit 1, and no folder is made."""
    whole = tmp_path / f"whole{Path(name).suffix}"
    if name.endswith(".mkv"):
        video.write_clip(moving_frames(n=6), whole, fps=10)
    else:
        first, *rest = moving_frames(n=3)
        first.save(whole, save_all=True, append_images=rest, duration=40)
    assert video.open_clip(whole).count in (3, 6)  # the whole file reads
    data = whole.read_bytes()
    (tmp_path / name).write_bytes(data[:int(len(data) * (0.7 if name.endswith(".mkv") else 0.83))])
    with pytest.raises(video.VideoError, match=rf"{name}: the video is damaged \(FFmpeg: .*decoded\); re-encode it"):
        video.open_clip(tmp_path / name)
    r = run("video", tmp_path / name, art, "-o", tmp_path / "out", "--size", 32, "--iterations", 2)
    assert r.exit_code == 1 and "the video is damaged" in r.output and not (tmp_path / "out").exists()


def test_a_video_name_that_is_only_an_extension_is_refused_not_made_a_hidden_frames_folder(tmp_path, clip, art):
    """Round 26: `video -o .mkv` wrote a hidden frames folder `.mkv/` (exit 0) where `transfer -o .png` is refused."""
    r = run("video", clip, art, "-o", tmp_path / ".mkv", *ALONE)
    assert r.exit_code == 1 and r.output.strip().endswith(".mkv: a name that is only an extension (a hidden frames "
                                                          "folder's, not a video's); give it a stem, e.g. out.mkv, "
                                                          "or end it with / for a folder"), cli_result_text(r)
    assert not (tmp_path / ".mkv").exists()


@pytest.mark.parametrize("output", ["loop/x.mp4", "loop"])
def test_a_link_that_loops_in_a_video_output_is_one_line_not_a_traceback(tmp_path, clip, art, output):
    """Round 26: `-o loop/x.mp4` with `loop -> loop` was a RuntimeError traceback (pathlib's resolve() on a loop)."""
    (tmp_path / "loop").symlink_to("loop")
    r = run("video", clip, art, "-o", tmp_path / output, *ALONE)
    why = "the folder .*loop is a link to nothing \\(its target is missing, or it loops\\)" if "/" in output else \
        "a link to nothing, not a frames folder"
    assert r.exit_code == 1 and re.search(f"^Error: .*{why}", r.output.strip().splitlines()[-1]), cli_result_text(r)
    assert os.readlink(tmp_path / "loop") == "loop"


@pytest.mark.parametrize("video_key", ['{"title": "holiday reel"}', '"holiday reel, take 2"'])
def test_a_users_frame_with_a_video_key_in_its_own_json_is_refused_whatever_the_flags(tmp_path, folder, art,
                                                                                    video_key):
    """Round 27: a user's numbered image whose EXIF description is JSON with a "video" key was taken for a frame
    stylize made: replaced and removed by --overwrite (and with a text as its value, a traceback)."""
    out = tmp_path / "vf"
    out.mkdir()
    exif = Image.Exif()
    exif[0x010E] = '{"video": ' + video_key + "}"
    for name in ("frame_00002.png", "frame_00009.png"):
        pattern(48, 40, seed=4).save(out / name, exif=exif)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for flags in ([], ["--overwrite"]):
        r = run("video", folder, art, "-o", out, *ALONE, *flags)
        assert r.exit_code == 1 and "Traceback" not in r.output, cli_result_text(r)
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_frame_whose_png_data_ends_early_is_refused_before_any_work(tmp_path, folder):
    """Round 28: a frame PNG whose image data ends early (a proper zlib stream) passed the frames folder's "decoded
    in full" check, its missing rows black."""
    from .test_images import _png

    (folder / "frame_00002.png").write_bytes(_png(Image.open(folder / "frame_00002.png"), keep=13 / 40))  # (rows)
    with pytest.raises(video.VideoError, match=r"frame_00002.png: not an image that can be read in full \(the "
                                               r"image data ends early"):
        video.open_clip(folder)


def test_write_clip_never_replaces_a_file_unasked(tmp_path):
    """Round 31: video.write_clip (in the module's __all__) replaced an existing file without asking."""
    from stylize.video import VideoError

    mine = tmp_path / "keep.mp4"
    mine.write_bytes(b"a user's file")
    with pytest.raises(VideoError, match="keep.mp4: already exists"):
        video.write_clip(moving_frames(2, 32, 24), mine)
    assert mine.read_bytes() == b"a user's file"
    assert video.write_clip(moving_frames(2, 32, 24), mine, overwrite=True).stat().st_size > 100


@pytest.mark.parametrize("odd", ["dangling", "fifo", "folder"])
def test_a_numbered_frame_that_is_no_image_file_is_refused_not_dropped(folder, tmp_path, odd):
    """Round 35: a link to nothing, a pipe or a folder at frame_00007.png was left out: a shorter clip, exit 0."""
    extra = folder / f"frame_{len(list(folder.iterdir())) + 1:05d}.png"
    {"dangling": lambda: extra.symlink_to(tmp_path / "nowhere.png"), "fifo": lambda: os.mkfifo(extra),
     "folder": lambda: extra.mkdir()}[odd]()
    with pytest.raises(video.VideoError, match=f"{extra.name}: a numbered frame that is not an image file"):
        video.open_clip(folder)


def test_the_video_api_never_writes_its_inputs(folder, tmp_path):
    """Round 35: video.stylize_frames into the folder it reads, and video.encode over its source clip, wrote over
    their inputs (only make_video, the command line's, checked)."""
    clip = video.open_clip(folder)
    kept = {f.name: f.read_bytes() for f in folder.iterdir()}
    with pytest.raises(video.VideoError, match="would overwrite the input"):
        video.stylize_frames(Session(size=32, iterations=2), clip, folder / "frame_00001.png", folder, overwrite=True)
    with pytest.raises(video.VideoError, match="would overwrite the input"):
        video.encode(folder, folder / "frame_00001.png", clip, "libx264", overwrite=True)
    assert {f.name: f.read_bytes() for f in folder.iterdir()} == kept



def test_the_video_apis_wrong_types_are_stylize_errors(tmp_path, clip, art):
    """Hostile kind of round 38: make_video(5, ...), styles None, output 5 or settings 7 raised TypeError or
    AttributeError; None settings are the defaults."""
    from stylize.errors import ImageError, SettingsError
    from stylize.settings import Settings

    cases = [((5, art, tmp_path / "o.mp4", Settings(size=32)), video.VideoError, "source: a file or folder name or a "
                                                                                "Clip, not int"),
             ((clip, None, tmp_path / "o.mp4", Settings(size=32)), ImageError, "the style: an image"),
             ((clip, art, 5, Settings(size=32)), video.VideoError, "output: a file or folder name, not int"),
             ((clip, art, tmp_path / "o.mp4", 7), SettingsError, "settings: a stylize.Settings, not int")]
    for args, error, message in cases:
        with pytest.raises(error, match=message):
            video.make_video(*args)
    for options, message in (({"temporal_weight": -1}, "--temporal-weight -1: give 0 or a number"),
                             ({"frame_iterations": 0}, "--frame-iterations 0: give an integer"),
                             ({"long_term": "a"}, "--long-term 'a': give a list of whole frame distances"),
                             ({"pass_blend": float("nan")}, "--pass-blend nan"),  # round 39: the API's values
                             ({"pass_blend": "0.5"}, "--pass-blend '0.5'"), ({"flow": "x"}, "--flow 'x': use dis"),
                             ({"independent": "no"}, "independent: True or False"),
                             ({"long_term": (1, 10**30)}, "give frame distances from 1 to")):  # (round 40)
        with pytest.raises(video.VideoError, match=message):
            video.VideoOptions(**options)
    for fps in (1e9, float("nan"), "25"):
        with pytest.raises(video.VideoError, match="--fps .*: give a number from 0.01 to 1000"):
            video.make_video(clip, art, tmp_path / "o.mp4", Settings(size=32), fps=fps)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art.png", "clip.mp4"]  # nothing made


@pytest.mark.vgg
def test_a_finished_frames_folder_output_is_never_taken_as_a_videos_work_folder(tmp_path, clip, art):
    """Hostile round 40: `-o v.mp4.frames/` (a finished folder of frames), then `-o v.mp4`: the second run counted
    those frames as its own finished ones, encoded them and removed the folder, the first run's result."""
    folder = tmp_path / "v.mp4.frames"
    assert run("video", clip, art, "-o", f"{folder}/", *FAST).exit_code == 0
    made = sorted(p.name for p in folder.iterdir())
    for flags in ([], ["--overwrite"]):
        r = run("video", clip, art, "-o", tmp_path / "v.mp4", *flags, *FAST)
        assert r.exit_code == 1 and "the frames of an earlier run whose output was this folder" in r.stderr, \
            cli_result_text(r)
    assert sorted(p.name for p in folder.iterdir()) == made and not (tmp_path / "v.mp4").exists()
    keep = tmp_path / "k.mp4"  # the other way stays open: a video's kept frames, resumed as a folder output
    assert run("video", clip, art, "-o", keep, "--keep-frames", *FAST).exit_code == 0
    r = run("video", clip, art, "-o", f"{tmp_path / 'k.mp4.frames'}/", *FAST)
    assert r.exit_code == 0, cli_result_text(r)


def test_round_42_a_clip_whose_frame_changed_since_it_was_opened_is_checked_again(tmp_path, folder, art):
    """Round 42: a Clip opened, then a frame replaced by one of another size: make_video stylized every frame,
    then the encode refused (and stylize_frames returned frames of mixed sizes). A Clip is checked again before
    any work when a file of it changed."""
    from stylize.settings import Settings

    clip = video.open_clip(folder)
    assert video.current(clip) is clip  # nothing changed: the same Clip
    last = sorted(folder.iterdir())[-1]
    pattern(clip.size[1], clip.size[0], 5).save(last)  # another size
    with pytest.raises(video.VideoError, match="every frame must have the same size"):
        video.make_video(clip, art, tmp_path / "v.mp4", Settings(size=32, iterations=2),
                         video.VideoOptions(independent=True))
    with pytest.raises(video.VideoError, match="every frame must have the same size"):
        video.stylize_frames(Session(size=32, iterations=2), clip, art, tmp_path / "fr",
                             video.VideoOptions(independent=True))
    assert not (tmp_path / "v.mp4.frames").exists() and not (tmp_path / "fr").exists()
    last.unlink()
    assert video.current(clip).count == clip.count - 1  # opened again: as the folder is now


def test_round_43_the_video_apis_check_before_the_work(tmp_path, folder, art, synthetic_weights):
    """Hostile round 43: stylize_frames(overwrite=True) replaced a frame its Session read as --init; encode refused
    an existing output only after encoding every frame, and gave TypeError/ValueError for a codec of None, 5,
    'bogus', or an output '.txt'/'.png'; a frame added to the folder after open_clip was left out; a stop before
    the first frame left the folders stylize_frames made."""
    from stylize.settings import Settings

    tiny = dict(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    clip = video.open_clip(folder)
    frames = tmp_path / "F1"
    video.stylize_frames(Session(**tiny), clip, art, frames, video.VideoOptions(independent=True))
    kept = (frames / "frame_00002.png").read_bytes()
    with pytest.raises(video.VideoError, match="would overwrite the input .*frame_00002.png"):
        video.stylize_frames(Session(**tiny, init=str(frames / "frame_00002.png")), clip, art, frames,
                             video.VideoOptions(independent=True), overwrite=True)
    assert (frames / "frame_00002.png").read_bytes() == kept
    (tmp_path / "mine.mp4").write_bytes(b"mine")
    asked = []
    for output, codec, message in (("mine.mp4", "libx264", "mine.mp4: already exists; pass --overwrite"),
                                   ("b.mp4", 5, "codec: an encoder's name .or None., not int"),
                                   ("b.mp4", "bogus", "--codec bogus: not a video encoder"),
                                   ("b.txt", None, "b.txt: not a video name"),
                                   ("b.png", None, "b.png: not a video name")):
        with pytest.raises(video.VideoError, match=message):
            video.encode(frames, tmp_path / output, clip, codec, should_stop=lambda: asked.append(1) or False)
    assert not asked and (tmp_path / "mine.mp4").read_bytes() == b"mine"  # refused before the first frame
    assert video.open_clip(video.encode(frames, tmp_path / "v.mp4", clip)).count == clip.count  # codec None: .mp4's
    pattern(*clip.size, 9).save(folder / f"frame_{clip.count + 1:05d}.png")  # a frame added after open_clip
    assert video.current(clip).count == clip.count + 1
    with pytest.raises(video.VideoError, match=f"frame_{clip.count + 1:05d}.png: missing"):
        video.encode(frames, tmp_path / "w.mp4", clip)
    deep = tmp_path / "FS" / "deep"
    video.stylize_frames(Session(**tiny), clip, art, deep, should_stop=lambda: True)
    assert not (tmp_path / "FS").exists()
    video.make_video(clip, art, tmp_path / "all.mp4", Settings(**tiny),
                     video.VideoOptions(independent=True))
    assert video.open_clip(tmp_path / "all.mp4").count == clip.count + 1


def test_round_44_one_video_from_one_style_and_one_runs_finished_frames(tmp_path, folder, clip, art,
                                                                        synthetic_weights):
    """Hostile round 44: a style replaced during a video made its later frames from the new one (one fingerprint
    for all); encode made one video of two runs' frames, or of a folder another run was writing; encode took an
    fps that a video clip's own rate replaces."""
    import shutil
    import signal
    import subprocess
    import sys

    tiny = dict(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    frames_clip = video.open_clip(folder)
    style = tmp_path / "style.png"
    shutil.copy(art, style)
    other = tmp_path / "other.png"
    pattern(36, 36, 7).save(other)

    def swap(progress):
        if progress.frame == 1:
            os.replace(other, style)

    with pytest.raises(images.ImageError, match="style.png: replaced during this run"):
        video.stylize_frames(Session(**tiny), frames_clip, style, tmp_path / "F", video.VideoOptions(independent=True),
                             on_frame=swap)
    assert sorted(p.name for p in (tmp_path / "F").glob("frame_*")) == ["frame_00001.png"]
    shutil.copy(art, style)
    opts = video.VideoOptions(independent=True)
    video.stylize_frames(Session(**tiny), frames_clip, style, tmp_path / "W", opts)
    done = []
    pattern(36, 36, 8).save(tmp_path / "other2.png")
    video.stylize_frames(Session(**tiny), frames_clip, tmp_path / "other2.png", tmp_path / "W", opts,
                         overwrite=True, on_frame=lambda f: done.append(f), should_stop=lambda: len(done) >= 1)
    with pytest.raises(video.VideoError, match="a frame of another run than frame_00001.png"):
        video.encode(tmp_path / "W", tmp_path / "mix.mp4", frames_clip)
    hold = "import sys, time\nfrom stylize.claims import claim_folder\nclaim_folder(sys.argv[1]).take()\n" \
           "print('held', flush=True)\ntime.sleep(60)\n"
    other_run = subprocess.Popen([sys.executable, "-c", hold, str(tmp_path / "W")], stdout=subprocess.PIPE, text=True)
    try:
        assert other_run.stdout.readline().strip() == "held"
        with pytest.raises(video.VideoError, match=rf"another stylize run \(pid {other_run.pid}\) is writing these"):
            video.encode(tmp_path / "W", tmp_path / "held.mp4", frames_clip)
    finally:
        other_run.send_signal(signal.SIGKILL)
        other_run.wait()
    mp4 = video.open_clip(clip)
    with pytest.raises(video.VideoError, match="fps: has no effect here"):
        video.encode(tmp_path / "W", tmp_path / "rate.mp4", mp4, fps=10)
    assert not any((tmp_path / n).exists() for n in ("mix.mp4", "held.mp4", "rate.mp4"))


def test_round_49_write_clip_refuses_before_encoding_and_never_squeezes_a_frame(tmp_path):
    """Hostile round 49: video.write_clip gave PyAV's and Python's bare errors (an odd size, an unknown codec, a
    codec that is no text, a name that is no video's) and squeezed a frame of another size into the first's."""
    import av

    from stylize import video

    square = Image.new("RGB", (32, 32), (200, 30, 30))
    for frames, name, codec, message in (
            ([square], "a.mp4", "nonsense", "--codec nonsense: not a video encoder"),
            ([square], "a.mp4", 5, "codec: an encoder's name"),
            ([square], "a.xyz", None, r"a.xyz: not a video name"),
            ([square, Image.new("RGB", (64, 48))], "a.mp4", None, r"frames: all of one size .*, not 32x32 and 64x48")):
        with pytest.raises(video.VideoError, match=message):
            video.write_clip(frames, tmp_path / name, codec=codec)
    assert list(tmp_path.iterdir()) == []
    video.write_clip([Image.new("RGB", (33, 33), (30, 200, 30))] * 3, tmp_path / "odd.mp4")
    with av.open(str(tmp_path / "odd.mp4")) as clip:
        decoded = [f.to_image() for f in clip.decode(video=0)]
    assert len(decoded) == 3 and decoded[0].size == (34, 34)  # (sides made even, as encode does)


def test_round_50_write_clip_is_one_run_at_a_time_and_never_leaves_half_a_video(tmp_path):
    """Hostile round 50: write_clip wrote over a video another run was making (which then failed after all its
    frames), and a frame it could not convert, found after encoding began, left a cut-off video at the name (an
    earlier one replaced) and a bare ValueError."""
    from stylize import claims, video
    from stylize.errors import ClaimError

    frame = Image.new("RGB", (32, 24), (200, 30, 30))
    video.write_clip([frame] * 4, tmp_path / "v.mp4")
    before = (tmp_path / "v.mp4").read_bytes()
    with pytest.raises(video.VideoError, match="frame 3: a PIL image of mode La cannot be read as RGB"):
        video.write_clip([frame, frame, Image.new("La", (32, 24))], tmp_path / "v.mp4", overwrite=True)
    assert (tmp_path / "v.mp4").read_bytes() == before
    import threading

    held = claims.claim_file(tmp_path / "w.mp4")
    errors = []
    with held:  # another run (here another thread's) writing w.mp4
        worker = threading.Thread(target=lambda: errors.append(pytest.raises(
            ClaimError, video.write_clip, [frame], tmp_path / "w.mp4")))
        worker.start()
        worker.join()
    assert errors and not (tmp_path / "w.mp4").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]


def test_round_51_write_clip_sizes_frames_as_read(tmp_path):
    """Hostile round 51: write_clip compared the frames' sizes before their EXIF turn: a turned frame was cut and
    padded with black into the first frame's size."""
    from stylize import video

    upright = Image.new("RGB", (32, 48), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "sideways.png", exif=exif.tobytes())
    with pytest.raises(video.VideoError, match=r"frames: all of one size \(as read: EXIF orientation applied\), "
                                               r"not 32x48 and 48x32"):
        video.write_clip([Image.new("RGB", (48, 32)), Image.open(tmp_path / "sideways.png")], tmp_path / "c.mp4")
    video.write_clip([Image.open(tmp_path / "sideways.png")] * 2, tmp_path / "c.mp4")
    assert next(iter(video.open_clip(tmp_path / "c.mp4").frames())).size == (32, 48)


def test_round_53_a_pipe_is_no_clip_and_no_name_is_the_current_folder(tmp_path, monkeypatch):
    """Hostile round 53: open_clip (and `stylize video`) of a FIFO hung, or called it a bad h264 video; an empty
    name opened the current folder (make_video("") made a video of it)."""
    import os

    from stylize import Settings, video

    os.mkfifo(tmp_path / "fifo.mp4")
    with pytest.raises(video.VideoError, match="fifo.mp4: not a regular file"):
        video.open_clip(tmp_path / "fifo.mp4")
    monkeypatch.chdir(tmp_path)
    for n in (1, 2):
        pattern(32, 24, n).save(f"frame_{n:05d}.png")
    pattern(36, 36, 3).save(tmp_path / "s.png")
    with pytest.raises(video.VideoError, match="path: a video file's or a frames folder's name"):
        video.make_video("", tmp_path / "s.png", tmp_path / "v.mp4", Settings(size=32, iterations=2))
    assert not (tmp_path / "v.mp4").exists()


def test_round_55_write_clip_refuses_a_folder_before_encoding(tmp_path, monkeypatch):
    """Hostile round 55: write_clip(overwrite=True) at a folder's name encoded every frame, then refused the folder
    when moving the video into place; its name is checked as the command line's is, before any encoding."""
    from stylize import video

    (tmp_path / "v.mp4").mkdir()
    (tmp_path / "v.mp4" / "keep.txt").write_text("mine")

    def encodes(*args, **kwargs):
        raise AssertionError("encoding started")

    monkeypatch.setattr(video, "_through_temp", encodes)
    frames = [Image.new("RGB", (32, 32), (200, 30, 30))] * 2
    with pytest.raises(video.VideoError, match="v.mp4: is a directory"):
        video.write_clip(frames, tmp_path / "v.mp4", overwrite=True)
    with pytest.raises(video.VideoError, match="no such folder|does not exist"):
        video.write_clip(frames, tmp_path / "missing" / "v.mp4")
    assert (tmp_path / "v.mp4" / "keep.txt").read_text() == "mine"


def test_round_56_write_clip_checks_the_encoder_and_encode_reads_frames_as_files(tmp_path):
    """Hostile round 56: write_clip with libx265 under 64 px wide aborted the process (SIGABRT), and a container
    that cannot hold the codec gave a bare ValueError (write_clip skipped check_video_output's checks); encode
    compared an EXIF-turned first frame with itself and refused it; an encoder refusing a frame size was said "not
    to work here"."""
    import av

    from stylize import video

    frames = [Image.new("RGB", (40, 32), (i * 60, 100, 50)) for i in range(3)]
    for name, codec, message in (("x.mp4", "libx265", "--codec libx265: x265 corrupts its memory on frames under 64"),
                                 ("a.webm", "libx264", r"a.webm: the .webm container cannot hold libx264 video")):
        with pytest.raises(video.VideoError, match=message):
            video.write_clip(frames, tmp_path / name, codec=codec)
    assert list(tmp_path.iterdir()) == []
    turned = tmp_path / "turned"
    turned.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6  # (a quarter turn: read as 32x40)
    for n, im in enumerate(frames, 1):
        im.save(video.frame_path(turned, n), exif=exif.tobytes())
    out = video.encode(turned, tmp_path / "turned.mp4", video.open_clip(turned))
    with av.open(str(out)) as clip:
        assert [f.to_image().size for f in clip.decode(video=0)] == [(32, 40)] * 3
    # (an encoder refusing a frame size: H.263 and DV, test_round_57 and test_round_61; libx265 in one process a
    # second time fails FFmpeg's muxing now and then, README: --codec)


def test_round_57_a_claim_of_another_folder_or_none_at_all_is_refused(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 57: stylize_frames(claim=claim_folder("decoy")) took the decoy's lock and left out_dir
    unclaimed (a second run wrote the same folder; the first then replaced its finished frames); claim="mine"
    raised a bare AttributeError after making the folder, which it left."""
    from stylize import Session, Settings, claims, video

    monkeypatch.chdir(tmp_path)
    Path("fr").mkdir()
    for n in (1, 2):
        pattern(32, 24, n).save(video.frame_path("fr", n))
    pattern(36, 36, 3).save("s.png")
    Path("decoy").mkdir()
    session = Session(Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False))
    for claim in (claims.claim_folder("decoy"), "mine", claims.claim_folder("out/..")):
        with pytest.raises(video.VideoError, match="claim: the claim of out"):
            video.stylize_frames(session, video.open_clip("fr"), "s.png", "out", claim=claim)
    assert not Path("out").exists() and os.listdir("decoy") == []
    claim = claims.claim_folder("out")
    result = video.stylize_frames(session, video.open_clip("fr"), "s.png", "out", claim=claim)
    assert result.finished == 2 and (Path("out") / claims.FOLDER_LOCK).exists()  # (held for the caller: make_video's)
    claim.release()
    assert not (Path("out") / claims.FOLDER_LOCK).exists()


def test_round_57_an_encoder_of_a_few_sizes_is_told_to_take_another_size(tmp_path):
    """Hostile round 57: H.263 (five frame sizes only) at 48x36 was said "not to work here; use another --codec",
    as the size probe was 640x480 alone, which it refuses too; it is told the size it takes."""
    from stylize import video

    frames = [Image.new("RGB", (48, 36), (i * 60, 100, 50)) for i in range(2)]
    with pytest.raises(video.VideoError, match=r"--codec h263: the encoder refuses frames of 48x36 px \(.*\); it takes "
                                               r"128x96: use --size 128, or another --codec"):
        video.write_clip(frames, tmp_path / "a.mov", codec="h263")
    # (round 58: --size is named only where a size of these frames' shape is taken; DV's sizes are tried too)
    for codec, name, size in (("h263", "a.mov", (48, 32)), ("dvvideo", "a.avi", (48, 36))):
        with pytest.raises(video.VideoError, match=rf"--codec {codec}: the encoder refuses frames of {size[0]}x"
                                                   rf"{size[1]} px \(.*\); it takes \d+x\d+, another shape than these "
                                                   r"frames': use another --codec$"):
            video.write_clip([f.resize(size) for f in frames], tmp_path / name, codec=codec)
    video.write_clip([f.resize((128, 96)) for f in frames], tmp_path / "a.mov", codec="h263")
    assert (tmp_path / "a.mov").stat().st_size > 0


def test_round_58_a_frames_folder_another_run_writes_is_said_first(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 58: a second `stylize video -o outf/` while a run wrote outf/ was told "pass --overwrite to
    redo such frames" (its frames checked before the folder's claim); --overwrite then said another run held it.
    The other run is said first, whatever the flags."""
    import signal

    from .test_claims import holder

    monkeypatch.chdir(tmp_path)
    Path("clip").mkdir()
    for n in (1, 2):
        pattern(32, 24, n).save(f"clip/frame_{n:05d}.png")
    pattern(36, 36, 3).save("s.png")
    Path("outf").mkdir()
    pattern(32, 24, 9).save("outf/frame_00001.png")  # (the other run's first frame, of other settings)
    before = Path("outf/frame_00001.png").read_bytes()
    other = holder(tmp_path / "outf", "folder")
    try:
        for flags in ([], ["--overwrite"]):
            r = CliRunner().invoke(cli, ["video", "clip/", "s.png", "-o", "outf/", *synthetic(synthetic_weights),
                                         *flags])
            assert r.exit_code == 1 and f"outf: another stylize run (pid {other.pid}) is writing it" in r.stderr, \
                cli_result_text(r)
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait()
    assert Path("outf/frame_00001.png").read_bytes() == before and not Path("outf/frame_00002.png").exists()


def test_round_58_the_video_api_is_its_all_and_checks_its_arguments(tmp_path, monkeypatch):
    """Hostile round 58: video.__all__ listed the temporal term's pieces (warp, sharpness, held_to, ...), which take
    tensors as a run makes them and raised bare errors for others; the API is what checks its arguments."""
    from stylize import Settings, StylizeError, video

    monkeypatch.chdir(tmp_path)
    assert not {"warp", "sharpness", "held_to", "Flow", "work_folder"} & set(video.__all__)
    for call in (lambda: video.open_clip(5), lambda: video.encode(None, "a.mp4", None),
                 lambda: video.make_video(5, "s.png", "a.mp4", Settings(size=32)),
                 lambda: video.stylize_frames("session", None, "s.png", "o"),
                 lambda: video.write_clip("frames", "a.mp4"), lambda: video.VideoOptions(passes="2")):
        with pytest.raises(StylizeError):
            call()
    assert os.listdir() == []


def test_round_59_api_frames_are_a_result_a_blend_is_checked_and_dv_ntsc_encodes(tmp_path, monkeypatch,
                                                                                  synthetic_weights):
    """Hostile round 59: make_video took a folder video.stylize_frames wrote (its frames unmarked) as its work
    folder, encoded it and removed it; stylize_frames(blend=5) raised a bare TypeError; DV at 720x480 was probed
    in 4:2:0 only (PAL's) and called "another shape"."""
    import av

    from stylize import Session, Settings, video
    from stylize.errors import SettingsError

    monkeypatch.chdir(tmp_path)
    Path("clip").mkdir()
    for n in (1, 2):
        pattern(32, 24, n).save(f"clip/frame_{n:05d}.png")
    pattern(36, 36, 3).save("s.png")
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    options = video.VideoOptions(independent=True)
    for blend in (5, Fraction(1, 10**400)):
        with pytest.raises(SettingsError, match="blend: a list of weights"):
            video.stylize_frames(Session(settings), video.open_clip("clip"), "s.png", "x", options, blend=blend)
    video.stylize_frames(Session(settings), video.open_clip("clip"), "s.png", "y.mp4.frames", options)
    with pytest.raises(video.VideoError, match="y.mp4.frames: the frames of an earlier run whose output was this "
                                               "folder"):
        video.make_video("clip", "s.png", "y.mp4", settings, options)
    assert sorted(os.listdir("y.mp4.frames")) == ["frame_00001.png", "frame_00002.png"] and not Path("y.mp4").exists()
    video.write_clip([Image.new("RGB", (720, 480), (i * 90, 0, 0)) for i in range(2)], "ntsc.avi", codec="dvvideo")
    with av.open("ntsc.avi") as clip:
        assert clip.streams.video[0].format.name == "yuv411p" and len(list(clip.decode(video=0))) == 2


def test_round_59_a_work_folder_another_run_writes_is_said_first(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 59: `-o x.mp4` while another run wrote x.mp4.frames/ (its output) said "the frames of an earlier
    run ... move it away" once that run had a frame; the run writing it is said first."""
    import signal

    from .test_claims import holder

    monkeypatch.chdir(tmp_path)
    Path("clip").mkdir()
    for n in (1, 2):
        pattern(32, 24, n).save(f"clip/frame_{n:05d}.png")
    pattern(36, 36, 3).save("s.png")
    r = CliRunner().invoke(cli, ["video", "clip", "s.png", "-o", "x.mp4.frames/", *synthetic(synthetic_weights)])
    assert r.exit_code == 0, cli_result_text(r)  # (the other run's output, which it is still writing, say)
    other = holder(tmp_path / "x.mp4.frames", "folder")
    try:
        for flags in ([], ["--overwrite"], ["--keep-frames"]):
            r = CliRunner().invoke(cli, ["video", "clip", "s.png", "-o", "x.mp4", *synthetic(synthetic_weights),
                                         *flags])
            assert r.exit_code == 1 and f"x.mp4.frames: another stylize run (pid {other.pid}) is writing it" \
                in r.stderr, cli_result_text(r)
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait()
    assert not Path("x.mp4").exists() and Path("x.mp4.frames/frame_00002.png").is_file()


def test_round_60_a_pil_style_is_fingerprinted_by_its_pixels(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 60: a PIL image as a video's style was fingerprinted by its id(): one changed in place kept the
    frames of its old pixels, and the same picture in another process was "a frame of another run"."""
    from stylize import Session, Settings, video

    monkeypatch.chdir(tmp_path)
    Path("clip").mkdir()
    for n in (1, 2):
        pattern(32, 24, n).save(f"clip/frame_{n:05d}.png")
    session = Session(Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False))
    style = pattern(36, 36, 3)
    assert video.stylize_frames(session, video.open_clip("clip"), style, "o").finished == 2
    again = video.stylize_frames(session, video.open_clip("clip"), pattern(36, 36, 3), "o")  # (another object)
    assert again.skipped == 2
    style.paste((0, 0, 255), (0, 0, 36, 36))
    with pytest.raises(video.VideoError, match="o/frame_00001.png: a frame of another run"):
        video.stylize_frames(session, video.open_clip("clip"), style, "o")


def test_round_60_the_size_hint_goes_by_the_frames_own_shape(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 60: 50x40 frames (DV PAL's 5:4) at --size 48 are 48x38, whose shape at 720 px is 720x570:
    DV was said to take "another shape" though --size 720 gives 720x576. The shape is the frames' own."""
    monkeypatch.chdir(tmp_path)
    Path("clip").mkdir()
    for n in (1, 2):
        pattern(50, 40, n).save(f"clip/frame_{n:05d}.png")
    pattern(36, 36, 3).save("s.png")
    r = CliRunner().invoke(cli, ["video", "clip", "s.png", "-o", "dv.avi", "--codec", "dvvideo",
                                 *synthetic(synthetic_weights)[:3], "--size", "48", "--iterations", "2"])
    assert r.exit_code == 1 and "dvvideo: the encoder refuses frames of 48x38 px (Invalid argument); it takes " \
        "720x576: use --size 720, or another --codec" in r.stderr, cli_result_text(r)
    assert sorted(os.listdir()) == ["clip", "s.png"]


def test_round_61_a_pil_style_is_fingerprinted_as_read_and_size_hints_hold_in_the_container(
        tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 61: a PIL style was fingerprinted by its stored bytes: a palette or EXIF turn changed in place
    resumed the old frames (and a rerun after a stop mixed two pictures). "use --size 176" for H.263 into .mkv,
    which cannot hold H.263 at any size: the size hint is given only where that size alone would do it."""
    from stylize import Session, Settings, video

    monkeypatch.chdir(tmp_path)
    Path("clip").mkdir()
    for n in (1, 2):
        pattern(32, 24, n).save(f"clip/frame_{n:05d}.png")
    session = Session(Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False))
    style = pattern(36, 36, 3).quantize(16)
    assert video.stylize_frames(session, video.open_clip("clip"), style, "o").finished == 2
    style.putpalette([255 - v for v in style.getpalette()])  # (the negative: the same bytes, another picture)
    with pytest.raises(video.VideoError, match="o/frame_00001.png: a frame of another run"):
        video.stylize_frames(session, video.open_clip("clip"), style, "o")
    frames = [Image.new("RGB", (44, 36), (i * 60, 100, 50)) for i in range(2)]
    with pytest.raises(video.VideoError, match=r"a.mkv: the .mkv container cannot hold h263 video"):
        video.write_clip(frames, "a.mkv", codec="h263")
    with pytest.raises(video.VideoError, match=r"it takes 176x144: use --size 176, or another --codec"):
        video.write_clip(frames, "a.avi", codec="h263")


def test_round_65_a_frames_folder_never_has_one_of_stylizes_own_names(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 65: `video -o .stylize.lock/` (any case) or `.stylize-tmp-v/` wrote frames at a name stylize
    keeps for its own files; a run into the folder holding it then failed. Refused as a file of that name is."""
    monkeypatch.chdir(tmp_path)
    Path("clip").mkdir()
    for n in (1, 2):
        pattern(32, 24, n).save(f"clip/frame_{n:05d}.png")
    pattern(36, 36, 3).save("s.png")
    for name in (".Stylize.lock/", ".stylize-tmp-v/", "fr/.stylize.lock/"):
        r = CliRunner().invoke(cli, ["video", "clip", "s.png", "-o", name, *synthetic(synthetic_weights)])
        assert r.exit_code == 1 and "a name stylize keeps for its own hidden files" in r.stderr, cli_result_text(r)
    assert sorted(os.listdir()) == ["clip", "s.png"]


def test_round_66_a_clip_edited_or_copied_is_opened_again(tmp_path, synthetic_weights):
    """Hostile round 66: a Clip whose count was set lower after open_clip (or a dataclasses.replace copy) was
    trusted: make_video wrote a video of 2 frames of a 3-frame clip, with no message. A Clip not as open_clip
    returned it is opened again, as one whose files changed is."""
    import dataclasses

    from stylize.settings import Settings

    (tmp_path / "fr").mkdir()
    for n in (1, 2, 3):
        pattern(32, 24, n).save(tmp_path / "fr" / f"frame_{n:05d}.png")
    pattern(36, 36, 9).save(tmp_path / "s.png")
    clip = video.open_clip(tmp_path / "fr")
    assert video.current(clip) is clip  # as opened: itself
    assert video.current(dataclasses.replace(clip, count=2)).count == 3
    assert video.current(dataclasses.replace(clip, stamp=5)).count == 3  # (a stamp of any type: opened again)
    clip.count = 2
    result = video.make_video(clip, tmp_path / "s.png", tmp_path / "v.mp4",
                              Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False),
                              video.VideoOptions(independent=True))
    assert result.frames == 3 and video.open_clip(tmp_path / "v.mp4").count == 3


def test_round_67_encode_takes_frames_only_with_the_clip_they_were_made_from(tmp_path, synthetic_weights):
    """Hostile round 67: video.encode took another Clip of as many frames as the frames' source: the video had that
    clip's rate, time stamps (and audio), though every frame records its own source. A VideoOptions subclass is
    refused as a Settings subclass is."""
    from stylize.settings import Settings

    for name, seed in (("a", 1), ("b", 5)):
        (tmp_path / name).mkdir()
        for n in (1, 2):
            pattern(32, 24, seed + n).save(tmp_path / name / f"frame_{n:05d}.png")
    pattern(36, 36, 9).save(tmp_path / "s.png")
    session = Session(Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False))
    clip_a, clip_b = video.open_clip(tmp_path / "a"), video.open_clip(tmp_path / "b")
    video.stylize_frames(session, clip_a, tmp_path / "s.png", tmp_path / "fa", video.VideoOptions(independent=True))
    with pytest.raises(video.VideoError, match=r"frame_00001.png: made from another clip than .*b \(from .*a\); "
                                               r"encode the frames with the Clip they were made from"):
        video.encode(tmp_path / "fa", tmp_path / "x.mp4", clip_b)
    assert not (tmp_path / "x.mp4").exists()
    assert video.open_clip(video.encode(tmp_path / "fa", tmp_path / "x.mp4", clip_a)).count == 2

    class Options(video.VideoOptions):
        pass

    with pytest.raises(video.VideoError, match="options: a video.VideoOptions, not Options"):
        video.make_video(clip_a, tmp_path / "s.png", tmp_path / "y.mp4", Settings(size=32), Options())


def test_round_68_make_videos_callbacks_run_in_its_folder_and_a_run_they_start_is_their_own(tmp_path, monkeypatch,
                                                                                          synthetic_weights):
    """Hostile round 68: make_video's on_ready (and should_stop while encoding, and encode's) changing folder was
    not undone: the frames went to the other folder, then "v.mp4: already exists" named a file of the user's there;
    "frame_00001.png: no such file" after every frame was made, and the folder's claim, released by a name that
    now led elsewhere, was held until the process ended (every later call: "another stylize run (pid <own>)"). A
    write_clip from on_ready into the video's output was taken as the video's own run. A claim the caller passes
    to stylize_frames twice is its own."""
    from stylize import Session, claims
    from stylize.settings import Settings

    monkeypatch.chdir(tmp_path)
    Path("fr").mkdir()
    Path("elsewhere").mkdir()
    for n in (1, 2):
        pattern(32, 24, n).save(f"fr/frame_{n:05d}.png")
    pattern(36, 36, 9).save("s.png")
    Path("elsewhere/v.mp4").write_bytes(b"mine")
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    options = video.VideoOptions(independent=True)

    def away(*_):
        os.chdir(tmp_path / "elsewhere")
        return False

    result = video.make_video("fr", "s.png", "v.mp4", settings, options, on_ready=away, should_stop=away)
    assert result.encoded and os.getcwd() == str(tmp_path) and Path("elsewhere/v.mp4").read_bytes() == b"mine"
    assert video.make_video("fr", "s.png", "v.mp4", settings, options, overwrite=True).encoded  # nothing left held
    assert sorted(os.listdir()) == ["elsewhere", "fr", "s.png", "v.mp4"]
    assert video.encode("fr", "e.mp4", video.open_clip("fr"), should_stop=away) == Path("e.mp4")
    assert os.getcwd() == str(tmp_path) and not [n for n in os.listdir() if n.startswith(".stylize")]

    def inner(plan):
        video.write_clip([Image.new("RGB", (64, 48))] * 2, "w.mp4")

    with pytest.raises(claims.ClaimError, match="w.mp4: another stylize run"):
        video.make_video("fr", "s.png", "w.mp4", settings, options, on_ready=inner)
    assert not Path("w.mp4").exists() and not Path("w.mp4.frames").exists()
    session, clip, claim = Session(settings), video.open_clip("fr"), claims.claim_folder("cf")
    for overwrite in (False, True):
        assert not video.stylize_frames(session, clip, "s.png", "cf", options, claim=claim, overwrite=overwrite).stopped
    claim.release()
    assert sorted(os.listdir("cf")) == ["frame_00001.png", "frame_00002.png"]


def test_round_68_a_multi_pass_resume_says_the_frame_passes_it_kept(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 68: a --passes 3 video stopped at 6 of 12 frame passes, then resumed, said "0 finished before"
    (frames done in every pass: none), though it had kept six frame passes: said as the stop counted them."""
    from stylize.settings import Settings

    monkeypatch.chdir(tmp_path)
    Path("fr").mkdir()
    for n in (1, 2):
        pattern(32, 24, n).save(f"fr/frame_{n:05d}.png")
    pattern(36, 36, 9).save("s.png")
    settings = Settings(size=32, weights=str(synthetic_weights), normalize=False)
    options = video.VideoOptions(passes=2, pass_iterations=2)
    made = []
    stopped = video.make_video("fr", "s.png", "v.mp4", settings, options, on_frame=made.append,
                               should_stop=lambda: len(made) >= 3)
    assert stopped.stopped and stopped.frame_passes == 3 and stopped.passes_before == 0
    resumed = video.make_video("fr", "s.png", "v.mp4", settings, options)
    assert resumed.encoded and resumed.passes_before == 3 and resumed.before == "3 of 4 frame passes"


def small_clip(frames: int = 2, folder: str = "fr", style: str | None = "s.png") -> None:
    """In the working folder: `folder`/frame_00001.png ... (32x24 patterns) and a 36x36 style image."""
    Path(folder).mkdir()
    for n in range(1, frames + 1):
        pattern(32, 24, n).save(f"{folder}/frame_{n:05d}.png")
    if style:
        pattern(36, 36, 9).save(style)


def test_round_75_encode_takes_each_frame_as_it_was_checked(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 75: a frame replaced while encode encoded the earlier ones (a plain red picture of the user's,
    put at a checked frame's name) went into the video; a frames folder that is missing or a file was "missing; the
    frames are not all finished"."""
    from stylize.errors import ImageError
    from stylize.settings import Settings

    monkeypatch.chdir(tmp_path)
    small_clip(3)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    assert not video.make_video("fr", "s.png", "made/", settings, video.VideoOptions(independent=True)).stopped
    asked = []

    def replace_the_third(*_):
        asked.append(1)
        if len(asked) == 2:
            Image.new("RGB", (32, 24), "red").save("made/frame_00003.png")
        return False

    with pytest.raises(ImageError, match="frame_00003.png: replaced during this run"):
        video.encode("made", "v.mp4", video.open_clip("fr"), should_stop=replace_the_third)
    assert sorted(os.listdir()) == ["fr", "made", "s.png"]
    for name, why in (("nope", "nope: no such frames folder"), ("s.png", "s.png: is a file, not a frames folder")):
        with pytest.raises(video.VideoError, match=why):
            video.encode(name, "v.mp4", video.open_clip("fr"))


def test_round_75_a_pil_style_changed_in_place_mid_video_is_named_replaced(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 75: a PIL style painted in place after the first frame was refused as a SettingsError about
    `memory_of` (the first frame's plan, passed inside the video, seen changed before the style itself)."""
    from stylize.errors import ImageError
    from stylize.settings import Settings

    monkeypatch.chdir(tmp_path)
    small_clip(style=None)
    style = pattern(36, 36, 9)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)

    def paint(_):
        style.paste((255, 0, 0), (0, 0, 36, 36))

    with pytest.raises(ImageError, match="<image>: replaced during this run"):
        video.make_video("fr", style, "made/", settings, on_frame=paint)
    assert os.listdir("made") == ["frame_00001.png"]


def test_round_77_a_rate_at_the_least_stated_is_taken_in_any_numeric_type(tmp_path, monkeypatch):
    """Hostile round 77: fps=Fraction(1, 100) or Decimal('0.01') was refused as "give a number from 0.01 to 1000"
    (compared exactly with the float 0.01, a little more than 1/100); the command line's --fps 0.01 runs. A range is
    checked on the float the value is used as; just below it is still refused."""
    from decimal import Decimal

    monkeypatch.chdir(tmp_path)
    frames = [pattern(32, 24, n) for n in (1, 2)]
    for fps in (0.01, Fraction(1, 100), Decimal("0.010"), Fraction(1000)):
        assert video.check_fps(fps) == float(fps)
        assert video.write_clip(frames, "v.mp4", fps=fps, overwrite=True) == Path("v.mp4")
    for fps in (Fraction(99, 10000), Decimal("1000.0001")):
        with pytest.raises(video.VideoError, match="give a number from 0.01 to 1000"):
            video.check_fps(fps)
    assert video.VideoOptions(temporal_weight=Fraction(1, 10**12)).temporal_weight == 1e-12  # (taken as a float)


def test_round_79_a_run_make_videos_on_ready_starts_in_its_folder_is_refused(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 79: make_video claimed its frames folder only after on_ready: a stylize_frames started there
    wrote the folder, then the outer run refused its frames after that work ("pass --overwrite", which would throw
    them away), or, with the same settings, encoded them as its own and removed the folder. The folder is held from
    before on_ready: the inner run is refused naming the pid, and nothing is left."""
    from stylize import Session, claims
    from stylize.settings import Settings

    monkeypatch.chdir(tmp_path)
    small_clip()
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    options = video.VideoOptions(independent=True)
    for output, folder in (("out/", "out"), ("v.mp4", "v.mp4.frames")):
        def inner(plan, folder=folder):
            video.stylize_frames(Session(settings), video.open_clip("fr"), "s.png", folder, options, overwrite=True)

        with pytest.raises(claims.ClaimError, match=f"{folder}: another stylize run \\(pid {os.getpid()}\\)"):
            video.make_video("fr", "s.png", output, settings, options, on_ready=inner)
        assert sorted(os.listdir()) == ["fr", "s.png"]


def test_round_79_encoding_stops_when_the_script_ends(tmp_path, monkeypatch):
    """Hostile round 79: write_clip in a daemon thread when the script ended left its temporary .mp4 for good (the
    thread was killed mid-encoding). Encoding, as a run does, stops when the interpreter exits (and the exit waits
    for it): nothing written, no temporary file, no claim."""
    from stylize import synthesis

    monkeypatch.chdir(tmp_path)
    frames = [pattern(32, 24, n) for n in range(1, 5)]
    Path("fr").mkdir()
    for n, im in enumerate(frames, 1):
        im.save(f"fr/frame_{n:05d}.png")
    real, calls = video.even_sided, []

    def exiting_at_the_second(im, *sides):  # (the interpreter begins its exit after the first frame)
        calls.append(1)
        if len(calls) == 2:
            synthesis.EXITING.set()
        return real(im, *sides)

    monkeypatch.setattr(video, "even_sided", exiting_at_the_second)
    try:
        with pytest.raises(video.VideoError, match="c.mp4: stopped as the script ended; nothing was written"):
            video.write_clip(frames, "c.mp4")
        calls.clear()
        with pytest.raises(video.EncodingStopped):
            video.encode("fr", "e.mp4", video.open_clip("fr"))
    finally:
        synthesis.EXITING.clear()
    assert sorted(os.listdir()) == ["fr"]


def test_round_84_a_folder_at_a_video_name_is_refused_as_one(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 84: `-o d.mp4` where d.mp4 was an existing (empty) folder wrote the frames into it and said
    "Wrote d.mp4" with no video made; with --codec or --fps the error blamed the option ("it needs -o a video
    file"), which the user had given. A folder at a video's name is refused as one (exit 2); `d.mp4/` makes the
    frames in it."""
    from stylize.settings import Settings

    monkeypatch.chdir(tmp_path)
    small_clip()
    Path("d.mp4").mkdir()
    why = "d.mp4: is a folder, not a video file; write d.mp4/ to make the frames in it, or choose another name"
    for extra in ([], ["--codec", "libx264"], ["--fps", "10"]):
        r = run("video", "fr", "s.png", "-o", "d.mp4", *synthetic(synthetic_weights), *extra)
        assert r.exit_code == 2 and why in r.stderr, cli_result_text(r)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    with pytest.raises(video.VideoError, match=re.escape(why)):
        video.make_video("fr", "s.png", "d.mp4", settings, video.VideoOptions(independent=True))
    assert os.listdir("d.mp4") == []
    assert not video.make_video("fr", "s.png", "d.mp4/", settings, video.VideoOptions(independent=True)).stopped
    assert sorted(os.listdir("d.mp4")) == ["frame_00001.png", "frame_00002.png"]


def test_round_85_a_clip_a_few_pixels_high_warps_without_nan(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 85: frames of 300x12 at --size 200 (200x8) made frame 1, then failed on frame 2 with "start: a
    float tensor ... values in [0, 1]" (the flow at the edge of so thin a frame is NaN: the warped start too), every
    rerun the same. Nothing reliable there, the start in [0, 1]: every frame is made."""
    monkeypatch.chdir(tmp_path)
    Path("fw").mkdir()
    for n in (1, 2):
        Image.new("RGB", (300, 12), (90 * n, 20, 30)).save(f"fw/frame_{n:05d}.png")
    pattern(36, 36, 9).save("s.png")
    r = run("video", "fw", "s.png", "-o", "vw/", *synthetic(synthetic_weights), "--size", "200", "--style-layers",
            "conv1_1,conv2_1", "--content-layer", "conv1_1")
    assert r.exit_code == 0, cli_result_text(r)
    assert sorted(os.listdir("vw")) == ["frame_00001.png", "frame_00002.png"]


def test_round_91_encode_and_write_clip_name_only_what_helps(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 91: encode to a name without a container's extension was told "for a folder of frames give
    a name without an extension", which it had (encode never writes frames); encode and write_clip took
    codec="" as the container's default, which the command line's --codec refuses."""
    from stylize.settings import Settings

    monkeypatch.chdir(tmp_path)
    small_clip()
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    video.make_video("fr", "s.png", "out/", settings, video.VideoOptions(independent=True))
    clip = video.open_clip("fr")
    for name in ("e4", "e4.png"):
        with pytest.raises(video.VideoError) as e:
            video.encode("out", name, clip)
        assert str(e.value) == f"{name}: not a video name ({', '.join(video.CONTAINERS)})"
    with pytest.raises(video.VideoError, match=r"^e4\.png: not a video name .*; for a folder of frames give a name"):
        video.make_video("fr", "s.png", "e4.png", settings, video.VideoOptions(independent=True))
    for codec in ("", " "):
        with pytest.raises(video.VideoError, match=r"^codec: an encoder's name \(or None for the container's own\)"):
            video.encode("out", "e.mp4", clip, codec=codec)
        with pytest.raises(video.VideoError, match=r"^codec: an encoder's name"):
            video.write_clip([pattern(32, 24, 1)] * 2, "w.mp4", codec=codec)
    assert sorted(os.listdir()) == ["fr", "out", "s.png"]
    os.symlink("/dev/null", "dn")  # (a device was "is a file")
    os.symlink("/dev/null", "v.mp4.frames")
    for output, folder in (("dn", "dn"), ("v.mp4", "v.mp4.frames")):
        r = run("video", "fr", "s.png", "-o", output, *synthetic(synthetic_weights))
        assert r.exit_code == 1 and r.stderr == f"Error: {folder}: is a link to a device, not a frames folder\n", \
            cli_result_text(r)


def test_round_94_a_damaged_frame_is_told_as_damaged_and_never_encoded(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 94: a frame stylize made, emptied or cut short since, was "not a frame stylize made"; one
    whose PNG checksum fails (Pillow decodes it) was kept by a resume and encoded. Told as what it is, kept,
    never taken."""
    from stylize.settings import Settings

    from .test_images import damaged_crc

    monkeypatch.chdir(tmp_path)
    small_clip(3)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    video.make_video("fr", "s.png", "out/", settings, video.VideoOptions(independent=True))
    Path("out/frame_00002.png").write_bytes(b"")
    r = run("video", "fr", "s.png", "-o", "out/", *synthetic(synthetic_weights), "--independent")
    assert r.exit_code == 1 and r.stderr == ("Error: out/frame_00002.png: the file is empty; it is kept: move it "
                                             "away (a rerun then makes that frame) or choose another output\n"), \
        cli_result_text(r)
    os.remove("out/frame_00002.png")
    video.make_video("fr", "s.png", "out/", settings, video.VideoOptions(independent=True))
    damaged_crc("out/frame_00003.png")
    with pytest.raises(video.VideoError, match=r"^out/frame_00003\.png: the image is damaged \(.*\); its checksums "
                                               r"fail; it is kept"):
        video.make_video("fr", "s.png", "out/", settings, video.VideoOptions(independent=True))
    with pytest.raises(video.VideoError, match=r"^out/frame_00003\.png: the image is damaged .*; make that frame "
                                               r"again"):
        video.encode("out", "v.mp4", video.open_clip("fr"))
    assert not os.path.exists("v.mp4")


def test_round_95_a_frame_changed_since_is_never_kept_nor_encoded(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 95: a finished frame resized since (its metadata copied along) was kept by a resume with
    every frame finished ("3 finished before"), and one saved as a JPEG under its .png name was kept, used as the
    previous frame and encoded. What its metadata records (format, size) is what a kept frame must be."""
    from PIL import PngImagePlugin

    monkeypatch.chdir(tmp_path)
    small_clip(3)
    assert run("video", "fr", "s.png", "-o", "out/", *synthetic(synthetic_weights), "--independent").exit_code == 0
    frame = Image.open("out/frame_00002.png")
    frame.load()
    info = PngImagePlugin.PngInfo()
    info.add_text("stylize", frame.info["stylize"])
    for change, told in ((lambda: frame.resize((16, 12)).save("out/frame_00002.png", pnginfo=info),
                          "a PNG picture of 16x12 px where its metadata records the PNG of 32x24 px in colour"),
                         (lambda: frame.convert("RGB").save("out/frame_00002.png", "JPEG",
                                                            comment=frame.info["stylize"].encode()),
                          "a JPEG picture of 32x24 px where its metadata records the PNG of 32x24 px in colour"),
                         (lambda: frame.convert("RGBA").save("out/frame_00002.png", pnginfo=info),  # (round 96)
                          "a PNG picture of 32x24 px in mode RGBA where its metadata records the PNG of 32x24 px in "
                          "mode RGB")):
        change()
        r = run("video", "fr", "s.png", "-o", "out/", *synthetic(synthetic_weights), "--independent")
        assert r.exit_code == 1 and r.stderr == (f"Error: out/frame_00002.png: {told} stylize wrote (changed since); "
                                                 f"it is kept: move it away (a rerun then makes that frame) or "
                                                 f"choose another output\n"), cli_result_text(r)
        with pytest.raises(video.VideoError, match=re.escape(f"out/frame_00002.png: {told}")):
            video.encode("out", "v.mp4", video.open_clip("fr"))
    assert not os.path.exists("v.mp4")


def test_round_100_a_frame_given_colour_code_points_is_never_kept_nor_encoded(tmp_path, monkeypatch,
                                                                              synthetic_weights):
    """Hostile round 100: a frame given a PNG cICP chunk since (other colours in a viewer; Pillow does not read it)
    was kept by a resume and encoded by video.encode."""
    from .test_structures import chunk

    monkeypatch.chdir(tmp_path)
    small_clip(3)
    assert run("video", "fr", "s.png", "-o", "out/", *synthetic(synthetic_weights), "--independent").exit_code == 0
    png = Path("out/frame_00002.png").read_bytes()
    at = png.index(b"IDAT") - 4
    Path("out/frame_00002.png").write_bytes(png[:at] + chunk(b"cICP", bytes([9, 16, 0, 1])) + png[at:])
    told = ("out/frame_00002.png: a PNG picture of 32x24 px, with colour code points (a PNG cICP chunk) where its "
            "metadata records the PNG of 32x24 px in colour stylize wrote (changed since)")
    r = run("video", "fr", "s.png", "-o", "out/", *synthetic(synthetic_weights), "--independent")
    assert r.exit_code == 1 and r.stderr.startswith(f"Error: {told}; it is kept"), cli_result_text(r)
    with pytest.raises(video.VideoError, match=re.escape(told)):
        video.encode("out", "v.mp4", video.open_clip("fr"))
    assert not os.path.exists("v.mp4")


def test_round_103_the_readmes_rule_for_a_frames_folders_name(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 103: the README said any name without a video's extension was a folder of frames; `clip.v1`
    and `an.gif` are refused. The rule as stated now: no extension, a trailing /, or an existing folder."""
    monkeypatch.chdir(tmp_path)
    small_clip(2)
    os.mkdir("exist.v2")
    for name, folder in (("clip.v1", None), ("an.gif", None), ("clip.v1/", "clip.v1"), ("exist.v2", "exist.v2"),
                         ("plain", "plain")):
        r = run("video", "fr", "s.png", "-o", name, *synthetic(synthetic_weights), "--independent")
        if folder is None:
            assert r.exit_code == 1 and "not a video name" in r.stderr and not os.path.exists(name), cli_result_text(r)
        else:
            assert r.exit_code == 0 and sorted(os.listdir(folder)) == ["frame_00001.png", "frame_00002.png"], \
                cli_result_text(r)


def test_round_108_pass_blend_has_the_command_lines_range():
    """Hostile round 108: VideoOptions(passes=2, pass_blend=1e-300) was taken, though --pass-blend refuses it."""
    for blend in (1e-300, 1e-13, Fraction(1, 10**400)):
        with pytest.raises(video.VideoError, match="--pass-blend .*: give 0 or a number from 1e-12 to 1"):
            video.VideoOptions(passes=2, pass_blend=blend)
    assert video.VideoOptions(passes=2, pass_blend=1e-12).pass_blend == 1e-12


def test_round_109_a_frame_records_only_the_temporal_options_it_read(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 109: in a multi-pass video, a frame whose start was its own last result (no neighbour blended
    in, no temporal term: the first frame's last pass, a one-frame clip) recorded flow, warp, temporal weight and
    pass blend; a single pass's first frame did not. Each frame records what it read."""
    import json

    monkeypatch.chdir(tmp_path)
    small_clip(3)
    tiny = ["--weights", str(synthetic_weights), "--no-normalize", "--size", "32", "--quiet"]
    temporal = {"flow", "warp", "temporal_weight", "pass_blend", "long_term", "frame_iterations"}
    for args, frame, read in ((["--passes", "3", "--pass-iterations", "1"], 1, set()),
                              (["--passes", "3", "--pass-iterations", "1"], 3,
                               {"flow", "warp", "temporal_weight", "pass_blend"}),
                              (["--iterations", "2", "--temporal-weight", "0"], 2,
                               {"flow", "warp", "frame_iterations"}),  # (round 110: its iterations, term or none)
                              (["--iterations", "2"], 1, set())):
        r = run("video", "fr", "s.png", "-o", "out/", *tiny, "--overwrite", *args)
        assert r.exit_code == 0, cli_result_text(r)
        info = json.loads(Image.open(f"out/frame_{frame:05d}.png").info["stylize"])["video"]
        assert temporal & info.keys() == read, (args, frame, info)


def test_round_110_frame_iterations_and_temporal_from_pass_are_recorded_as_read(tmp_path, monkeypatch,
                                                                                synthetic_weights):
    """Hostile round 110: round 109 dropped --frame-iterations from a later frame made without a temporal term
    (it sets that frame's iterations whatever the term), kept --iterations there (unread with --frame-iterations)
    and "earlier" frames no term held it to, and kept --temporal-from-pass on a frame with no temporal term."""
    import json

    monkeypatch.chdir(tmp_path)
    small_clip(2)
    tiny = ["--weights", str(synthetic_weights), "--no-normalize", "--size", "32", "--quiet"]
    r = run("video", "fr", "s.png", "-o", "out/", *tiny, "--iterations", "4", "--temporal-weight", "0",
            "--frame-iterations", "2")
    assert r.exit_code == 0, cli_result_text(r)
    meta = json.loads(Image.open("out/frame_00002.png").info["stylize"])
    assert meta["video"]["frame_iterations"] == 2 and "iterations" not in meta["settings"], meta
    assert meta["video"]["earlier"] == [] and meta["iterations"] <= 2
    first = json.loads(Image.open("out/frame_00001.png").info["stylize"])
    assert "frame_iterations" not in first["video"] and first["settings"]["iterations"] == 4
    r = run("video", "fr", "s.png", "-o", "multi/", *tiny, "--passes", "3", "--pass-iterations", "1",
            "--temporal-from-pass", "2")
    assert r.exit_code == 0, cli_result_text(r)
    for frame in (1, 2):  # (the last pass runs forward: frame 1 has no neighbour, frame 2 is held to frame 1)
        info = json.loads(Image.open(f"multi/frame_{frame:05d}.png").info["stylize"])["video"]
        assert ("temporal_from_pass" in info) == ("temporal_weight" in info) == (frame == 2), info


def test_round_110_a_frame_resumes_whatever_the_options_it_never_read(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 110: a video's resume fingerprint covered every video option, read or not: a one-frame clip run
    again with another --temporal-weight refused its finished frame as "of another run", and --frame-iterations
    added to a clip refused its first frame too. Each frame's mark covers what it read (and, in one pass, the mark
    of the frame it starts from): the first frame is kept, the later ones redone with --overwrite, and the video
    made of them is one run's."""
    import json

    monkeypatch.chdir(tmp_path)
    small_clip(1, folder="one")
    small_clip(3, style=None)
    tiny = ["--weights", str(synthetic_weights), "--no-normalize", "--size", "32", "--quiet", "--iterations", "4"]
    assert run("video", "one", "s.png", "-o", "o1/", *tiny).exit_code == 0
    before, stamp = Path("o1/frame_00001.png").read_bytes(), Path("o1/frame_00001.png").stat().st_mtime_ns
    for again in (["--temporal-weight", "50", "--long-term", "1,2"], ["--frame-iterations", "3"]):
        r = run("video", "one", "s.png", "-o", "o1/", *tiny, *again)  # (nothing here reads them)
        assert r.exit_code == 0, cli_result_text(r)
        assert Path("o1/frame_00001.png").read_bytes() == before  # (kept, not made again)
        assert Path("o1/frame_00001.png").stat().st_mtime_ns == stamp
    assert run("video", "fr", "s.png", "-o", "o3/", *tiny).exit_code == 0
    work = Path("o3")
    kept = work / "frame_00001.png"
    stamp = kept.stat().st_mtime_ns
    r = run("video", "fr", "s.png", "-o", "o3/", *tiny, "--frame-iterations", "3")
    assert r.exit_code == 1 and "frame_00002.png: a frame of another run" in cli_result_text(r), cli_result_text(r)
    r = run("video", "fr", "s.png", "-o", "o3/", *tiny, "--frame-iterations", "3", "--overwrite")
    assert r.exit_code == 0, cli_result_text(r)
    assert kept.stat().st_mtime_ns == stamp  # (frame 1 read no --frame-iterations: kept, not made again)
    metas = [json.loads(Image.open(work / f"frame_{n:05d}.png").info["stylize"])["video"] for n in (1, 2, 3)]
    assert [m.get("follows") for m in metas] == [None, metas[0]["fingerprint"], metas[1]["fingerprint"]]
    assert metas[1]["frame_iterations"] == 3 and len({m["fingerprint"] for m in metas}) == 3
    video.encode(work, tmp_path / "o3.mp4", video.open_clip("fr"), "libx264")  # (one run's frames)
    assert video.open_clip("o3.mp4").count == 3


def test_round_110_a_frame_made_from_another_runs_frame_is_not_resumed_nor_encoded(tmp_path, monkeypatch,
                                                                                  synthetic_weights):
    """Round 110's marks: a later frame of one pass depends on the frame before it, so one read no --iterations
    (set by --frame-iterations) is still of another run when the first frame's --iterations changed; and encode
    refuses a frame made from another run's frame before it."""
    from stylize.settings import Settings

    monkeypatch.chdir(tmp_path)
    small_clip(3)
    clip = video.open_clip("fr")
    session = SimpleNamespace(settings=Settings(iterations=4))
    options = video.VideoOptions(frame_iterations=2)
    marks = video.frame_marks(session, clip, ["s.png"], None, options)
    other = video.frame_marks(SimpleNamespace(settings=Settings(iterations=6)), clip, ["s.png"], None, options)
    assert len(set(marks)) == 3 and all(a != b for a, b in zip(marks, other))
    alone = video.frame_marks(session, clip, ["s.png"], None, video.VideoOptions(independent=True))
    assert len(set(alone)) == 1  # (frames made alone: one mark, none depends on another)
    tiny = ["--weights", str(synthetic_weights), "--no-normalize", "--size", "32", "--quiet", "--iterations", "4",
            "--frame-iterations", "2"]
    for name, iterations in (("a", "4"), ("b", "6")):
        assert run("video", "fr", "s.png", "-o", f"{name}/", *tiny, "--iterations", iterations).exit_code == 0
    shutil.copy("b/frame_00002.png", "a/frame_00002.png")  # frame 2 of another first frame's run
    r = run("video", "fr", "s.png", "-o", "a/", *tiny)
    assert r.exit_code == 1 and "a/frame_00002.png: a frame of another run" in cli_result_text(r), cli_result_text(r)
    with pytest.raises(video.VideoError, match=r"frame_00002.png: a frame of another run than frame_00001.png"):
        video.encode("a", tmp_path / "mixed.mp4", clip, "libx264")
    assert not Path("mixed.mp4").exists()


def test_round_111_encode_refuses_a_frame_moved_to_another_frames_place(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 111: frames made alone (--independent) or by several passes share one mark, and encode compared
    only marks: frame 1 copied over frame 2, or frames 2 and 3 swapped, went into the video, which a resume refused
    as "of another frame". encode checks each frame's recorded number against its place."""
    monkeypatch.chdir(tmp_path)
    small_clip(3)
    clip = video.open_clip("fr")
    tiny = ["--weights", str(synthetic_weights), "--no-normalize", "--size", "32", "--quiet", "--iterations", "2"]
    for name, args in (("alone", ["--independent"]), ("passes", ["--passes", "2", "--pass-iterations", "1"])):
        r = run("video", "fr", "s.png", "-o", f"{name}/", *tiny[:-2], *tiny[-2:] * (name == "alone"), *args)
        assert r.exit_code == 0, cli_result_text(r)
        video.encode(name, f"{name}_ok.mp4", clip, "libx264")  # (as made: one run's frames, each in its place)
    shutil.copy("alone/frame_00001.png", "alone/frame_00002.png")
    os.rename("passes/frame_00002.png", "passes/t.png")
    os.rename("passes/frame_00003.png", "passes/frame_00002.png")
    os.rename("passes/t.png", "passes/frame_00003.png")
    for name, made_as in (("alone", 1), ("passes", 3)):
        with pytest.raises(video.VideoError, match=rf"{name}/frame_00002.png: made as frame {made_as} of the clip, "
                                                   r"not frame 2 \(copied or renamed since\)"):
            video.encode(name, f"{name}.mp4", clip, "libx264")
        assert not Path(f"{name}.mp4").exists()


def test_round_111_a_first_frame_is_kept_whether_the_frames_are_made_alone_or_not(tmp_path, monkeypatch,
                                                                                 synthetic_weights):
    """Hostile round 111: a first frame's mark covered --independent, which it never reads (it is made alone from
    --init either way): a rerun with or without --independent refused a frame of the same pixels as "of another run".
    A frame made alone in one pass records no video option; later frames are still refused (another run)."""
    import json

    monkeypatch.chdir(tmp_path)
    small_clip(1, folder="one")
    small_clip(3, style=None)
    tiny = ["--weights", str(synthetic_weights), "--no-normalize", "--size", "32", "--quiet", "--iterations", "3"]
    assert run("video", "one", "s.png", "-o", "o1/", *tiny).exit_code == 0
    assert run("video", "fr", "s.png", "-o", "o3/", *tiny).exit_code == 0
    stamp = Path("o1/frame_00001.png").stat().st_mtime_ns
    r = run("video", "one", "s.png", "-o", "o1/", *tiny, "--independent")
    assert r.exit_code == 0 and Path("o1/frame_00001.png").stat().st_mtime_ns == stamp, cli_result_text(r)
    first = json.loads(Image.open("o3/frame_00001.png").info["stylize"])["video"]
    assert "independent" not in first and first["passes"] == 1 and first["start"] == "init", first
    stamp = Path("o3/frame_00001.png").stat().st_mtime_ns
    r = run("video", "fr", "s.png", "-o", "o3/", *tiny, "--independent")
    assert r.exit_code == 1 and "o3/frame_00002.png: a frame of another run" in cli_result_text(r), cli_result_text(r)
    r = run("video", "fr", "s.png", "-o", "o3/", *tiny, "--independent", "--overwrite")
    assert r.exit_code == 0 and Path("o3/frame_00001.png").stat().st_mtime_ns == stamp, cli_result_text(r)
    video.encode("o3", "o3.mp4", video.open_clip("fr"), "libx264")  # (frames made alone: one run's)


def test_round_118_a_link_to_nothing_as_the_source_is_told_as_one(tmp_path, monkeypatch):
    """Hostile round 118: a link to nothing as a video's source was "no such file or folder" (Click's "does not
    exist" on the command line), where every other input names it as what it is."""
    monkeypatch.chdir(tmp_path)
    pattern(36, 36, 9).save("s.png")
    os.symlink("nowhere", "dang")
    with pytest.raises(video.VideoError, match="^dang: a link to nothing$"):
        video.open_clip("dang")
    r = run("video", "dang", "s.png", "-o", "v.mp4")
    assert r.exit_code == 2 and "Path 'dang' is a link to nothing." in cli_result_text(r), cli_result_text(r)
    with pytest.raises(video.VideoError, match="^nope: no such file or folder$"):
        video.open_clip("nope")
