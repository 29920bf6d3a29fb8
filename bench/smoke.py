"""The CI smoke test's floor: a whole `stylize` process on a tiny image against `python -c "import torch"`.

    python bench/smoke.py [--repeats 5] [--size 64] [--iterations 20] [--variant "--precision bf16" ...]

Runs the commands alternately (so a busy moment hits all) and prints the median wall time of each and
their ratio to the floor; the goal is at most 1.5 x the floor. Each --variant is the same stylize command
with these options added.
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from common import CONTENT, STYLE, machine, run_process, stylize_argv, table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--variant", action="append", default=[], help="options added to the stylize command (a row each)")
    a = p.parse_args()
    floor, smoke = [], []
    variants = {v: [] for v in a.variant}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.png"
        command = stylize_argv() + [str(CONTENT), str(STYLE), "-o", str(out), "--size", str(a.size), "--iterations",
                                    str(a.iterations), "--quiet", "--overwrite"]
        for _ in range(a.repeats):
            floor.append(run_process([sys.executable, "-c", "import torch"])[0])
            smoke.append(run_process(command)[0])
            for v, times in variants.items():
                times.append(run_process(command + v.split())[0])
    f, s = statistics.median(floor), statistics.median(smoke)
    name = f"stylize --size {a.size} --iterations {a.iterations}"
    rows = [["python -c 'import torch'", f, a.repeats, 1.0], [name, s, a.repeats, s / f]]
    rows += [[f"{name} {v}", statistics.median(ts), a.repeats, statistics.median(ts) / f] for v, ts in variants.items()]
    print(machine())
    print(table(["command", "median s", "runs", "/ import torch"], rows))


if __name__ == "__main__":
    main()
