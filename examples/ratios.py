"""What --ratio does on three very different artworks: one labelled panel (rows: artworks, columns: ratios).

    python examples/ratios.py [--size 160] [--iterations 120] [-o examples/ratios.png]

Each cell is `stylize examples/tubingen.jpg ART -o cell.png --ratio R --size S --iterations N`, run here
through the Python API on one loaded network.
"""

import argparse
from pathlib import Path

from stylize import Session
from stylize.figures import panel
from stylize.images import save_image

HERE = Path(__file__).resolve().parent
ARTWORKS = ("starry_night.jpg", "the_scream.jpg", "great_wave.jpg")
RATIOS = (1e-4, 1e-3, 1e-2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--iterations", type=int, default=120)
    ap.add_argument("-o", "--output", type=Path, default=HERE / "ratios.png")
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args()
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
    figure = panel(rows, [Path(a).stem.replace("_", " ") for a in ARTWORKS], [f"--ratio {r:g}" for r in RATIOS],
                   f"Tuebingen, {args.size} px, {args.iterations} iterations")
    save_image(figure, args.output, {"command": "examples/ratios.py", "size": args.size,
                                     "iterations": args.iterations, "cells": cells}, overwrite=args.overwrite)


if __name__ == "__main__":
    main()
