"""Make examples/tubingen_sky_mask.png: white where the photograph shows sky, black elsewhere.

    python scripts/sky_mask.py

The sky is the clear blue that reaches the top edge: pixels bluer than they are red or green, grown
from the top row through such pixels (a flood fill), then cleaned by a mode filter. Used by the README's
regions example (`--content-mask`).
"""

from pathlib import Path

import torch
import torch.nn.functional as nnf
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    im = Image.open(ROOT / "examples" / "tubingen.jpg").convert("RGB")
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
    mask.point(lambda v: 255 if v > 127 else 0).convert("RGB").save(ROOT / "examples" / "tubingen_sky_mask.png",
                                                                     optimize=True)


if __name__ == "__main__":
    main()
