"""Images: nothing lost, no traceback ("Nothing lost, no traceback").

Outputs never replace a file that appeared during the run; every output format keeps the metadata
and the partial mark; over-long names, hostile input files and formats stylize cannot write all give
one ImageError line.
"""

import errno
import hashlib
import io
import json
import os
import random
import struct
import subprocess
import sys

import pytest
from PIL import BlpImagePlugin, Image, ImageFile

from stylize import __version__, images
from stylize.errors import ImageError

from .conftest import pattern

WRITABLE = [".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif"]


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


# --- 1. never replace a file that appeared while the run was going ---------------------------


def _file_appears_while_encoding(monkeypatch, path, content=b"precious"):
    """Make `path` appear after save_image's early check, while the image is being encoded."""
    real = images._encode

    def encode(im, fp, fmt, metadata, suffix=""):
        path.write_bytes(content)
        return real(im, fp, fmt, metadata, suffix)

    monkeypatch.setattr(images, "_encode", encode)


def test_existing_output_is_refused_without_overwrite(tmp_path):
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")
    with pytest.raises(ImageError) as e:
        images.save_image(pattern(10, 10), out)
    assert str(e.value) == f"{out}: already exists; pass --overwrite to replace it"
    assert out.read_bytes() == b"precious" and _names(tmp_path) == ["out.png"]


def test_a_file_that_appears_during_the_run_is_not_replaced(tmp_path, monkeypatch):
    out = tmp_path / "out.png"
    _file_appears_while_encoding(monkeypatch, out)
    with pytest.raises(ImageError) as e:
        images.save_image(pattern(10, 10), out, {"partial": False})
    assert str(e.value) == f"{out}: already exists; pass --overwrite to replace it"
    assert out.read_bytes() == b"precious" and _names(tmp_path) == ["out.png"]


def test_overwrite_replaces(tmp_path):
    out = tmp_path / "out.png"
    out.write_bytes(b"old")
    images.save_image(pattern(10, 10), out, {"seed": 1}, overwrite=True)
    assert Image.open(out).size == (10, 10) and images.read_metadata(out) == {"stylize": __version__, "seed": 1}
    assert _names(tmp_path) == ["out.png"]


def test_a_dangling_symlink_counts_as_existing(tmp_path):
    out = tmp_path / "out.png"
    out.symlink_to(tmp_path / "nowhere.png")
    with pytest.raises(ImageError, match="already exists"):
        images.save_image(pattern(10, 10), out)
    assert not (tmp_path / "nowhere.png").exists()


@pytest.mark.parametrize("code", [errno.EPERM, errno.ENOTSUP, errno.EXDEV])
def test_without_hard_links_the_exclusive_rename_is_used(tmp_path, monkeypatch, code):
    def no_link(src, dst):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "link", no_link)
    out = tmp_path / "new.png"
    images.save_image(pattern(10, 10), out, {"seed": 2})
    assert images.read_metadata(out) == {"stylize": __version__, "seed": 2} and _names(tmp_path) == ["new.png"]

    late = tmp_path / "late.png"
    _file_appears_while_encoding(monkeypatch, late)
    with pytest.raises(ImageError) as e:
        images.save_image(pattern(10, 10), late)
    assert str(e.value) == f"{late}: already exists; pass --overwrite to replace it"
    assert late.read_bytes() == b"precious" and _names(tmp_path) == ["late.png", "new.png"]


def test_other_link_failures_are_one_line_and_leave_nothing(tmp_path, monkeypatch):
    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "link", full)
    out = tmp_path / "out.png"
    with pytest.raises(ImageError) as e:
        images.save_image(pattern(10, 10), out)
    assert str(e.value) == f"{out}: cannot write the image (No space left on device)"  # (never the temporary name)
    assert _names(tmp_path) == []


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_saved_file_mode_follows_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        images.save_image(pattern(4, 4), tmp_path / "a.png")
    finally:
        os.umask(old)
    assert (tmp_path / "a.png").stat().st_mode & 0o777 == mode


def test_interrupt_while_encoding_leaves_no_temporary(tmp_path, monkeypatch):
    def interrupted(im, fp, fmt, metadata, suffix=""):
        fp.write(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(images, "_encode", interrupted)
    with pytest.raises(KeyboardInterrupt):
        images.save_image(pattern(4, 4), tmp_path / "a.png")
    assert _names(tmp_path) == []


# --- 2. every output format carries the metadata and the partial mark -------------------------


@pytest.mark.parametrize("ext", WRITABLE)
@pytest.mark.parametrize("partial", [True, False])
def test_metadata_round_trips_in_every_format(tmp_path, ext, partial):
    out = tmp_path / f"out{ext}"
    meta = {"stylize": __version__, "partial": partial, "seed": 7, "argv": "stylize a.jpg b.jpg -o 'x y'",
            "name": "café"}
    images.save_image(pattern(12, 10), out, meta)
    assert Image.open(out).size == (12, 10)
    assert images.load_image(out).size == (12, 10)
    got = images.read_metadata(out)
    if ext == ".bmp" and not partial:
        assert got is None and _names(tmp_path) == [out.name]  # BMP has no room; a finished one needs none
    else:
        assert got == meta
        assert _names(tmp_path) == sorted([out.name] + ([out.name + ".stylize.json"] if ext == ".bmp" else []))


def test_partial_mark_is_inside_a_jpeg(tmp_path):
    out = tmp_path / "out.jpg"
    images.save_image(pattern(12, 10), out, {"partial": True, "iterations": 3})
    with Image.open(out) as im:
        assert json.loads(im.info["comment"]) == {"stylize": __version__, "iterations": 3, "partial": True}
    assert images.read_metadata(out)["partial"] is True
    assert _names(tmp_path) == ["out.jpg"]


@pytest.mark.parametrize("ext", [".webp", ".tif"])
def test_metadata_is_the_exif_image_description(tmp_path, ext):
    out = tmp_path / f"out{ext}"
    images.save_image(pattern(12, 10), out, {"partial": True})
    with Image.open(out) as im:
        assert json.loads(im.getexif()[0x010E]) == {"stylize": __version__, "partial": True}


def test_bmp_partial_gets_a_sidecar_that_a_finished_save_removes(tmp_path):
    out = tmp_path / "out.bmp"
    images.save_image(pattern(12, 10), out, {"partial": True, "iterations": 5})
    sidecar = tmp_path / "out.bmp.stylize.json"
    mark = json.loads(sidecar.read_text())  # names its image, and holds its digest (round 18)
    assert mark == {"stylize": __version__, "iterations": 5, "partial": True, "mark_of": "out.bmp",
                    "mark_sha256": hashlib.sha256((tmp_path / "out.bmp").read_bytes()).hexdigest()}
    assert images.read_metadata(out)["partial"] is True
    images.save_image(pattern(12, 10), out, {"partial": False, "iterations": 9}, overwrite=True)
    assert not sidecar.exists() and images.read_metadata(out) is None
    assert _names(tmp_path) == ["out.bmp"]


def test_stale_sidecar_without_image_is_removed_by_a_finished_save(tmp_path):
    images.save_image(pattern(8, 8), tmp_path / "out.bmp", {"partial": True})
    (tmp_path / "out.bmp").unlink()  # the mark of a partial image since removed
    images.save_image(pattern(8, 8), tmp_path / "out.bmp", {"partial": False})
    assert _names(tmp_path) == ["out.bmp"]


@pytest.mark.parametrize("text", ['{"partial": false, "job": "my upload bookkeeping"}',
                                  '{"partial": true, "mark_of": "out.bmp"}'])
def test_the_users_json_with_a_partial_key_at_a_marks_name_is_never_stylizes(tmp_path, text):
    # round 25: any JSON object with a "partial" key (and no "cells") passed for an older mark: removed, or read
    sidecar = tmp_path / "out.bmp.stylize.json"
    sidecar.write_text(text)
    images.save_image(pattern(8, 8), tmp_path / "out.bmp", {"partial": False})  # a finished save keeps it
    assert sidecar.read_text() == text and images.read_metadata(tmp_path / "out.bmp") is None
    with pytest.raises(ImageError, match="is not stylize's"):  # a partial save refuses it
        images.save_image(pattern(8, 8), tmp_path / "out.bmp", {"partial": True}, overwrite=True)
    assert sidecar.read_text() == text


def test_sidecar_is_withdrawn_when_the_image_cannot_be_placed(tmp_path, monkeypatch):
    out = tmp_path / "out.bmp"
    _file_appears_while_encoding(monkeypatch, out)
    with pytest.raises(ImageError, match="already exists"):
        images.save_image(pattern(8, 8), out, {"partial": True})
    assert _names(tmp_path) == ["out.bmp"] and out.read_bytes() == b"precious"


@pytest.mark.parametrize("ext", [".jpg", ".gif"])
def test_a_stale_comment_from_the_source_image_is_not_copied(tmp_path, ext):
    src = tmp_path / f"src{ext}"
    pattern(8, 8).save(src, comment='{"partial": true}')
    with Image.open(src) as im:
        im.load()
        assert im.info["comment"] == b'{"partial": true}'
        images.save_image(im, tmp_path / f"out{ext}")
    assert images.read_metadata(tmp_path / f"out{ext}") is None


def test_foreign_comments_and_descriptions_are_not_metadata(tmp_path):
    pattern(8, 8).save(tmp_path / "a.jpg", comment="Made with a camera")
    exif = Image.Exif()
    exif[0x010E] = "OLYMPUS DIGITAL CAMERA"
    pattern(8, 8).save(tmp_path / "b.tif", exif=exif)
    pattern(8, 8).save(tmp_path / "c.gif", comment="[1, 2]")
    for name in ("a.jpg", "b.tif", "c.gif"):
        assert images.read_metadata(tmp_path / name) is None, name


def test_read_metadata_of_a_broken_file_is_one_image_error(tmp_path):
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ImageError) as e:
        images.read_metadata(tmp_path / "text.png")
    assert str(e.value) == f"{tmp_path / 'text.png'}: not an image Pillow can read"
    with pytest.raises(ImageError) as e:
        images.read_metadata(tmp_path / "missing.png")
    assert str(e.value) == f"{tmp_path / 'missing.png'}: no such file"


def test_jpeg_metadata_too_long_for_a_comment_goes_to_a_sidecar_when_partial(tmp_path):
    out = tmp_path / "big.jpg"
    meta = {"stylize": __version__, "partial": True, "notes": "x" * 70000}
    images.save_image(pattern(8, 8), out, meta)
    assert images.read_metadata(out) == meta
    assert _names(tmp_path) == ["big.jpg", "big.jpg.stylize.json"]


# --- 3. over-long names ------------------------------------------------------------------------


def test_file_name_over_255_bytes(tmp_path):
    out = tmp_path / ("é" * 126 + ".png")  # 252 + 4 = 256 bytes, 130 characters
    message = f"{out}: the file name is too long (256 bytes; at most 255)"
    for call in (lambda: images.check_name(out), lambda: images.check_output(out),
                 lambda: images.save_image(pattern(4, 4), out)):
        with pytest.raises(ImageError) as e:
            call()
        assert str(e.value) == message
    assert _names(tmp_path) == []
    ok = tmp_path / ("a" * 251 + ".png")
    assert images.check_name(ok) == ok
    images.save_image(pattern(4, 4), ok)


def test_a_long_folder_name_is_caught_too(tmp_path):
    out = tmp_path / ("d" * 300) / "a.png"
    with pytest.raises(ImageError) as e:
        images.check_output(out)
    assert str(e.value) == f"{out}: the file name is too long (300 bytes; at most 255)"


def test_sidecar_formats_leave_room_for_the_sidecar_name(tmp_path):
    out = tmp_path / ("b" * 246 + ".bmp")  # 250 bytes: the sidecar's name would be 263
    with pytest.raises(ImageError) as e:
        images.check_output(out)
    assert str(e.value) == f"{out}: the file name is too long (250 bytes; at most 242)"


def test_whole_path_too_long(tmp_path):
    out = tmp_path.joinpath(*["p" * 200] * 25, "a.png")
    with pytest.raises(ImageError, match=r"the path is too long \(\d+ bytes; at most 4095\)"):
        images.check_output(out)


def test_enametoolong_from_the_system_is_the_same_message(tmp_path, monkeypatch):
    def too_long(src, dst):
        raise OSError(errno.ENAMETOOLONG, "File name too long")

    monkeypatch.setattr(os, "link", too_long)
    out = tmp_path / "a.png"
    with pytest.raises(ImageError, match=r"^.*a\.png: the file name is too long \(\d+ bytes; at most \d+\)$"):
        images.save_image(pattern(4, 4), out)
    assert _names(tmp_path) == []


# --- 4. whatever a crafted input raises while decoding is one ImageError ------------------------


@pytest.mark.parametrize("error", [
    BlpImagePlugin.BLPFormatError("Unsupported BLP compression 9"), struct.error("unpack requires a buffer of 4 bytes"),
    IndexError("index out of range"), ZeroDivisionError("division by zero"), TypeError("bad operand"),
    NotImplementedError("Unsupported BLP encoding"), MemoryError(), KeyError(101), RuntimeError("decoder error"),
])
def test_any_decoding_error_becomes_one_image_error(tmp_path, monkeypatch, photo, error):
    def load(self):
        raise error

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    with pytest.raises(ImageError) as e:
        images.load_image(photo)
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, MemoryError):  # short memory (ulimit -v) is not called corruption
        assert str(e.value).startswith(f"{photo}: out of memory while decoding it")
    else:
        assert str(e.value) == f"{photo}: cannot read the image ({first}); the file may be truncated or corrupt"


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
def test_interrupts_pass_through_decoding(monkeypatch, photo, stop):
    def load(self):
        raise stop()

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    with pytest.raises(stop):
        images.load_image(photo)


def _seeds():
    im = pattern(16, 12)
    seeds = {}
    for name, fmt, kw, source in (
        ("png", "PNG", {}, im), ("jpg", "JPEG", {"quality": 80}, im), ("gif", "GIF", {}, im),
        ("bmp", "BMP", {}, im), ("tif", "TIFF", {}, im), ("tif", "TIFF", {"compression": "tiff_lzw"}, im),
        ("blp", "BLP", {"blp_version": "BLP1"}, im.quantize(16)), ("blp", "BLP", {"blp_version": "BLP2"}, im.quantize(16)),
    ):
        buf = io.BytesIO()
        source.save(buf, fmt, **kw)
        seeds.setdefault(name, []).append(buf.getvalue())
    return seeds


def _corrupt(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:  # flip a few bytes, mostly in the header where the sizes and offsets are
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(min(len(b), 128)) if rng.random() < 0.7 else rng.randrange(len(b))
            b[i] = rng.randrange(256)
    elif kind == 1:  # truncate
        del b[rng.randrange(8, len(b)):]
    elif kind == 2:  # overwrite a run with 0xff / 0x00 (huge or zero sizes)
        i = rng.randrange(len(b))
        b[i:i + 4] = bytes([rng.choice((0, 255))]) * 4
    else:  # insert junk
        i = rng.randrange(len(b))
        b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(b)


def test_fuzzed_images_load_or_give_one_image_error(tmp_path, monkeypatch):
    # A small pixel limit keeps bogus huge sizes quick to refuse (the limit is the same code path).
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    rng = random.Random(20240611)
    outcomes = {"loaded": 0, "refused": 0}
    for ext, datas in _seeds().items():
        for i in range(40 if ext in ("blp", "tif") else 30):
            path = tmp_path / f"f{i}.{ext}"
            path.write_bytes(_corrupt(rng.choice(datas), rng))
            try:
                im = images.load_image(path)
            except ImageError as e:
                assert "\n" not in str(e) and str(e).startswith(f"{path}: ")
                outcomes["refused"] += 1
            else:
                assert im.mode == "RGB" and im.width > 0 and im.height > 0
                outcomes["loaded"] += 1
    assert sum(outcomes.values()) == 200 and outcomes["refused"] > 20


# --- 5. formats stylize cannot write are refused before any work --------------------------------


@pytest.mark.parametrize("ext", [".grib", ".h5", ".bufr", ".wmf", ".emf", ".xbm", ".msp", ".palm", ".blp",
                                 ".psd", ".fits", ".xpm", ".pcd"])
def test_formats_that_cannot_be_written_are_refused(tmp_path, ext):
    out = tmp_path / f"out{ext}"
    for call in (images.output_format, images.check_output, lambda p: images.save_image(pattern(4, 4), p)):
        with pytest.raises(ImageError) as e:
            call(out)
        assert str(e.value) == f"{out}: stylize cannot write {ext} files; use .png, .jpg, .webp, .tif, ..."
    assert _names(tmp_path) == []


@pytest.mark.parametrize("ext", [".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif"])
def test_writable_formats_are_accepted(tmp_path, ext):
    out = tmp_path / f"out{ext}"
    assert images.check_output(out) == out
    assert images.output_format(out) == Image.registered_extensions()[ext]


def test_unknown_extension_keeps_its_message(tmp_path):
    with pytest.raises(ImageError) as e:
        images.output_format(tmp_path / "a.xyz")
    assert str(e.value) == f"{tmp_path / 'a.xyz'}: unknown output extension '.xyz'; use .png, .jpg, .webp, .tif, ..."
    with pytest.raises(ImageError, match=r"noext: the name has no extension; use \.png"):
        images.output_format(tmp_path / "noext")


def test_writability_is_probed_once_per_format(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "_writable", {})
    calls = []
    real = images._probe

    def probe(fmt):
        calls.append(fmt)
        return real(fmt)

    monkeypatch.setattr(images, "_probe", probe)
    for name in ("a.jpg", "b.jpeg", "c.JPG", "d.xbm", "e.xbm", "f.png"):
        try:
            images.output_format(tmp_path / name)
        except ImageError:
            pass
    assert calls == ["JPEG", "XBM", "PNG"]


SHORT_WRITE = """
import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
from PIL import Image
from stylize import images
im = Image.effect_noise((64, 48), 60).convert("RGB")
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))  # (as a disk with 4 KiB left: a short write, no error)
for ext in sys.argv[1:]:
    try:
        images.save_image(im, "out" + ext)
        print(ext, "wrote", os.path.getsize("out" + ext))
    except Exception as e:
        print(ext, type(e).__name__, e)
"""


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="RLIMIT_FSIZE as on Linux")
def test_a_short_write_on_a_full_disk_is_an_error_for_every_format(tmp_path):
    """Round 26: Pillow writes TIFF, BMP, PPM, PCX, ... straight to the file's descriptor and takes a short write
    (a disk with 4 KiB left) for a whole one: a cut-short image was placed, "Wrote", exit 0, and kept by
    --skip-existing. The image is now encoded in memory and written by Python, which raises."""
    exts = [".tif", ".bmp", ".ppm", ".pcx", ".png"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", SHORT_WRITE, *exts], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60)
    told = [f"{e} ImageError out{e}: cannot write the image (File too large)" for e in exts]
    assert out.stdout.splitlines() == told, out.stdout + out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no temporary file left either
