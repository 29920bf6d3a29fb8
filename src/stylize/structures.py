"""What an image file holds beside its pixels, as named parts (a PNG's chunks, a TIFF's tags, a JPEG's APPn
segments, a WebP's chunks, an AVIF's item properties, EXIF tags, a GIF's extensions), and which of them stylize's
own writer never makes.

A resume keeps an output only as stylize wrote it (README: What is never lost). A part that changes what a viewer
shows (a colour profile, a gamma, chromaticities, colour code points, a transfer function, a turn, a crop) can be
added without touching the pixels or the metadata; rather than list every such part of every format (a list that
is never complete: PNG's cICP came in 2023), the parts of a file are compared with those stylize's own writer makes
for that format, and anything else is named, but for parts that only carry words or layout and leave the picture
as it is shown (text, XMP, a time, a resolution, a TIFF's strips or compression)."""

from __future__ import annotations

import functools
import io
import struct
from collections.abc import Callable

from PIL import ExifTags, Image, TiffTags

# Parts that carry words or layout only: a viewer shows the same picture with them or without them. A part read
# elsewhere as a transparency key, frames, an alpha channel or a turn (images.read_back, the mode) is told there.
_HARMLESS = {
    "PNG": {"tEXt", "zTXt", "iTXt", "tIME", "pHYs", "sRGB", "eXIf", "sBIT", "bKGD", "hIST", "sPLT", "oFFs", "pCAL",
            "sCAL", "dSIG", "iDOT"},  # (sRGB: the colours of a file with none; bKGD: behind a transparency, told)
    "JPEG": {"COM", "APP0 JFIF", "APP0 JFXX", "APP1 Exif", "APP1 http://ns.adobe.com/xap/1.0/",
             "APP1 http://ns.adobe.com/xmp/extension/", "APP12 Ducky", "APP13 Photoshop 3.0"},
    "WEBP": {"VP8X", "VP8", "VP8L", "EXIF", "XMP"},
    "GIF": {"comment", "extension", "duration", "loop", "background", "version"},
    # (a TIFF's words, resolution, strips or tiles, a compression with its tables and subsampling, predictor, XMP)
    "TIFF": {254, 255, 259, 269, 270, 271, 272, 273, 278, 279, 282, 283, 284, 285, 296, 297, 305, 306, 315, 316, 317,
             322, 323, 324, 325, 347, 530, 531, 700, 33432, 34665, 34853},
    "AVIF": {"ispe", "pixi", "av1C"},
}
_HARMLESS["MPO"] = _HARMLESS["JPEG"] | {"APP2 MPF"}
_TOLD_ELSEWHERE = {"PNG": {"tRNS", "acTL", "fcTL", "fdAT", "PLTE"}, "WEBP": {"ALPH", "ANIM", "ANMF"},
                   "GIF": {"transparency"}, "TIFF": {320, 338, 339}}  # (a palette, extra or other samples: the mode)
_EXIF_HARMLESS = {0x010D, 0x010E, 0x010F, 0x0110, 0x0112, 0x011A, 0x011B, 0x0128, 0x0131, 0x0132, 0x013B, 0x013C,
                  0x8298, 0x8769, 0x8825}  # (names, make, model, the turn (told elsewhere), resolution, software,
#                                             time, copyright; the Exif block, read below, and the GPS block: a place)
# In the Exif block: times, a comment, the camera's and the lens's settings, the original's size (never its
# ColorSpace other than sRGB, its Gamma, its interoperability index other than R98's: other colours to a viewer)
_EXIF_BLOCK_HARMLESS = {0x829A, 0x829D, *range(0x8822, 0x8836), 0x9000, *range(0x9003, 0x9013), 0x9101, 0x9102,
                        *range(0x9201, 0x920B), 0x9214, 0x927C, 0x9286, *range(0x9290, 0x9293), *range(0x9400, 0x9406),
                        0xA000, 0xA002, 0xA003, 0xA004, *range(0xA20B, 0xA218), 0xA300, 0xA301, 0xA302,
                        *range(0xA401, 0xA40D), 0xA420, *range(0xA430, 0xA437), 0xA460, 0xA461, 0xA462}
_COLOR_SPACE, _INTEROP = 0xA001, 0xA005
# What a part does, where a message is clearer for it
_DOES = {"PNG iCCP": "a colour profile", "PNG gAMA": "a gamma", "PNG cHRM": "chromaticities",
         "PNG cICP": "colour code points", "PNG mDCV": "mastering display colours", "PNG cLLI": "light levels",
         "JPEG APP2 ICC_PROFILE": "a colour profile", "MPO APP2 ICC_PROFILE": "a colour profile",
         "JPEG APP13 Photoshop 3.0 ICC": "a colour profile", "MPO APP13 Photoshop 3.0 ICC": "a colour profile",
         "WEBP ICCP": "a colour profile", "GIF icc_profile": "a colour profile", "TIFF 34675": "a colour profile",
         "TIFF 318": "chromaticities", "TIFF 319": "chromaticities", "TIFF 301": "a transfer function",
         "AVIF colr prof": "a colour profile", "AVIF colr rICC": "a colour profile", "AVIF colr nclx": "colour code points",
         "AVIF irot": "a turn", "AVIF imir": "a mirroring", "AVIF clap": "a crop", "EXIF 40961": "a colour space",
         "EXIF 40965": "a colour space", "EXIF 42240": "a gamma"}


def _png(data: bytes) -> list[str]:
    parts, at = [], 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        parts.append(kind.decode("latin-1"))
        at += 12 + length
    return parts


def _riff(data: bytes) -> list[str]:
    parts, at = [], 12
    while at + 8 <= len(data):
        kind, length = struct.unpack("<4sI", data[at:at + 8])
        parts.append(kind.decode("latin-1").strip())
        at += 8 + length + (length & 1)
    return parts


def _boxes(data: bytes, start: int, end: int, full: bool = False):
    """(type, payload start, payload end) of each ISO base media box in data[start:end] (a full box's version and
    flags skipped first)."""
    at = start + 4 * full
    while at + 8 <= end:
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        head = 8
        if size == 1 and at + 16 <= end:
            size, head = struct.unpack(">Q", data[at + 8:at + 16])[0], 16
        elif size == 0:
            size = end - at
        if size < head:
            return
        yield kind.decode("latin-1"), at + head, min(at + size, end)
        at += size


def _avif(data: bytes) -> list[str]:
    """The item properties of an AVIF file (meta/iprp/ipco), a colour box with its kind and, for code points,
    their values (primaries/transfer/matrix/full range)."""
    parts = []
    for kind, start, end in _boxes(data, 0, len(data)):
        for kind, start, end in (_boxes(data, start, end, full=True) if kind == "meta" else ()):
            for kind, start, end in (_boxes(data, start, end) if kind == "iprp" else ()):
                for kind, start, end in (_boxes(data, start, end) if kind == "ipco" else ()):
                    if kind == "colr" and data[start:start + 4] == b"nclx" and end - start >= 11:
                        primaries, transfer, matrix, full = struct.unpack(">3HB", data[start + 4:start + 11])
                        parts.append(f"colr nclx {primaries}/{transfer}/{matrix}/{full >> 7}")
                    else:
                        parts.append(f"{kind} {data[start:start + 4].decode('latin-1')}" if kind == "colr" else kind)
    return parts


def _jpeg(im: Image.Image) -> list[str]:
    def name(marker: str, data: bytes) -> str:
        ident = bytearray()
        for byte in data[:40]:
            if not 32 <= byte < 127:
                break
            ident.append(byte)
        icc = " ICC" * (marker == "APP13" and b"8BIM\x04\x0f" in data)  # (Photoshop's resource 0x040F: a profile)
        return f"{marker} {ident.decode()}".rstrip() + icc if marker != "COM" else marker
    return [name(marker, data) for marker, data in getattr(im, "applist", [])]


def _exif(im: Image.Image, top: bool = True) -> list[str]:
    """The EXIF tags of `im` that may change what a viewer shows, as parts ("EXIF 40961"): at the top (`top`: not
    a TIFF's, whose tags are its own parts), and in the Exif block."""
    exif = im.getexif()
    parts = [f"EXIF {tag}" for tag in exif if tag not in _EXIF_HARMLESS] if top else []
    block = exif.get_ifd(0x8769)
    parts += [f"EXIF {tag}" for tag, value in block.items() if tag not in _EXIF_BLOCK_HARMLESS and
              not (tag == _COLOR_SPACE and value == 1) and tag != _INTEROP]  # (ColorSpace 1: sRGB)
    if _INTEROP in block and any(str(v).strip("\0 ") not in ("R98", "THM") if k == 1 else k != 2
                                 for k, v in exif.get_ifd(_INTEROP).items()):  # (an index, its version)
        parts.append(f"EXIF {_INTEROP}")
    return parts


_PARTS: dict[str, Callable[[Image.Image, bytes], list[str]]] = {
    "PNG": lambda im, data: _png(data) + _exif(im), "WEBP": lambda im, data: _riff(data) + _exif(im),
    "JPEG": lambda im, data: _jpeg(im) + _exif(im), "MPO": lambda im, data: _jpeg(im) + _exif(im),
    "AVIF": lambda im, data: _avif(data) + _exif(im), "GIF": lambda im, data: sorted(im.info),
    "TIFF": lambda im, data: sorted(getattr(im, "tag_v2", {})) + _exif(im, top=False),
}


def parts(im: Image.Image, data: bytes) -> list:
    """The named parts of the image file `data` (bytes), which Pillow opened as `im`, in the file's order: a PNG's
    or WebP's chunk types, a JPEG's APPn segments by their identifier ("APP2 ICC_PROFILE") and COM, an AVIF's item
    properties ("colr nclx 1/13/6/1"), a TIFF's tag numbers, a GIF's info keys, and EXIF tags that are neither words
    nor resolution ("EXIF 34665"). [] for a format stylize does not write metadata in."""
    read = _PARTS.get(im.format or "")
    return read(im, data) if read else []


@functools.lru_cache(maxsize=None)
def _own(fmt: str, sample: Callable[[str], bytes]) -> frozenset:
    """The parts stylize's own writer makes in a picture of format `fmt` (`sample`: images.sample, such a picture)."""
    data = sample(fmt)
    with Image.open(io.BytesIO(data)) as im:
        return frozenset(parts(im, data))


def not_written(im: Image.Image, data: bytes, sample: Callable[[str], bytes]) -> list[str]:
    """The parts of an image file (`data`, opened by Pillow as `im`) that stylize's writer (`sample`: its picture of
    a format) never makes in its format, but for those that leave the picture as a viewer shows it, as a message names them, each kind once:
    "a colour profile (a PNG iCCP chunk)", "chromaticities (a TIFF WhitePoint tag)", "an EXIF ExifIFD tag"."""
    fmt = im.format or ""
    if fmt not in _PARTS:
        return []
    own = _own(fmt, sample) | _HARMLESS.get(fmt, set()) | _TOLD_ELSEWHERE.get(fmt, set())
    named: dict[str, str] = {}
    for part in parts(im, data):
        if part not in own:
            does, raw = _named(fmt, part)
            named.setdefault(does or raw, f"{does} ({raw})" if does else raw)
    return list(named.values())


def _named(fmt: str, part) -> tuple[str | None, str]:
    """What a part does (None where no message word fits) and what it is: ("chromaticities", "a TIFF WhitePoint
    tag"), (None, "a PNG sPLT chunk")."""
    if str(part).startswith("EXIF "):
        tag = int(part.split()[1])
        name = ExifTags.TAGS.get(tag)
        raw = f"an EXIF {name} tag" if name else f"an EXIF tag {tag}"
    elif fmt == "TIFF":
        name = TiffTags.lookup(part).name
        raw = f"a TIFF tag {part}" if name == "unknown" else f"a TIFF {name} tag"
    elif fmt == "GIF":
        raw = f"a GIF {part!r} block"
    else:
        kind = {"PNG": "chunk", "WEBP": "chunk", "AVIF": "property"}.get(fmt, "segment")
        raw = f"{'an' if fmt == 'AVIF' else 'a'} {fmt.replace('WEBP', 'WebP')} {part} {kind}"
    return _DOES.get(f"{fmt} {part}") or _DOES.get(str(part)) or \
        _DOES.get(f"{fmt} {' '.join(str(part).split()[:2])}"), raw
