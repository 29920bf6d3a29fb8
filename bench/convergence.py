"""When does the picture stop changing? Loss and pixel change per L-BFGS iteration, pictures along the way.

    python bench/convergence.py [--size 256] [--iterations 500] [--ratio 3e-4] [--pairs all|I,J,...] [--k 10]
                                [--until-done] [--trace DIR]

For each photograph x artwork pair (--images DIR), one synthesis through
the Python API. Per iteration it records the best loss, the evaluations so far, and the mean absolute change
of the (clamped) best image in 8-bit levels: over the last iteration (d1) and over the last k iterations
(dk, end point against start point). It saves the best picture at iterations 50, 100, 150, 200, 300, 400, 500
as one strip per pair (bench/convergence/<size>_<content>__<style>.png, each frame `--thumb` px on its long
side), and prints a table: per pair, the iteration at which each candidate stopping rule fires and, there,
the evaluations, the loss against the last iteration's and the picture's mean difference from the last one.

--trace DIR keeps the per-iteration figures (JSON) and every 5th iteration's picture (uint8, torch.save)
for later analysis. --until-done runs with the stopping rule on (Settings.until_done) instead of replaying
it on a fixed-length run.
"""

import argparse
import json
import time
from collections import deque
from pathlib import Path

import torch
from PIL import Image

from common import add_images_argument, machine, table
from stylize import Session
from stylize.synthesis import DONE_AFTER, DONE_DROP, DONE_WINDOW

IMAGES = Path("images")  # --images: a folder with content/ and style/ (see main)
CONTENTS = ("astronaut.jpg", "coffee.png", "tubingen.jpg")
STYLES = ("great_wave.jpg", "shipwreck.jpg", "starry_night.jpg", "the_scream.jpg")
# Six pairs: every photograph twice, every artwork at least once.
PAIRS = [("tubingen.jpg", "starry_night.jpg"), ("astronaut.jpg", "great_wave.jpg"),
         ("coffee.png", "the_scream.jpg"), ("tubingen.jpg", "shipwreck.jpg"),
         ("astronaut.jpg", "the_scream.jpg"), ("coffee.png", "starry_night.jpg")]
SHOTS = (50, 100, 150, 200, 300, 400, 500)
OUT = Path(__file__).resolve().parent / "convergence"


class Recorder:
    """Progress callback: the best image at the end of every iteration, and the figures above."""

    def __init__(self, k: int, keep_every: int = 5):
        self.k, self.keep_every = k, keep_every
        self.current = None  # (iteration, evaluations, best, image) of the iteration in progress
        self.window: deque = deque(maxlen=k + 1)  # clamped images at the ends of the last k+1 iterations
        self.rows: list[dict] = []
        self.shots: dict[int, torch.Tensor] = {}
        self.kept: dict[int, torch.Tensor] = {}

    def __call__(self, p) -> None:
        if self.current is not None and p.iteration != self.current[0]:
            self.close()
        self.current = (p.iteration, p.evaluations, p.best, p.image.detach().clamp(0, 1).clone())

    def close(self) -> None:
        iteration, evaluations, best, image = self.current
        self.window.append(image)
        d1 = float((image - self.window[-2]).abs().mean()) * 255 if len(self.window) > 1 else float("nan")
        dk = float((image - self.window[0]).abs().mean()) * 255 if len(self.window) == self.k + 1 else float("nan")
        self.rows.append(dict(iteration=iteration, evaluations=evaluations, loss=best, d1=d1, dk=dk))
        if iteration in SHOTS:
            self.shots[iteration] = image
        if iteration % self.keep_every == 0:
            self.kept[iteration] = image.mul(255).round().to(torch.uint8)

    def finish(self) -> None:
        if self.current is not None:
            self.close()
            self.current = None


def strip(shots: dict[int, torch.Tensor], last: torch.Tensor, thumb: int) -> Image.Image:
    frames = [(f"{k}", shots[k]) for k in SHOTS if k in shots]
    if not frames or frames[-1][1] is not last:
        frames.append(("end", last))
    pics = []
    for _, x in frames:
        im = Image.fromarray(x[0].permute(1, 2, 0).mul(255).round().to(torch.uint8).cpu().numpy())
        im.thumbnail((thumb, thumb), Image.Resampling.LANCZOS)
        pics.append(im)
    w, h = pics[0].size
    out = Image.new("RGB", (len(pics) * (w + 4) - 4, h), "white")
    for i, im in enumerate(pics):
        out.paste(im, (i * (w + 4), 0))
    return out


def replay(rows: list[dict], rule) -> dict | None:
    """The row at which `rule(rows, i)` first fires (None: never)."""
    for i in range(len(rows)):
        if rule(rows, i):
            return rows[i]
    return None


def pixel_rule(threshold: float, first: int, window: int):
    """synthesis.Bookkeeper's "done": the sum of the last `window` iterations' mean changes (d1) is below
    `threshold` 8-bit levels, not before iteration `first`."""
    def rule(rows, i):
        if rows[i]["iteration"] < first or i < window:
            return False
        return sum(r["d1"] for r in rows[i - window + 1: i + 1]) < threshold
    return rule


def loss_rule(drop: float, first: int, window: int):
    """synthesis.Bookkeeper's "done": the best loss fell by less than `drop` (relative) over the last `window`
    iterations, not before iteration `first`."""
    def rule(rows, i):
        if rows[i]["iteration"] < first or i < window:
            return False
        return rows[i - window]["loss"] - rows[i]["loss"] < drop * rows[i]["loss"]
    return rule


def main():
    ap = argparse.ArgumentParser()
    add_images_argument(ap)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--iterations", type=int, default=500)
    ap.add_argument("--ratio", type=float, default=3e-4)
    ap.add_argument("--pairs", default="all", help="all, or comma-separated indices into PAIRS (0-5)")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--thumb", type=int, default=192)
    ap.add_argument("--until-done", action="store_true")
    ap.add_argument("--trace", default=None)
    args = ap.parse_args()
    global IMAGES
    IMAGES = Path(args.images)
    pairs = PAIRS if args.pairs == "all" else [PAIRS[int(i)] for i in args.pairs.split(",")]
    print(machine())
    extra = {"until_done": True} if args.until_done else ({"until_done": False} if _has_field() else {})
    session = Session(size=args.size, iterations=args.iterations, ratio=args.ratio, **extra)
    OUT.mkdir(exist_ok=True)
    trace = Path(args.trace) if args.trace else None
    if trace:
        trace.mkdir(parents=True, exist_ok=True)
    rules = {f"loss fell < {d:g} over {w}": loss_rule(d, DONE_AFTER, w)
             for d, w in ((DONE_DROP, DONE_WINDOW), (0.02, 50), (0.005, 25))}
    rules.update({f"sum10 d1<{t:g}": pixel_rule(t, DONE_AFTER, 10) for t in (1.0, 2.0)})  # the earlier pixel rule
    result_rows = []
    for content, style in pairs:
        rec = Recorder(args.k)
        t = time.perf_counter()
        outcome = session.transfer(IMAGES / "content" / content, IMAGES / "style" / style, callback=rec)
        seconds = time.perf_counter() - t
        rec.finish()
        rows, last = rec.rows, rec.rows[-1]
        name = f"{args.size}_{Path(content).stem}__{Path(style).stem}"
        strip(rec.shots, rec.current[3] if rec.current else rec.window[-1], args.thumb).save(OUT / f"{name}.png",
                                                                                              optimize=True)
        final = rec.window[-1]
        if trace:
            (trace / f"{name}.json").write_text(json.dumps(dict(rows=rows, stopped=outcome.stopped,
                                                                seconds=seconds, loss=outcome.loss)))
            torch.save(rec.kept, trace / f"{name}.pt")
        print(f"\n{content} x {style}: {outcome.iterations} iterations, {outcome.evaluations} evaluations, "
              f"stopped {outcome.stopped}, loss {outcome.loss:.5g}, {seconds:.0f} s", flush=True)
        print(table(["iteration", "evaluations", "loss", "loss/final", "d1 (levels)", f"d{args.k} (levels)"],
                    [[r["iteration"], r["evaluations"], r["loss"], r["loss"] / last["loss"], r["d1"], r["dk"]]
                     for r in rows if r["iteration"] in (10, 25) + SHOTS or r is last]), flush=True)
        for rule_name, rule in rules.items():
            hit = replay(rows, rule)
            if hit is None:
                result_rows.append([name, rule_name, "-", "-", "-", "-"])
                continue
            kept = rec.kept.get(hit["iteration"] - hit["iteration"] % 5)
            diff = float((kept.float() - final.mul(255).round()).abs().mean()) if kept is not None else float("nan")
            result_rows.append([name, rule_name, hit["iteration"], hit["evaluations"] / last["evaluations"],
                                hit["loss"] / last["loss"] - 1, diff])
    print("\nStopping rules replayed on the fixed runs (evaluations and loss relative to the last iteration's; "
          "picture: mean |difference| from the last, 8-bit levels, at the nearest earlier multiple of 5)")
    print(table(["pair", "rule", "stops at", "evals share", "loss excess", "picture diff"], result_rows))


def _has_field() -> bool:
    from stylize.settings import FIELDS

    return "until_done" in FIELDS


if __name__ == "__main__":
    main()
