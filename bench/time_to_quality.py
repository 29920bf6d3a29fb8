"""Evaluations and seconds each setting needs to reach the loss the defaults reach.

    python bench/time_to_quality.py [--size 512] [--iterations 500] [--coarse-iterations 150] [--only NAMES]

The reference is a run with the defaults (--iterations N): its final total loss L*. Each setting then
runs (on the same full-size objective at its last level) until its best loss is <= L*, or for at most
1.5x the reference's evaluations; the table gives the evaluations and seconds (from the call's start,
targets and coarse levels included) at that moment, and the content and style losses there.
"""

import argparse
import time

from common import CONTENT, STYLE, machine, table
from stylize import Session


class Watch:
    def __init__(self, target, levels):
        self.target, self.levels, self.hit, self.start = target, levels, None, time.perf_counter()
        self.evals = 0
        self.content = self.style = float("nan")

    def __call__(self, p):
        self.evals += 1
        last = p.level == self.levels - 1
        if self.hit is None and last and p.best <= self.target:
            self.hit = (self.evals, time.perf_counter() - self.start)
            self.content, self.style = p.content, p.style

    def reached(self) -> bool:
        return self.hit is not None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--iterations", type=int, default=500)
    ap.add_argument("--coarse-iterations", type=int, default=150, help="iterations at each coarser level")
    ap.add_argument("--only", default=None, help="comma-separated setting names (exact, or part of names)")
    args = ap.parse_args()
    print(machine())
    t = time.perf_counter()
    ref = Session(size=args.size, iterations=args.iterations).transfer(CONTENT, STYLE)
    ref_seconds = time.perf_counter() - t
    print(f"reference (defaults, {args.iterations} iterations): total {ref.loss:.5g}, content {ref.content_loss:.5g}, "
          f"style {ref.style_loss:.5g}, {ref.evaluations} evaluations, {ref_seconds:.0f} s")
    settings = {
        "history 10": dict(history=10),
        "history 20": dict(history=20),
        "history 50": dict(history=50),
        "history 100 (default)": dict(),
        "scales 2": dict(scales=2, coarse_iterations=args.coarse_iterations),
        "scales 3": dict(scales=3, coarse_iterations=args.coarse_iterations),
        "init content": dict(init="content"),
        "noise 0.1": dict(noise=0.1),
    }
    if args.only:
        wanted = [o.strip() for o in args.only.split(",")]  # a setting's exact name, else part of names
        settings = {k: v for k, v in settings.items() if any(o == k or (o not in settings and o in k) for o in wanted)}
    budget = int(1.5 * ref.evaluations)
    rows = []
    for name, extra in settings.items():
        levels = extra.get("scales", 1)
        watch = Watch(ref.loss, levels)
        Session(size=args.size, iterations=budget, evaluations=budget, **extra).transfer(
            CONTENT, STYLE, callback=watch, should_stop=watch.reached)
        evals, secs = watch.hit if watch.hit else (f"not in {budget}", float("nan"))
        rows.append([name, evals, secs, secs / ref_seconds, watch.content, watch.style])
        print(rows[-1], flush=True)
    print(table(["setting", "evals to reach", "seconds to reach", "x defaults' time", "content there", "style there"],
                rows))


if __name__ == "__main__":
    main()
