"""Make the benchmark clips from the example photographs (no clip can be downloaded here).

    python bench/make_clip.py -o /tmp/clip.mp4                    # pan: 24 frames, 12 fps (2 s), 256x192, H.264
    python bench/make_clip.py -o /tmp/handheld.mp4 --kind handheld --frames 36

pan (examples/video/clip.mp4): a slow pan and zoom over examples/tubingen.jpg with an object (a round crop of
examples/shipwreck.jpg) moving across it, so that there are occlusions and disocclusions.

handheld: a camera moving as a hand holds it over examples/tubingen.jpg: it pans one way and back, bobs,
rolls by up to 3 degrees and zooms out by 25 % (new content comes in at every border), while two things
closer to the camera cross the view with parallax: a post (a strip of examples/great_wave.jpg) sweeping right
to left fast, and the round crop of the shipwreck coming in from the right, stopping and going back out, so
the same parts of the town are hidden and seen again.
"""

import argparse
import math
import sys
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from stylize import video  # noqa: E402
from stylize.images import load_image  # noqa: E402


def disc(d: int) -> tuple[Image.Image, Image.Image]:
    """The round crop of the shipwreck (d x d px) and its mask."""
    thing = load_image(ROOT / "examples" / "shipwreck.jpg")
    thing = thing.resize((d, d), Image.Resampling.LANCZOS, box=(0, 0, min(thing.size), min(thing.size)))
    mask = Image.new("L", (d, d), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, d - 1, d - 1), fill=255)
    return thing, mask


def pan(count: int, width: int, height: int) -> list[Image.Image]:
    scene = load_image(ROOT / "examples" / "tubingen.jpg")
    d = height // 2
    thing, mask = disc(d)
    out = []
    for i in range(count):
        t = i / max(count - 1, 1)
        zoom = 1.0 + 0.15 * t  # slow zoom in
        cw, ch = scene.width / 1.3 / zoom, scene.width / 1.3 / zoom * height / width
        x0 = (scene.width - cw) * (0.2 + 0.3 * t)  # slow pan to the right
        y0 = (scene.height - ch) * 0.5
        im = scene.resize((width, height), Image.Resampling.LANCZOS, box=(x0, y0, x0 + cw, y0 + ch))
        x = round(-d + (width + d) * t)  # the object crosses the whole frame
        im.paste(thing, (x, height // 4), mask)
        out.append(im)
    return out


def handheld(count: int, width: int, height: int) -> list[Image.Image]:
    photo = load_image(ROOT / "examples" / "tubingen.jpg")
    base = 1.2  # scene pixels per output pixel after the prefilter (the affine resampling is bicubic, unfiltered)
    view = photo.width * 0.62  # width of the view at the start, in photograph pixels (zoomed in)
    scene = photo.resize((round(photo.width * base * width / view), round(photo.height * base * width / view)),
                         Image.Resampling.LANCZOS)
    post = load_image(ROOT / "examples" / "great_wave.jpg")
    post = post.resize((width // 9, height), Image.Resampling.LANCZOS, box=(post.width * 0.55, 0, post.width * 0.67,
                                                                           post.height))
    d = height * 5 // 11
    thing, mask = disc(d)
    out = []
    for i in range(count):
        t = i / max(count - 1, 1)
        zoom = 1.0 + 0.25 * t  # zooming out: the view grows by 25 %
        cx = scene.width * (0.5 + 0.12 * math.sin(2 * math.pi * t))  # pans right, back left, and right again
        cy = scene.height * (0.5 + 0.04 * math.sin(3 * math.pi * t))  # bobs up and down
        angle = math.radians(3 * math.sin(2 * math.pi * t + 0.5))  # rolls
        s = base * zoom  # scene pixels per output pixel
        a, b = s * math.cos(angle), -s * math.sin(angle)
        c, e = s * math.sin(angle), s * math.cos(angle)
        # output (u, v) -> scene (a u + b v + tx, c u + e v + ty), centred on (cx, cy)
        tx = cx - a * width / 2 - b * height / 2
        ty = cy - c * width / 2 - e * height / 2
        im = scene.transform((width, height), Image.Transform.AFFINE, (a, b, tx, c, e, ty), Image.Resampling.BICUBIC)
        px = round(width * (1.05 - 1.35 * t))  # the post, near the camera, sweeps right to left
        im.paste(post, (px, 0))
        reach = math.sin(math.pi * min(1.0, max(0.0, (t - 0.15) / 0.7)))  # the disc comes in, stops, goes back
        im.paste(thing, (round(width - d * 1.6 * reach), height // 3), mask)
        out.append(im)
    return out


KINDS = {"pan": pan, "handheld": handheld}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", required=True, help="a video (.mp4, .mkv, ...) or a folder for PNG frames")
    parser.add_argument("--kind", choices=list(KINDS), default="pan")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--fps", type=float, default=12)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--height", type=int, default=192)
    a = parser.parse_args()
    made = KINDS[a.kind](a.frames, a.width, a.height)
    out = Path(a.output)
    if out.suffix:
        video.write_clip(made, out, fps=a.fps)
    else:
        out.mkdir(parents=True, exist_ok=True)
        for i, im in enumerate(made, 1):
            im.save(out / video.FRAME_NAME.format(i))
    print(f"wrote {out}: {a.frames} frames, {a.width}x{a.height}, {a.fps:g} fps")


if __name__ == "__main__":
    main()
