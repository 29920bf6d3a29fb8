"""Whole process, stylize vs pastiche, same pair, size and number of loss evaluations, one run.

    pip install -e '.[bench]' && python bench/vs_pastiche.py [--settings 64:20,256:30,512:100]

pastiche runs L-BFGS with one evaluation per step, so --num-steps N is N evaluations; stylize gets
--evaluations N. Both use average pooling, their default weights (the same original VGG-19) and
defaults otherwise. Peak resident memory is each process's own (wait4).
"""

import argparse
import shutil
import tempfile
from pathlib import Path

from common import CONTENT, STYLE, machine, run_process, stylize_argv, table


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--settings", default="64:20,256:30,512:100", help="size:evaluations,...")
    args = ap.parse_args()
    if shutil.which("pastiche") is None:
        raise SystemExit("pastiche's command is not installed: pip install -e '.[bench]'")
    print(machine())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for item in args.settings.split(","):
            size, evals = (int(v) for v in item.split(":"))
            ours = stylize_argv() + [str(CONTENT), str(STYLE), "-o", str(Path(tmp) / f"s{size}.png"), "--size",
                                     str(size), "--iterations", str(evals), "--evaluations", str(evals), "--quiet",
                                     "--overwrite"]
            theirs = ["pastiche", "--content", str(CONTENT), "--styles", str(STYLE), "--output",
                      str(Path(tmp) / f"p{size}.png"), "--size", str(size), "--num-steps", str(evals),
                      "--pooling", "avg", "--no-verbose", "--device", "cpu"]
            t_ours, m_ours, _ = run_process(ours)
            t_theirs, m_theirs, _ = run_process(theirs)
            rows.append([f"{size} px / {evals} evals", t_ours, t_theirs, t_ours / t_theirs, round(m_ours), round(m_theirs)])
    print(table(["setting", "stylize s", "pastiche s", "stylize/pastiche", "stylize MiB", "pastiche MiB"], rows))


if __name__ == "__main__":
    main()
