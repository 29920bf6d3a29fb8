"""Make the benchmark clip: a slow pan and zoom over examples/tubingen.jpg with an object (a round crop of
examples/shipwreck.jpg) moving across it, so that there are occlusions and disocclusions.

    python bench/make_clip.py -o /tmp/clip.mp4            # 24 frames, 12 fps (2 s), 256x192, H.264 via PyAV
"""

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from stylize import video  # noqa: E402
from stylize.images import load_image  # noqa: E402


def frames(count: int, width: int, height: int) -> list[Image.Image]:
    scene = load_image(ROOT / "examples" / "tubingen.jpg")
    thing = load_image(ROOT / "examples" / "shipwreck.jpg")
    d = height // 2
    thing = thing.resize((d, d), Image.Resampling.LANCZOS, box=(0, 0, min(thing.size), min(thing.size)))
    mask = Image.new("L", (d, d), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, d - 1, d - 1), fill=255)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", required=True, help="a video (.mp4, .mkv, ...) or a folder for PNG frames")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--fps", type=float, default=12)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--height", type=int, default=192)
    a = parser.parse_args()
    made = frames(a.frames, a.width, a.height)
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
