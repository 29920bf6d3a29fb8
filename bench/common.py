"""Shared helpers of the bench scripts: the example pair, process timing with peak memory, tables."""

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from stylize import allocator

allocator.manage()  # what the command line does, for the scripts that run stylize in their own process

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "examples" / "tubingen.jpg"
STYLE = ROOT / "examples" / "starry_night.jpg"


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}; torch {torch.__version__}, {torch.get_num_threads()} threads"


def run_process(argv: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak resident MiB, stderr tail) of one whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, err[-300:]


def table(header: list[str], rows: list[list]) -> str:
    cells = [header] + [[f"{c:.3g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
    return "\n".join([line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in cells[1:]])


def stylize_argv() -> list[str]:
    return [sys.executable, "-m", "stylize"]


def add_images_argument(parser) -> None:
    """--images DIR: the held-out photographs and artworks of the default-look and convergence benches."""
    parser.add_argument("--images", required=True,
                        help="a folder with content/ (astronaut, coffee: scikit-image's data; tubingen: examples/) "
                             "and style/ (great_wave, shipwreck, starry_night, the_scream: examples/)")
