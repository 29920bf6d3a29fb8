"""Images in and out: load (EXIF, modes, limits), size, tensor <-> PIL, atomic save with metadata."""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import torch
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from .errors import ImageError


def load_image(path: str | os.PathLike) -> Image.Image:
    """Read any Pillow-readable image as 8-bit RGB, upright (EXIF orientation applied).

    Transparent images are composited on white; 16-bit and float images are rescaled, not clipped.
    Pillow's decompression-bomb limit (Image.MAX_IMAGE_PIXELS) is kept and enforced.
    """
    p = Path(path)
    if not p.exists():
        raise ImageError(f"{p}: no such file")
    if p.is_dir():
        raise ImageError(f"{p}: is a directory, not an image")
    if p.stat().st_size == 0:
        raise ImageError(f"{p}: the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                im.load()
                im = ImageOps.exif_transpose(im)
                return _to_rgb(im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        limit = Image.MAX_IMAGE_PIXELS
        raise ImageError(f"{p}: too many pixels (over Pillow's limit of {limit:,}); shrink it first") from None
    except UnidentifiedImageError:
        raise ImageError(f"{p}: not an image Pillow can read") from None
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise ImageError(f"{p}: cannot read the image ({_first_line(e)}); the file may be truncated or corrupt") from None


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit grey: Pillow's convert("L") would clip at 255; scale to 8 bits instead.
        top = 65535 if im.mode.startswith("I;16") or (im.getextrema()[1] or 0) > 255 else 255
        im = im.convert("I").point(lambda v: v * (255.0 / top)).convert("L")
    elif im.mode == "F":
        lo, hi = im.getextrema()
        span = (hi - lo) or 1.0
        im = im.point(lambda v: (v - lo) * (255.0 / span)).convert("L")
    if im.mode == "P" or im.mode == "PA":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "La", "RGBa"):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, im)
    return im.convert("RGB")


def fitted_size(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """(width, height) scaled so the long side is `long_side`, keeping the aspect ratio."""
    w, h = size
    scale = long_side / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def fit(im: Image.Image, long_side: int) -> Image.Image:
    """Scale so the long side is `long_side` pixels, keeping the aspect ratio."""
    size = fitted_size(im.size, long_side)
    scale = long_side / max(im.size)
    if size == im.size:
        return im
    return im.resize(size, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC)


def to_tensor(im: Image.Image) -> torch.Tensor:
    """PIL RGB -> float tensor (1, 3, H, W) in [0, 1]."""
    w, h = im.size
    data = torch.frombuffer(bytearray(im.convert("RGB").tobytes()), dtype=torch.uint8)
    return data.view(h, w, 3).permute(2, 0, 1).unsqueeze(0).float().div_(255)


def to_pil(x: torch.Tensor) -> Image.Image:
    """Float tensor (1, 3, H, W), any device -> PIL RGB (clamped to [0, 1], rounded)."""
    x = x.detach()[0].clamp(0, 1).mul(255).round().to("cpu", torch.uint8)
    h, w = x.shape[1:]
    return Image.frombytes("RGB", (w, h), bytes(x.permute(1, 2, 0).contiguous().untyped_storage()))


def output_format(path: str | os.PathLike) -> str:
    """Pillow's format name for the output file's extension, or ImageError."""
    ext = Path(path).suffix.lower()
    Image.init()
    fmt = Image.registered_extensions().get(ext)
    if not ext or fmt is None or fmt not in Image.SAVE:
        raise ImageError(f"{path}: unknown output extension {ext or '(none)'!r}; use .png, .jpg, .webp, .tif, ...")
    return fmt


def check_output(path: str | os.PathLike, inputs=(), overwrite: bool = False) -> Path:
    """Refuse, before any work, an output that cannot be written, would replace an input,
    or (without overwrite) would replace an existing file."""
    p = Path(path)
    output_format(p)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.exists():
        raise ImageError(f"{p}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise ImageError(f"{p}: {folder} is not a folder")
    if p.is_dir():
        raise ImageError(f"{p}: is a directory")
    for other in inputs:
        if other is not None and _same_file(p, Path(other)):
            raise ImageError(f"{p}: the output would overwrite an input image; choose another output path")
    if p.exists() and not overwrite:
        raise ImageError(f"{p}: already exists; pass --overwrite to replace it")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".stylize-tmp-")
    except OSError as e:
        raise ImageError(f"{p}: cannot write in {folder} ({e.strerror or e})") from None
    os.close(fd)
    os.unlink(probe)
    return p


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def save_image(im: Image.Image, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Write atomically: a temporary file in the same folder, then rename over `path`.

    `metadata` goes into the PNG text chunk "stylize" (JSON), so a result records how it was made.
    """
    p = Path(path)
    fmt = output_format(p)
    folder = p.parent if str(p.parent) else Path(".")
    params = {}
    if fmt == "PNG" and metadata is not None:
        info = PngImagePlugin.PngInfo()
        info.add_text("stylize", json.dumps(metadata, sort_keys=True, default=str))
        params["pnginfo"] = info
    elif fmt in ("JPEG", "WEBP"):
        params["quality"] = 95
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".stylize-tmp-", suffix=p.suffix)
    except OSError as e:
        raise ImageError(f"{p}: cannot write in {folder} ({e.strerror or e})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            im.save(f, format=fmt, **params)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, p)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, (OSError, ValueError)):
            raise ImageError(f"{p}: cannot write the image ({_first_line(e)})") from None
        raise
    return p


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_metadata(path: str | os.PathLike) -> dict | None:
    with Image.open(path) as im:
        text = getattr(im, "text", {}) or {}
        return json.loads(text["stylize"]) if "stylize" in text else None


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__
