"""Pairs per second on a local Ray cluster with 1 and 2 workers (one thread each) against a plain batch with the
same threads, and the Ray path's per-pair scheduling overhead (goal: under 5 % of a pair's time at 256 px).

    python bench/scale_out.py [--sizes 64,256] [--pairs 20] [--iterations 20] [--workers 1,2] [--gpu]

The overhead of a worker is the time between its first pair's start and its last pair's end that its
pairs' own synthesis (record.seconds, measured in the worker) does not account for: handing out the pair,
the result's way back, the report. --gpu: one actor per GPU against a plain batch on one GPU.
"""

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from common import CONTENT, ROOT, machine, table
from stylize import batch, cluster
from stylize.settings import Settings


def pairs_of(tmp: Path, count: int) -> list:
    """`count` distinct pairs: crops of the example photo x the example paintings (as batch_vs_separate.py)."""
    photo, styles = Image.open(CONTENT).convert("RGB"), sorted((ROOT / "examples").glob("*.jpg"))
    contents = []
    for k in range(max(1, -(-count // len(styles)))):
        p = tmp / f"c{k}.png"
        photo.crop((k * 60, k * 40, k * 60 + 600, k * 40 + 450)).save(p)
        contents.append(str(p))
    return [(c, str(s), None) for c in contents for s in styles][:count]


def plain(rows, out: Path, settings: Settings, threads: int) -> tuple[float, list]:
    torch.set_num_threads(threads)
    start = time.perf_counter()
    rep = batch.run_batch(batch.plan(rows, out), out, settings)
    return time.perf_counter() - start, rep.records


def on_ray(rows, out: Path, settings: Settings, workers: int, gpus: int) -> tuple[float, list, float, float]:
    """(wall s, records, overhead s per pair, start-up s) of the batch on a fresh local cluster of `workers` CPUs
    (or GPUs); start-up: until the first pair goes to a worker (the actors start, import torch)."""
    import ray

    ray.init(num_cpus=workers, num_gpus=gpus, include_dashboard=False,
             logging_level=logging.ERROR, log_to_driver=False)
    starts, ends = {}, {}
    try:
        start = time.perf_counter()
        rep = cluster.run_batch(batch.plan(rows, out), out, settings, workers=workers,
                                on_start=lambda r, w: starts.setdefault(w, []).append(time.perf_counter()),
                                on_pair=lambda r: ends.setdefault(r.worker, []).append(time.perf_counter()))
        wall = time.perf_counter() - start
    finally:
        ray.shutdown()
    gaps, count = 0.0, 0
    for worker, begun in starts.items():
        mine = [r for r in rep.records if r.worker == worker]
        gaps += (max(ends[worker]) - min(begun)) - sum(r.seconds for r in mine)
        count += len(mine)
    return wall, rep.records, gaps / max(count, 1), min(min(b) for b in starts.values()) - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="64,256")
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--workers", default="1,2", help="Ray worker counts (each one thread)")
    ap.add_argument("--gpu", action="store_true", help="one actor per GPU, against a plain batch on one GPU")
    args = ap.parse_args()
    # the Ray workers import this stylize, wherever the bench's own came from
    source = str(Path(cluster.__file__).resolve().parents[1])
    os.environ["PYTHONPATH"] = os.pathsep.join([source, *filter(None, [os.environ.get("PYTHONPATH")])])
    print(machine())
    gpus = torch.cuda.device_count() if args.gpu else 0
    counts = [gpus] if args.gpu else [int(w) for w in args.workers.split(",")]
    rows_out = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = pairs_of(tmp, args.pairs)
        for size in (int(s) for s in args.sizes.split(",")):
            settings = Settings(size=size, iterations=args.iterations, until_done=False,
                                device="cuda" if args.gpu else "cpu")
            for k in counts:
                threads = 1 if args.gpu else k
                wall, records = plain(rows, tmp / f"plain{size}_{k}", settings, threads)
                per_pair = sum(r.seconds for r in records) / len(records)
                rows_out.append([size, "plain batch", f"1 process, {threads} thread(s)" if not args.gpu else "1 GPU",
                                 wall, len(records) / wall, "", per_pair, "", ""])
                wall, records, overhead, startup = on_ray(rows, tmp / f"ray{size}_{k}", settings, k, gpus)
                per_pair = sum(r.seconds for r in records) / len(records)
                assert all(r.status == "ok" for r in records), [r.error for r in records if r.status != "ok"]
                rows_out.append([size, "ray", f"{k} worker(s) x 1 thread" if not args.gpu else f"{k} GPU actor(s)",
                                 wall, len(records) / wall, startup, per_pair, overhead,
                                 f"{100 * overhead / per_pair:.2f} %"])
    print(table(["size", "path", "workers", "wall s", "pairs/s", "start-up s", "s/pair (synthesis)",
                 "overhead s/pair", "overhead/pair"], rows_out))


if __name__ == "__main__":
    main()
