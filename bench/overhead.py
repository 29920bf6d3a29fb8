"""Our cost per loss evaluation over the bare truncated network's forward+backward, same input.

    python bench/overhead.py [--sizes 256,512] [--repeats 20]

"bare": the truncated VGG-19 (to conv5_1), input requiring grad, out.sum().backward().
"objective": stylize's loss (content at conv4_2, style at conv1_1..conv5_1) + backward.
"in L-BFGS": a real synthesis run, wall time / evaluations (includes L-BFGS's own vector work).
"stoppable": the same run with should_stop given, as every command runs it: each pass on a worker thread while
the calling thread waits for it and looks at should_stop (synthesis._Worker), against the same run without.
"style products alone": the two matrix products per style layer that the paper's style loss needs
(G = F F^T forward, F^T (G - A) backward), timed by themselves on the same responses: a floor under
our overhead that no rearrangement of the rest can remove.
"""

import argparse
import time

import torch

from common import CONTENT, STYLE, machine, table
from stylize import Session, losses
from stylize.images import fit, load_image
from stylize.synthesis import optimize


def timed(fns, repeats):
    """Fastest seconds of each function, called in turn `repeats` times: interleaved, so that a slow
    moment of the machine hits every candidate alike, and the minimum, as timeit advises (the slower
    calls measure the machine's other work, not the code)."""
    for fn in fns:
        fn()  # warm-up: oneDNN builds its kernels for this shape
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
    return [min(ts) for ts in times]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="256,512")
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    print(machine())
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        session = Session(size=size)
        s = session.settings
        layers = (s.content_layer,) + s.style_layers
        net = session.network(layers)
        w, h = fit(load_image(CONTENT), size).size
        x = torch.rand(1, 3, h, w, requires_grad=True)

        def bare():
            x.grad = None
            out = net(x, ("conv5_1",))["conv5_1"]
            out.sum().backward()

        objective = session.objective(session.transfer_job(CONTENT, STYLE))

        def ours():
            x.grad = None
            objective(x)[0].backward()

        with torch.no_grad():
            responses = list(net(x, s.style_layers).values())
        D = {f.shape[1]: torch.eye(f.shape[1]) for f in responses}

        def products():  # the style loss's two matrix products per layer, alone: G = F F^T and F^T (G - A)
            for f in responses:
                losses._gram(f)
                losses._times(f, D[f.shape[1]])

        t_bare, t_ours, t_products = timed([bare, ours, products], args.repeats)
        evals = 3 * args.repeats
        start = torch.rand(1, 3, h, w)
        loops = {False: [], True: []}
        for _ in range(2):  # alternated, twice: the fastest of each
            for stoppable in (False, True):
                result = optimize(objective, start, iterations=evals, evaluations=evals,
                                  should_stop=(lambda: False) if stoppable else None)
                loops[stoppable].append(result.seconds / result.evaluations)
        t_loop, t_stoppable = min(loops[False]), min(loops[True])
        rows.append([f"{w}x{h}", t_bare, t_ours, t_loop, t_ours / t_bare, t_loop / t_bare, t_products / t_bare,
                     t_stoppable / t_loop])
    print(table(["size", "bare fwd+bwd s", "objective s", "in L-BFGS s/eval", "objective/bare", "L-BFGS/bare",
                 "style products alone/bare", "stoppable/L-BFGS"], rows))


if __name__ == "__main__":
    main()
