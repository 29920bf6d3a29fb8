"""--precision bf16 against fp32: time per evaluation, final loss and picture, on the same pairs.

    python bench/precision.py --images IMAGES [--time-sizes 64,256,512] [--size 256] [--iterations 300]
                              [--pairs 0,1,2] [--repeats 10] [--strips bench/precision]

Time: one loss evaluation (the default objective's forward + backward, as in L-BFGS) at each of --time-sizes,
fp32 and bf16 called alternately --repeats times on the same image; the fastest of each (overhead.py's
`timed`). --time-sizes '' skips it, --pairs '' skips the runs.

Quality: per pair, three runs with the default settings at --size, --no-until-done and --iterations (the
same work for each): fp32 with seed 0, fp32 with seed 1 (the noise of the start: what a different seed alone
changes) and bf16 with seed 0. Every final picture is scored by the fp32 objective (a bf16 run's own loss
is the bf16 network's). "picture" is the mean absolute difference from fp32 seed 0's picture in 8-bit levels:
bf16's should be within the two fp32 seeds' difference for bf16 to count as "within the noise".
"""

import argparse
import time
from pathlib import Path

import torch
from PIL import Image

from common import add_images_argument, machine, table
from default_look import PAIRS, path_of, score, strip
import default_look
from overhead import timed
from stylize import Session, Settings, images


def evaluation_times(content: Path, style: Path, size: int, repeats: int) -> tuple[float, float]:
    """Fastest seconds of one evaluation (loss + gradient) with fp32 and with bf16 convolutions."""
    fns = []
    for precision in ("fp32", "bf16"):
        session = Session(Settings(size=size, precision=precision), device="cpu")
        objective = session.objective(session.transfer_job(content, style))
        plan = session.plan(session.transfer_job(content, style))
        x = torch.rand(1, 3, plan.height, plan.width, requires_grad=True)

        def evaluate(objective=objective, x=x):
            x.grad = None
            objective(x)[0].backward()

        fns.append(evaluate)
    return tuple(timed(fns, repeats))


def main():
    ap = argparse.ArgumentParser()
    add_images_argument(ap)
    ap.add_argument("--time-sizes", default="64,256,512")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--pairs", default="0,1,2")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--strips", default=None, help="folder for a strip per pair: fp32 seed 0 | fp32 seed 1 | bf16")
    ap.add_argument("--work", default="/tmp/precision")
    args = ap.parse_args()
    default_look.IMAGES = Path(args.images)
    pairs = [PAIRS[int(i)] for i in args.pairs.split(",") if i]
    print(machine(), flush=True)

    c, s = (path_of("content", PAIRS[0][0]), path_of("style", PAIRS[0][1]))
    for size in (int(v) for v in args.time_sizes.split(",") if v):
        fp32, bf16 = evaluation_times(c, s, size, args.repeats)
        print(f"one evaluation at {size} px ({PAIRS[0][0]} x {PAIRS[0][1]}): fp32 {fp32:.3f} s, bf16 {bf16:.3f} s, "
              f"bf16/fp32 {bf16 / fp32:.2f}", flush=True)
    if not pairs:
        return

    work = Path(args.work) / f"{args.size}px_{args.iterations}it"
    work.mkdir(parents=True, exist_ok=True)
    runs = [("fp32 seed 0", "fp32", 0), ("fp32 seed 1", "fp32", 1), ("bf16 seed 0", "bf16", 0)]
    rows = []
    for name_c, name_s in pairs:
        content, style = path_of("content", name_c), path_of("style", name_s)
        reference = Session(Settings(size=args.size), device="cpu")
        job = reference.transfer_job(content, style)
        objective, plan = reference.objective(job), reference.plan(job)
        pictures, seconds = {}, {}
        for label, precision, seed in runs:
            out = work / f"{name_c}__{name_s}__{precision}_{seed}.png"
            start = time.perf_counter()
            if not out.exists():
                session = Session(Settings(size=args.size, iterations=args.iterations, until_done=False,
                                           precision=precision, seed=seed), device="cpu")
                outcome = session.transfer(content, style)
                images.save_image(outcome.image, out, overwrite=True)
            seconds[label] = time.perf_counter() - start
            pictures[label] = out
        scores = {k: score(reference, objective, p, plan.width, plan.height) for k, p in pictures.items()}
        base = images.to_tensor(Image.open(pictures["fp32 seed 0"]).convert("RGB"))

        def diff(label):
            return float((images.to_tensor(Image.open(pictures[label]).convert("RGB")) - base).abs().mean() * 255)

        loss = {k: args_ratio_total(reference, v) for k, v in scores.items()}
        rows.append([f"{name_c} x {name_s}", loss["fp32 seed 0"], loss["fp32 seed 1"] / loss["fp32 seed 0"],
                     loss["bf16 seed 0"] / loss["fp32 seed 0"], diff("fp32 seed 1"), diff("bf16 seed 0")])
        print(f"  {name_c} x {name_s}: " + ", ".join(f"{k} {seconds[k]:.0f} s" for k in seconds), flush=True)
        if args.strips:
            strip([(k, Image.open(p)) for k, p in pictures.items()],
                  Path(args.strips) / f"{name_c}__{name_s}.jpg", args.size)
    print(f"\n{args.size} px, {args.iterations} iterations, --no-until-done; losses by the fp32 objective\n")
    print(table(["pair", "fp32 loss", "fp32 seed 1 / seed 0", "bf16 / fp32 seed 0", "picture: seed 1 vs 0 (levels)",
                 "picture: bf16 vs fp32 (levels)"], rows))


def args_ratio_total(session: Session, parts: tuple[float, float]) -> float:
    """alpha L_content + beta L_style with the default weights: the objective's total."""
    alpha, beta = session.settings.alpha_beta
    return alpha * parts[0] + beta * parts[1]


if __name__ == "__main__":
    main()
