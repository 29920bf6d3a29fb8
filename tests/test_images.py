"""Loading every kind of image, refusing broken ones with a clear message, atomic saving."""

import io
import json
import os
import re
import struct
import zlib

import pytest
import torch
from PIL import Image

from stylize import __version__, images
from stylize.errors import ImageError

from .conftest import pattern


def _save(im, path, **kw):
    im.save(path, **kw)
    return path


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P", "CMYK", "LA"])
def test_modes_load_as_rgb(tmp_path, mode):
    base = pattern(40, 30)
    im = base.convert(mode) if mode != "P" else base.quantize(16)
    path = _save(im, tmp_path / ("x.tif" if mode == "CMYK" else "x.png"))
    out = images.load_image(path)
    assert out.mode == "RGB" and out.size == (40, 30)


def test_16_bit_grey_is_rescaled_not_clipped(tmp_path):
    im = Image.new("I;16", (8, 8))
    im.putdata([v * 1000 for v in range(64)])
    out = images.load_image(_save(im, tmp_path / "g16.png"))
    values = list(out.convert("L").tobytes())
    assert values[0] == 0 and 240 <= values[-1] <= 255 and len(set(values)) > 40  # not all 255


def test_32_bit_and_float_grey_are_rescaled_from_their_range_and_nan_is_refused(tmp_path):
    """Hostile round 13: 32-bit values over 65535 became two grey levels, negative ones black; a float image
    of NaN or with infinite pixels was read as black and used."""
    import numpy

    ramp = numpy.tile(numpy.arange(48), (36, 1))
    for name, values, mode in (("big", ramp * 100000, "I"), ("negative", ramp * 5 - 1000, "I"),
                               ("float", ramp / 47 - 0.5, "F")):
        Image.fromarray(values.astype(numpy.int32 if mode == "I" else numpy.float32), mode).save(tmp_path / f"{name}.tif")
        grey = numpy.asarray(images.load_image(tmp_path / f"{name}.tif").convert("L"))
        assert grey.min() == 0 and grey.max() == 255 and len(numpy.unique(grey)) == 48, name
    for name, values in (("nan", numpy.full((36, 48), numpy.nan)), ("inf", numpy.where(ramp % 2, numpy.inf, ramp))):
        Image.fromarray(values.astype(numpy.float32), "F").save(tmp_path / f"{name}.tif")
        with pytest.raises(ImageError, match=f"{name}.tif: a floating-point image with NaN or infinite pixels"):
            images.load_image(tmp_path / f"{name}.tif")


def test_transparent_pixels_become_white(tmp_path):
    im = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    out = images.load_image(_save(im, tmp_path / "a.png"))
    assert out.getpixel((0, 0)) == (255, 255, 255)


def test_exif_rotation_is_applied(tmp_path):
    im = pattern(40, 20)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rot.jpg"
    im.save(path, exif=exif.tobytes())
    assert images.load_image(path).size == images.shown_size(path) == (20, 40)  # (shown_size: from the header)
    (tmp_path / "not.jpg").write_text("text")
    assert images.shown_size(tmp_path / "not.jpg") is None and images.shown_size(tmp_path / "none.jpg") is None


def _png_header_only(path, width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


def test_broken_inputs_get_one_clear_error(tmp_path):
    cases = {}
    cases["missing"] = (tmp_path / "missing.jpg", "no such file")
    cases["dir"] = (tmp_path, "is a directory, not an image")
    (tmp_path / "empty.jpg").write_bytes(b"")
    cases["empty"] = (tmp_path / "empty.jpg", "the file is empty")
    (tmp_path / "text.jpg").write_text("hello, I am not a picture\n")
    cases["text"] = (tmp_path / "text.jpg", "not an image Pillow can read")
    buf = io.BytesIO()
    pattern(64, 64).save(buf, "JPEG")
    (tmp_path / "trunc.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    cases["truncated jpeg"] = (tmp_path / "trunc.jpg", "truncated or corrupt")
    buf = io.BytesIO()
    pattern(64, 64).save(buf, "PNG")
    (tmp_path / "trunc.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    cases["truncated png"] = (tmp_path / "trunc.png", "truncated or corrupt")
    cases["bomb"] = (_png_header_only(tmp_path / "bomb.png", 30000, 30000), "too many pixels (over Pillow's limit")
    for name, (path, message) in cases.items():
        with pytest.raises(ImageError) as e:
            images.load_image(path)
        assert message in str(e.value), name
        assert "\n" not in str(e.value)


def test_pillow_pixel_limit_is_kept():
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS > 0


def test_fit_keeps_aspect_ratio():
    assert images.fit(pattern(400, 300), 100).size == (100, 75)
    assert images.fit(pattern(30, 60), 120).size == (60, 120)


def test_tensor_round_trip_is_exact():
    im = pattern(23, 17)
    x = images.to_tensor(im)
    assert x.shape == (1, 3, 17, 23) and 0 <= float(x.min()) and float(x.max()) <= 1
    assert images.to_pil(x).tobytes() == im.tobytes()


def test_a_tensor_becomes_an_image_without_reading_it_a_byte_at_a_time(monkeypatch):
    """bytes() of a tensor's storage reads it one byte at a time in Python: 34 s for one 2048 x 1536 output
    (every output, snapshot and frame), minutes at 36 Mpx, after the run and after a stop signal."""
    def per_byte(self, index):
        raise AssertionError("read a byte at a time")

    monkeypatch.setattr(torch.UntypedStorage, "__getitem__", per_byte)
    im = pattern(64, 48)
    assert images.to_pil(images.to_tensor(im)).tobytes() == im.tobytes()


def test_an_mpo_output_is_a_jpeg_with_its_quality_and_metadata(tmp_path):
    """Hostile round 11: .mpo was written at Pillow's default quality, without the run's metadata."""
    im = pattern(40, 30)
    images.save_image(im, tmp_path / "a.mpo", {"seed": 3})
    images.save_image(im, tmp_path / "a.jpg", {"seed": 3})
    assert images.read_metadata(tmp_path / "a.mpo") == {"stylize": __version__, "seed": 3}
    assert (tmp_path / "a.mpo").read_bytes() == (tmp_path / "a.jpg").read_bytes()


def test_a_j2k_output_is_a_jpeg_2000_codestream_and_a_jp2_its_container(tmp_path):
    """Hostile round 15: `-o o.j2k` wrote a JP2 container (Pillow decides by the file's name; it saw none)."""
    for ext, magic in ((".j2k", "ff4fff51"), (".jpc", "ff4fff51"), (".jp2", "0000000c")):
        images.save_image(pattern(40, 30), tmp_path / f"o{ext}", {"seed": 3})
        assert (tmp_path / f"o{ext}").read_bytes()[:4].hex() == magic and Image.open(tmp_path / f"o{ext}").size == (40, 30)


def test_save_is_atomic_and_records_metadata(tmp_path):
    out = tmp_path / "out.png"
    images.save_image(pattern(10, 10), out, {"seed": 3, "partial": False})
    assert images.read_metadata(out) == {"stylize": __version__, "seed": 3, "partial": False}
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask  # the umask's mode, not mkstemp's 0600


def test_ours_is_stylizes_metadata_and_empty_for_anything_else(tmp_path):
    made = tmp_path / "made.png"
    images.save_image(pattern(10, 10), made, {"command": "transfer"})
    users = tmp_path / "users.png"
    pattern(10, 10).save(users, pnginfo=_text("Comment", '{"command": "transfer", "partial": true}'))
    broken = tmp_path / "broken.png"
    broken.write_bytes(made.read_bytes()[:40])
    link = tmp_path / "link.png"
    link.symlink_to(made)
    assert images.ours(made) == {"stylize": __version__, "command": "transfer"}
    for other in (users, broken, tmp_path / "missing.png", tmp_path, link):  # (a link is the user's: round 33)
        assert images.ours(other) == {}, other


def _text(key, value):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(key, value)
    return info


def test_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    out = tmp_path / "out.png"
    out.write_bytes(b"old result")

    def broken_save(self, fp, format=None, **params):
        fp.write(b"half a fi")
        raise OSError("disk full")

    images.output_format(out)  # (PNG's encoder is probed once, before the disk fills: alone, this test did it after)
    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(ImageError, match="disk full"):
        images.save_image(pattern(10, 10), out, overwrite=True)
    assert out.read_bytes() == b"old result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_output_checks(tmp_path, photo):
    with pytest.raises(ImageError, match="unknown output extension '.xyz'"):
        images.check_output(tmp_path / "a.xyz")
    with pytest.raises(ImageError, match="the folder .* does not exist"):
        images.check_output(tmp_path / "no" / "a.png")
    with pytest.raises(ImageError, match="would overwrite an input"):
        images.check_output(photo, [photo], overwrite=True)
    with pytest.raises(ImageError, match="already exists; pass --overwrite"):
        images.check_output(photo)
    assert images.check_output(tmp_path / "fine.webp") == tmp_path / "fine.webp"
    # round 17: an output at a name of stylize's own hidden files would be taken for one (and removed with it)
    for own in (".stylize-claim-566fc07c42bea8ac", ".stylize.lock", ".stylize-report-lock-0a1b", ".stylize-tmp-x.png",
                ".STYLIZE-CLAIM-1.png"):  # (round 20: in any case, as FAT or SMB compare names)
        with pytest.raises(ImageError, match="a name stylize keeps for its own hidden files"):
            images.check_name(tmp_path / own)
    assert images.check_name(tmp_path / ".stylize-claims.png") == tmp_path / ".stylize-claims.png"
    # round 30: a report (or a figure's .json) at an earlier .bmp output's mark name stopped that output's reruns
    for mark in ("o.bmp.stylize.json", "o.TGA.stylize.json", "o.ppm.STYLIZE.JSON"):
        with pytest.raises(ImageError, match=r"the name of the mark stylize keeps beside o\.\w+ \(its format holds"):
            images.check_name(tmp_path / mark)
    for free in ("o.png.stylize.json", "r.stylize.json", "o.bmp.json"):  # a PNG holds its own metadata: no mark
        assert images.check_name(tmp_path / free) == tmp_path / free


def test_an_ico_holds_the_image_as_it_is_and_a_larger_one_is_refused_before_writing(tmp_path):
    images.save_image(pattern(200, 133), tmp_path / "a.ico")
    with Image.open(tmp_path / "a.ico") as im:
        assert im.size == (200, 133)  # not Pillow's largest standard size that fits (128 px)
    with pytest.raises(ImageError, match=r"b.ico: a .ico image is at most 256 px a side and this one would be 300x200"):
        images.check_fits(tmp_path / "b.ico", (300, 200))
    with pytest.raises(ImageError, match="at most 256 px a side"):
        images.save_image(pattern(300, 200), tmp_path / "b.ico")
    assert not (tmp_path / "b.ico").exists()
    images.check_fits(tmp_path / "b.png", (300, 200))  # PNG has no such limit
    with pytest.raises(ImageError, match="a .webp image is at most 16383 px a side"):
        images.check_fits(tmp_path / "b.webp", (16384, 10))


@pytest.mark.parametrize("ext,why", [(".icns", "writes it at another size"), (".pdf", "cannot read back")])
def test_a_format_pillow_does_not_write_as_the_image_is_refused(ext, why, tmp_path):
    with pytest.raises(ImageError, match=rf"stylize cannot write \{ext} files"):
        images.output_format(tmp_path / f"x{ext}")
    assert why in images._probe(Image.registered_extensions()[ext])


@pytest.mark.parametrize("ext", [".pgm", ".pbm", ".PGM", ".bw", ".pfm", ".rgba"])
def test_an_extension_that_promises_no_colour_is_refused(ext, tmp_path):
    # Pillow writes colour PPM data (P6) under any name of the family: a .pgm would not be grey
    with pytest.raises(ImageError, match="not the colour one stylize makes; use .png, .ppm or .tif"):
        images.output_format(tmp_path / f"x{ext}")
    assert images.output_format(tmp_path / "x.ppm") == "PPM"


def test_a_sidecar_mark_names_its_image_not_whatever_is_put_at_its_name(tmp_path):
    """Round 18: an interrupted .bmp left its partial mark beside it; the user put their own picture at that name,
    and `batch --skip-existing` redid the pair over it (the mark named the file, not its contents)."""
    out = tmp_path / "c.bmp"
    images.save_image(pattern(16, 12), out, {"stylize": "x", "partial": True})
    assert images.read_metadata(out)["partial"] is True and "mark_sha256" not in images.read_metadata(out)
    Image.new("RGB", (50, 50), "red").save(out)  # the user's own picture, at the name
    assert images.read_metadata(out) is None
    from stylize.batch import kept

    assert kept(out) == {}  # finished (and not stylize's: no settings to compare): a resume keeps it


def test_make_folder_names_what_is_in_its_way(tmp_path):
    """Round 25: a dangling link as `batch --out-dir` or `--cells-dir` was "cannot create the output folder (File
    exists)" (round 24 fixed those words for a video's frames folder only)."""
    (tmp_path / "od").symlink_to(tmp_path / "nowhere" / "deeper")
    (tmp_path / "afile").write_text("mine")
    for folder, where, why in [("od", "od", r"a link to nothing \(its target is missing, or it loops\), not a folder"),
                               ("od/sub", "od", "a link to nothing"),
                               ("afile/x", "afile", "is a file, not a folder")]:
        with pytest.raises(ImageError, match=f"^{tmp_path / where}: {why}.*choose another output folder$"):
            images.make_folder(tmp_path / folder, "output folder")
    assert os.readlink(tmp_path / "od") == str(tmp_path / "nowhere" / "deeper") and not (tmp_path / "nowhere").exists()
    assert (tmp_path / "afile").read_text() == "mine"
    assert images.make_folder(tmp_path / "new" / "sub").is_dir()


def test_a_name_that_is_only_an_extension_is_told_as_such():
    """Round 25: `--name-template '{style:.0}{content:.0}.png'` (or `-o .png`) gave `.png`, told as "unknown output
    extension '(none)'": Python reads '.png' as a hidden name with no extension."""
    with pytest.raises(ImageError, match=r"^out/\.png: a name that is only an extension .*e\.g\. out\.png$"):
        images.output_format("out/.png")
    with pytest.raises(ImageError, match=r"^\.foo: the name has no extension; use \.png"):
        images.output_format(".foo")
    assert images.output_format("a/.x.png") == "PNG"


def test_an_outputs_missing_folder_is_told_by_what_is_there(tmp_path):
    """Round 26: `-o loop/z.png` with `loop -> loop` said "the folder loop does not exist" (it is a link that loops)."""
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    for folder, why in [("loop", "the folder {} is a link to nothing (its target is missing, or it loops)"),
                        ("gone/sub", "the folder {} is a link to nothing (its target is missing, or it loops)"),
                        ("file/sub", "{} is not a folder"), ("new/sub", "the folder {} does not exist")]:
        where = tmp_path / folder.split("/")[0] if not folder.startswith("new") else tmp_path / folder
        with pytest.raises(ImageError, match="^" + re.escape(f"{tmp_path / folder / 'z.png'}: " + why.format(where))):
            images.check_output(tmp_path / folder / "z.png")


ADAM7 = ((8, 8, 0, 0), (8, 8, 4, 0), (4, 8, 0, 4), (4, 4, 2, 0), (2, 4, 0, 2), (2, 2, 1, 0), (1, 2, 0, 1))


def _png(im: Image.Image, keep: float = 1.0, interlaced: bool = False) -> bytes:
    """An 8-bit RGB PNG of `im` written here (Pillow writes no interlaced PNG), its raw rows cut to `keep` of
    them and compressed as a whole, proper zlib stream: the damage round 28 found."""
    import numpy as np

    a = np.asarray(im.convert("RGB"))
    passes = ADAM7 if interlaced else ((1, 1, 0, 0),)
    raw = b"".join(b"\x00" + row.tobytes() for dx, dy, x0, y0 in passes for row in a[y0::dy, x0::dx]
                   if a[y0::dy, x0::dx].shape[1])
    raw = raw[:int(len(raw) * keep)]

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", a.shape[1], a.shape[0], 8, 2, 0, 0, int(interlaced))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("interlaced", [False, True])
def test_a_png_whose_image_data_ends_early_is_refused_not_filled_with_black(tmp_path, interlaced):
    """Round 28: a PNG whose zlib stream ends properly after a third of its rows loaded without an error, the
    other rows black ("Wrote ...", exit 0, as content and as a video frame)."""
    import numpy as np

    for size in [(40, 30), (3, 9), (1, 1)]:
        im = pattern(*size, seed=size[0])
        (tmp_path / "whole.png").write_bytes(_png(im, interlaced=interlaced))
        assert np.array_equal(np.asarray(images.load_image(tmp_path / "whole.png")), np.asarray(im))
        (tmp_path / "cut.png").write_bytes(_png(im, keep=0.34, interlaced=interlaced))
        with pytest.raises(ImageError, match=r"cut.png: cannot read the image \((the image data ends early|image "
                                             r"file is truncated)"):
            images.load_image(tmp_path / "cut.png")
    for mode in ("1", "L", "LA", "P", "RGBA", "I;16"):  # Pillow's own PNGs of every kind read whole
        pattern(37, 23).convert(mode).save(tmp_path / f"{mode}.png".replace(";", ""))
        images.load_image(tmp_path / f"{mode}.png".replace(";", ""))


def test_round_51_big_endian_16_bit_32_bit_integers_and_a_png_transparency_key(tmp_path):
    """Hostile round 51: a 16-bit big-endian TIFF was "cannot read the image" (and as a PIL image "cannot be read
    as RGB"); a 32-bit integer image of 0-1000 was read nearly black (scaled as 16-bit); a grey or RGB PNG whose
    transparency is a tRNS key was black where transparent, not white; a PIL image with a damaged EXIF block gave a
    bare SyntaxError."""
    import numpy as np

    from stylize.errors import ImageError
    from stylize.images import load_image, read_in_memory

    ramp = (np.arange(48 * 32).reshape(32, 48) * 40).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "little.png")
    Image.frombuffer("I;16B", (48, 32), ramp.astype(">u2").tobytes(), "raw", "I;16B", 0, 1).save(tmp_path / "big.tif")
    assert load_image(tmp_path / "big.tif").tobytes() == load_image(tmp_path / "little.png").tobytes()
    assert read_in_memory(Image.open(tmp_path / "big.tif"), "big").tobytes() == \
        load_image(tmp_path / "little.png").tobytes()
    Image.fromarray(np.tile(np.linspace(0, 1000, 48).astype(np.int32), (32, 1)), mode="I").save(tmp_path / "i.tif")
    assert load_image(tmp_path / "i.tif").convert("L").getextrema() == (0, 255)  # its own lowest to highest
    grey = Image.new("L", (40, 30), 0)
    grey.paste(128, (0, 0, 20, 30))
    grey.save(tmp_path / "key.png", transparency=0)
    Image.new("RGB", (40, 30), (0, 0, 0)).save(tmp_path / "rgbkey.png", transparency=(0, 0, 0))
    assert load_image(tmp_path / "key.png").getpixel((30, 5)) == (255, 255, 255)  # transparent: on white
    assert load_image(tmp_path / "key.png").getpixel((5, 5)) == (128, 128, 128)
    assert load_image(tmp_path / "rgbkey.png").getpixel((30, 5)) == (255, 255, 255)
    pattern(48, 32, 1).save(tmp_path / "badexif.png", exif=b"garbage")
    with pytest.raises(ImageError, match="badexif: a PIL image of mode RGB cannot be read as RGB"):
        read_in_memory(Image.open(tmp_path / "badexif.png"), "badexif")


def test_round_52_a_jpegs_metadata_too_large_for_its_comment_is_kept_beside_it(tmp_path):
    """Hostile round 52: a finished .jpg output whose metadata was over 64 KiB was written with none (a resume with
    other settings then kept it as this pair's). It goes into the mark beside it, which names the image."""
    from stylize.images import read_metadata, save_image, sidecar_path

    save_image(pattern(40, 32, 1), tmp_path / "o.jpg", {"note": "x" * 70000, "partial": False})
    meta = read_metadata(tmp_path / "o.jpg")
    assert meta is not None and meta["note"] == "x" * 70000 and sidecar_path(tmp_path / "o.jpg").exists()
    save_image(pattern(40, 32, 2), tmp_path / "o.jpg", {"note": "short", "partial": False}, overwrite=True)
    assert read_metadata(tmp_path / "o.jpg")["note"] == "short" and not sidecar_path(tmp_path / "o.jpg").exists()


def test_round_52_a_16_bit_grey_pngs_transparency_key(tmp_path):
    """Hostile round 52: a 16-bit grey PNG's tRNS key was ignored (the keyed pixels read dark, not on white)."""
    import struct
    import zlib

    from stylize.images import load_image

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

    rows = b"".join(b"\0" + b"".join(struct.pack(">H", 1000 if x < 4 else 60000) for x in range(8)) for _ in range(8))
    (tmp_path / "k.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 16, 0, 0, 0, 0))
                                     + chunk(b"tRNS", struct.pack(">H", 1000)) + chunk(b"IDAT", zlib.compress(rows))
                                     + chunk(b"IEND", b""))
    im = load_image(tmp_path / "k.png")
    assert im.getpixel((0, 0)) == (255, 255, 255) and im.getpixel((7, 0)) == (233, 233, 233)


def test_round_53_a_jpeg_without_its_mark_is_unfinished_and_its_name_leaves_room_for_the_mark(tmp_path):
    """Hostile round 53: a JPEG whose metadata went to the mark beside it held no comment: copied without the mark
    (or the mark removed), it read as a file of the user's and a resume kept it, partial or of other settings. And a
    250-byte .jpg name had no room for the mark: the run refused after its work. The JPEG now notes where its
    metadata is (without the mark: unfinished, made again), and its name must leave room for the mark."""
    import shutil

    from stylize.errors import ImageError
    from stylize.images import check_name, read_metadata, save_image

    save_image(pattern(40, 32, 1), tmp_path / "o.jpg", {"note": "x" * 70000, "partial": False})
    assert read_metadata(tmp_path / "o.jpg")["partial"] is False
    (tmp_path / "copy").mkdir()
    shutil.copy(tmp_path / "o.jpg", tmp_path / "copy" / "o.jpg")
    lost = read_metadata(tmp_path / "copy" / "o.jpg")
    assert lost["partial"] is True and lost["missing"] is True
    with pytest.raises(ImageError, match=r"the file name is too long \(250 bytes; at most 242\)"):
        check_name(tmp_path / ("a" * 246 + ".jpg"))


def test_round_53_a_jpegs_mark_name_is_no_other_output(tmp_path):
    """Hostile round 53: a report or a figure's .json named x.jpg.stylize.json was written, then -o x.jpg was
    refused ("not stylize's"): the JPEG's mark name is reserved as a .bmp's is."""
    from stylize.errors import ImageError
    from stylize.images import check_name

    for name in ("x.jpg.stylize.json", "x.mpo.stylize.json", "x.bmp.stylize.json"):
        with pytest.raises(ImageError, match="the name of the mark stylize keeps beside"):
            check_name(tmp_path / name)
    check_name(tmp_path / "x.png.stylize.json")


def test_round_66_no_output_in_a_folder_named_as_stylizes_own_files(tmp_path):
    """Hostile round 66: an output in a folder named `.stylize-tmp-sub` (a manifest's `output`) made that folder,
    where a claim or temporary file is written. The name's folders are checked as its own name is."""
    from stylize.errors import ImageError
    from stylize.images import check_name, own_folder

    for name in (".stylize-tmp-sub/x.png", "a/.Stylize.lock/b/x.png", ".stylize-report-lock-1/x.png"):
        with pytest.raises(ImageError, match=f"{re.escape(name)}: in a folder named .*, a name stylize keeps"):
            check_name(tmp_path / name)
    assert own_folder("a/.stylize-claim-9/b") == ".stylize-claim-9" and own_folder("a/stylize-tmp-x/b") is None
    check_name(tmp_path / ".stylize" / "x.png")  # (not one of its names)


def test_round_77_a_name_ending_in_a_dot_is_told_so():
    """Hostile round 77: `-o x.png.` said "unknown output extension '(none)'", as if '(none)' were the name's
    extension."""
    with pytest.raises(ImageError, match=r"^x\.png\.: the name ends in a dot, which is no extension; use \.png"):
        images.output_format("x.png.")


def test_kind_of_names_what_is_at_a_path_and_as_given_names_a_followed_link(tmp_path):
    """Messages name what is there (round 91: a device was "a file"), through a link too, and a followed link by
    the name given, with where it leads."""
    (tmp_path / "f").write_text("x")
    os.mkfifo(tmp_path / "p")
    for name, target in (("lf", "f"), ("lp", "p"), ("ld", "/dev/null"), ("lt", tmp_path), ("ln", "nothing")):
        os.symlink(target, tmp_path / name)
    assert [images.kind_of(tmp_path / n) for n in ("f", "p", "lf", "lp", "ld", "lt", "ln", "none")] == [
        "a file", "a pipe", "a link to a file", "a link to a pipe", "a link to a device", "a link to a folder",
        "a link to nothing", "nothing"]
    assert images.kind_of("/dev/null") == "a device" and images.kind_of(tmp_path) == "a folder"
    assert images.as_given(tmp_path / "lf", images.through_link(tmp_path / "lf")) == \
        f"{tmp_path / 'lf'} (a link to {tmp_path / 'f'})"
    for name in ("f", "lp", "ld", "ln"):  # (a file, or a link through_link does not follow: as given alone)
        assert images.as_given(tmp_path / name, images.through_link(tmp_path / name)) == str(tmp_path / name)


def test_empty_file_is_only_an_empty_regular_file(tmp_path):
    """What --overwrite may replace beside stylize's own reports and sheets (round 92): an empty regular file."""
    (tmp_path / "e").write_bytes(b"")
    (tmp_path / "x").write_bytes(b" ")
    os.mkfifo(tmp_path / "p")
    assert [images.empty_file(tmp_path / n) for n in ("e", "x", "p", "none")] == [True, False, False, False]
    assert not images.empty_file(tmp_path) and not images.empty_file("/dev/null")


def damaged_crc(path) -> None:
    """Flip a PNG's IDAT checksum: Pillow still decodes it, every pixel as it was; only a check of the CRC sees."""
    data = bytearray(open(path, "rb").read())
    i = data.find(b"IDAT")
    n = int.from_bytes(data[i - 4:i], "big")
    data[i + 4 + n] ^= 0xFF
    open(path, "wb").write(bytes(data))


def test_read_back_refuses_what_does_not_read_back_whole(tmp_path):
    """Round 94: an output read back (a resume's, a frames folder's) is decoded whole and its checksums checked:
    a PNG whose CRC fails decodes without a word from Pillow."""
    pattern(20, 16, 1).save(tmp_path / "ok.png")
    assert images.read_back(tmp_path / "ok.png") == ("PNG", (20, 16), "RGB", ())
    pattern(20, 16, 1).save(tmp_path / "j.png", "JPEG")  # (another format under the name: told as it is)
    assert images.read_back(tmp_path / "j.png") == ("JPEG", (20, 16), "RGB", ())
    (tmp_path / "crc.png").write_bytes((tmp_path / "ok.png").read_bytes())
    damaged_crc(tmp_path / "crc.png")
    assert images.load_image(tmp_path / "crc.png").size == (20, 16)  # (decodes)
    with pytest.raises(ImageError, match=r"crc\.png: the image is damaged \(.*\); its checksums fail$"):
        images.read_back(tmp_path / "crc.png")
    (tmp_path / "e.png").write_bytes(b"")
    with pytest.raises(ImageError, match="the file is empty"):
        images.read_back(tmp_path / "e.png")


def test_round_95_a_picture_turned_grey_or_a_text_chunk_damaged_is_told_so(tmp_path):
    """Hostile round 95: a stylize output turned grey with its metadata kept was kept by a resume (and encoded as
    a frame); a PNG whose text chunk's CRC fails was "not an image Pillow can read". Told as what they are."""
    import struct

    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("stylize", json.dumps({"stylize": __version__, "width": 20, "height": 16}))
    pattern(20, 16, 1).convert("L").save(tmp_path / "grey.png", pnginfo=info)
    meta = images.ours(tmp_path / "grey.png")
    assert images.not_as_recorded(meta, images.read_back(tmp_path / "grey.png"), tmp_path / "grey.png") == (
        "a grey PNG picture of 20x16 px where its metadata records the PNG of 20x16 px in colour stylize wrote "
        "(changed since)")
    pattern(20, 16, 1).save(tmp_path / "ok.png", pnginfo=info)
    assert images.not_as_recorded(meta, images.read_back(tmp_path / "ok.png"), tmp_path / "ok.png") is None
    data, i = bytearray((tmp_path / "ok.png").read_bytes()), 8
    while data[i + 4:i + 8] != b"tEXt":
        i += 12 + struct.unpack(">I", data[i:i + 4])[0]
    data[i + 8 + struct.unpack(">I", data[i:i + 4])[0]] ^= 0xFF
    (tmp_path / "text.png").write_bytes(bytes(data))
    with pytest.raises(ImageError, match=r"text\.png: the image is damaged \(a PNG whose chunks Pillow cannot read"):
        images.read_back(tmp_path / "text.png")


def test_round_96_a_palette_or_an_alpha_channel_is_not_what_stylize_wrote(tmp_path):
    """Hostile round 96: a grey picture stored as a palette, and a transparent RGBA one (read as white), with the
    output's metadata copied along, were kept by resumes (round 95 looked at grey modes only). The mode stylize
    writes for the format (written_as: RGB, a GIF's palette) is what a kept picture must be in."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("stylize", json.dumps({"stylize": __version__, "width": 20, "height": 16}))
    meta = {"stylize": __version__, "width": 20, "height": 16}
    rgba = pattern(20, 16, 1).convert("RGBA")
    rgba.putalpha(0)
    for name, picture, told in (
            ("pgrey.png", pattern(20, 16, 1).convert("L").convert("RGB").quantize(64),
             "a grey PNG picture of 20x16 px where its metadata records the PNG of 20x16 px in colour"),
            ("rgba.png", rgba,
             "a PNG picture of 20x16 px in mode RGBA where its metadata records the PNG of 20x16 px in mode RGB"),
            ("pal.png", pattern(20, 16, 1).quantize(64),
             "a PNG picture of 20x16 px in mode P where its metadata records the PNG of 20x16 px in mode RGB")):
        picture.save(tmp_path / name, pnginfo=info)
        found = images.read_back(tmp_path / name)
        assert images.not_as_recorded(meta, found, tmp_path / name) == f"{told} stylize wrote (changed since)"
    assert images.written_as("PNG") == ("PNG", "RGB") and images.written_as("GIF") == ("GIF", "P")
    pattern(20, 16, 1).quantize(64).save(tmp_path / "colour.gif")  # (a GIF's own colour palette: as written)
    assert images.not_as_recorded(meta, images.read_back(tmp_path / "colour.gif"), tmp_path / "colour.gif") is None


def test_round_97_what_stylize_never_writes_is_told_changed_since(tmp_path):
    """Hostile round 97: a transparency key (PNG tRNS, a GIF's index), an EXIF turn (read 24x32 where stylize
    wrote 32x24) or a second frame added to an output, its metadata copied along, were kept by resumes. The size
    compared is the size as read; what stylize never writes is named."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("stylize", json.dumps({"stylize": __version__, "width": 20, "height": 16}))
    meta = {"stylize": __version__, "width": 20, "height": 16}
    picture, turn = pattern(20, 16, 1), Image.Exif()
    turn[0x0112] = 6
    for name, save, told in (
            ("key.png", lambda p: picture.save(p, pnginfo=info, transparency=picture.getpixel((0, 0))),
             "a PNG picture of 20x16 px, with a transparency key"),
            ("turn.png", lambda p: picture.save(p, pnginfo=info, exif=turn),
             "a PNG picture of 16x20 px, with an EXIF turn"),
            ("two.png", lambda p: picture.save(p, pnginfo=info, save_all=True, append_images=[picture]),
             "a PNG picture of 20x16 px, with 2 frames")):
        save(tmp_path / name)
        assert images.not_as_recorded(meta, images.read_back(tmp_path / name), tmp_path / name) == (
            f"{told} where its metadata records the PNG of 20x16 px in colour stylize wrote (changed since)")


def test_round_99_a_colour_profile_gamma_or_chromaticities_is_told_changed_since(tmp_path):
    """Hostile round 99: an ICC profile, a gAMA or a cHRM chunk added to an output (a viewer shows other colours),
    its metadata copied along, was kept by a resume. Named as what stylize never writes."""
    import struct

    from PIL import ImageCms, PngImagePlugin

    meta = {"stylize": __version__, "width": 20, "height": 16}

    def info(*chunks):
        made = PngImagePlugin.PngInfo()
        made.add_text("stylize", json.dumps(meta))
        for name, data in chunks:
            made.add(name, data)
        return made

    picture = pattern(20, 16, 1)
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for name, save, what in (
            ("icc.png", lambda p: picture.save(p, pnginfo=info(), icc_profile=profile),
             "a colour profile (a PNG iCCP chunk)"),
            ("gama.png", lambda p: picture.save(p, pnginfo=info((b"gAMA", (10000).to_bytes(4, "big")))),
             "a gamma (a PNG gAMA chunk)"),
            ("chrm.png", lambda p: picture.save(p, pnginfo=info((b"cHRM", struct.pack(">8I", *[100000] * 8)))),
             "chromaticities (a PNG cHRM chunk)")):
        save(tmp_path / name)
        assert images.not_as_recorded(meta, images.read_back(tmp_path / name), tmp_path / name) == (
            f"a PNG picture of 20x16 px, with {what} where its metadata records the PNG of 20x16 px in colour "
            f"stylize wrote (changed since)")
