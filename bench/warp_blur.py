"""How much sharpness a warp takes from a stylised frame: bilinear (Ruder et al.'s) against bicubic interpolation.

    python bench/warp_blur.py                       # examples/tubingen_starry_night_512.png, examples/video/clip.mp4

Two measurements at each size, sharpness = video.sharpness (mean gradient magnitude of the luminance, 8-bit
levels): a half-pixel shift to the right and back (the worst case of one warp there and one back), and the
painting carried through the whole clip by its 23 backward flows with no optimisation in between (what the
start of every later frame inherits when nothing repaints the detail), saved as 8 bits after every warp as
`stylize video` saves its frames.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from stylize import images, video  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--painting", default=str(ROOT / "examples" / "tubingen_starry_night_512.png"))
    p.add_argument("--clip", default=str(ROOT / "examples" / "video" / "clip.mp4"))
    p.add_argument("--sizes", default="96,256")
    a = p.parse_args()
    painting = images.load_image(a.painting)
    clip = video.open_clip(a.clip)
    frames = list(clip.frames())
    flow = video.Flow()
    print("| size | interpolation | start | half a pixel and back | after 1 warp | after 12 | after 23 | 23 / start |")
    print("|---|---|---|---|---|---|---|---|")
    for size in (int(v) for v in a.sizes.split(",")):
        x = images.to_tensor(images.fit(painting, size))
        h, w = x.shape[-2:]
        half = np.zeros((h, w, 2), np.float32)
        half[..., 0] = 0.5
        sources = [images.fit(f, size) for f in frames]
        flows = [flow(sources[k], sources[k - 1]) for k in range(1, len(sources))]
        for mode in video.WARPS[::-1]:
            back = video.warp_image(video.warp_image(x, half, mode), -half, mode)
            y, along = x, [video.sharpness(x)]
            for f in flows:
                y = images.to_tensor(images.to_pil(video.warp_image(y, f, mode)))
                along.append(video.sharpness(y))
            print(f"| {size} | {mode} | {along[0]:.1f} | {video.sharpness(back):.1f} | {along[1]:.1f} | {along[12]:.1f} | "
                  f"{along[-1]:.1f} | {along[-1] / along[0]:.2f} |")


if __name__ == "__main__":
    main()
