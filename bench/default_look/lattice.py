"""The lattice at high ratios: a run of tubingen x starry_night (or a content-only reconstruction) per variant,
and the power of the sky residual (result - photo) at the period-p lattice frequencies over the rest (1: none).

    python bench/default_look/lattice.py SIZE ITERATIONS base,noise=0,noise=0.1,recon,recon+nonorm,recon+max
"""
import sys, time, numpy as np, torch
from pathlib import Path
from PIL import Image
torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]
from stylize import Session, Settings, images
SIZE = int(sys.argv[1]); ITS = int(sys.argv[2]); variants = sys.argv[3].split(",")
C = str(ROOT / "examples" / "tubingen.jpg"); S = str(ROOT / "examples" / "starry_night.jpg")
OUT = Path("/tmp/lattice"); OUT.mkdir(exist_ok=True)
def settings(v):
    s = Settings(size=SIZE, iterations=ITS, ratio=1e-2, until_done=False)  # every iteration, as measured
    for part in v.split("+"):
        k, _, val = part.partition("=")
        if k == "noise": s = s.replace(noise=float(val))
        elif k == "max": s = s.replace(pooling="max")
        elif k == "ratio": s = s.replace(ratio=float(val))
        elif k == "init": s = s.replace(init=val)
        elif k == "nonorm": s = s.replace(normalize=False)
    return s
photo = images.to_tensor(images.fit(images.load_image(C), SIZE))[0].numpy()
H, W = photo.shape[1:]
mask = np.array(Image.open(str(ROOT / "examples" / "tubingen_sky_mask.png")).convert("L").resize((W, H))) > 128
rows = 32 * SIZE // 192
full = mask[:rows].all(axis=0); xs = np.where(full)[0]
x0 = xs[0]; w = (len(xs) // 16) * 16
def metric(img):
    d = img[:, :rows, x0:x0 + w] - photo[:, :rows, x0:x0 + w]
    d = d - d.mean(axis=(1, 2), keepdims=True)
    P = (np.abs(np.fft.fft2(d)) ** 2).sum(0)
    P[0, 0] = 0
    res = {"rms": float(np.sqrt((d ** 2).mean()))}
    for p in (2, 4, 8, 16):
        sel = np.zeros_like(P, bool); sel[:: rows // p, :: w // p] = True; sel[0, 0] = False
        if rows % p or w % p: continue
        res[f"p{p}"] = float(P[sel].mean() / P[~sel].mean())
    return res
for v in variants:
    t = time.perf_counter()
    s = settings(v); sess = Session(s)
    if v.startswith("recon"):
        o = sess.reconstruct_content(C)
    else:
        o = sess.transfer(C, S)
    o.image.save(OUT / f"{SIZE}_{v}.png")
    x = images.to_tensor(o.image)[0].numpy()
    print(v, f"{time.perf_counter()-t:.0f}s", {k: round(val, 3) for k, val in metric(x).items()}, f"content {o.content_loss} style {o.style_loss}", flush=True)
