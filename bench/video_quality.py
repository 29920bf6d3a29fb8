"""Per-frame quality of `stylize video` against independent frames: style loss, sharpness, warping error.

    python bench/make_clip.py -o /tmp/clip.mp4
    python bench/video_quality.py /tmp/clip.mp4 --size 96 --iterations 100 --work /tmp/vq --json /tmp/vq.json

Three numbers per frame k, for the `stylize video` run and for every frame stylized alone (--independent,
the same settings and seed):
- style loss: L_style of frame k against the artwork, from the objective of frame k's own transfer job
  (Session.objective: the unweighted Gram loss over the style layers);
- sharpness: video.sharpness, the mean gradient magnitude of the luminance in 8-bit levels;
- warping error: video.temporal_error of frame k-1 warped onto frame k by the DIS flow of the source frames,
  on the pixels where that flow is reliable (the flicker).
The goals (issue 21), checked for every frame k: style loss <= 1.5 x min(frame 1's, independent frame k's);
sharpness >= 0.8 x frame 1's; warping error <= 1/5 of the independent frames' at the same pair.

Both runs are what these commands write (reruns resume; --made DIR measures frames made elsewhere, e.g. by
an older stylize, instead of making the `stylize video` run):
    stylize video CLIP starry_night.jpg -o WORK/independent --independent --size S --iterations N
    stylize video CLIP starry_night.jpg -o WORK/video --size S --iterations N [the video options given here]
--independent-frames 1,2,12,13 makes only those independent frames (the pairs among them are compared).
--curves PNG draws the three ratios against the frame index (--compare FILE=LABEL adds a run kept by --json);
--json FILE keeps the numbers; --examples DIR writes strip.png (frames 1, middle and last: the independent
frame above, `stylize video` below) and clip_starry.mp4 there (refused if they exist, unless --overwrite).
"""

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from stylize import Session, images, video  # noqa: E402

STYLE_BAR, SHARPNESS_BAR, FLICKER_BAR = 1.5, 0.8, 5.0


def frame_list(text: str) -> list[int]:
    return sorted({int(v) for v in text.split(",") if v.strip()})


def source_subset(clip, numbers: list[int], folder: Path):
    """A frames folder holding the clip's frames `numbers` (renumbered 1, 2, ...) to stylize alone."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(clip.frames(), 1):
        if k in numbers:
            target = video.frame_path(folder, numbers.index(k) + 1)
            if not target.exists():
                frame.save(target)
    return video.open_clip(folder)


@torch.no_grad()
def measure(session, style, sources, frames: dict, flow) -> dict:
    """{frame k: {"style", "sharpness", "error" (against frame k-1, when both are in `frames`)}}."""
    out = {}
    for k, im in sorted(frames.items()):
        sized = images.fit(sources[k - 1], im.width)
        _, parts = session.objective(session.transfer_job(sized, style))(images.to_tensor(im).to(session.device))
        row = {"style": float(parts["style"]), "sharpness": video.sharpness(im)}
        if k - 1 in frames:
            before = images.fit(sources[k - 2], im.width)
            row["error"], _ = video.temporal_error(images.to_tensor(frames[k - 1]), images.to_tensor(im),
                                                   flow(before, sized), flow(sized, before))
        out[k] = row
        session.forget_image(sized)
    return out


@torch.no_grad()
def long_range(frames: dict, sources, gap: int, flow) -> float:
    """Mean warping error between frames k - gap and k over the clip (what long-term consistency is for)."""
    errors = []
    for k in sorted(frames):
        if k - gap in frames:
            here, there = (images.fit(sources[j - 1], frames[k].width) for j in (k, k - gap))
            e, _ = video.temporal_error(images.to_tensor(frames[k - gap]), images.to_tensor(frames[k]),
                                        flow(there, here), flow(here, there))
            errors.append(e)
    return sum(errors) / len(errors) if errors else math.nan


def verdict(made: dict, alone: dict) -> dict:
    """Per frame: the three ratios to their bars' references, and whether each goal holds."""
    first = made[1]
    rows = {}
    for k, row in made.items():
        reference = min(first["style"], alone[k]["style"]) if k in alone else first["style"]
        r = {"style_ratio": row["style"] / reference, "sharpness_ratio": row["sharpness"] / first["sharpness"]}
        if "error" in row and k in alone and "error" in alone[k]:
            r["error_ratio"] = row["error"] / alone[k]["error"] if alone[k]["error"] else math.inf
        rows[k] = r
    return rows


def table(made, alone, ratios) -> str:
    lines = ["| frame | style loss | alone | ratio | sharpness | alone | ratio | warping error | alone | ratio |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    cell = lambda d, k, key, fmt: format(d[k][key], fmt) if k in d and key in d[k] else ""
    for k in sorted(made):
        r = ratios[k]
        lines.append(f"| {k} | {cell(made, k, 'style', '.4g')} | {cell(alone, k, 'style', '.4g')} | "
                     f"{r['style_ratio']:.2f} | {cell(made, k, 'sharpness', '.1f')} | {cell(alone, k, 'sharpness', '.1f')} | "
                     f"{r['sharpness_ratio']:.2f} | {cell(made, k, 'error', '.2e')} | {cell(alone, k, 'error', '.2e')} | "
                     + (f"1/{1 / r['error_ratio']:.0f} |" if r.get("error_ratio") else " |"))
    return "\n".join(lines)


def summary(ratios) -> str:
    worst_style = max(r["style_ratio"] for r in ratios.values())
    worst_sharp = min(r["sharpness_ratio"] for r in ratios.values())
    errors = [r["error_ratio"] for r in ratios.values() if "error_ratio" in r]
    worst_error = max(errors) if errors else math.nan
    ok = lambda good: "holds" if good else "FAILS"
    return (f"worst style ratio {worst_style:.2f} (goal <= {STYLE_BAR}: {ok(worst_style <= STYLE_BAR)}); worst "
            f"sharpness ratio {worst_sharp:.2f} (goal >= {SHARPNESS_BAR}: {ok(worst_sharp >= SHARPNESS_BAR)}); worst "
            f"warping error ratio 1/{1 / worst_error:.1f} over {len(errors)} pairs (goal <= 1/{FLICKER_BAR:g}: "
            f"{ok(worst_error <= 1 / FLICKER_BAR)})")


# -- the curves picture (Pillow only) ----------------------------------------------------------------
COLOURS = {"after": (200, 40, 30), "bar": (30, 90, 200)}
EARLIER = [(150, 150, 150), (90, 90, 90), (210, 160, 60)]  # the --compare runs, in order


def chart(path: Path, frames: int, panels: list, legend: list, title: str) -> None:
    """Panels stacked vertically; each (heading, [{k: y} per series], bar, log): a line per series, the goal as
    a dashed line; legend [(label, colour)] in the series' order, under the title."""
    w, h, left, right, gap = 760, 170, 64, 44, 44
    top = 30 + 14 * len(legend)
    im = Image.new("RGB", (w, top + len(panels) * (h + gap)), "white")
    d = ImageDraw.Draw(im)
    d.text((left, 6), title, fill="black")
    for n, (label, colour) in enumerate(legend):
        d.line((left, 28 + 14 * n, left + 24, 28 + 14 * n), fill=colour, width=3)
        d.text((left + 30, 22 + 14 * n), label, fill=colour)
    for i, (heading, series, bar, log) in enumerate(panels):
        y0 = top + i * (h + gap) + 16
        values = [v for ys in series for v in ys.values() if v > 0] + [bar]
        lo, hi = min(values), max(values)
        lo, hi = (math.log10(lo) - 0.1, math.log10(hi) + 0.1) if log else (min(0.0, lo), hi * 1.08)
        fy = lambda v: y0 + h - (((math.log10(v) if log else v) - lo) / (hi - lo)) * h
        fx = lambda k: left + (k - 1) / max(frames - 1, 1) * (w - left - right)
        d.text((left, y0 - 15), heading, fill="black")
        d.rectangle((left, y0, w - right, y0 + h), outline=(180, 180, 180))
        for t in range(5):
            v = lo + (hi - lo) * t / 4
            d.text((4, fy(10 ** v if log else v) - 6), f"{10 ** v:.0e}" if log else f"{v:.2f}", fill=(90, 90, 90))
        for k in range(1, frames + 1, max(1, frames // 12)):
            d.text((fx(k) - 4, y0 + h + 3), str(k), fill=(90, 90, 90))
        for x in range(left, w - right, 10):
            d.line((x, fy(bar), min(x + 6, w - right), fy(bar)), fill=COLOURS["bar"], width=1)
        d.text((w - right + 4, fy(bar) - 6), "goal", fill=COLOURS["bar"])
        for ys, (_, colour) in zip(series, legend):
            points = [(fx(k), fy(v)) for k, v in sorted(ys.items()) if v > 0]
            if len(points) > 1:
                d.line(points, fill=colour, width=2)
            for p in points:
                d.ellipse((p[0] - 2, p[1] - 2, p[0] + 2, p[1] + 2), fill=colour)
    d.text((w - right + 4, im.height - gap + 3), "frame", fill="black")
    images.save_image(im, path, overwrite=True)


def curves(path: Path, frames: int, runs: list, title: str) -> None:
    """runs: [(label, colour, ratios)]: the three ratios of each run against the frame index."""
    pick = lambda key: [{k: r[key] for k, r in ratios.items() if key in r} for _, _, ratios in runs]
    chart(path, frames, [
        ("style loss / min(frame 1's, the frame alone's)", pick("style_ratio"), STYLE_BAR, False),
        ("sharpness / frame 1's", pick("sharpness_ratio"), SHARPNESS_BAR, False),
        ("warping error / the frames alone's (log scale)", pick("error_ratio"), 1 / FLICKER_BAR, True),
    ], [(label, colour) for label, colour, _ in runs], title)


def strip(rows, labels, numbers, path: Path, overwrite: bool) -> None:
    """Frames `numbers` of each folder in `rows`, one row per folder, labelled."""
    tiles = [[images.load_image(video.frame_path(f, k)) for k in numbers] for f in rows]
    w, h = tiles[0][0].size
    pad, gap = 14, 4
    im = Image.new("RGB", (len(numbers) * (w + gap) - gap, (h + pad) * len(rows)), "white")
    d = ImageDraw.Draw(im)
    for r, (row, label) in enumerate(zip(tiles, labels)):
        for c, (frame, k) in enumerate(zip(row, numbers)):
            d.text((c * (w + gap) + 2, r * (h + pad) + 1), f"{label}, frame {k}", fill="black")
            im.paste(frame, (c * (w + gap), r * (h + pad) + pad))
    images.save_image(im, path, overwrite=overwrite)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("clip")
    p.add_argument("--style", default=str(ROOT / "examples" / "starry_night.jpg"))
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--iterations", type=int, default=500)
    p.add_argument("--init", default="noise", help="--init of every run (noise, content)")
    p.add_argument("--frame-iterations", type=int, default=None)
    p.add_argument("--temporal-weight", type=float, default=None)
    p.add_argument("--warp", default=None)
    p.add_argument("--long-term", default=None, help="J, e.g. 1,10,20,40")
    p.add_argument("--passes", type=int, default=None)
    p.add_argument("--pass-iterations", type=int, default=None)
    p.add_argument("--work", required=True, help="folder for the runs' frames (reruns resume)")
    p.add_argument("--made", default=None, help="measure this frames folder (or video) as the `stylize video` run")
    p.add_argument("--independent-frames", default=None, help="only these independent frames, e.g. 1,2,12,13")
    p.add_argument("--alone", default=None, help="the independent frames already made (by an earlier run) in this folder")
    p.add_argument("--frames", type=int, default=None, help="only the first N frames of the clip")
    p.add_argument("--json", default=None, help="write the numbers here")
    p.add_argument("--curves", default=None, help="draw the ratios against the frame index into this PNG")
    p.add_argument("--compare", action="append", default=[], metavar="FILE=LABEL",
                   help="with --curves: also draw the run kept in this --json file (repeat for more)")
    p.add_argument("--label", default="after", help="this run's name on the curves")
    p.add_argument("--examples", default=None, help="also write strip.png and clip_starry.mp4 in this folder")
    p.add_argument("--overwrite", action="store_true", help="replace strip.png and clip_starry.mp4 in --examples")
    p.add_argument("--timing-only", action="store_true", help="only the `stylize video` run and its seconds per frame")
    a = p.parse_args()
    if a.examples and not a.overwrite:
        for name in ("strip.png", "clip_starry.mp4"):
            if (Path(a.examples) / name).exists():
                p.error(f"{Path(a.examples) / name} already exists; pass --overwrite to replace it")
    work = Path(a.work)
    clip = video.open_clip(a.clip)
    sources = list(clip.frames())
    if a.frames:
        sources = sources[:a.frames]
        clip = source_subset(clip, list(range(1, a.frames + 1)), work / "source")
    session = Session(size=a.size, iterations=a.iterations, init=a.init)
    given = {"frame_iterations": a.frame_iterations, "temporal_weight": a.temporal_weight, "warp": a.warp,
             "passes": a.passes, "pass_iterations": a.pass_iterations,
             "long_term": tuple(frame_list(a.long_term)) if a.long_term else None}
    options = video.VideoOptions(**{k: v for k, v in given.items() if v is not None})
    made_dir = Path(a.made) if a.made else work / "video"
    if not a.made:
        t = time.perf_counter()
        result = video.stylize_frames(session, clip, a.style, made_dir, options)
        secs = dict(result.seconds)
        later = [s for n, s in secs.items() if n > 1]
        print(f"stylize video: first frame {secs.get(1, math.nan):.1f} s, later frames "
              f"{sum(later) / max(len(later), 1):.1f} s/frame ({result.skipped} resumed, "
              f"{time.perf_counter() - t:.0f} s)", flush=True)
    if a.timing_only:
        return
    alone_numbers = frame_list(a.independent_frames) if a.independent_frames else list(range(1, clip.count + 1))
    alone_clip = clip if len(alone_numbers) == clip.count else source_subset(clip, alone_numbers, work / "alone_source")
    alone_dir = Path(a.alone) if a.alone else work / "independent"
    if not a.alone:
        t = time.perf_counter()
        video.stylize_frames(session, alone_clip, a.style, alone_dir, video.VideoOptions(independent=True))
        print(f"independent frames: {time.perf_counter() - t:.0f} s", flush=True)
    flow = video.Flow()
    if made_dir.is_dir():
        made_frames = {k: images.load_image(video.frame_path(made_dir, k)) for k in range(1, clip.count + 1)}
    else:  # a video (e.g. the clip_starry.mp4 an older version shipped)
        made_frames = dict(enumerate(list(video.open_clip(made_dir).frames())[:clip.count], 1))
    made = measure(session, a.style, sources, made_frames, flow)
    alone_frames = {k: images.load_image(video.frame_path(alone_dir, i)) for i, k in enumerate(alone_numbers, 1)}
    alone = measure(session, a.style, sources, alone_frames, flow)
    ratios = verdict(made, alone)
    print(table(made, alone, ratios))
    print(summary(ratios))
    gap = min(10, clip.count - 1)
    far = long_range(made_frames, sources, gap, flow)
    print(f"mean warping error between frames {gap} apart: {far:.2e} (frames alone: "
          f"{long_range(alone_frames, sources, gap, flow):.2e})")
    made_by = f"the frames in {made_dir}" if a.made else f"video options {options}"
    print(f"({clip.count} frames, --size {a.size}, --iterations {a.iterations}, {made_by})")
    if a.json:
        data = {"clip": a.clip, "size": a.size, "iterations": a.iterations, "made by": made_by, "gap": gap, "far": far,
                "made": made, "alone": alone, "ratios": ratios}
        Path(a.json).write_text(json.dumps(data, indent=1))
    if a.curves:
        runs = []
        for n, spec in enumerate(a.compare):
            file, _, label = spec.partition("=")
            old = json.loads(Path(file).read_text())
            runs.append((label or file, EARLIER[n % len(EARLIER)], {int(k): v for k, v in old["ratios"].items()}))
        runs.append((a.label, COLOURS["after"], ratios))
        curves(Path(a.curves), clip.count, runs, f"{Path(a.clip).name}, {a.size} px: stylize video per frame")
        print(f"wrote {a.curves}")
    if a.examples:
        ex = Path(a.examples)
        ex.mkdir(parents=True, exist_ok=True)
        picked = [1, (clip.count + 1) // 2, clip.count]
        missing = [k for k in picked if k not in alone_numbers]
        if missing:
            raise SystemExit(f"--examples needs the independent frames {picked} (--independent-frames)")
        picked_alone = work / "strip_alone"  # the frames alone under their numbers in the clip
        picked_alone.mkdir(exist_ok=True)
        for k in picked:
            alone_frames[k].save(video.frame_path(picked_alone, k))
        strip([picked_alone, made_dir], ["alone", "stylize video"], picked, ex / "strip.png", a.overwrite)
        video.encode(made_dir, ex / "clip_starry.mp4", clip, "libx264", overwrite=a.overwrite)
        print(f"wrote {ex / 'strip.png'} and {ex / 'clip_starry.mp4'}")


if __name__ == "__main__":
    main()
