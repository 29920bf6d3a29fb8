"""Remake the calibration set and the mean activations shipped for the original weights.

    python scripts/calibrate.py [--out-dir out/calibration] [--images FOLDER] [--overwrite]

1. With --images FOLDER (which must hold content/astronaut.jpg and content/coffee.png: the NASA
   astronaut portrait, public domain, and the coffee-cup photograph, CC0): cuts 8 crops of 128x128 px
   from those two photographs into OUT_DIR/calibration/. Without it, the 8 crops shipped in
   src/stylize/data/calibration/ are used as they are. Tübingen is left out on purpose: it is the
   held-out photograph of the reconstruction tests.
2. Computes each filter's mean rectified activation of the original weights over the crops, for
   average and max pooling, and saves them to OUT_DIR/means-original.pt.

Nothing in the package is replaced: to ship the result, copy OUT_DIR/means-original.pt (and the crops)
over src/stylize/data/. `stylize` loads that file instead of calibrating at every start; other weight
sources are calibrated on the shipped crops when they are loaded.
"""

import argparse
import sys
from pathlib import Path

import torch
from PIL import Image

from stylize import StylizeError, vgg, weights
from stylize.images import load_image, to_tensor

ROOT = Path(__file__).resolve().parents[1]
PHOTOGRAPHS = ("astronaut.jpg", "coffee.png")


def make_crops(images: Path, out: Path, overwrite: bool) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in PHOTOGRAPHS:
        im = Image.open(images / "content" / name).convert("RGB")
        im = im.resize((round(im.width * 256 / min(im.size)), 256), Image.Resampling.LANCZOS) if im.height <= im.width \
            else im.resize((256, round(im.height * 256 / im.width)), Image.Resampling.LANCZOS)
        w, h = im.size
        boxes = [(0, 0), (w - 128, 0), (0, h - 128), (w - 128, h - 128)]
        for k, (x, y) in enumerate(boxes):
            path = out / f"{Path(name).stem}-{k}.jpg"
            im.crop((x, y, x + 128, y + 128)).save(path, quality=90)
            written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", type=Path, default=Path("out") / "calibration",
                        help="folder for means-original.pt (and the crops); default out/calibration")
    parser.add_argument("--images", type=Path, default=None,
                        help="folder with content/astronaut.jpg and content/coffee.png, to cut the crops anew")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier result in --out-dir")
    args = parser.parse_args()
    means_path = args.out_dir / "means-original.pt"
    if means_path.exists() and not args.overwrite:
        parser.error(f"{means_path} already exists; pass --overwrite to replace it")
    if args.images is not None:
        missing = [str(args.images / "content" / n) for n in PHOTOGRAPHS if not (args.images / "content" / n).is_file()]
        if missing:
            parser.error(f"--images {args.images}: missing {', '.join(missing)}")
        crops = make_crops(args.images, args.out_dir / "calibration", args.overwrite)
    else:
        crops = sorted(vgg.CALIBRATION_DIR.glob("*.jpg"))
    try:
        images = [to_tensor(load_image(f)) for f in crops]
        w = weights.load_original()
    except StylizeError as e:
        sys.exit(f"error: {e}")
    means = {pooling: vgg.mean_activations(w, pooling, images) for pooling in ("avg", "max")}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(means, means_path)
    for name, mu in means["avg"].items():
        print(f"{name}: median {mu.median():.4g}  min {mu.min():.3g}  max {mu.max():.4g}")
    print(f"wrote {means_path} ({len(crops)} crops)")


if __name__ == "__main__":
    main()
