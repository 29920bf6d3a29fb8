"""Make the sky mask of examples/tubingen.jpg: white where the photograph shows sky, black elsewhere.

    python scripts/sky_mask.py [-o out/tubingen_sky_mask.png] [--overwrite]

The sky is the clear blue that reaches the top edge: pixels bluer than they are red or green, grown
from the top row through such pixels (a flood fill), then cleaned by a mode filter. The README's
regions example uses the copy committed as examples/tubingen_sky_mask.png (`--content-mask`); this
script writes a new one (default out/tubingen_sky_mask.png) and never replaces a file without --overwrite.
"""

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as nnf
from PIL import Image, ImageFilter

from stylize import StylizeError
from stylize.images import save_image

ROOT = Path(__file__).resolve().parents[1]


def sky_mask(im: Image.Image) -> Image.Image:
    w, h = im.size
    x = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).view(h, w, 3).float()
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    blue = (b > r + 40) & (b > 140) & (b > g + 10)
    sky = torch.zeros_like(blue)
    sky[0] = blue[0]
    while True:  # flood fill from the top row, through blue pixels
        grown = nnf.max_pool2d(sky[None, None].float(), 3, 1, 1)[0, 0].bool() & blue
        if torch.equal(grown, sky):
            break
        sky = grown
    mask = Image.frombytes("L", (w, h), bytes((sky.byte() * 255).contiguous().untyped_storage()))
    mask = mask.filter(ImageFilter.ModeFilter(9)).filter(ImageFilter.MinFilter(3)).filter(ImageFilter.MaxFilter(3))
    return mask.point(lambda v: 255 if v > 127 else 0).convert("RGB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, default=Path("out") / "tubingen_sky_mask.png")
    parser.add_argument("--photo", type=Path, default=ROOT / "examples" / "tubingen.jpg")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    args = parser.parse_args()
    if args.output.exists() and not args.overwrite:
        parser.error(f"{args.output} already exists; pass --overwrite to replace it")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    try:
        save_image(sky_mask(Image.open(args.photo).convert("RGB")), args.output, overwrite=args.overwrite)
    except (OSError, StylizeError) as e:
        sys.exit(f"error: {e}")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
