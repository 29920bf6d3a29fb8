"""Peak resident memory of real runs against stylize's estimate, and the largest size that fits.

    python bench/memory.py [--sizes 256,512,1024] [--budget-gib 24]

Each size runs --evals evaluations in its own process (peak RSS from wait4); with few evaluations the
L-BFGS history is not yet full, so run e.g. `--sizes 256 --evals 120 --history 50` to see a full one.
The largest fitting size for the budget comes from the estimate that the refusal check uses
(memory.largest_fitting).
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
    ap.add_argument("--evals", type=int, default=3, help="evaluations per run (110 fills a history of 50)")
    ap.add_argument("--history", type=int, default=DEFAULTS.history)
    args = ap.parse_args()
    print(machine())
    layers = (DEFAULTS.content_layer,) + DEFAULTS.style_layers
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            w, h = fit(load_image(CONTENT), size).size
            t, peak, _ = run_process(stylize_argv() + [str(CONTENT), str(STYLE), "-o", str(Path(tmp) / "o.png"),
                                                       "--size", str(size), "--iterations", str(args.evals),
                                                       "--evaluations", str(args.evals), "--history", str(args.history),
                                                       "--quiet", "--overwrite"])
            est = memory.estimate(w, h, layers, args.history) / 2**20
            rows.append([f"{w}x{h}", round(peak), round(est), est / peak, t])
    print(f"{args.evals} evaluations per run, history {args.history} (the estimate assumes a full history)")
    print(table(["size", "measured peak MiB", "estimate MiB", "estimate/measured", "s"], rows))
    w, h = fit(load_image(CONTENT), 1024).size
    budget = int(args.budget_gib * 2**30 * memory.USABLE)
    for history in (100, 20):
        fits = memory.largest_fitting(w * 8, h * 8, layers, history, budget)
        print(f"largest --size that fits {args.budget_gib:g} GiB x {memory.USABLE} (history {history}): {fits}")


if __name__ == "__main__":
    main()
