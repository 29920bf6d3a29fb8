"""How long a stop signal takes to end a run, against the time of one evaluation (a forward + backward pass),
at sizes where a pass is long.

    python bench/stop.py [--sizes 1024,2048] [--signal TERM]

Each size: one evaluation of the example pair's objective at --size N is timed here (the fastest of two), then
one `stylize` transfer at that size runs; the signal is sent half an evaluation after its progress bar first
shows a count of evaluations (in the middle of a pass), and the time to the process's exit is measured, with
its status and whether the output was written marked partial. Where the run waits for the pass in progress, signal-to-exit is about half an
evaluation plus the output's save; with synthesis._Worker, only the save.
"""

import argparse
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from PIL import Image

from common import CONTENT, STYLE, machine, stylize_argv, table


def evaluation_seconds(size: int) -> float:
    import torch

    from stylize import Session

    session = Session(size=size)
    job = session.transfer_job(CONTENT, STYLE)
    objective = session.objective(job)
    width, height = session.plan(job).width, session.plan(job).height
    x = torch.rand(1, 3, height, width, requires_grad=True)
    seconds = []
    for _ in range(2):
        start = time.perf_counter()
        objective(x)[0].backward()
        seconds.append(time.perf_counter() - start)
    return min(seconds)


def one(size: int, signum: int) -> list:
    evaluation = evaluation_seconds(size)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "o.png"
        proc = subprocess.Popen([*stylize_argv(), str(CONTENT), str(STYLE), "-o", str(out), "--size", str(size),
                                 "--iterations", "1000", "--no-until-done"], stderr=subprocess.PIPE)
        text = b""
        while b"evals=" not in text and (chunk := os.read(proc.stderr.fileno(), 4096)):
            text += chunk
        time.sleep(evaluation / 2)
        sent = time.perf_counter()
        proc.send_signal(signum)
        err = proc.communicate()[1].decode(errors="replace")
        latency = time.perf_counter() - sent
        partial = out.exists() and json.loads(Image.open(out).info["stylize"])["partial"]
        return [size, evaluation, latency, latency / evaluation, proc.returncode, partial,
                err.strip().splitlines()[-1][-50:]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1024,2048")
    ap.add_argument("--signal", default="TERM", choices=["TERM", "INT", "HUP"])
    args = ap.parse_args()
    print(machine())
    rows = [one(int(s), getattr(signal, f"SIG{args.signal}")) for s in args.sizes.split(",")]
    print(table(["size", "one evaluation s", "signal to exit s", "exit/evaluation", "status", "partial output",
                 "message"], rows))


if __name__ == "__main__":
    main()
