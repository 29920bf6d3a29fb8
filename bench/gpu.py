"""CUDA: seconds per evaluation and peak GPU memory at 512 and 1024 px, with the speed options.

    python bench/gpu.py [--sizes 512,1024] [--evals 20]
    python bench/gpu.py --largest [--evals 3]

Rows: fp32 (TF32 off), TF32, TF32 + cudnn autotuning, and bf16 autocast (an approximation: its final
loss is printed beside fp32's so the quality can be judged). --largest instead asks the memory plan for
the largest --size that fits the GPU's free memory (with --history 100, then with --history 1 and the
gradients in stripes), runs --evals evaluations there with the plan's settings, and prints the peak GPU memory
against the estimate (the estimate for the history actually filled). Needs a CUDA GPU.
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
    session = Session(size=size, device="cuda", precision="bf16" if bf16 else "fp32")  # --precision bf16
    torch.backends.cudnn.benchmark = autotune
    torch.backends.cudnn.deterministic = not autotune
    objective = session.objective(session.transfer_job(CONTENT, STYLE))
    w, h = fit(load_image(CONTENT), size).size
    x0 = torch.rand(1, 3, h, w, device="cuda")
    optimize(objective, x0, iterations=3, evaluations=3)  # warm-up
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    result = optimize(objective, x0, iterations=evals, evaluations=evals)
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / result.evaluations, torch.cuda.max_memory_allocated() / 2**20, result.loss


def largest(evals):
    """The largest size the plan admits on this GPU with --history 100 (whole-tensor gradients), and with
    --history 1 (gradients in stripes), each run for a few evaluations (fp32, as the CLI runs)."""
    from stylize import memory, stripes
    from stylize.objective import Objective
    from stylize.settings import DEFAULTS

    layers = (DEFAULTS.content_layer,) + DEFAULTS.style_layers
    device = torch.device("cuda")
    w0, h0 = fit(load_image(CONTENT), 1024).size
    budget = int(memory.USABLE * memory.available(device))
    rows = []
    for reuse in (True, False):
        history = DEFAULTS.history if reuse else 1
        size = memory.largest_fitting(w0 * 16, h0 * 16, layers, history, budget, False, reuse)
        session = Session(size=size, device="cuda", iterations=evals, evaluations=evals, history=history)
        job = session.transfer_job(CONTENT, STYLE)
        planned = session.plan(job)
        width, height, plan = planned.width, planned.height, planned.memory
        net = session.network(job.layers)
        terms = session.terms(job, net, planned.levels[-1])
        x0 = torch.rand(1, 3, height, width, device="cuda")
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        t = time.perf_counter()
        with stripes.striped(not plan.reuse):
            result = optimize(Objective(net, terms), x0, iterations=evals, evaluations=evals, history=plan.history)
        torch.cuda.synchronize()
        filled = min(plan.history, max(1, result.iterations - 1))
        est = memory.estimate(width, height, layers, filled, False, plan.reuse)
        peak = torch.cuda.max_memory_allocated()
        rows.append([f"{width}x{height}", "whole" if plan.reuse else "stripes", f"{plan.history} ({filled})",
                     round(peak / 2**20), round(est / 2**20), est / peak, (time.perf_counter() - t) / result.evaluations])
        print(rows[-1], flush=True)
        del session, net, terms, result
        torch.cuda.empty_cache()
    print(f"free: {memory.available(device) / 2**30:.1f} GiB; a run plans on {memory.USABLE:.0%} of it")
    print(table(["largest size", "gradients", "history (filled)", "peak MiB", "estimate MiB", "estimate/peak",
                 "s/eval"], rows))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="512,1024")
    ap.add_argument("--evals", type=int, default=20)
    ap.add_argument("--largest", action="store_true", help="the largest size that fits this GPU (see above)")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device")
    print(torch.cuda.get_device_name(), "torch", torch.__version__)
    if args.largest:
        return largest(args.evals)
    rows = []
    for size in (int(v) for v in args.sizes.split(",")):
        for name, opts in (("fp32", (False, False, False)), ("tf32", (True, False, False)),
                           ("tf32 + autotune", (True, True, False)), ("--precision bf16", (True, True, True))):
            sec, mib, loss = run(size, args.evals, *opts)
            rows.append([size, name, sec, round(mib), loss])
    print(table(["size", "mode", "s/eval", "peak MiB", "loss after evals"], rows))


if __name__ == "__main__":
    main()
