"""CUDA: seconds per evaluation and peak GPU memory at 512 and 1024 px, with the speed options.

    python bench/gpu.py [--sizes 512,1024] [--evals 20]

Rows: fp32 (TF32 off), TF32, TF32 + cudnn autotuning, and bf16 autocast (an approximation: its final
loss is printed beside fp32's so the quality can be judged). Needs a CUDA GPU.
"""

import argparse
import time

import torch

from common import CONTENT, STYLE, table
from stylize import Session
from stylize.images import fit, load_image
from stylize.synthesis import optimize


def run(size, evals, tf32, autotune, bf16):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    session = Session(size=size, device="cuda")
    torch.backends.cudnn.benchmark = autotune
    torch.backends.cudnn.deterministic = not autotune
    s = session.settings
    objective = session.objective(session.transfer_job(CONTENT, STYLE))
    if bf16:
        plain = objective

        def objective(x):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return plain(x)
    w, h = fit(load_image(CONTENT), size).size
    x0 = torch.rand(1, 3, h, w, device="cuda")
    optimize(objective, x0, iterations=3, evaluations=3)  # warm-up
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    result = optimize(objective, x0, iterations=evals, evaluations=evals)
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / result.evaluations, torch.cuda.max_memory_allocated() / 2**20, result.loss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="512,1024")
    ap.add_argument("--evals", type=int, default=20)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device")
    print(torch.cuda.get_device_name(), "torch", torch.__version__)
    rows = []
    for size in (int(v) for v in args.sizes.split(",")):
        for name, opts in (("fp32", (False, False, False)), ("tf32", (True, False, False)),
                           ("tf32 + autotune", (True, True, False)), ("bf16 autocast", (True, True, True))):
            sec, mib, loss = run(size, args.evals, *opts)
            rows.append([size, name, sec, round(mib), loss])
    print(table(["size", "mode", "s/eval", "peak MiB", "loss after evals"], rows))


if __name__ == "__main__":
    main()
