"""Adam against L-BFGS: evaluations and seconds to the loss L-BFGS reaches, from the same noise start.

    python bench/adam.py [--size 512] [--iterations 100] [--rates 0.02,0.05] [--budget 4]

The reference is the defaults (L-BFGS, --history 100) for --iterations iterations: its best total
loss L*. Adam then runs with each learning rate until its best loss is <= L*, or for at most
--budget x the reference's evaluations (the loss it reached is printed then).
"""

import argparse
import time

from common import CONTENT, STYLE, machine, table
from stylize import Session


class Watch:
    def __init__(self, target):
        self.target, self.hit, self.start, self.best = target, None, time.perf_counter(), float("inf")

    def __call__(self, p):
        self.best = p.best
        if self.hit is None and p.best <= self.target:
            self.hit = (p.evaluations, time.perf_counter() - self.start)

    def reached(self):
        return self.hit is not None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--rates", default="0.02,0.05")
    ap.add_argument("--budget", type=float, default=4)
    args = ap.parse_args()
    print(machine(), flush=True)
    t = time.perf_counter()
    ref = Session(size=args.size, iterations=args.iterations).transfer(CONTENT, STYLE)
    ref_seconds = time.perf_counter() - t
    print(f"reference L-BFGS, {args.iterations} iterations: loss {ref.loss:.5g} in {ref.evaluations} evaluations, "
          f"{ref_seconds:.0f} s", flush=True)
    rows = [["L-BFGS (reference)", ref.evaluations, ref_seconds, 1.0, ref.loss]]
    budget = int(args.budget * ref.evaluations)
    for rate in (float(r) for r in args.rates.split(",")):
        watch = Watch(ref.loss)
        out = Session(size=args.size, iterations=budget, optimizer="adam",  # (Adam: an evaluation an iteration)
                      learning_rate=rate).transfer(CONTENT, STYLE, callback=watch, should_stop=watch.reached)
        evals, secs = watch.hit if watch.hit else (f"not in {budget}", time.perf_counter() - watch.start)
        rows.append([f"Adam, --learning-rate {rate:g}", evals, secs, secs / ref_seconds, out.loss])
        print(rows[-1], flush=True)
    print(table(["optimizer", "evals to reach", "seconds", "x L-BFGS time", "best loss"], rows))


if __name__ == "__main__":
    main()
