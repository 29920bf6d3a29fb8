"""One real run at a large size: its plan (allocator mode, L-BFGS history), peak resident memory
against the estimate, and seconds per evaluation.

    python bench/large.py --size 4096 [--evals 3] [--history H] [--compact] [--limit 8G] [--optimizer adam]

The run is `stylize CONTENT STYLE --size S --iterations N --evaluations N` in its own process (peak
RSS from wait4). With N evaluations the L-BFGS history holds at most (iterations - 1) pairs, so the
estimate is given twice: for the plan's history (what a full run reaches: the measured peak plus
exactly 2 x 3 x W x H x 4 bytes per further entry) and for the history actually filled, which is the
one to compare with the measured peak. --limit plans as if only that much memory were free
($STYLIZE_MEMORY_LIMIT); --compact sets that limit just below what the reuse mode needs, so that the plan
takes the compact run (allocator.py, stripes.py) at a size where both fit.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import CONTENT, STYLE, machine, stylize_argv, table
import torch
from stylize import memory
from stylize.settings import DEFAULTS

LAYERS = (DEFAULTS.content_layer,) + DEFAULTS.style_layers


def compact_limit(size, history):
    """A free-memory figure under which the plan takes the compact run at `size` (see the docstring)."""
    from stylize.images import fit, load_image

    w, h = fit(load_image(CONTENT), size).size
    return str(int(memory.estimate(w, h, LAYERS, history or DEFAULTS.history, reuse=True) / memory.USABLE) - 2**20)


def measure(size, evals, history=None, compact=False, limit=None, extra=()):
    """A dict of one run's figures (see the module's docstring)."""
    env = dict(os.environ)
    if compact and not limit:
        limit = compact_limit(size, history)
    if limit:
        env[memory.BUDGET_ENV] = limit
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "o.png"
        argv = stylize_argv() + [str(CONTENT), str(STYLE), "-o", str(out), "--size", str(size), "--iterations",
                                 str(evals), "--evaluations", str(evals), *extra]
        if history:
            argv += ["--history", str(history)]
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.stdout.read()
        stderr = proc.stderr.read().decode(errors="replace")
        if os.waitstatus_to_exitcode(status) != 0:
            return {"size": size, "error": stderr.strip().splitlines()[-1], "wall": wall}
        from PIL import Image

        meta = json.loads(Image.open(out).info["stylize"])
    plan = meta["memory"]
    w, h = meta["width"], meta["height"]
    used = plan["history"] or 1
    filled = min(used, max(1, meta["iterations"] - 1))
    reuse = memory.plan(w, h, LAYERS, plan["history_requested"], torch.device("cpu")).reuse  # as the run planned it
    est_full = memory.estimate(w, h, LAYERS, used, True, reuse)
    est_filled = memory.estimate(w, h, LAYERS, filled, True, reuse)
    peak = usage.ru_maxrss * 1024
    seconds = float(re.search(r"evaluations, ([\d.]+) s\)", stderr).group(1))
    notes = [line for line in stderr.splitlines() if line.startswith("Note:")]
    return {"size": f"{w}x{h}", "allocator": "reuse" if reuse else "compact", "history": plan["history"], "filled": filled,
            "peak_mib": peak / 2**20, "estimate_full_mib": est_full / 2**20, "estimate_filled_mib": est_filled / 2**20,
            "ratio": est_filled / peak, "mib_per_mp": (peak - memory.HOST_BASELINE) / 2**20 / (w * h / 1e6),
            "evaluations": meta["evaluations"], "s_per_eval": seconds / meta["evaluations"], "wall": wall,
            "note": " ".join(notes)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--evals", type=int, default=3)
    ap.add_argument("--history", type=int, default=None)
    ap.add_argument("--compact", action="store_true")
    ap.add_argument("--limit", default=None)
    ap.add_argument("--optimizer", default=None)
    args = ap.parse_args()
    print(machine(), flush=True)
    extra = ["--optimizer", args.optimizer] if args.optimizer else []
    r = measure(args.size, args.evals, args.history, args.compact, args.limit, extra)
    print(json.dumps(r, indent=1), flush=True)
    if "error" not in r:
        print(table(["size", "allocator", "history (filled)", "peak MiB", "estimate MiB (filled)", "estimate/peak",
                     "estimate MiB (full history)", "s/eval", "wall s"],
                    [[r["size"], r["allocator"], f"{r['history']} ({r['filled']})", round(r["peak_mib"]),
                      round(r["estimate_filled_mib"]), r["ratio"], round(r["estimate_full_mib"]), r["s_per_eval"],
                      r["wall"]]]))


if __name__ == "__main__":
    sys.exit(main())
