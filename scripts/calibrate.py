"""Make the calibration set and the shipped mean activations of the original weights.

    python scripts/calibrate.py [--images ../shared/images]

1. Cuts 8 crops of 128x128 px from the two public-domain photographs (astronaut: NASA, public
   domain; coffee: CC0), written as JPEG into src/stylize/data/calibration/ (a few KB each).
   Tübingen is left out on purpose: it is the held-out photograph of the reconstruction tests.
2. Computes each filter's mean rectified activation of the original weights over those crops,
   for average and max pooling, and saves them to src/stylize/data/means-original.pt.
   `stylize` loads that file instead of calibrating at every start; other weight sources are
   calibrated on the same crops when they are loaded.
"""

import argparse
from pathlib import Path

import torch
from PIL import Image

from stylize import vgg, weights

ROOT = Path(__file__).resolve().parents[1]


def make_crops(images: Path) -> None:
    out = vgg.CALIBRATION_DIR
    out.mkdir(parents=True, exist_ok=True)
    for name in ("astronaut.jpg", "coffee.png"):
        im = Image.open(images / "content" / name).convert("RGB")
        im = im.resize((round(im.width * 256 / min(im.size)), 256), Image.Resampling.LANCZOS) if im.height <= im.width \
            else im.resize((256, round(im.height * 256 / im.width)), Image.Resampling.LANCZOS)
        w, h = im.size
        boxes = [(0, 0), (w - 128, 0), (0, h - 128), (w - 128, h - 128)]
        for k, (x, y) in enumerate(boxes):
            im.crop((x, y, x + 128, y + 128)).save(out / f"{Path(name).stem}-{k}.jpg", quality=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=ROOT.parent / "shared" / "images")
    args = parser.parse_args()
    make_crops(args.images)
    w = weights.load_original()
    means = {pooling: vgg.mean_activations(w, pooling) for pooling in ("avg", "max")}
    torch.save(means, vgg.SHIPPED_MEANS)
    for name, mu in means["avg"].items():
        print(f"{name}: median {mu.median():.4g}  min {mu.min():.3g}  max {mu.max():.4g}")


if __name__ == "__main__":
    main()
