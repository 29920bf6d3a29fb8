"""Does a ratio mean the same at every size? The final balance alpha*L_content / (beta*L_style) of the
same pair at several sizes, with the size-invariant scaling (default) and with the paper's formulas taken literally (--loss-scaling literal).

    python bench/ratio_scaling.py [--sizes 64,128,256] [--ratio 1e-3] [--iterations 100]
"""

import argparse

from common import CONTENT, STYLE, machine, table
from stylize import Session


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="64,128,256")
    ap.add_argument("--ratio", type=float, default=1e-3)
    ap.add_argument("--iterations", type=int, default=100)
    args = ap.parse_args()
    print(machine())
    rows = []
    for scaling in ("size-invariant", "literal"):
        for size in (int(s) for s in args.sizes.split(",")):
            session = Session(size=size, iterations=args.iterations, ratio=args.ratio, loss_scaling=scaling)
            out = session.transfer(CONTENT, STYLE)
            alpha, beta = session.settings.alpha_beta
            rows.append([scaling, size, out.content_loss, out.style_loss, alpha * out.content_loss / (beta * out.style_loss)])
    print(f"ratio {args.ratio:g}, {args.iterations} iterations, {CONTENT.name} x {STYLE.name}")
    print(table(["loss scaling", "size", "content loss", "style loss", "alpha*content / (beta*style)"], rows))


if __name__ == "__main__":
    main()
