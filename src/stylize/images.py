"""Images in and out: load (EXIF, modes, limits), size, tensor <-> PIL, atomic save with metadata."""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import io
import json
import os
import re
import stat
import sys
import tempfile
import warnings
import zlib
from pathlib import Path

import torch
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from . import structures
from .errors import ImageError


def load_image(path: str | os.PathLike) -> Image.Image:
    """Read any Pillow-readable image as 8-bit RGB, upright (EXIF orientation applied).

    Transparent images are composited on white; 16-bit and float images are rescaled, not clipped.
    Pillow's decompression-bomb limit (Image.MAX_IMAGE_PIXELS) is kept and enforced.
    Whatever goes wrong while decoding (a crafted or damaged file) becomes one ImageError.
    """
    p = Path(path)
    try:
        if not os.path.exists(p):
            raise ImageError(f"{p}: {not_a_file(p)}")  # (no such file, or a link to nothing or that loops)
        if os.path.isdir(p):
            raise ImageError(f"{p}: is a directory, not an image")
        check_regular(p)
        if p.stat().st_size == 0:
            raise ImageError(f"{p}: the file is empty")
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:
            raise ImageError(f"{p}: the file name is too long") from None
        raise ImageError(f"{p}: cannot read the file ({e.strerror or _first_line(e)})") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's remarks on odd files are not the user's business
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                im.load()
                check_whole(im)
                im = ImageOps.exif_transpose(im)
                return _to_rgb(im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        limit = Image.MAX_IMAGE_PIXELS
        raise ImageError(f"{p}: too many pixels (over Pillow's limit of {limit:,}); shrink it first") from None
    except UnidentifiedImageError:
        raise ImageError(f"{p}: not an image Pillow can read") from None
    except _NotFinite:
        raise ImageError(f"{p}: a floating-point image with NaN or infinite pixels; no picture to read") from None
    except MemoryError:
        raise ImageError(f"{p}: out of memory while decoding it (memory is short, or under `ulimit -v`; or the file "
                         f"claims a size it does not hold)") from None
    except Exception as e:
        # Deliberately broad: Pillow's format plugins raise whatever their parsing trips over on
        # hostile input (BLPFormatError, struct.error, IndexError, ZeroDivisionError, TypeError,
        # NotImplementedError, MemoryError for a bogus size, ...). KeyboardInterrupt and
        # SystemExit are not Exceptions and pass through.
        raise ImageError(f"{p}: cannot read the image ({_first_line(e)}); the file may be truncated or corrupt") from None


_ADAM7 = ((8, 8, 0, 0), (8, 8, 4, 0), (4, 8, 0, 4), (4, 4, 2, 0), (2, 4, 0, 2), (2, 2, 1, 0), (1, 2, 0, 1))


def check_whole(im: Image.Image) -> None:
    """OSError when a loaded PNG's image data (its IDAT chunks, inflated) holds fewer bytes than its header's rows
    need: a zlib stream that ends properly, early, which Pillow takes for the whole image and fills with black.
    Other formats' short data Pillow refuses itself ("image file is truncated")."""
    if im.format != "PNG" or not getattr(im, "filename", ""):  # (an image opened from a file: load_image's)
        return
    try:
        with open(im.filename, "rb") as f:
            data = f.read()
    except (OSError, TypeError, AttributeError):
        return
    chunks, at = {}, 8
    while at + 8 <= len(data):
        n, kind = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8]
        chunks.setdefault(kind, []).append(data[at + 8:at + 8 + n])
        at += 12 + n
    if b"IHDR" not in chunks or len(chunks[b"IHDR"][0]) < 13:
        return
    header = chunks[b"IHDR"][0]
    width, height = int.from_bytes(header[:4], "big"), int.from_bytes(header[4:8], "big")
    bits = header[8] * {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(header[9], 0)
    passes = _ADAM7 if header[12] else ((1, 1, 0, 0),)
    need = sum(h * (1 + (w * bits + 7) // 8) for dx, dy, x0, y0 in passes
               for w, h in [((width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy)] if w > 0 and h > 0)
    try:
        inflater = zlib.decompressobj()
        got = len(inflater.decompress(b"".join(chunks.get(b"IDAT", [])), need + 1))
    except zlib.error:
        return  # (Pillow's own error, if any, stands)
    if got < need:
        raise OSError(f"the image data ends early: {got} of {need} bytes, the rows after it would be black")


def shown_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """(width, height) of an image as load_image will return it (EXIF orientation applied), read from its
    header only; None when the header cannot be read (load_image then says why)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                w, h = im.size
                turned = im.getexif().get(0x0112) in (5, 6, 7, 8)  # EXIF Orientation: a quarter turn
    except Exception:  # (Pillow's plugins raise what their parsing trips over; load_image tells it)
        return None
    return (h, w) if turned else (w, h)


def read_in_memory(im: Image.Image, name: str) -> Image.Image:
    """A PIL image given in memory, read as load_image reads a file of it: upright (its EXIF orientation), RGB,
    transparency on white, 16-bit and float pixels rescaled. ImageError for NaN or infinite pixels, or a mode that
    has no RGB, or a damaged EXIF block (Pillow raises what its parsing trips over, and warns: never printed)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _to_rgb(ImageOps.exif_transpose(im))
    except _NotFinite:
        raise ImageError(f"{name}: a floating-point image with NaN or infinite pixels; no picture to read") from None
    except Exception as e:  # ("La": Pillow has no conversion; SyntaxError, TypeError from a damaged EXIF block)
        raise ImageError(f"{name}: a PIL image of mode {im.mode} cannot be read as RGB ({_first_line(e)})") from None


class _NotFinite(ValueError):
    """A floating-point image with NaN or infinite pixels: no picture to rescale (load_image says so)."""


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode.startswith("I;16") or im.mode == "I":
        # Grey of more than 8 bits: Pillow's convert("L") would clip at 255. 16-bit values (any byte order; a PNG's
        # grey, which older Pillows open as "I") scale from 0-65535, 32-bit integers from their own lowest-highest.
        import numpy

        values = numpy.asarray(im).astype(numpy.float64)
        key = im.info.get("transparency")  # (a PNG's tRNS key, in the 16-bit values)
        keyed = values == key if isinstance(key, int) else None
        if im.mode == "I" and im.format != "PNG":
            lo, hi = float(values.min()), float(values.max())
            values = (values - lo) * (255.0 / ((hi - lo) or 1.0))
        else:
            values = values * (255.0 / 65535)
        im = Image.fromarray(numpy.round(values).clip(0, 255).astype(numpy.uint8), "L")
        if keyed is not None and keyed.any():
            im.putalpha(Image.fromarray(numpy.where(keyed, 0, 255).astype(numpy.uint8), "L"))
    elif im.mode == "F":
        import numpy

        values = numpy.asarray(im)
        if not numpy.isfinite(values).all():
            raise _NotFinite
        lo, hi = float(values.min()), float(values.max())
        span = (hi - lo) or 1.0
        im = im.point(lambda v: (v - lo) * (255.0 / span)).convert("L")
    if im.mode in ("P", "PA") or (im.mode in ("1", "L", "RGB") and "transparency" in im.info):  # (a PNG's tRNS key)
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
    pixels = bytearray(h * w * 3)  # (bytes() of a tensor's storage reads it a byte at a time in Python: minutes
    torch.frombuffer(pixels, dtype=torch.uint8).view(h, w, 3).copy_(x.permute(1, 2, 0))  # at 36 Mpx)
    return Image.frombytes("RGB", (w, h), pixels)


NAME_MAX = 255  # bytes in one path component, on every common filesystem
PATH_MAX = 4095  # bytes in a whole path (Linux's PATH_MAX less the terminating NUL)
SIDECAR_SUFFIX = ".stylize.json"
WRITABLE_HINT = "use .png, .jpg, .webp, .tif, ..."

# How each format carries the metadata (JSON): a PNG text chunk "stylize", a comment (JPEG's COM
# segment, GIF's comment extension) or EXIF ImageDescription (0x010E). Any other format carries
# nothing, and a partial result gets a sidecar file PATH.stylize.json instead.
_PNG_TEXT, _COMMENT, _EXIF = "png-text", "comment", "exif"
_CARRIER = {"PNG": _PNG_TEXT, "JPEG": _COMMENT, "MPO": _COMMENT, "GIF": _COMMENT, "WEBP": _EXIF, "TIFF": _EXIF,
            "AVIF": _EXIF}
_COMMENT_MAX = {"JPEG": 65533, "MPO": 65533}  # a JPEG COM segment holds at most this many bytes (.mpo: a JPEG)
_IMAGE_DESCRIPTION = 0x010E
# px: the format's largest image side, as its encoder takes it (libjpeg: 65500; TGA, PCX, SGI, GIF: 16-bit
# fields; libavif's images that Pillow reads back: 32768)
_MAX_SIDE = {"ICO": 256, "WEBP": 16383, "JPEG": 65500, "MPO": 65500, "GIF": 65535, "TGA": 65535, "PCX": 65535,
             "SGI": 65535, "AVIF": 32768}

_writable: dict[str, str | None] = {}  # format -> None if stylize can write it, else the reason


def _format_of(path: str | os.PathLike) -> str | None:
    Image.init()
    return Image.registered_extensions().get(Path(path).suffix.lower())


# extensions whose files are not the 8-bit RGB image stylize makes, though Pillow writes RGB under them
_NOT_COLOUR = {".pgm": "a grey", ".pbm": "a black-and-white", ".bw": "a grey", ".pfm": "a floating-point",
               ".rgba": "a four-channel"}


def holds_metadata(path: str | os.PathLike) -> bool:
    """Whether an image of this name's format carries stylize's metadata inside it (PNG, JPEG, WebP, TIFF, ...;
    not BMP and the like): a finished output of stylize's there always has it."""
    try:
        return output_format(path) in _CARRIER
    except ImageError:
        return False


def output_format(path: str | os.PathLike) -> str:
    """Pillow's format name for the output file's extension, or ImageError.

    A format is accepted only if a tiny RGB image (with metadata) actually encodes in it: Pillow
    registers savers that always fail (GRIB, HDF5, BUFR, WMF) or that take no RGB (XBM, MSP, Palm,
    BLP). The answer is worked out once per format.
    """
    ext = Path(path).suffix.lower()
    fmt = _format_of(path)
    if not ext and _format_of(f"x{Path(path).name}") is not None:  # '.png': a hidden name with no extension
        raise ImageError(f"{path}: a name that is only an extension (a hidden file's name, with none); give it a "
                         f"stem, e.g. out{Path(path).name}")
    if not ext:  # ('out', or 'x.png.': Path's suffix of a name ending in a dot is none)
        ends = "ends in a dot, which is no extension" if os.fspath(path).endswith(".") else "has no extension"
        raise ImageError(f"{path}: the name {ends}; {WRITABLE_HINT}")
    if fmt is None:
        raise ImageError(f"{path}: unknown output extension {ext!r}; {WRITABLE_HINT}")
    if ext in _NOT_COLOUR:  # Pillow would write 8-bit colour data under a name that promises something else
        raise ImageError(f"{path}: a {ext} file holds {_NOT_COLOUR[ext]} image, not the colour one stylize makes; "
                         f"use .png, .ppm or .tif")
    if fmt not in _writable:
        _writable[fmt] = _probe(fmt)
    if _writable[fmt] is not None:
        raise ImageError(f"{path}: stylize cannot write {ext} files; {WRITABLE_HINT}")
    return fmt


def max_side(path: str | os.PathLike) -> int | None:
    """The largest side, px, that the output's format holds (None: no limit below MAX_SIDE)."""
    return _MAX_SIDE.get(_format_of(path) or "")


def check_fits(path: str | os.PathLike, size: tuple[int, int],
               hint: str = "lower --size, or choose another format") -> None:
    """ImageError when an image of `size` (width, height) px is larger than the output's format can hold
    (an .ico is at most 256 px a side, a .webp 16383 px, a .jpg or .gif 65535 px): call it before the work,
    with the size the run will make. `hint`: what would make it fit (only what would)."""
    limit = max_side(path)
    if limit is not None and max(size) > limit:
        raise ImageError(f"{path}: a {Path(path).suffix.lower()} image is at most {limit} px a side and this one would "
                         f"be {size[0]}x{size[1]} ({hint})")


def _probe(fmt: str) -> str | None:
    """None if stylize's sample picture (sample: 40x30 RGB with metadata) encodes as `fmt` in memory and reads back
    at its size, else why not (ICNS stretches every image to its square sizes; Pillow cannot read back the PDF it
    writes)."""
    if fmt not in Image.SAVE:
        return "Pillow can only read it"
    try:
        data = sample(fmt)
    except (OSError, ValueError, KeyError, TypeError, NotImplementedError) as e:
        return _first_line(e)
    try:
        with Image.open(io.BytesIO(data)) as back:
            back.load()
            if back.size != SAMPLE_SIZE:
                return f"Pillow writes it at another size ({back.size[0]}x{back.size[1]} for {SAMPLE_SIZE[0]}x" \
                       f"{SAMPLE_SIZE[1]})"
    except Exception as e:  # any failure to read it back means stylize could not check or resume it
        return f"Pillow cannot read back what it writes ({_first_line(e)})"
    return None


# the names of stylize's own hidden files (claims.py, report.Lock, temporary files): never an output's
OWN_NAMES = re.compile(r"\.stylize(-claim-.*|\.lock|-report-lock-.*|-tmp-.*)", re.S | re.I)  # (case: FAT, SMB)


def check_name(path: str | os.PathLike) -> Path:
    """Refuse a path with a component over NAME_MAX bytes, or a whole path over PATH_MAX bytes, or whose name or
    one of whose folders' is one of stylize's own hidden files' (OWN_NAMES: an output there would be taken for, or
    removed as, a claim; a folder there would stop every run that claims or locks beside it).

    For a format that keeps a partial result's metadata in a sidecar (PATH.stylize.json) the
    file name must leave room for that suffix too. Cheap and touches nothing: call it before any work.
    """
    p = Path(path)
    if OWN_NAMES.fullmatch(p.name):
        raise ImageError(f"{p}: a name stylize keeps for its own hidden files (claims, locks, temporary files); "
                         f"choose another name")
    folder = own_folder(p.parent)
    if folder is not None:  # (a folder made there would stand where a claim or lock is written: check_folder_name)
        raise ImageError(f"{p}: in a folder named {folder}, a name stylize keeps for its own hidden files (claims, "
                         f"locks, temporary files); choose another folder")
    marked = p.name[:-len(SIDECAR_SUFFIX)] if p.name.lower().endswith(SIDECAR_SUFFIX) else ""
    if marked and _may_need_mark(_format_of(Path(marked))):  # a report there would stop o.bmp's run
        raise ImageError(f"{p}: the name of the mark stylize keeps beside {marked} (its format holds no metadata, or "
                         f"not all of it); choose another name")
    parts = [part for part in p.parts if part != p.anchor]
    fmt = _format_of(p)
    for i, part in enumerate(parts):
        limit = NAME_MAX
        if i == len(parts) - 1 and _may_need_mark(fmt):
            limit -= len(SIDECAR_SUFFIX)
        n = len(os.fsencode(part))
        if n > limit:
            raise ImageError(f"{p}: the file name is too long ({n} bytes; at most {limit})")
    n = len(os.fsencode(os.path.abspath(p)))
    if n > PATH_MAX:
        raise ImageError(f"{p}: the path is too long ({n} bytes; at most {PATH_MAX})")
    return p


def own_folder(folder) -> str | None:
    """The first of `folder`'s names (its own or a parent's) that is one of stylize's own hidden files' (OWN_NAMES),
    else None."""
    return next((part for part in Path(folder).parts if OWN_NAMES.fullmatch(part)), None)


def check_folder_name(folder, option: str) -> None:
    """Refuse a folder to write in (`option`: --out-dir, --cells-dir) named, or inside a folder named, as one of
    stylize's own hidden files (own_folder): made there, it would stand where a claim or lock is written, and every
    later run claiming beside it would be refused. ImageError."""
    part = own_folder(folder)
    if part is not None:
        raise ImageError(f"{folder}: {option} takes a folder named {part}, a name stylize keeps for its own hidden "
                         f"files (claims, locks, temporary files); choose another {option}")


def _may_need_mark(fmt: str | None) -> bool:
    """Whether an output of this format may need its mark beside it (OUT.stylize.json): a format that holds no
    metadata, or too little (a JPEG's 64 KiB comment)."""
    return fmt is not None and (fmt not in _CARRIER or fmt in _COMMENT_MAX)


def _too_long(p: Path) -> ImageError:
    """The message for an ENAMETOOLONG that check_name's fixed limits did not catch."""
    n = max((len(os.fsencode(part)) for part in p.parts), default=0)
    limit = NAME_MAX
    try:
        limit = os.pathconf(p.parent if str(p.parent) else ".", "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        pass
    return ImageError(f"{p}: the file name is too long ({n} bytes; at most {limit})")


_NOWHERE = "a link to nothing (its target is missing, or it loops)"


def _in_the_way(folder) -> tuple[Path, bool] | None:
    """What stops `folder` (or one of its parents) from being a folder, by its own name (never followed):
    (that name, True) for a link to nothing, (that name, False) for a file; None when nothing does."""
    for f in (Path(folder), *Path(folder).parents):
        if os.path.islink(f) and not os.path.exists(f):
            return f, True
        if os.path.lexists(f) and not os.path.isdir(f):
            return f, False
    return None


def no_folder(path, folder) -> str:
    """Why `path`'s folder cannot hold it, told of what is there (a link to nothing: its target missing, or a loop;
    a file), else that it does not exist: every output's message."""
    found = _in_the_way(folder)
    if found is None:
        return f"{path}: the folder {folder} does not exist"
    f, link = found
    return f"{path}: the folder {f} is {_NOWHERE}" if link else f"{path}: {f} is not a folder"


def check_output(path: str | os.PathLike, inputs=(), overwrite: bool = False) -> Path:
    """Refuse, before any work, an output that cannot be written, would replace an input,
    or (without overwrite) would replace an existing file."""
    p = check_name(path)
    output_format(p)  # an extension stylize writes: ImageError otherwise
    folder = p.parent if str(p.parent) else Path(".")
    try:
        check_mark(p)
        if not os.path.isdir(folder):
            raise ImageError(no_folder(p, folder))
        if os.path.isdir(p):
            raise ImageError(f"{p}: is a directory")
        check_not_held(p)
        for other in inputs:
            if other is not None and same_file(p, other):
                raise ImageError(f"{p}: the output would overwrite an input; choose another output path")
        check_writable(folder)
        if taken(p) and not overwrite:  # (last: said only when --overwrite would do it)
            raise ImageError(f"{p}: already exists; pass --overwrite to replace it")
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:
            raise _too_long(p) from None
        raise ImageError(f"{p}: cannot write in {folder} ({e.strerror or e})") from None
    return p


def check_not_held(path: str | os.PathLike) -> None:
    """ClaimError when another run is writing output file `path` (its claim, claims.file_held: said before
    anything about the file there, whatever the flags); ImageError when `path`'s folder, or a folder above it, is a
    folder that a running video (its frames) or figure (its --cells-dir) holds (claims.folder_held): `--out-dir
    vf/sub` would put a folder in it."""
    from .claims import FOLDER_LOCK, file_held, folder_held, owner
    from .errors import ClaimError

    lock = file_held(path) if Path(path).name else None
    if lock is not None:
        raise ClaimError(f"{path}: another stylize run{owner(lock)} is writing it; wait for it to end, or choose "
                         f"another output")

    for folder in Path(os.path.abspath(path)).parents:
        if folder_held(folder):
            raise ImageError(f"{path}: {folder} is a folder a running stylize writes in{owner(folder / FOLDER_LOCK)} "
                             f"(a video's frames, a figure's --cells-dir); choose another output")


def check_mark(path: Path) -> None:
    """ImageError when an output that may need its mark there, OUT.stylize.json, finds a file that is not
    stylize's (whatever the flags: it is never replaced): a format that carries no metadata (BMP, ...), or one
    whose room for it is limited (a .jpg's comment holds 64 KiB; many style images make more)."""
    if _may_need_mark(output_format(path)) and not _own_sidecar(sidecar_path(path)):
        raise ImageError(f"{sidecar_path(path)}: already exists and is not stylize's (a {Path(path).suffix} output "
                         f"keeps an interrupted run's mark there); move it away or choose another output")


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name the same file (an existing one, through links), or would (a path not yet
    there, or through folders not yet made, compared as it will resolve): path_key. Keys that differ are taken
    again until one stays put: a file or folder created between the two looks (another run, a thread) changes
    one name's key from its name to its inode, never making one file two."""
    for _ in range(5):
        key = path_key(a)
        other = path_key(b)
        if key == other:
            return True
        if path_key(a) == key and path_key(b) == other:
            return False
    return False


def sidecar_path(path: str | os.PathLike) -> Path:
    """Where a partial result in a format that carries no metadata (BMP, ...) keeps it."""
    return Path(os.fspath(path) + SIDECAR_SUFFIX)


def _beside(metadata: dict | None, sidecar: Path) -> dict | None:
    """For a JPEG whose comment (_COMMENT_MAX) cannot hold `metadata`: what it holds instead, stamped (stylize's):
    that the metadata is in the mark beside it (read_metadata reads it there). None when it fits."""
    if metadata is None or len(json.dumps(metadata, sort_keys=True, default=str)) <= min(_COMMENT_MAX.values()):
        return None
    return {"stylize": metadata["stylize"], "partial": bool(metadata.get("partial")), "metadata_in": sidecar.name}


def _encode(im: Image.Image, fp, fmt: str, metadata: dict | None, suffix: str = "") -> bool:
    """Write `im` as `fmt` to the open file `fp`, with `metadata` inside where the format has room.

    Returns whether the metadata went into the file (False: it needs a sidecar to survive).
    """
    params: dict = {}
    text = json.dumps(metadata, sort_keys=True, default=str) if metadata is not None else None  # ASCII
    carrier = _CARRIER.get(fmt)
    embedded = False
    if carrier == _COMMENT:
        # Always pass a comment: Pillow would otherwise copy a stale one from im.info.
        fits = text is not None and len(text) <= _COMMENT_MAX.get(fmt, len(text))
        params["comment"] = text if fits else ""
        embedded = fits
    elif text is not None and carrier == _PNG_TEXT:
        info = PngImagePlugin.PngInfo()
        info.add_text("stylize", text)
        params["pnginfo"] = info
        embedded = True
    elif text is not None and carrier == _EXIF:
        exif = Image.Exif()
        exif[_IMAGE_DESCRIPTION] = text
        params["exif"] = exif
        embedded = True
    if fmt in ("JPEG", "MPO", "WEBP"):
        params["quality"] = 95
    if fmt == "JPEG2000" and suffix.lower() in (".j2k", ".j2c", ".jpc"):
        params["no_jp2"] = True  # the bare codestream these names promise (Pillow decides by name: fp has none)
    if fmt == "ICO":
        params["sizes"] = [im.size]  # the image as it is (Pillow would otherwise write only its standard sizes)
    im.save(fp, format=fmt, **params)
    return embedded


def save_image(im: Image.Image, path: str | os.PathLike, metadata: dict | None = None, *,
               overwrite: bool = False) -> Path:
    """Write atomically, and without overwrite never replace a file, even one that appeared meanwhile.

    The image goes to a temporary file in the same folder (flushed to disk, mode from the umask),
    which then takes its place in one step: without `overwrite` by os.link, which fails if
    anything is at `path` (ImageError "already exists"); with `overwrite` by os.replace.

    `metadata` (JSON) goes inside the file: PNG text chunk "stylize", JPEG/GIF comment, WebP/TIFF/AVIF
    EXIF ImageDescription. Formats with no room for it (BMP, ...) get a sidecar PATH.stylize.json,
    written only for a partial result (metadata["partial"] true) so that it cannot pass for a finished
    one; a JPEG whose comment is too small for it (64 KiB) gets one whatever the result; saving a finished image
    in a format that held its metadata removes a stale sidecar. The metadata is stamped {"stylize": version}, which
    read_metadata requires: another program's JSON in an image is never taken for stylize's.
    """
    from . import __version__

    metadata = None if metadata is None else {"stylize": __version__, **metadata}
    p = check_name(path)
    fmt = output_format(p)
    check_fits(p, im.size, "choose another format")  # (the image is made: no option of its run is a help now)
    folder = p.parent if str(p.parent) else Path(".")
    partial = bool(metadata and metadata.get("partial"))
    sidecar = sidecar_path(p)
    try:
        if not overwrite and taken(p):  # early, before any work; place checks again atomically
            raise ImageError(f"{p}: already exists; pass --overwrite to replace it")
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".stylize-tmp-", suffix=p.suffix)
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:
            raise _too_long(p) from None
        raise ImageError(f"{p}: cannot write in {folder} ({e.strerror or e})") from None
    wrote_sidecar = False
    try:
        encoded = io.BytesIO()  # (Pillow writes some formats, TIFF, BMP, PPM, to a file's descriptor and takes a
        # short write on a full disk for a whole one). A JPEG whose comment cannot hold the metadata holds a note of
        # where it is (the mark beside it): without that mark it reads as unfinished, never as a file of yours.
        stub = _beside(metadata, sidecar) if fmt in _COMMENT_MAX else None
        embedded = _encode(im, encoded, fmt, stub or metadata, p.suffix) and stub is None
        with os.fdopen(fd, "wb") as f:
            f.write(encoded.getbuffer())  # (Python's write raises on a full disk, or writes every byte)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode())
        if metadata is not None and not embedded and (partial or fmt in _COMMENT_MAX):
            # The mark goes down before the image appears, so a partial image is never seen unmarked; a JPEG whose
            # comment cannot hold the metadata (64 KiB) keeps it there, finished too (never an output without it).
            if not _own_sidecar(sidecar):
                raise ImageError(f"{sidecar}: already exists and is not stylize's; move it away or choose another "
                                 f"output")
            write_json(sidecar, dict(metadata, mark_of=p.name, mark_sha256=file_digest(tmp)),  # ours, or absent:
                       overwrite=True)  # checked above; the digest: a mark names this image, not what is put there
            wrote_sidecar = True
        place(tmp, p, overwrite)
    except BaseException as e:
        unlink_quietly(tmp)
        if wrote_sidecar:
            unlink_quietly(sidecar)
        if isinstance(e, OSError) and e.errno == errno.ENAMETOOLONG:
            raise _too_long(p) from None
        if isinstance(e, (OSError, ValueError)):  # (an OSError's words, never the temporary file's name)
            raise ImageError(f"{p}: cannot write the image ({getattr(e, 'strerror', None) or _first_line(e)})") \
                from None
        raise
    if not wrote_sidecar and os.path.lexists(sidecar) and _own_sidecar(sidecar):  # only stylize's own mark
        try:
            os.unlink(sidecar)
        except FileNotFoundError:
            pass
        except OSError as e:
            if e.errno == errno.ENAMETOOLONG:  # then no sidecar can exist (a format that embeds)
                return p
            raise ImageError(
                f"{p}: saved, but the stale {sidecar.name} next to it cannot be removed ({e.strerror or e}); "
                "delete it, or the image reads as partial"
            ) from None
    return p


# os.link fails with one of these where the filesystem has no hard links (FAT, exFAT, some
# network and FUSE mounts).
_NO_HARD_LINKS = {errno.EPERM, errno.EACCES, errno.EXDEV, errno.EINVAL, errno.ENOSYS,
                  getattr(errno, "ENOTSUP", errno.EPERM), getattr(errno, "EOPNOTSUPP", errno.EPERM)}


def place(tmp: str | os.PathLike, p: Path, overwrite: bool) -> None:
    """Move the finished temporary file `tmp` to `p` (same folder) in one step; without overwrite, refuse
    (ImageError) if anything is there, also on filesystems without hard links (FAT, exFAT, SMB)."""
    if overwrite:
        os.replace(tmp, p)
        return
    try:
        os.link(tmp, p)  # atomic: EEXIST if a file is there, however recently it appeared
    except FileExistsError:
        raise ImageError(f"{p}: already exists; pass --overwrite to replace it") from None
    except OSError as e:
        if e.errno not in _NO_HARD_LINKS:
            raise
        _place_without_links(tmp, p)
        return
    unlink_quietly(tmp)


def _place_without_links(tmp: str, p: Path) -> None:
    """The fallback for filesystems without hard links.

    On Windows os.rename itself refuses an existing target. Elsewhere the name is claimed with an
    O_EXCL create (which fails if anything is there), then the temporary file is renamed over that
    empty placeholder. The narrow race: a writer that *replaces* files (not one that creates them
    exclusively) and hits `p` between the two steps loses its file to ours; a crash between them
    leaves an empty file at `p`.
    """
    if os.name == "nt":
        try:
            os.rename(tmp, p)
        except FileExistsError:
            raise ImageError(f"{p}: already exists; pass --overwrite to replace it") from None
        return
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ImageError(f"{p}: already exists; pass --overwrite to replace it") from None
    try:
        placeholder = os.fstat(fd)
    finally:
        os.close(fd)
    try:
        os.rename(tmp, p)
    except BaseException:
        try:
            now = os.stat(p)
            if (now.st_dev, now.st_ino) == (placeholder.st_dev, placeholder.st_ino):
                os.unlink(p)
        except OSError:
            pass
        raise


def write_json(path: str | os.PathLike, data, *, overwrite: bool = False) -> Path:
    """Write JSON atomically, by the same rules as save_image: without overwrite never replacing a file.
    OSError (the folder cannot be written) is the caller's to word."""
    p = Path(path)
    tmp = stage_json(p, data)
    try:
        place(tmp, p, overwrite)
    except BaseException:
        unlink_quietly(tmp)
        raise
    return p


def stage_json(path: Path, data) -> str:
    """A temporary file beside `path` holding `data` as JSON, on disk (fsync), for place(): what needs room is
    written before anything appears at `path`. OSError as write_json; nothing is left on failure."""
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".stylize-tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, default=str)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode())
    except BaseException:
        unlink_quietly(tmp)
        raise
    return tmp


def make_folder(folder: str | os.PathLike, what: str = "folder") -> Path:
    """Create `folder` (and its parents) and make sure a file can be written in it; ImageError otherwise."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        found = _in_the_way(folder)
        if found is not None:
            f, link = found
            raise ImageError(f"{f}: {_NOWHERE if link else 'is ' + kind_of(f)}, not a folder; move it away or choose "
                             f"another {what}") from None
        raise ImageError(f"{folder}: cannot create the {what} ({e.strerror or e})") from None
    try:
        check_writable(folder)
    except OSError as e:
        raise ImageError(f"{folder}: cannot write in the {what} ({e.strerror or e})") from None
    return folder


def missing_folders(folder) -> list[Path]:
    """`folder` and those of its parents that do not exist yet: what creating it would make (for remove_empty)."""
    folder = Path(folder)
    return [f for f in (folder, *folder.parents) if not os.path.lexists(f)]


def file_stamp(st: os.stat_result) -> tuple:
    """What tells a file's contents apart between two looks without reading it: device, inode, size, mtime and
    ctime (a file replaced under its name, even with its mtime set back by `touch -r`, has another inode or
    ctime). The caches of files read (targets, weights, a Clip) are keyed by it."""
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def remove_empty(folders) -> None:
    """Remove the folders a run created (missing_folders), deepest first, where they are still empty: a run that
    ends before writing anything leaves no new empty folder behind; anything written into them is kept."""
    for folder in sorted(set(map(Path, folders)), key=lambda f: len(f.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()


def path_key(path) -> str:
    """A path as a key that every name of one file shares: an existing file's device and inode (symbolic and
    hard links, '..'), else the resolved name, case-folded where the system folds case. A name through folders
    still to be made is keyed as it will be once they are (`new/../a.png` is a.png: '..' is taken lexically
    past a missing folder). Keys compared with each other must be taken at one moment (a name's key changes
    when its file is created)."""
    try:
        resolved = os.path.realpath(path)
    except (OSError, ValueError):
        resolved = os.path.abspath(path)
    for name in (path, resolved):
        try:
            st = os.stat(name)
            return f"\0{st.st_dev}:{st.st_ino}"
        except (OSError, ValueError):
            pass
    return os.path.normcase(resolved)


def through_link(path: Path) -> Path:
    """The file a link at `path` leads to, or `path`: a file that is read and rewritten in place (a batch's report,
    a resumed contact sheet) is written where the user's link points, never over the link, and every name of it
    shares one claim. A link to nothing, or to what is no file (a pipe, a device such as /dev/stdout, a folder),
    stays as it is, refused by its own name as what it leads to (kind_of)."""
    return Path(os.path.realpath(path)) if os.path.islink(path) and os.path.isfile(path) else path


def kind_of(path) -> str:
    """What is at `path`, for a message: 'a file', 'a folder', 'a pipe', 'a device', 'a socket' or 'nothing';
    through a link, 'a link to ...' (a link to nothing: its target missing, or a loop)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        kind = "nothing"
    else:
        kind = "a folder" if stat.S_ISDIR(mode) else "a pipe" if stat.S_ISFIFO(mode) else "a socket" if \
            stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a file"
    return f"a link to {kind}" if os.path.islink(path) else kind


def read_back(path) -> tuple[str, tuple[int, int], str, tuple[str, ...]]:
    """An image file read back whole: (Pillow's format name, (width, height) as read (load_image: EXIF turn
    applied), mode, what in it stylize never writes: a transparency key, more than one frame, an EXIF turn, and
    any part of the file stylize's writer does not make for its format that may change what a viewer shows (a
    colour profile, a gamma, chromaticities, colour code points: structures.not_written)).
    ImageError for one that is empty, truncated or damaged: pixels that do not decode (load_image's reasons), or
    checksums that fail where the format has them (a PNG's chunk CRCs: Pillow decodes a damaged stream without
    a word, and calls a PNG whose text chunk's CRC fails no image at all)."""
    try:
        size = load_image(path).size
    except ImageError as e:
        try:
            with open(path, "rb") as f:
                png = f.read(8) == b"\x89PNG\r\n\x1a\n"
        except OSError:
            png = False
        if png and str(e).endswith("not an image Pillow can read"):
            raise ImageError(f"{path}: the image is damaged (a PNG whose chunks Pillow cannot read: a checksum fails, "
                             f"or a chunk is cut short)") from None
        raise
    try:
        with open(path, "rb") as f:  # (read once: checked and parsed as one file's bytes)
            data = f.read()
    except OSError as e:
        raise ImageError(f"{path}: cannot read the file ({e.strerror or _first_line(e)})") from None
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
    except Exception as e:  # (Pillow's SyntaxError "broken PNG file (bad header checksum ...)", OSError, ...)
        raise ImageError(f"{path}: the image is damaged ({e}); its checksums fail") from None
    with Image.open(io.BytesIO(data)) as im:
        frames, turn = getattr(im, "n_frames", 1), im.getexif().get(0x0112, 1)  # (EXIF Orientation)
        return im.format, size, im.mode, tuple(what for what, there in (
            ("a transparency key", "transparency" in im.info), (f"{frames} frames", frames > 1),
            ("an EXIF turn", turn not in (None, 1))) if there) + tuple(structures.not_written(im, data, sample))


def _grey(path, mode: str) -> bool:
    """Whether a picture read back (`mode`: its mode) is stored grey: a grey mode, or a palette of greys only."""
    if mode in ("1", "L", "LA", "La", "I", "F") or mode.startswith("I;"):
        return True
    if mode != "P":
        return False
    with Image.open(path) as im:
        im.load()
        palette, used = im.getpalette() or [], im.getcolors(256) or []
    return all(palette[3 * i] == palette[3 * i + 1] == palette[3 * i + 2] for _, i in used if 3 * i + 2 < len(palette))


@functools.lru_cache(maxsize=None)
def written_as(fmt: str) -> tuple[str, str]:
    """What a picture stylize writes as `fmt` (Pillow's format name) reads back as: (format, mode), e.g. ("PNG",
    "RGB"), ("GIF", "P"), ("JPEG", "RGB") for an MPO (one frame: a JPEG)."""
    with Image.open(io.BytesIO(sample(fmt))) as back:
        return back.format, back.mode


SAMPLE_SIZE = (40, 30)


@functools.lru_cache(maxsize=None)
def sample(fmt: str) -> bytes:
    """A picture of format `fmt` (Pillow's name) as stylize writes one, with a record of 300 characters' note: what
    its writer makes (written_as, structures.not_written), encoded once per format."""
    data = io.BytesIO()
    _encode(Image.new("RGB", SAMPLE_SIZE, (128, 64, 32)), data, fmt, {"partial": False, "note": "x" * 300})
    return data.getvalue()


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'AEIOU' else 'a'} {word}"


def not_as_recorded(meta: dict, found: tuple[str, tuple[int, int], str, tuple[str, ...]], path) -> str | None:
    """What in a stylize output's picture (found: read_back's format, size as read, mode and what stylize never
    writes) contradicts what its metadata records stylize wrote (the format and mode written_as gives for its
    name's extension, width x height, in colour), as words; None when nothing does, or for an image of the user's
    (no metadata of stylize's)."""
    if not meta.get("stylize"):
        return None
    (fmt, (width, height), mode, extras), (wrote, wrote_mode) = found, written_as(output_format(path))
    sizes = (meta.get("width"), meta.get("height"))
    grey = fmt == wrote and _grey(path, mode)
    other_mode = fmt == wrote and not grey and mode != wrote_mode  # (an alpha channel: RGBA, CMYK, ...)
    if fmt != wrote or grey or other_mode or extras or \
            (all(isinstance(v, int) for v in sizes) and sizes != (width, height)):
        return (f"{_a(f'grey {fmt}' if grey else fmt)} picture of {width}x{height} px"
                f"{f' in mode {mode}' * other_mode}{''.join(f', with {what}' for what in extras)} where its metadata "
                f"records the {wrote} of {sizes[0]}x{sizes[1]} px in {f'mode {wrote_mode}' if other_mode else 'colour'} "
                f"stylize wrote (changed since)")
    return None


def empty_file(path) -> bool:
    """Whether `path` is an empty regular file, which --overwrite may replace where it replaces only stylize's own
    files (a report, a contact sheet): it holds nothing, and a shell's `> r.json` makes one before stylize starts."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == 0


def as_given(given, path) -> str:
    """How a message names `path`, which through_link made of the name `given`: that name, and where it was a
    link followed, the file it leads to."""
    given, path = os.fspath(given), os.fspath(path)  # ('./x', 'd//x', 'd/./x': the name itself, spelt otherwise)
    return given if Path(given) == Path(path) else f"{given} (a link to {path})"


def taken(path) -> bool:
    """Whether a name is in use: a file, a folder or a link (a link to nothing too), which only --overwrite
    may replace."""
    return os.path.lexists(path)


def check_writable(folder: str | os.PathLike) -> None:
    """OSError unless a file can be created in `folder` (a probe, created and removed: os.access says
    yes to root on a read-only folder)."""
    fd, probe = tempfile.mkstemp(dir=folder, prefix=".stylize-tmp-")
    os.close(fd)
    os.unlink(probe)


def _own_sidecar(sidecar: Path) -> bool:
    """Whether `sidecar` may be replaced or removed (whatever the flags): absent, or a mark stylize wrote
    (`_is_mark`); never another program's or the user's file, nor an input."""
    if not os.path.lexists(sidecar):
        return True
    return _is_mark(read_json_here(sidecar), sidecar)


NOT_REGULAR = "not a regular file (a pipe, socket or device); save it to a file first"


def not_a_file(name, folder: str = "is a directory, not an image") -> str:
    """Why `name`, given as an input, is no file to read, in words: a folder (`folder`), a link that loops or
    leads to nothing, no such file, or not a regular file."""
    if os.path.isdir(name):
        return folder
    try:
        os.stat(name)
    except OSError as e:  # (a link to nothing is no file either)
        if e.errno == errno.ELOOP:
            return "a link that loops (it leads back to itself)"
        return "a link to nothing" if os.path.islink(name) else "no such file"
    return NOT_REGULAR


def check_regular(path) -> None:
    """ImageError unless `path` (a link followed) is a regular file or a folder: a named pipe, a process
    substitution (<(cat a.png)), a socket or a device would block the read, or give its bytes only once (stylize
    reads an image more than once). OSError as os.stat."""
    mode = os.stat(path).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ImageError(f"{path}: {NOT_REGULAR}")


def read_regular(path, follow: bool = True) -> bytes | None:
    """The bytes of the regular file at `path`, or None for anything else (missing, a folder, a pipe: opened
    without blocking, never read; with follow=False a link: O_NOFOLLOW)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with open(fd, "rb", closefd=False) as f:
            return f.read()
    except OSError:
        return None
    finally:
        os.close(fd)


def parse_json(text: str | bytes, **options) -> object:
    """json.loads(text, **options), where everything that is not JSON stylize can read raises ValueError
    (json.JSONDecodeError for a syntax error): also nesting deeper than Python's recursion limit and an integer
    longer than int's digit limit (4300). Every JSON stylize reads (marks, reports, figures' .json, manifest
    lines) goes through here."""
    try:
        return json.loads(text, **options)
    except RecursionError:
        raise ValueError("nested too deep") from None
    except ValueError as e:
        if isinstance(e, json.JSONDecodeError) or "integer string conversion" not in str(e):
            raise
        raise ValueError(f"a number of over {sys.get_int_max_str_digits()} digits") from None


def read_json_here(path, follow: bool = False) -> object:
    """The JSON in the regular file at `path` itself (never through a link, unless `follow`), or None for a link,
    a folder, a pipe, a missing file or one that is not JSON: how stylize reads a file it may only replace if it
    made it (marks, figures' .json; a report, through a link too)."""
    data = read_regular(path, follow=follow)
    try:
        return parse_json(data.decode("utf-8")) if data is not None else None
    except ValueError:  # (UnicodeDecodeError too)
        return None


def _is_mark(data, sidecar: Path) -> bool:
    """Whether parsed JSON is stylize's mark for the image beside `sidecar`: an object with a "partial" key that
    names its image ("mark_of") and holds an image's digest ("mark_sha256"), as save_image writes it. Anything
    else there (a figure's .json, the user's own JSON, even with a "partial" key) is not stylize's."""
    if not (isinstance(data, dict) and "partial" in data and isinstance(data.get("mark_sha256"), str)):
        return False
    return data.get("mark_of") == Path(sidecar).name.removesuffix(SIDECAR_SUFFIX)


def remove_image(path) -> None:
    """Remove an image stylize made, with its mark (a .bmp's OUT.stylize.json) when that is stylize's."""
    unlink_quietly(path)
    if _own_sidecar(sidecar_path(path)):
        unlink_quietly(sidecar_path(path))


def unlink_quietly(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def file_mode() -> int:
    """The mode a new output gets: 0666 less the umask (what open() would give; mkstemp gives 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def read_metadata(path: str | os.PathLike) -> dict | None:
    """The metadata stylize wrote with an image, or None if it has none.

    Looked for inside the file (PNG text chunk "stylize", JPEG/GIF comment, EXIF ImageDescription
    in WebP/TIFF/AVIF/...), then in the sidecar PATH.stylize.json. Only a JSON object stamped with stylize's
    version counts, so another program's comment or description (JSON too) reads as None. ImageError if the file
    is missing or not an image Pillow can open.
    """
    p = Path(path)
    try:
        check_regular(p)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(p) as im:
                candidates = [(getattr(im, "text", None) or {}).get("stylize"), im.info.get("comment")]
                try:
                    candidates.append(im.getexif().get(_IMAGE_DESCRIPTION))
                except Exception:  # a damaged EXIF block is no metadata of ours (untrusted input)
                    pass
    except FileNotFoundError:
        raise ImageError(f"{p}: no such file") from None
    except UnidentifiedImageError:
        raise ImageError(f"{p}: not an image Pillow can read") from None
    except _NotFinite:
        raise ImageError(f"{p}: a floating-point image with NaN or infinite pixels; no picture to read") from None
    except ImageError:
        raise
    except Exception as e:  # as in load_image: Pillow's plugins raise anything on hostile input
        raise ImageError(f"{p}: cannot read the image ({_first_line(e)}); the file may be truncated or corrupt") from None
    beside = None
    for text in candidates:
        meta = _json_object(text)
        if _stamped(meta) and "metadata_in" in meta:  # (a JPEG's note: its metadata is in the mark beside it)
            beside = meta
            break
        if _stamped(meta):  # (a camera's or the user's JSON, even with a "partial" or "video" key, is not ours)
            return meta
    sidecar = sidecar_path(p)
    meta = read_json_here(sidecar)  # None for a link, a pipe, a missing file
    if not (_is_mark(meta, sidecar) and _stamped(meta)) or meta["mark_sha256"] != file_digest(p):  # not stylize's
        # mark (a figure's .json, the user's), or another image's: the JPEG that points at it is stylize's, of
        # unknown making (its mark lost): unfinished, to be made again, never kept as this pair's
        return None if beside is None else {"stylize": beside["stylize"], "partial": True,
                                            "metadata_in": beside["metadata_in"], "missing": True}
    meta.pop("mark_of", None)  # the mark's own bookkeeping, not the image's metadata
    meta.pop("mark_sha256", None)
    return meta


def ours(path: str | os.PathLike) -> dict:
    """The metadata stylize wrote with the file at `path`; {} for anything else: no file, not a regular file,
    a link (stylize never makes one: a link is the user's, wherever it leads), not an image, unreadable, or an
    image without stylize's stamped metadata (the user's, another program's).

    The one test of "is this stylize's own file" that every --overwrite, resume and clean-up asks before it
    replaces or removes a file (a transfer's output, a figure's cell, a video's frame, a contact sheet)."""
    try:
        return (read_metadata(path) or {}) if os.path.isfile(path) and not os.path.islink(path) else {}
    except (ImageError, OSError):
        return {}


def file_digest(path) -> str:
    """The SHA-256 of a file's bytes (hex): a sidecar mark holds its image's, so that a file put at the image's
    name later (the user's) is never read as stylize's partial result and redone; a contact sheet's check holds
    the sheet's."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _stamped(meta) -> bool:
    """Whether parsed metadata is stylize's: an object stamped with its version (save_image)."""
    return isinstance(meta, dict) and isinstance(meta.get("stylize"), str)


def _json_object(text) -> dict | None:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not isinstance(text, str) or not text.lstrip().startswith("{"):
        return None
    try:
        value = parse_json(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0][:200] if lines else type(e).__name__
