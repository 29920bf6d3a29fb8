"""What --ratio does on three very different artworks: one labelled panel (rows: artworks, columns: ratios).

    python examples/ratios.py [--size 160] [--iterations 120] [-o out/ratios.png] [--overwrite]

Twelve runs at the defaults (160 px, 120 iterations). The README's picture is the committed
examples/ratios.png; this writes a new one (default out/ratios.png) and never replaces a file without
--overwrite. Each cell is `stylize examples/tubingen.jpg ART -o cell.png --ratio R --size S --iterations N`, run here
through the Python API on one loaded network.
"""

import argparse
import sys
from pathlib import Path

from stylize import Session, StylizeError
from stylize.figures import panel
from stylize.settings import DEFAULTS
from stylize.images import save_image

HERE = Path(__file__).resolve().parent
ARTWORKS = ("starry_night.jpg", "the_scream.jpg", "great_wave.jpg")
RATIOS = (1e-4, 3e-4, 1e-3, 1e-2)  # 3e-4: the default (settings.DEFAULTS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--iterations", type=int, default=120)
    ap.add_argument("-o", "--output", type=Path, default=Path("out") / "ratios.png")
    ap.add_argument("--overwrite", action="store_true", help="replace an existing output")
    args = ap.parse_args()
    if args.output.exists() and not args.overwrite:  # before the minutes of work, not after
        ap.error(f"{args.output} already exists; pass --overwrite to replace it")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    try:
        make(args)
    except StylizeError as e:
        sys.exit(f"error: {e}")


def make(args: argparse.Namespace) -> None:
    rows, cells = [], []
    for art in ARTWORKS:
        row = []
        for ratio in RATIOS:
            o = Session(size=args.size, iterations=args.iterations, ratio=ratio).transfer(HERE / "tubingen.jpg",
                                                                                          HERE / art)
            row.append(o.image)
            cells.append({"style": art, "ratio": ratio, "content_loss": o.content_loss, "style_loss": o.style_loss,
                          "evaluations": o.evaluations})
            print(f"{art} {ratio:g}: content {o.content_loss:.4g} style {o.style_loss:.4g}", flush=True)
        rows.append(row)
    figure = panel(rows, [Path(a).stem.replace("_", " ") for a in ARTWORKS], [f"--ratio {r:g}" + (" (default)" if r == DEFAULTS.ratio else "") for r in RATIOS],
                   f"Tuebingen, {args.size} px, {args.iterations} iterations")
    save_image(figure, args.output, {"command": "examples/ratios.py", "size": args.size,
                                     "iterations": args.iterations, "cells": cells}, overwrite=args.overwrite)


if __name__ == "__main__":
    main()
