"""How much does the normalized network's balance depend on its calibration set?

    python bench/calibration.py --images DIR [--crops 6] [--size 256]

The shipped means (src/stylize/data/means-original.pt) come from 8 crops of 128 px of two photographs.
This script calibrates the original weights on a larger set (every image in DIR, `--crops` crops of
128 px each at three scales), then reports:
1. how far each layer's mean activations move (median and spread of new/shipped over the filters);
2. what that does to --ratio: the content and style losses of the README's pair (Tübingen, The
   Starry Night) under both normalizations, evaluated on the same images, and the factor k by which
   the effective alpha/beta moves: a ratio r with the new means weighs content against style as
   r x k does with the shipped ones. (The losses are homogeneous in the means, so no synthesis is
   needed: the grid's columns shift by log10(k) decades.)
"""

import argparse
import math
from pathlib import Path

import torch
from PIL import Image

from common import CONTENT, STYLE, machine, table
from stylize import losses, vgg, weights
from stylize.images import fit, load_image, to_tensor
from stylize.layers import LAYERS, PAPER_STYLE_LAYERS
from stylize.synthesis import content_targets, noise_image, style_targets


def crops(folder: Path, per_scale: int) -> list[torch.Tensor]:
    """Crops of 128 px at three scales (short side 128, 256, 512 before cropping) from every image."""
    out = []
    g = torch.Generator().manual_seed(0)
    for f in sorted(folder.iterdir()):
        im = load_image(f)
        for short in (128, 256, 512):
            scaled = im.resize((max(128, round(im.width * short / min(im.size))),
                                max(128, round(im.height * short / min(im.size)))), Image.Resampling.LANCZOS)
            for _ in range(per_scale if short > 128 else 1):
                x0 = int(torch.randint(0, scaled.width - 127, (1,), generator=g))
                y0 = int(torch.randint(0, scaled.height - 127, (1,), generator=g))
                out.append(to_tensor(scaled.crop((x0, y0, x0 + 128, y0 + 128))))
    return out


def losses_under(means, content_img, style_img, x) -> tuple[float, float]:
    net = vgg.VGG(weights.load("original"), last="conv5_1", pooling="avg", means=vgg.floor_means(means))
    P = content_targets(net, content_img, ("conv4_2",))
    A = style_targets(net, style_img, PAPER_STYLE_LAYERS)
    with torch.no_grad():
        r = net(x, ("conv4_2",) + PAPER_STYLE_LAYERS)
        c = float(losses.content_loss(r["conv4_2"], P["conv4_2"]))
        s = float(losses.style_loss({k: losses.flatten(r[k]) for k in PAPER_STYLE_LAYERS}, A,
                                    {k: 1 / 5 for k in PAPER_STYLE_LAYERS}))
    return c, s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=Path, required=True, help="a folder of natural photographs")
    ap.add_argument("--crops", type=int, default=6, help="crops per image at each of the two larger scales")
    ap.add_argument("--size", type=int, default=256)
    args = ap.parse_args()
    print(machine())
    shipped = vgg.means_for(weights.load("original"), "avg")
    images = crops(args.images, args.crops)
    new = vgg.mean_activations(weights.load("original"), "avg", images)
    print(f"calibration set: {len(images)} crops of 128 px from {len(list(args.images.iterdir()))} images "
          f"(shipped: {len(vgg.calibration_images())} crops)")
    rows = []
    for name in LAYERS:
        ratio = (vgg.floor_means({name: new[name]})[name] / vgg.floor_means({name: shipped[name]})[name]).double()
        q = torch.quantile(ratio, torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64))
        rows.append([name, float(q[1]), float(q[0]), float(q[2])])
    print(table(["layer", "new/shipped median", "10th pct", "90th pct"], rows))
    photo = to_tensor(fit(load_image(CONTENT), args.size))
    art = to_tensor(fit(load_image(STYLE), args.size))
    h, w = photo.shape[-2:]
    rows = []
    for label, x in (("white-noise start", noise_image(h, w, 0.02, 0)),
                     ("README result (512 px, resized)",
                      to_tensor(load_image(Path(CONTENT).parent / "tubingen_starry_night_512.png").resize((w, h))))):
        c_old, s_old = losses_under(shipped, photo, art, x)
        c_new, s_new = losses_under(new, photo, art, x)
        k = (c_new / c_old) / (s_new / s_old) if c_old and s_old else math.nan
        rows.append([label, c_new / c_old, s_new / s_old, k, math.log10(k)])
    print(table(["evaluated at", "content new/shipped", "style new/shipped", "k (ratio shift)", "decades"], rows))


if __name__ == "__main__":
    main()
