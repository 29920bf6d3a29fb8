"""Peak resident memory of real runs against stylize's estimate, and the largest size that fits.

    python bench/memory.py [--sizes 256,512,1024] [--budget-gib 24]

Each size runs 3 evaluations in its own process (peak RSS from wait4); the largest fitting size for
the budget comes from the estimate that the refusal check uses (memory.largest_fitting).
"""

import argparse
import tempfile
from pathlib import Path

from common import CONTENT, STYLE, machine, run_process, stylize_argv, table
from stylize import memory
from stylize.images import fit, load_image
from stylize.settings import DEFAULTS


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="256,512,1024")
    ap.add_argument("--budget-gib", type=float, default=24)
    args = ap.parse_args()
    print(machine())
    layers = (DEFAULTS.content_layer,) + DEFAULTS.style_layers
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            w, h = fit(load_image(CONTENT), size).size
            t, peak, _ = run_process(stylize_argv() + [str(CONTENT), str(STYLE), "-o", str(Path(tmp) / "o.png"),
                                                       "--size", str(size), "--iterations", "3", "--evaluations", "3",
                                                       "--quiet", "--overwrite"])
            est = memory.estimate(w, h, layers, DEFAULTS.history) / 2**20
            rows.append([f"{w}x{h}", round(peak), round(est), est / peak, t])
    print(table(["size", "measured peak MiB", "estimate MiB", "estimate/measured", "s"], rows))
    w, h = fit(load_image(CONTENT), 1024).size
    budget = int(args.budget_gib * 2**30 * memory.USABLE)
    for history in (100, 20):
        fits = memory.largest_fitting(w * 8, h * 8, layers, history, budget)
        print(f"largest --size that fits {args.budget_gib:g} GiB x {memory.USABLE} (history {history}): {fits}")


if __name__ == "__main__":
    main()
