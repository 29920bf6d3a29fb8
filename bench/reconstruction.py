"""The paper's reconstruction claims, measured: PSNR of content reconstructions per layer, and how far
style reconstructions bring the style loss down while staying away from the artwork's content.

    python bench/reconstruction.py [--size 128] [--iterations 1000] [--noise 0.02]
"""

import argparse
import math
import time

from common import CONTENT, STYLE, machine, table
from stylize import Session
from stylize.figures import FIGURE1_CONTENT_LAYERS, PAPER_ROWS, row_label
from stylize.images import fit, load_image, to_tensor
from stylize.synthesis import noise_image


def psnr(a, b) -> float:
    return 10 * math.log10(1 / float(((a - b) ** 2).mean()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--noise", type=float, default=0.02)
    ap.add_argument("--skip-content", action="store_true")
    args = ap.parse_args()
    print(machine())
    session = Session(size=args.size, iterations=args.iterations, noise=args.noise)
    if not args.skip_content:
        reference = to_tensor(fit(load_image(CONTENT), args.size))
        rows = []
        for layer in FIGURE1_CONTENT_LAYERS:
            t = time.perf_counter()
            out = session.reconstruct_content(CONTENT, layer)
            rows.append([layer, round(psnr(to_tensor(out.image), reference), 1), out.content_loss, out.evaluations,
                         round(time.perf_counter() - t)])
        print(f"Content reconstruction of {CONTENT.name} at {args.size} px, {args.iterations} iterations, noise {args.noise}")
        print(table(["layer", "PSNR dB", "final content loss", "evaluations", "s"], rows))
    rows = []
    art = to_tensor(fit(load_image(STYLE), args.size))
    for k, layers in enumerate(PAPER_ROWS):
        h, w = art.shape[-2:]
        objective = session.objective(session.style_job(STYLE, layers))
        start = float(objective(noise_image(h, w, args.noise, session.settings.seed))[0])
        out = session.reconstruct_style(STYLE, layers)
        content = session.objective(session.content_job(STYLE, "conv4_2"))
        rows.append([row_label(k), start, out.style_loss, start / out.style_loss,
                     float(content(noise_image(h, w, args.noise, 0))[0]), float(content(to_tensor(out.image))[0]),
                     round(psnr(to_tensor(out.image), art), 1)])
    print(f"Style reconstruction of {STYLE.name} at {args.size} px, {args.iterations} iterations")
    print(table(["set", "style loss at start", "final style loss", "fall (x)", "conv4_2 content loss of the start",
                 "conv4_2 content loss of the result", "PSNR vs artwork dB"], rows))


if __name__ == "__main__":
    main()
