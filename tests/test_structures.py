"""The parts of an image file beside its pixels, and which of them stylize's writer never makes (structures)."""

import json
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageCms, PngImagePlugin, features

from stylize import __version__, images, structures

from .conftest import pattern

META = {"partial": False, "width": 40, "height": 30}
OWN = [".png", ".jpg", ".mpo", ".gif", ".webp", ".tif"] + [".avif"] * features.check("avif")


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def told(path) -> str | None:
    return images.not_as_recorded(images.ours(path), images.read_back(path), path)


@pytest.mark.parametrize("ext", OWN)
def test_what_stylize_writes_is_never_told_changed(tmp_path, ext):
    """Every format that carries stylize's metadata, as its own writer makes it, reads back as written: nothing
    named, nothing changed (an .mpo of one frame reads back as a JPEG: that is what stylize wrote)."""
    path = tmp_path / f"o{ext}"
    images.save_image(pattern(40, 30, 1), path, META)
    assert images.read_back(path)[3] == () and told(path) is None
    with Image.open(path) as im:
        assert structures.not_written(im, path.read_bytes(), images.sample) == []
        assert structures.parts(im, path.read_bytes())  # (the parts are read: an empty list would pass anything)


def test_round_100_colour_parts_pillow_does_not_read_are_named(tmp_path):
    """Hostile round 100: a PNG cICP chunk (colour code points: BT.2020 primaries, PQ transfer) and a TIFF's
    WhitePoint and PrimaryChromaticities tags added to an output were kept by resumes: round 99 looked for the
    colour parts Pillow reads into info only. Every part stylize's writer does not make is named now, in each
    format it writes metadata in."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for ext in OWN:
        images.save_image(pattern(40, 30, 1), tmp_path / f"o{ext}", META)
    png = (tmp_path / "o.png").read_bytes()
    at = png.index(b"IDAT") - 4
    (tmp_path / "cicp.png").write_bytes(png[:at] + chunk(b"cICP", bytes([9, 16, 0, 1])) + png[at:])
    tif = Image.open(tmp_path / "o.tif")
    tif.load()
    tif.save(tmp_path / "chrm.tif", tiffinfo={**dict(tif.tag_v2), 318: (0.3127, 0.329),
                                              319: (0.708, 0.292, 0.17, 0.797, 0.131, 0.046)})
    jpg = Image.open(tmp_path / "o.jpg")
    jpg.load()
    jpg.save(tmp_path / "icc.jpg", icc_profile=profile, comment=jpg.info["comment"], quality=95)
    exif = Image.Exif()
    exif[0x8769] = {0xA001: 0xFFFF}  # (an EXIF ColorSpace "uncalibrated": Adobe RGB to some viewers)
    jpg.save(tmp_path / "exif.jpg", exif=exif, comment=jpg.info["comment"], quality=95)
    webp = Image.open(tmp_path / "o.webp")
    webp.load()
    webp.save(tmp_path / "icc.webp", icc_profile=profile, exif=webp.info["exif"], quality=95)
    cases = [("cicp.png", "a PNG picture of 40x30 px, with colour code points (a PNG cICP chunk)", "PNG"),
             ("chrm.tif", "a TIFF picture of 40x30 px, with chromaticities (a TIFF WhitePoint tag)", "TIFF"),
             ("icc.jpg", "a JPEG picture of 40x30 px, with a colour profile (a JPEG APP2 ICC_PROFILE segment)",
              "JPEG"),
             ("exif.jpg", "a JPEG picture of 40x30 px, with a colour space (an EXIF ColorSpace tag)", "JPEG"),
             ("icc.webp", "a WEBP picture of 40x30 px, with a colour profile (a WebP ICCP chunk)", "WEBP")]
    if features.check("avif"):
        avif = (tmp_path / "o.avif").read_bytes()
        at = avif.index(b"colrnclx") + 8
        (tmp_path / "nclx.avif").write_bytes(avif[:at] + struct.pack(">3H", 9, 16, 9) + avif[at + 6:])
        cases.append(("nclx.avif", "an AVIF picture of 40x30 px, with colour code points (an AVIF colr nclx 9/16/9/1 "
                                   "property)", "AVIF"))
    for name, what, fmt in cases:
        assert told(tmp_path / name) == (f"{what} where its metadata records the {fmt} of 40x30 px in colour stylize "
                                         f"wrote (changed since)"), name


def test_parts_that_leave_the_picture_as_shown_are_kept(tmp_path):
    """Words, a resolution, an sRGB intent or another compression leave the picture as a viewer shows it: a
    resume keeps the output."""
    picture = pattern(40, 30, 1)
    images.save_image(picture, tmp_path / "o.png", META)
    images.save_image(picture, tmp_path / "o.tif", META)
    text = Image.open(tmp_path / "o.png").info["stylize"]
    info = PngImagePlugin.PngInfo()
    info.add_text("stylize", text)
    info.add_text("Comment", "checked by hand")
    info.add(b"sRGB", b"\0")
    picture.save(tmp_path / "words.png", pnginfo=info, dpi=(300, 300))
    tif = Image.open(tmp_path / "o.tif")
    tif.load()
    tif.save(tmp_path / "deflate.tif", tiffinfo={270: tif.tag_v2[270]}, compression="tiff_adobe_deflate",
             dpi=(72, 72))
    for name in ("words.png", "deflate.tif"):
        assert images.read_back(tmp_path / name)[3] == () and told(tmp_path / name) is None, name
    assert json.loads(text)["stylize"] == __version__


def test_a_part_without_a_word_is_named_by_what_it_is(tmp_path):
    """A part no message word fits is named by its format's own name for it; each kind is named once."""
    images.save_image(pattern(40, 30, 1), tmp_path / "o.png", META)
    png = (tmp_path / "o.png").read_bytes()
    at = png.index(b"IDAT") - 4
    extra = chunk(b"sTER", b"\0") + chunk(b"gAMA", (45455).to_bytes(4, "big"))  # (sTER: two pictures side by side)
    Path(tmp_path / "x.png").write_bytes(png[:at] + extra + extra + png[at:])
    assert images.read_back(tmp_path / "x.png")[3] == ("a PNG sTER chunk", "a gamma (a PNG gAMA chunk)")


def test_round_101_a_harmless_part_is_kept_and_a_profile_anywhere_is_told(tmp_path):
    """Hostile round 101: a TIFF output saved again with JPEG compression (its JPEGTables tag), a JPEG's extended
    XMP segment and a PNG's sBIT or bKGD chunk were refused by resumes, though the README keeps another compression,
    XMP and parts that leave the picture as shown; a colour profile in a JPEG's Photoshop segment (resource 0x040F)
    was kept, as the segment's words are."""
    picture = pattern(40, 30, 1)
    for ext in (".png", ".jpg", ".tif"):
        images.save_image(picture, tmp_path / f"o{ext}", META)
    tif = Image.open(tmp_path / "o.tif")
    tif.load()
    tif.save(tmp_path / "jpeg.tif", tiffinfo={270: tif.tag_v2[270]}, compression="jpeg")
    png = (tmp_path / "o.png").read_bytes()
    at = png.index(b"IDAT") - 4
    (tmp_path / "bits.png").write_bytes(png[:at] + chunk(b"sBIT", b"\x08\x08\x08") + chunk(b"bKGD", bytes(6)) + png[at:])
    jpg = (tmp_path / "o.jpg").read_bytes()

    def segment(marker: int, data: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(data) + 2) + data

    xmp = b"http://ns.adobe.com/xmp/extension/\0" + b"0" * 32 + struct.pack(">II", 10, 0) + b"<x:x></x:x>"
    (tmp_path / "xmp.jpg").write_bytes(jpg[:2] + segment(0xE1, xmp) + jpg[2:])
    for name in ("jpeg.tif", "bits.png", "xmp.jpg"):
        assert images.read_back(tmp_path / name)[3] == () and told(tmp_path / name) is None, name
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    resource = b"8BIM\x04\x0f\0\0" + struct.pack(">I", len(profile)) + profile
    (tmp_path / "ps.jpg").write_bytes(jpg[:2] + segment(0xED, b"Photoshop 3.0\0" + resource) + jpg[2:])
    (tmp_path / "words.jpg").write_bytes(jpg[:2] + segment(0xED, b"Photoshop 3.0\0" + b"8BIM\x04\x04\0\0" +
                                                           struct.pack(">I", 2) + b"\x1c\x02") + jpg[2:])
    assert images.read_back(tmp_path / "ps.jpg")[3] == ("a colour profile (a JPEG APP13 Photoshop 3.0 ICC segment)",)
    assert images.read_back(tmp_path / "words.jpg")[3] == ()


def exif_with_interoperability(index: bytes) -> bytes:
    """An APP1 Exif segment's data: an Exif block (ColorSpace sRGB) whose interoperability block has `index`
    (Pillow writes no interoperability block)."""
    def entry(tag, kind, count, value):
        return struct.pack("<HHI", tag, kind, count) + value

    top = struct.pack("<H", 1) + entry(0x8769, 4, 1, struct.pack("<I", 26)) + struct.pack("<I", 0)
    block = (struct.pack("<H", 2) + entry(0xA001, 3, 1, struct.pack("<HH", 1, 0)) +
             entry(0xA005, 4, 1, struct.pack("<I", 56)) + struct.pack("<I", 0))
    interoperability = struct.pack("<H", 1) + entry(0x0001, 2, 4, index + b"\0") + struct.pack("<I", 0)
    return b"Exif\0\0II*\0" + struct.pack("<I", 8) + top + block + interoperability


def test_round_102_exif_of_times_places_and_comments_is_kept(tmp_path):
    """Hostile round 102: an EXIF block holding only a date taken, a user comment or GPS coordinates (what photo
    managers add) was refused by resumes as a whole (its pointer tag is not words). The Exif block is read: its
    words are kept; a ColorSpace other than sRGB, a Gamma, an interoperability index other than R98 are told."""
    images.save_image(pattern(40, 30, 1), tmp_path / "o.jpg", META)
    jpg = Image.open(tmp_path / "o.jpg")
    jpg.load()

    def saved(name, fill):
        exif = Image.Exif()
        fill(exif)
        jpg.save(tmp_path / name, exif=exif, comment=jpg.info["comment"], quality=95)
        return images.read_back(tmp_path / name)[3]

    assert saved("date.jpg", lambda e: e.get_ifd(0x8769).update({0x9003: "2024:01:01 10:00:00", 0xA001: 1,
                                                                  0x9286: b"ASCII\0\0\0hello"})) == ()
    assert saved("gps.jpg", lambda e: e.get_ifd(0x8825).update({1: "N", 2: (1.0, 2.0, 3.0)})) == ()
    assert saved("gamma.jpg", lambda e: e.get_ifd(0x8769).update({0xA500: 2.2})) == ("a gamma (an EXIF Gamma tag)",)
    data = (tmp_path / "o.jpg").read_bytes()
    for index, told in ((b"R98", ()), (b"R03", ("a colour space (an EXIF ExifInteroperabilityOffset tag)",))):
        segment = exif_with_interoperability(index)
        (tmp_path / "i.jpg").write_bytes(data[:2] + b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment +
                                         data[2:])
        assert images.read_back(tmp_path / "i.jpg")[3] == told, index
