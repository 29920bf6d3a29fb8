"""A batch of tiny pairs in one process vs one `stylize` process per pair.

    python bench/batch_vs_separate.py [--pairs 20] [--size 64] [--iterations 20]
"""

import argparse
import tempfile
from pathlib import Path

from PIL import Image

from common import CONTENT, ROOT, machine, run_process, stylize_argv, table


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=20)
    args = ap.parse_args()
    print(machine())
    opts = ["--size", str(args.size), "--iterations", str(args.iterations), "--quiet"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # 5 contents (crops of the example photo) x 4 styles = 20 distinct pairs
        photo, styles = Image.open(CONTENT).convert("RGB"), sorted((ROOT / "examples").glob("*.jpg"))
        contents = []
        for k in range(max(1, args.pairs // len(styles))):
            p = tmp / f"c{k}.png"
            photo.crop((k * 60, k * 40, k * 60 + 600, k * 40 + 450)).save(p)
            contents.append(p)
        pairs = [(c, s) for c in contents for s in styles][: args.pairs]
        manifest = tmp / "pairs.csv"
        manifest.write_text("content,style\n" + "".join(f"{c},{s}\n" for c, s in pairs))
        t_batch, m_batch, _ = run_process(stylize_argv() + ["batch", str(manifest), "--out-dir", str(tmp / "b")] + opts)
        t_sep = 0.0
        for k, (c, s) in enumerate(pairs):
            t, _, _ = run_process(stylize_argv() + [str(c), str(s), "-o", str(tmp / f"s{k}.png")] + opts)
            t_sep += t
    print(table(["pairs", "one batch s", f"{len(pairs)} separate runs s", "batch/separate", "batch peak MiB"],
                [[len(pairs), t_batch, t_sep, t_batch / t_sep, round(m_batch)]]))


if __name__ == "__main__":
    main()
