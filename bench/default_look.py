"""Does the default command give the picture a user expects? Old default vs pastiche vs new default.

    python bench/default_look.py [--size 128] [--iterations 150] [--pastiche-steps 150] [--work DIR]
                                 [--variants old,pastiche,new] [--pairs 0,1,...] [--strips bench/default_look]

For each photograph x artwork pair (none of them the project's tuning pair tubingen x starry_night) it makes,
unless already in --work: (a) stylize with the OLD defaults (--ratio 1e-3), (b) pastiche's default command
(`pastiche --content C --styles S --output O`, its own defaults: content init, max pooling, weights 1 and 1)
at --size with --num-steps --pastiche-steps, (c) stylize with the defaults of settings.Settings as they are now
(the new default), plus any `rR` variant (stylize --ratio R, e.g. r3e-4) for a sweep. Every stylize run here
differs from the command line's default only in --size and --iterations.

Then it scores every picture with stylize's OWN objective for the pair (Session.objective: content loss at
conv4_2 divided by M, style loss sum w_l E_l over conv1_1..conv5_1, normalized network, average pooling) and
prints per pair the content and style losses and whether the target holds: the new default's style loss <=
the geometric mean of (a)'s and (b)'s, and its content loss <= the geometric mean of theirs (halfway in log
terms on both axes). With --strips it writes a strip per pair: photo | artwork | old | pastiche | new.
"""

import argparse
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from common import add_images_argument
from stylize import Session, Settings, images

IMAGES = Path("images")  # --images: a folder with content/ and style/ (see main)
PAIRS = [("astronaut", "starry_night"), ("astronaut", "the_scream"), ("coffee", "great_wave"),
         ("coffee", "shipwreck"), ("tubingen", "the_scream"), ("tubingen", "great_wave")]
OLD_RATIO = 1e-3  # the default before bench/README.md#the-default-look


def path_of(kind: str, name: str) -> Path:
    folder = IMAGES / kind
    return next(p for p in sorted(folder.iterdir()) if p.stem == name)


def settings_of(variant: str, size: int, iterations: int) -> Settings:
    base = Settings(size=size, iterations=iterations)
    if variant == "new":
        return base
    if variant == "old":
        return base.replace(ratio=OLD_RATIO)
    if variant.startswith("r"):
        return base.replace(ratio=float(variant[1:]))
    raise SystemExit(f"unknown variant {variant!r}")


def same_run(variant: str, variants: list[str], pattern: Path, args) -> Path | None:
    """An existing picture of another variant whose stylize settings are identical to `variant`'s."""
    if variant == "pastiche":
        return None
    mine = settings_of(variant, args.size, args.iterations)
    swept = [p.stem.rsplit("__", 1)[1] for p in pattern.parent.glob(pattern.name.replace("{}", "r*"))]
    for other in dict.fromkeys(variants + ["old", "new"] + swept):
        path = Path(str(pattern).format(other))
        if other not in (variant, "pastiche") and path.exists() and settings_of(other, args.size, args.iterations) == mine:
            return path
    return None


def make(variant: str, content: Path, style: Path, out: Path, args) -> None:
    start = time.perf_counter()
    if variant == "pastiche":
        if shutil.which("pastiche") is None:
            raise SystemExit("pastiche's command is not installed: pip install -e '.[bench]'")
        subprocess.run(["pastiche", "--content", str(content), "--styles", str(style), "--output", str(out),
                        "--size", str(args.size), "--num-steps", str(args.pastiche_steps), "--seed", "0",
                        "--no-verbose"], check=True, env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
    else:
        outcome = Session(settings_of(variant, args.size, args.iterations)).transfer(content, style)
        images.save_image(outcome.image, out, overwrite=True)
    print(f"  made {out.name} in {time.perf_counter() - start:.0f} s", flush=True)


def score(session: Session, objective, path: Path, width: int, height: int) -> tuple[float, float]:
    im = Image.open(path).convert("RGB")
    if im.size != (width, height):
        im = im.resize((width, height), Image.Resampling.LANCZOS)
    with torch.no_grad():
        _, parts = objective(images.to_tensor(im).to(session.device))
    return float(parts["content"]), float(parts["style"])


def strip(cells: list[tuple[str, Image.Image]], out: Path, cell: int) -> None:
    tiles = []
    for label, im in cells:
        im = images.fit(im.convert("RGB"), cell)
        tile = Image.new("RGB", (im.width, im.height + 16), "white")
        tile.paste(im, (0, 16))
        ImageDraw.Draw(tile).text((3, 2), label, fill="black")
        tiles.append(tile)
    sheet = Image.new("RGB", (sum(t.width for t in tiles) + 4 * (len(tiles) - 1), max(t.height for t in tiles)),
                      "white")
    x = 0
    for t in tiles:
        sheet.paste(t, (x, 0))
        x += t.width + 4
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, quality=88) if out.suffix == ".jpg" else sheet.save(out)


def main():
    ap = argparse.ArgumentParser()
    add_images_argument(ap)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--iterations", type=int, default=150)
    ap.add_argument("--pastiche-steps", type=int, default=150, help="pastiche's own default is 1000")
    ap.add_argument("--work", default="/tmp/default_look")
    ap.add_argument("--variants", default="old,pastiche,new")
    ap.add_argument("--pairs", default=",".join(str(i) for i in range(len(PAIRS))))
    ap.add_argument("--strips", default=None, help="folder for one strip per pair (photo|art|old|pastiche|new)")
    ap.add_argument("--threads", type=int, default=1, help="1 is faster than 2 on a busy 2-core machine")
    ap.add_argument("--no-make", action="store_true", help="only score what is already in --work")
    args = ap.parse_args()
    global IMAGES
    IMAGES = Path(args.images)
    torch.set_num_threads(args.threads)
    variants = args.variants.split(",")
    work = Path(args.work) / f"{args.size}px_{args.iterations}it"
    work.mkdir(parents=True, exist_ok=True)
    pairs = [PAIRS[int(i)] for i in args.pairs.split(",")]
    print(f"{args.size} px, {args.iterations} iterations (pastiche {args.pastiche_steps} steps); new default: "
          f"ratio {Settings().ratio:g}, noise {Settings().noise:g}; work {work}", flush=True)
    if not args.no_make:
        for variant in variants:  # one variant for all pairs before the next: the essential ones first
            for c, s in pairs:
                out = work / f"{c}__{s}__{variant}.png"
                if out.exists():
                    continue
                twin = same_run(variant, variants, work / f"{c}__{s}__{{}}.png", args)
                if twin is not None:  # e.g. "new" when a sweep already ran its ratio: the same run (CPU, seed 0)
                    shutil.copyfile(twin, out)
                    print(f"  {out.name}: the same settings as {twin.name}, copied", flush=True)
                else:
                    make(variant, path_of("content", c), path_of("style", s), out, args)
    header = f"| pair | {' | '.join(f'{v} content | {v} style' for v in variants)} | target |"
    print(header)
    print("|" + "---|" * (2 * len(variants) + 2))
    held_all = True
    for c, s in pairs:
        content, style = path_of("content", c), path_of("style", s)
        session = Session(Settings(size=args.size, iterations=args.iterations))
        job = session.transfer_job(content, style)  # the objective of the pair at the given size
        objective = session.objective(job)
        plan = session.plan(job)
        width, height = plan.width, plan.height
        losses = {}
        for v in variants:
            p = work / f"{c}__{s}__{v}.png"
            if p.exists():
                losses[v] = score(session, objective, p, width, height)
        verdict = "-"
        if {"old", "pastiche", "new"} <= losses.keys():
            (ca, sa), (cb, sb), (cn, sn) = losses["old"], losses["pastiche"], losses["new"]
            held = sn <= math.sqrt(sa * sb) and cn <= math.sqrt(ca * cb)
            held_all &= held
            old_held = sa <= math.sqrt(sa * sb) and ca <= math.sqrt(ca * cb)  # the old default against the same bar
            verdict = (f"{'holds' if held else 'FAILS'} (style <= {math.sqrt(sa * sb):.3g}, content <= "
                       f"{math.sqrt(ca * cb):.3g}); style {sn / sa:.2g} x old, content {cn / ca:.2g} x old"
                       f"{'; the old default passes too' if old_held else ''}")
        cells = " | ".join(f"{losses[v][0]:.3g} | {losses[v][1]:.3g}" if v in losses else "- | -" for v in variants)
        print(f"| {c} x {s} | {cells} | {verdict} |", flush=True)
        if args.strips and {"old", "pastiche", "new"} <= losses.keys():
            strip([("photo", Image.open(content)), ("artwork", Image.open(style))]
                  + [(label, Image.open(work / f"{c}__{s}__{v}.png"))
                     for label, v in (("old default", "old"), ("pastiche", "pastiche"), ("new default", "new"))],
                  Path(args.strips) / f"{c}__{s}.jpg", args.size)
    print(f"target held on every pair: {held_all}")


if __name__ == "__main__":
    sys.exit(main())
