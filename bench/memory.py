"""Peak resident memory of real runs against stylize's estimate, in the plan's two modes (reuse: the
allocator keeps freed blocks, whole-tensor gradients; compact: blocks handed back, gradients in stripes),
and the largest size that fits.

    python bench/memory.py [--sizes 256,512,1024,2048] [--evals 5] [--history 2] [--modes reuse,compact]
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
    ap.add_argument("--modes", default="reuse,compact")
    ap.add_argument("--budget-gib", type=float, default=22.6, help="free memory to plan the largest sizes on")
    args = ap.parse_args()
    print(machine(), flush=True)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        for mode in args.modes.split(","):
            r = measure(size, args.evals, args.history, compact=mode == "compact")
            if "error" in r:
                rows.append([size, mode, r["error"], "", "", "", "", ""])
            else:
                w, h = (int(v) for v in r["size"].split("x"))
                full = memory.estimate(w, h, LAYERS, DEFAULTS.history, True, r["allocator"] == "reuse")
                rows.append([r["size"], r["allocator"], f"{r['history']} ({r['filled']})", round(r["peak_mib"]),
                             round(r["estimate_filled_mib"]), r["ratio"], round(r["mib_per_mp"]), r["s_per_eval"],
                             round(full / 2**20)])
            print(rows[-1], flush=True)
    print(table(["size", "mode", "history (filled)", "peak MiB", "estimate MiB", "estimate/peak", "MiB/MP",
                 "s/eval", f"estimate MiB at --history {DEFAULTS.history}"], rows))
    w, h = fit(load_image(CONTENT), 1024).size
    budget = int(args.budget_gib * 2**30 * memory.USABLE)
    for history in (100, 20, 1):
        compact = memory.largest_fitting(w * 8, h * 8, LAYERS, history, budget)
        reuse = memory.largest_fitting(w * 8, h * 8, LAYERS, history, budget, True, True)
        print(f"largest --size that fits {args.budget_gib:g} GiB x {memory.USABLE} with --history {history}: "
              f"{compact} (compact), {reuse} (reuse)")


if __name__ == "__main__":
    main()
