"""Flicker of independent per-frame stylization vs `stylize video` (Ruder et al.'s temporal term), at the same
per-frame settings, on the clip of bench/make_clip.py; and seconds per frame, the first vs the later ones.

    python bench/make_clip.py -o /tmp/clip.mp4
    python bench/video_flicker.py /tmp/clip.mp4 --size 96 --iterations 20 --frame-iterations 5 --work /tmp/flicker

Flicker: the mean over consecutive output frames of the mean squared difference (pixels in [0, 1]) between a
frame and the earlier one warped onto it by the flow of the source frames, on the pixels where that flow is
reliable (video.temporal_error). Both runs are what these commands write:
    stylize video CLIP starry_night.jpg -o WORK/independent --independent --size S --iterations N
    stylize video CLIP starry_night.jpg -o WORK/temporal --size S --iterations N --frame-iterations M
--examples DIR also writes the strip picture and the small clip shown in the README (strip.png and
clip_starry.mp4 in DIR; a file already there is refused before any work unless --overwrite).
"""

import argparse
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from stylize import Session, images, video  # noqa: E402


def flicker(folder: Path, sources: list, count: int, flow) -> float:
    errors = []
    out = [images.load_image(video.frame_path(folder, n)) for n in range(1, count + 1)]
    for k in range(1, count):
        a, b = (images.fit(sources[j], out[k].width) for j in (k - 1, k))
        e, _ = video.temporal_error(images.to_tensor(out[k - 1]), images.to_tensor(out[k]), flow(a, b), flow(b, a))
        errors.append(e)
    return sum(errors) / len(errors)


def strip(folders, labels, first: int, n: int, path: Path, overwrite: bool) -> None:
    rows = [[images.load_image(video.frame_path(f, k)) for k in range(first, first + n)] for f in folders]
    w, h = rows[0][0].size
    pad = 14
    im = Image.new("RGB", (w * n, (h + pad) * len(rows)), "white")
    draw = ImageDraw.Draw(im)
    for r, (row, label) in enumerate(zip(rows, labels)):
        draw.text((2, r * (h + pad) + 1), f"{label}: frames {first}-{first + n - 1}", fill="black")
        for c, frame in enumerate(row):
            im.paste(frame, (c * w, r * (h + pad) + pad))
    images.save_image(im, path, overwrite=overwrite)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("clip")
    p.add_argument("--style", default=str(ROOT / "examples" / "starry_night.jpg"))
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--frame-iterations", type=int, default=5)
    p.add_argument("--temporal-weight", type=float, default=video.DEFAULT_TEMPORAL_WEIGHT)
    p.add_argument("--work", required=True, help="folder for the two runs' frames (reruns resume)")
    p.add_argument("--examples", default=None, help="also write strip.png and clip_starry.mp4 in this folder")
    p.add_argument("--overwrite", action="store_true", help="replace strip.png and clip_starry.mp4 in --examples")
    p.add_argument("--init", default="noise", help="--init of every run (noise, content)")
    p.add_argument("--frames", type=int, default=None, help="only the first N frames of the clip")
    p.add_argument("--timing-only", action="store_true", help="only the temporal run and its seconds per frame")
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
        (work / "source").mkdir(parents=True, exist_ok=True)
        for n, im in enumerate(sources, 1):
            if not video.frame_path(work / "source", n).exists():
                im.save(video.frame_path(work / "source", n))
        clip = video.open_clip(work / "source")
    session = Session(size=a.size, iterations=a.iterations, init=a.init)
    flow = video.Flow()
    runs = {"independent": video.VideoOptions(independent=True),
            "temporal": video.VideoOptions(temporal_weight=a.temporal_weight, frame_iterations=a.frame_iterations)}
    if a.timing_only:
        del runs["independent"]
    figures = {}
    for name, options in runs.items():
        t = time.perf_counter()
        result = video.stylize_frames(session, clip, a.style, work / name, options)
        wall = time.perf_counter() - t
        secs = dict(result.seconds)
        later = [s for n, s in secs.items() if n > 1]
        figures[name] = flicker(work / name, sources, clip.count, flow)
        print(f"{name:12s} flicker {figures[name]:.5f}  first frame {secs.get(1, float('nan')):.1f} s  later frames "
              f"{sum(later) / max(len(later), 1):.1f} s/frame  ({result.skipped} resumed, {wall:.0f} s)", flush=True)
    if a.timing_only:
        return
    print(f"ratio independent / temporal: {figures['independent'] / figures['temporal']:.1f}x  "
          f"({clip.count} frames, --size {a.size}, --iterations {a.iterations}, --frame-iterations "
          f"{a.frame_iterations}, --temporal-weight {a.temporal_weight:g}, --init {a.init})")
    if a.examples:
        ex = Path(a.examples)
        ex.mkdir(parents=True, exist_ok=True)
        first = max(1, clip.count // 2 - 2)
        strip([work / "independent", work / "temporal"], ["independent frames", "stylize video"], first, 5,
              ex / "strip.png", a.overwrite)
        video.encode(work / "temporal", ex / "clip_starry.mp4", clip, "libx264", overwrite=a.overwrite)
        print(f"wrote {ex / 'strip.png'} and {ex / 'clip_starry.mp4'}")


if __name__ == "__main__":
    main()
