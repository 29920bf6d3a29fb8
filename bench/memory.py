"""Peak resident memory of real runs against stylize's estimate, plain and recomputing, and the
largest size that fits.

    python bench/memory.py [--sizes 256,512,1024,2048] [--evals 5] [--history 2] [--modes plain,recompute]
                           [--budget-gib 22.6]

Each size runs --evals evaluations in its own process (bench/large.py's measure: peak RSS from wait4),
with a history short enough to be full by then, so the estimate (for that history) is compared with
a real peak; a full --history 100 adds exactly 2 x 100 x 3 x W x H x 4 bytes. "MiB/MP": (peak - the
process's baseline) per megapixel of output. The largest sizes that fit come from the estimate the
check uses (memory.largest_fitting) for --budget-gib of free memory.
"""

import argparse

from common import CONTENT, machine, table
from large import LAYERS, measure
from stylize import memory
from stylize.images import fit, load_image
from stylize.settings import DEFAULTS


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="256,512,1024,2048")
    ap.add_argument("--evals", type=int, default=5, help="evaluations per run")
    ap.add_argument("--history", type=int, default=2, help="L-BFGS history of the runs (full after --evals)")
    ap.add_argument("--modes", default="plain,recompute")
    ap.add_argument("--budget-gib", type=float, default=22.6, help="free memory to plan the largest sizes on")
    args = ap.parse_args()
    print(machine(), flush=True)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        for mode in args.modes.split(","):
            r = measure(size, args.evals, args.history, recompute=mode == "recompute")
            if "error" in r:
                rows.append([size, mode, r["error"], "", "", "", "", ""])
            else:
                w, h = (int(v) for v in r["size"].split("x"))
                full = memory.estimate(w, h, LAYERS, DEFAULTS.history, True, mode == "recompute",
                                       (DEFAULTS.content_layer,))
                rows.append([r["size"], mode, f"{r['history']} ({r['filled']})", round(r["peak_mib"]),
                             round(r["estimate_filled_mib"]), r["ratio"], round(r["mib_per_mp"]), r["s_per_eval"],
                             round(full / 2**20)])
            print(rows[-1], flush=True)
    print(table(["size", "mode", "history (filled)", "peak MiB", "estimate MiB", "estimate/peak", "MiB/MP",
                 "s/eval", f"estimate MiB at --history {DEFAULTS.history}"], rows))
    w, h = fit(load_image(CONTENT), 1024).size
    budget = int(args.budget_gib * 2**30 * memory.USABLE)
    for history in (100, 20, 1):
        plain = memory.largest_fitting(w * 8, h * 8, LAYERS, history, budget)
        again = memory.largest_fitting(w * 8, h * 8, LAYERS, history, budget, True, True, (DEFAULTS.content_layer,))
        print(f"largest --size that fits {args.budget_gib:g} GiB x {memory.USABLE} with --history {history}: "
              f"{plain} plain, {again} recomputing")


if __name__ == "__main__":
    main()
