"""The CI smoke test's floor: a whole `stylize` process on a tiny image against `python -c "import torch"`.

    python bench/smoke.py [--repeats 5] [--size 64] [--iterations 20]

Runs the two commands alternately (so a busy moment hits both) and prints the median wall time of each and
their ratio; the goal is at most 1.5 x the floor.
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
    a = p.parse_args()
    floor, smoke = [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.png"
        command = stylize_argv() + [str(CONTENT), str(STYLE), "-o", str(out), "--size", str(a.size), "--iterations",
                                    str(a.iterations), "--quiet", "--overwrite"]
        for _ in range(a.repeats):
            floor.append(run_process([sys.executable, "-c", "import torch"])[0])
            smoke.append(run_process(command)[0])
    f, s = statistics.median(floor), statistics.median(smoke)
    print(machine())
    print(table(["command", "median s", "runs"], [["python -c 'import torch'", f, a.repeats],
                                                   [f"stylize --size {a.size} --iterations {a.iterations}", s,
                                                    a.repeats]]))
    print(f"ratio (stylize / import torch): {s / f:.2f}")


if __name__ == "__main__":
    main()
