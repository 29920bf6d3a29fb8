"""Video: stylize a clip frame by frame without flicker (Ruder, Dosovitskiy & Brox, GCPR 2016).

Each frame after the first starts from the previous stylised frame warped to it by optical flow and keeps
the Gatys et al. objective plus a temporal term: the mean over pixels of c (x - warp(previous))^2, where
c is 0 where the flow is unreliable (forward and backward flows disagree: disocclusion; or a motion
boundary) and 1 elsewhere. Finished frames are written at once (frame_00001.png, ...), so a rerun
continues after the last finished frame.

Decoding and encoding: PyAV (`av`, FFmpeg's libraries in the wheel); flow: OpenCV's DIS
(`opencv-python-headless`), or torchvision's RAFT when its weights are already in the torch cache.
Both come with the `video` extra: pip install 'gatys-stylize[video]'.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import math
import os
import re
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as nnf
from PIL import Image, ImageOps

from . import arguments, claims, images, synthesis, unread
from .arguments import given_twice
from .console import limits
from .errors import ImageError, StylizeError
from .job import NAME_KEY, blend_weights, styles_of
from .objective import TemporalTerm
from .settings import CONTAINERS, FPS_RANGE, MAX_COUNT, MAX_PASSES, NUMBER_RANGE, folder_at_a_video_name, names_a_video
from .targets import digest, pinned, unpinned

FRAME_NAME = "frame_{:05d}.png"
FRAME_PATTERN = re.compile(r"^frame_(\d{5,})\.png$")
FRAME_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
WORK_SUFFIX = ".frames"  # OUT.mp4 -> OUT.mp4.frames/, the finished frames of a video output
INSTALL_HINT = "pip install 'gatys-stylize[video]' (from a clone: pip install -e '.[video]')"
DEFAULT_TEMPORAL_WEIGHT = 1e2  # relative to beta; Ruder et al.'s 1e3 holds the frames too tightly here (docs/video.md)
FLOWS = ("dis", "raft")  # optical flow: OpenCV's DIS, torchvision's RAFT
DEFAULT_FLOW = "dis"
DEFAULT_FPS = 25.0  # frame rate of a video made from a folder of frames
WARPS = ("bicubic", "bilinear")  # interpolation of an earlier stylised frame warped onto a later one
DEFAULT_WARP = "bicubic"  # Ruder et al. warp bilinearly, which blurs a little more at every frame (docs/video.md)
DEFAULT_LONG_TERM = (1, 10, 20, 40)  # J: Ruder et al.'s long-term set (GCPR 2016, "Long-term consistency")
DEFAULT_PASSES = 1  # the single-pass algorithm; > 1: the multi-pass algorithm
# the multi-pass defaults of the authors' code (manuelruder/artistic-videos, artistic_video_multiPass.lua):
DEFAULT_PASS_ITERATIONS = 100  # -num_iterations, per frame and pass
DEFAULT_PASS_BLEND = 0.5  # delta; -blendWeight 1 there (the warped neighbour and the frame in equal parts)


class VideoError(StylizeError):
    """A clip or frames folder that cannot be read, or a video output that cannot be written."""


def _missing(e: ImportError, name: str) -> VideoError:
    """The error of a video library that does not import: not installed, or (under `ulimit -v`) no memory to map
    it ("failed to map segment from shared object")."""
    if isinstance(e, MemoryError) or "map segment" in str(e) or "allocate memory" in str(e):
        return VideoError(f"out of memory: cannot load {getattr(e, 'name', None) or name}{limits()}")
    return VideoError(f"video needs PyAV and OpenCV, which are not installed: {INSTALL_HINT}")


def _av():
    try:
        import av
    except (ImportError, MemoryError) as e:
        raise _missing(e, "av") from None
    av.logging.set_level(None)  # FFmpeg's own log lines stay off stderr; errors come back as exceptions
    return av


def _cv2():
    try:
        import cv2
    except (ImportError, MemoryError) as e:  # (MemoryError: console's probe saw its start-up crash)
        raise _missing(e, "cv2") from None
    return cv2


def require() -> None:
    """VideoError (one line, with the pip command) unless the video extra is installed."""
    _av()
    _cv2()


# -- reading ----------------------------------------------------------------------------------
@dataclass
class Clip:
    """A video file or a folder of numbered frames; frames() yields RGB PIL images in order."""

    path: Path
    kind: str  # "video" | "folder"
    count: int
    size: tuple[int, int]  # (width, height) of the source frames
    rate: Fraction | None = None  # average frame rate (video)
    time_base: Fraction | None = None
    pts: list = field(default_factory=list)  # presentation time stamps (video)
    audio: int = 0  # number of audio streams
    files: list[Path] = field(default_factory=list)  # the frames (folder)
    rotation: int = 0  # degrees counterclockwise (0, 90, 180, 270): the video's display matrix, as players apply it
    aspect: Fraction = Fraction(1)  # the pixels' aspect ratio (width / height of one stored pixel)
    stamp: tuple = ()  # its fields (arguments.made_key) and images.file_stamp of the folder and each file when
    # opened: current() sees a change since, in the files or in the Clip (a field assigned, a dataclasses.replace copy)

    def frames(self) -> Iterator[Image.Image]:
        """The frames in order, each named in messages as its file, or as "CLIP frame N" (job.NAME_KEY)."""
        if self.kind == "folder":
            for f in self.files:
                yield _named(images.load_image(f), str(f))
            return
        av = _av()
        try:
            with av.open(_url(self.path)) as container:
                for n, frame in enumerate(container.decode(video=0), 1):
                    yield _named(_as_shown(frame.to_image().convert("RGB"), self.rotation, self.aspect),
                                 f"{self.path} frame {n}")
        except av.FFmpegError as e:
            raise VideoError(f"{self.path}: cannot decode its video ({_why(e)}){limits()}") from None


def _named(im: Image.Image, name: str) -> Image.Image:
    im.info[NAME_KEY] = name
    return im


ROTATIONS = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}


def _shown_size(size: tuple[int, int], rotation: int, aspect: Fraction) -> tuple[int, int]:
    """(width, height) of a stored frame of `size` as players show it: square pixels, then rotated."""
    w, h = size
    w, h = (max(1, round(w * aspect)), h) if aspect >= 1 else (w, max(1, round(h / aspect)))
    return (h, w) if rotation in (90, 270) else (w, h)


def _as_shown(im: Image.Image, rotation: int, aspect: Fraction) -> Image.Image:
    """A decoded frame as players show it (as EXIF orientation turns a photograph upright): its pixels made
    square (sample aspect ratio), then turned by the display matrix."""
    w, h = _shown_size(im.size, 0, aspect)
    if (w, h) != im.size:
        im = im.resize((w, h), Image.Resampling.LANCZOS)
    return im.transpose(ROTATIONS[rotation]) if rotation else im


def _display(frame, stream) -> tuple[int, Fraction]:
    """(rotation, pixel aspect ratio) of a video's first decoded frame: the rotation counterclockwise to the
    nearest quarter turn (FFmpeg's own players do the same), the stream's sample aspect ratio; 0 and 1 where
    the file says nothing."""
    rotation = round((getattr(frame, "rotation", 0) or 0) / 90) * 90 % 360
    sar = getattr(stream, "sample_aspect_ratio", None)
    aspect = Fraction(sar) if sar and sar > 0 else Fraction(1)
    return rotation, aspect


@contextlib.contextmanager
def _told(av, errors: list):
    """Collect into `errors` the messages FFmpeg logs at level ERROR or worse (from any of its threads) while the
    block runs; its log stays off stderr, before and after (_av)."""
    capture, repeats = av.logging.Capture(local=False), av.logging.get_skip_repeated()
    av.logging.set_level(av.logging.ERROR)
    av.logging.set_skip_repeated(False)  # (else the same damage, told again to a second check, is not passed on)
    try:
        with capture as logs:
            yield
    finally:
        av.logging.set_level(None)
        av.logging.set_skip_repeated(repeats)
    errors += [message for level, _, message in logs if level <= av.logging.ERROR]


def _why(e: Exception) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return " ".join(str(text).split())


def open_clip(path: str | os.PathLike) -> Clip:
    """Check a clip before any work: a video file (every frame decoded once: count, time stamps) or a
    folder of numbered frames (consecutive numbers, one size). VideoError for anything else, a name of the wrong
    type too."""
    if not isinstance(path, (str, os.PathLike)) or not isinstance(os.fspath(path), str) or "\0" in os.fspath(path) \
            or not os.fspath(path):  # ("" would be the current folder; " " is a name)
        raise VideoError(f"path: a video file's or a frames folder's name (a str or a path), not "
                         f"{arguments.quoted(path, 60)}")
    p = Path(path)
    if not os.path.exists(p):  # (a link to nothing, or that loops, is told as one)
        why = images.not_a_file(p)
        raise VideoError(f"{p}: {'no such file or folder' if why == 'no such file' else why}")
    if not os.path.isdir(p):
        try:
            images.check_regular(p)  # (a pipe would block the decoder, or give its bytes once)
        except (StylizeError, OSError) as e:
            raise VideoError(str(e) if isinstance(e, StylizeError) else f"{p}: cannot read it ({e.strerror})") from None
    clip = _open_folder(p) if os.path.isdir(p) else _open_video(p)
    clip.stamp = _stamp(clip)
    return clip


def _stamp(clip: Clip) -> tuple:
    """The clip's fields as one text (arguments.made_key: count, rate, time stamps, files), then each of its files'
    images.file_stamp now, None for one that is gone; a folder's own first (a frame added or removed changes its
    mtime)."""
    def one(f):
        try:
            return images.file_stamp(os.stat(f))
        except OSError:
            return None

    files = [clip.path, *clip.files] if clip.kind == "folder" else [clip.path]
    return arguments.made_key(clip), *(one(f) for f in files)


def current(clip: Clip) -> Clip:
    """`clip` as its files are now, before any work: opened again (every check of open_clip: a frame replaced by
    one of another size, a frame removed) when a file changed since it was opened, or the Clip itself (its count
    assigned, a copy with fields replaced, one made by hand), else `clip` itself."""
    unchanged = type(clip) is Clip and isinstance(clip.stamp, tuple) \
        and clip.stamp[:1] == (arguments.made_key(clip),) and clip.stamp == _stamp(clip)
    return clip if unchanged else open_clip(clip.path)  # (its type and fields first: one made by hand may hold
    # anything, a subclass its own frames())


def _image_suffixes() -> set[str]:
    """The extensions of images Pillow reads: a frames folder's frame is any of them, numbered."""
    Image.init()  # a frame is any image Pillow reads (a numbered .gif left out would be a frame silently dropped)
    return FRAME_SUFFIXES | {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}


def _open_folder(p: Path) -> Clip:
    readable = _image_suffixes()
    numbered = []
    for f in p.iterdir():
        if f.suffix.lower() not in readable:
            continue
        m = re.search(r"(\d+)$", f.stem)
        if not os.path.isfile(f):  # (a numbered one left out would be a frame silently dropped: a shorter clip)
            if m is None:
                continue
            raise VideoError(f"{f}: a numbered frame that is not an image file (a link to nothing, a pipe, a folder); "
                             f"move it away")
        if m is None:
            raise VideoError(f"{f}: a frame's name must end in its number (frame_00001.png, ...)")
        numbered.append((int(m.group(1)), f))
    if not numbered:
        raise VideoError(f"{p}: no frames (numbered images such as frame_00001.png)")
    numbered.sort()
    for (a, fa), (b, fb) in zip(numbered, numbered[1:]):
        if b == a:
            raise VideoError(f"{p}: two frames numbered {a} ({fa.name}, {fb.name})")
        if b != a + 1:
            missing = f"frame {a + 1} is missing" if b == a + 2 else f"frames {a + 1}-{b - 1} are missing"
            raise VideoError(f"{p}: {missing} (the numbers jump from {fa.name} to {fb.name})")
    size = None
    for _, f in numbered:
        this = _frame_size(f)
        if size is None:
            size, first = this, f
        elif this != size:
            raise VideoError(f"{f}: {this[0]}x{this[1]} px, but {first.name} is {size[0]}x{size[1]}; every frame "
                             f"must have the same size")
    return Clip(p, "folder", len(numbered), size, files=[f for _, f in numbered])


def _frame_size(f: Path) -> tuple[int, int]:
    """A frame's (width, height) as the run will load it: decoded in full (a truncated or damaged frame is
    refused now, not after the frames before it were made) and turned upright by its EXIF orientation,
    exactly as images.load_image does."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(f) as im:
                im.load()
                images.check_whole(im)
                frames = int(getattr(im, "n_frames", 1))
                size = ImageOps.exif_transpose(im).size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise VideoError(f"{f}: not an image that can be read in full ({_why(e)})") from None
    if frames > 1:  # an animated GIF among the frames: all but its first would be dropped
        raise VideoError(f"{f}: an image of {frames} frames; a frames folder holds one picture per frame (save its "
                         f"frames as numbered files)")
    return size


def _frame_count(p: Path) -> int:
    """How many frames Pillow finds in an image file (1 for a still or what it cannot read)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(p) as im:
                return int(getattr(im, "n_frames", 1))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return 1


def _open_video(p: Path) -> Clip:
    av, told = _av(), []
    with _told(av, told):
        clip = _read_video(av, p)
    if told:  # FFmpeg conceals damage (a file cut short, a broken frame left out or patched), and says so
        raise VideoError(f"{p}: the video is damaged (FFmpeg: {_why(told[0])[:120]}; {clip.count} "
                         f"frame{'s' * (clip.count != 1)} decoded); re-encode it or give a folder of frames")
    return clip


def _read_video(av, p: Path) -> Clip:
    try:
        container = av.open(_url(p))
    except av.FFmpegError as e:
        raise VideoError(f"{p}: not a video FFmpeg can read ({_why(e)})") from None
    except (OSError, ValueError) as e:
        raise VideoError(f"{p}: cannot read it ({_why(e)})") from None
    with container:
        fmt = container.format.name or ""
        if fmt == "image2" or fmt.endswith("_pipe"):
            if _frame_count(p) > 1:  # FFmpeg reads an animated WebP or a multi-page TIFF as one picture
                raise VideoError(f"{p}: an image of several frames (an animated WebP, a multi-page TIFF) that FFmpeg "
                                 f"cannot read frame by frame; save its frames as a folder (frame_00001.png, ...) "
                                 f"and give the folder")
            raise VideoError(f"{p}: is an image, not a video (for one picture use `stylize transfer`)")
        if not container.streams.video:
            raise VideoError(f"{p}: has no video frames (no video stream)")
        stream = container.streams.video[0]
        codec = stream.codec_context.name if stream.codec_context is not None else None
        if not codec or codec == "none":
            raise VideoError(f"{p}: its video codec is unknown to this FFmpeg build; re-encode it (e.g. to H.264) "
                             f"or give a folder of frames")
        pts, size, shown = [], None, (0, Fraction(1))
        try:
            for frame in container.decode(stream):
                pts.append(frame.pts)
                if size is None:
                    size, shown = (frame.width, frame.height), _display(frame, stream)
                if (frame.width, frame.height) != size:
                    raise VideoError(f"{p}: frame {len(pts)} is {frame.width}x{frame.height} px, but the first is "
                                     f"{size[0]}x{size[1]}; every frame must have the same size (re-encode it at one "
                                     f"size, or give a folder of frames of one size)")
        except av.FFmpegError as e:
            raise VideoError(f"{p}: cannot decode its {codec} video ({_why(e)}){limits()}") from None
        if not pts:
            raise VideoError(f"{p}: the video has no frames")
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        return Clip(p, "video", len(pts), _shown_size(size, *shown), Fraction(rate) if rate else None,
                    Fraction(stream.time_base) if stream.time_base else None, pts, len(container.streams.audio),
                    rotation=shown[0], aspect=shown[1])


# -- optical flow and its reliability ----------------------------------------------------------
def gray(frame: Image.Image) -> np.ndarray:
    return np.asarray(frame.convert("L"), dtype=np.uint8)


class Flow:
    """Optical flow between two frames (H, W) -> (H, W, 2) float32 in pixels: a(x) ~ b(x + flow(x))."""

    def __init__(self, method: str = DEFAULT_FLOW):
        if method not in FLOWS:
            raise VideoError(f"--flow {method}: use dis or raft")
        self.method = method
        self._raft = None
        if method == "raft":
            self._raft = _load_raft()

    def __call__(self, a: Image.Image, b: Image.Image) -> np.ndarray:
        if self.method == "raft":
            return _raft_flow(self._raft, a, b)
        cv2 = _cv2()
        # a new DIS object per pair: one that has computed a flow before gives another result for the same
        # pair (internal state), and a resumed run must compute exactly what an uninterrupted one did
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return dis.calc(gray(a), gray(b), None).astype(np.float32)


def raft_weights_file() -> Path:
    """Where torchvision keeps RAFT-large's weights in the torch hub cache (never downloaded here)."""
    from .weights import import_torchvision

    url = import_torchvision("use --flow dis").optical_flow.Raft_Large_Weights.DEFAULT.url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def _load_raft():
    path = raft_weights_file()
    if not os.path.isfile(path):
        raise VideoError(f"--flow raft: torchvision's RAFT weights {path.name} are not in {path.parent} (nothing is "
                         f"downloaded: put the file there, or use --flow dis)")
    from .weights import import_torchvision

    model = import_torchvision("use --flow dis").optical_flow.raft_large(weights=None, progress=False)
    try:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as e:  # a damaged or foreign file
        raise VideoError(f"{path}: not torchvision's RAFT-large weights ({_why(e)})") from None
    return model.eval()


@torch.no_grad()
def _raft_flow(model, a: Image.Image, b: Image.Image) -> np.ndarray:
    ta, tb = (images.to_tensor(im) * 2 - 1 for im in (a, b))
    h, w = ta.shape[-2:]
    ph, pw = (-h) % 8, (-w) % 8
    ta, tb = (nnf.pad(t, (0, pw, 0, ph), mode="replicate") for t in (ta, tb))
    flow = model(ta, tb)[-1][0, :, :h, :w]
    return flow.permute(1, 2, 0).numpy().astype(np.float32)


def _grid(flow: torch.Tensor) -> torch.Tensor:
    """grid_sample's grid (1, H, W, 2) for positions x + flow(x)."""
    h, w = flow.shape[:2]
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    gx = (xs + flow[..., 0]) * 2 / max(w - 1, 1) - 1
    gy = (ys + flow[..., 1]) * 2 / max(h - 1, 1) - 1
    return torch.stack([gx, gy], dim=-1)[None]


def warp(x: torch.Tensor, flow, interpolation: str = "bilinear") -> torch.Tensor:
    """x (1, C, H, W) sampled at x + flow(x) (flow (H, W, 2) in pixels): with the backward flow of frame i
    (i -> i-1), frame i-1 warped onto frame i. Positions outside repeat the border.

    interpolation: "bilinear" (Ruder et al.'s, and right for a flow field) or "bicubic" (Keys' cubic
    convolution, a = -0.75, exact at integer shifts like bilinear): a bilinear sample half-way between two
    pixels is their mean, which halves the finest detail, so a frame warped again and again fades (measured in
    docs/video.md, "Why frames went blurry"); bicubic values may leave [0, 1] by a little (clamp images)."""
    if interpolation not in WARPS:
        raise VideoError(f"--warp {interpolation}: use {' or '.join(WARPS)}")
    flow = torch.as_tensor(flow, dtype=torch.float32)
    grid = _grid(flow).to(x.device)
    return nnf.grid_sample(x.float(), grid, mode=interpolation, padding_mode="border", align_corners=True)


def warp_image(x: torch.Tensor, flow, interpolation: str = DEFAULT_WARP) -> torch.Tensor:
    """A stylised frame (1, 3, H, W) in [0, 1] warped by `flow` (see warp), kept in [0, 1]."""
    return warp(x, flow, interpolation).clamp(0, 1)


def reliability(forward, backward) -> torch.Tensor:
    """c (1, 1, H, W) for frame i from the flows forward (i-1 -> i) and backward (i -> i-1): Ruder et al.'s
    check. 0 where disoccluded, |w~ + w^|^2 > 0.01 (|w~|^2 + |w^|^2) + 0.5 (w^ the backward flow, w~ the
    forward flow at x + w^(x)); at motion boundaries, |grad u^|^2 + |grad v^|^2 > 0.01 |w^|^2 + 0.002; and
    where x + w^(x) leaves the frame. 1 elsewhere. The same check holds for any two frames (i-j and i, or
    i+1 and i) given the flows between them."""
    fw = torch.as_tensor(forward, dtype=torch.float32)
    bw = torch.as_tensor(backward, dtype=torch.float32)
    h, w = bw.shape[:2]
    fw_at = warp(fw.permute(2, 0, 1)[None], bw)[0].permute(1, 2, 0)  # w~(x) = w(x + w^(x))
    disoccluded = ((fw_at + bw) ** 2).sum(-1) > 0.01 * ((fw_at ** 2).sum(-1) + (bw ** 2).sum(-1)) + 0.5
    du_y, du_x = torch.gradient(bw[..., 0])
    dv_y, dv_x = torch.gradient(bw[..., 1])
    boundary = du_x ** 2 + du_y ** 2 + dv_x ** 2 + dv_y ** 2 > 0.01 * (bw ** 2).sum(-1) + 0.002
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    tx, ty = xs + bw[..., 0], ys + bw[..., 1]
    outside = (tx < 0) | (tx > w - 1) | (ty < 0) | (ty > h - 1)
    return (~(disoccluded | boundary | outside)).float()[None, None]


def long_term_weights(c: torch.Tensor) -> torch.Tensor:
    """Ruder et al.'s long-term weights (GCPR 2016, "Long-term consistency"): from the reliabilities c (K, 1, H, W)
    of the earlier frames i-j, j in J, closest first, c_long(i-j) = max(c(i-j) - sum over k in J, k < j of
    c(i-k), 0). With 0/1 reliabilities each pixel keeps the nearest earlier frame that saw it reliably and
    ignores the others: a region hidden for a while gets back the look it had before."""
    out = c.clone()
    for k in range(1, len(c)):
        out[k] = (c[k] - c[:k].sum(0)).clamp(min=0)
    return out


def warp_onto(here: Image.Image, there: Image.Image, styled: torch.Tensor, flow: "Flow",
              interpolation: str = DEFAULT_WARP) -> tuple[torch.Tensor, torch.Tensor]:
    """(styled (1, 3, H, W), the stylised frame of the source frame `there`, warped onto the source frame
    `here`; its reliability c (1, 1, H, W)), from the flows here -> there and there -> here (any two frames of
    a clip: i-1 and i, i-j and i, i+1 and i)."""
    backward = flow(here, there)
    forward = flow(there, here)
    return warp_image(styled, backward, interpolation), reliability(forward, backward)


def held_to(earlier: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """The temporal term's targets (K, 3, H, W) and weights (K, 1, H, W) from the earlier stylised frames warped
    onto this one with their reliabilities, nearest first [(w, c), ...] (warp_onto): Ruder et al.'s long-term
    consistency, each pixel held to the nearest earlier frame that saw it reliably (long_term_weights)."""
    targets = torch.cat([w for w, _ in earlier])
    return targets, long_term_weights(torch.cat([c for _, c in earlier]))


def temporal_error(earlier: torch.Tensor, later: torch.Tensor, forward, backward,
                   interpolation: str = DEFAULT_WARP) -> tuple[float, float]:
    """(mean squared difference over the reliable pixels between `later` and `earlier` warped onto it, the
    share of reliable pixels): the flicker ("warping error") of bench/video_quality.py and the tests. Images
    (1, 3, H, W) in [0, 1]; the flows as in reliability(). Bicubic by default: a bilinear warp blurs the
    earlier frame, which makes a sharp video look less consistent than a blurred one."""
    c = reliability(forward, backward)
    d = ((later.float() - warp_image(earlier, backward, interpolation)) ** 2).mean(1, keepdim=True)
    n = float(c.sum())
    return (float((c * d).sum()) / n if n else 0.0), n / c.numel()


def sharpness(image) -> float:
    """Mean gradient magnitude of the luminance (ITU-R 601: 0.299 R + 0.587 G + 0.114 B) in 8-bit levels per
    pixel, from forward differences: sqrt(dY/dx^2 + dY/dy^2) averaged over the (H-1) x (W-1) pixels that have
    both. A PIL image or a tensor (1, 3, H, W) in [0, 1]; 0 for a flat image, about 25-35 for a painted frame."""
    x = images.to_tensor(image) if isinstance(image, Image.Image) else image.detach().float().cpu()
    y = (0.299 * x[0, 0] + 0.587 * x[0, 1] + 0.114 * x[0, 2]) * 255
    dx, dy = y[:-1, 1:] - y[:-1, :-1], y[1:, :-1] - y[:-1, :-1]
    return float(torch.sqrt(dx ** 2 + dy ** 2).mean())


# -- stylizing --------------------------------------------------------------------------------
@dataclass(frozen=True)
class VideoOptions:
    """What a video adds to the transfer settings (not Settings fields: `stylize video` options). Raises
    VideoError for a value out of range, naming the option."""

    temporal_weight: float = DEFAULT_TEMPORAL_WEIGHT
    # iterations of every frame after the first; None: iterations / 2 (Ruder et al.'s 2000 for the first frame,
    # 1000 for the others): the style term needs them to repaint the detail a warp loses (docs/video.md)
    frame_iterations: int | None = None
    flow: str = DEFAULT_FLOW
    independent: bool = False  # every frame alone, from the same start (the flickering baseline)
    warp: str = DEFAULT_WARP  # interpolation of the earlier stylised frames warped onto a frame: bicubic | bilinear
    long_term: tuple[int, ...] = DEFAULT_LONG_TERM  # J: frame i is held to frames i - j, j in J; (1,): short-term only
    passes: int = DEFAULT_PASSES  # 1: single pass; N > 1: the multi-pass algorithm, N passes in alternating directions
    pass_iterations: int = DEFAULT_PASS_ITERATIONS  # multi-pass: iterations of each frame in each pass
    pass_blend: float = DEFAULT_PASS_BLEND  # multi-pass: delta, the share of the warped neighbour in a frame's start
    temporal_from_pass: int | None = None  # multi-pass: the temporal term from this pass on; None: ceil(passes / 2)

    def __post_init__(self):
        if self.warp not in WARPS:
            raise VideoError(f"--warp {self.warp}: use {' or '.join(WARPS)}")
        if self.flow not in FLOWS:
            raise VideoError(f"--flow {arguments.quoted(self.flow)}: use {' or '.join(FLOWS)}")
        if not isinstance(self.independent, bool):
            raise VideoError(f"independent: True or False, not {arguments.quoted(self.independent)}")
        w = self.temporal_weight  # (the command line's ranges, for the API's values too)
        if not _number(w) or not (w == 0 or NUMBER_RANGE[0] <= float(w) <= NUMBER_RANGE[1]):  # (as it will be used)
            raise VideoError(f"--temporal-weight {arguments.quoted(w)}: give 0 or a number from {NUMBER_RANGE[0]:g} to "
                             f"{NUMBER_RANGE[1]:g}")
        for name, value in (("--frame-iterations", self.frame_iterations), ("--pass-iterations", self.pass_iterations),
                            ("--passes", self.passes), ("--temporal-from-pass", self.temporal_from_pass)):
            if value is not None and not (arguments.is_whole(value) and 1 <= value <= MAX_COUNT):
                raise VideoError(f"{name} {arguments.quoted(value)}: give an integer from 1 to {MAX_COUNT}")
        for name in ("frame_iterations", "pass_iterations", "passes", "temporal_from_pass"):  # (numpy's: ints)
            if getattr(self, name) is not None:
                object.__setattr__(self, name, int(getattr(self, name)))
        if not isinstance(self.long_term, (list, tuple)) or not all(arguments.is_whole(v) for v in self.long_term):
            raise VideoError(f"--long-term {arguments.quoted(self.long_term)}: give a list of whole frame distances, "
                             f"e.g. (1, 10)")
        if given_twice(self.long_term) is not None:
            raise VideoError(f"--long-term: the frame distance {given_twice(self.long_term)} is given twice")
        j = tuple(sorted({int(v) for v in self.long_term}))
        if not j or j[0] < 1 or j[-1] > MAX_COUNT:
            raise VideoError(f"--long-term {','.join(map(str, self.long_term)) or '(none)'}: give frame distances "
                             f"from 1 to {MAX_COUNT}, e.g. 1,10,20,40 (1 alone: the previous frame only)")
        object.__setattr__(self, "long_term", j)
        if not 1 <= self.passes <= MAX_PASSES:
            raise VideoError(f"--passes {self.passes}: give 1 to {MAX_PASSES}")
        if not _number(self.pass_blend) or not (self.pass_blend == 0 or NUMBER_RANGE[0] <= self.pass_blend <= 1):
            raise VideoError(f"--pass-blend {arguments.quoted(self.pass_blend)}: give 0 or a number from "
                             f"{NUMBER_RANGE[0]:g} to 1")
        for name in ("pass_blend", "temporal_weight"):  # (finite: checked above)
            try:
                object.__setattr__(self, name, arguments.as_float(getattr(self, name)))
            except ValueError:
                raise VideoError(f"--{name.replace('_', '-')} {arguments.quoted(getattr(self, name))}: too small to "
                                 f"be told from 0") from None
        if self.temporal_from_pass is not None and not 1 <= self.temporal_from_pass <= self.passes:
            raise VideoError(f"--temporal-from-pass {self.temporal_from_pass}: give a pass from 1 to --passes "
                             f"({self.passes})")
        unread.check(asdict(self), unread.changed(self), error=VideoError)  # (an option the others leave unread)

    def iterations_after_first(self, iterations: int) -> int:
        return self.frame_iterations or max(1, iterations // 2)

    @property
    def first_temporal_pass(self) -> int:
        """The first pass of the multi-pass algorithm with the temporal term: 8 of 15 in the authors' code."""
        return self.temporal_from_pass or math.ceil(self.passes / 2)


def _number(value) -> bool:
    try:
        return arguments.is_real(value) and math.isfinite(value)
    except OverflowError:  # (a Fraction beyond a float's range)
        return False


def check_fps(fps) -> float:
    """The API's fps: a finite number in FPS_RANGE (the command line's --fps range), else VideoError. Compared as the
    float it is used as (Fraction(1, 100) is the command line's 0.01, though a float's 0.01 is a little more)."""
    if not _number(fps) or not FPS_RANGE[0] <= float(fps) <= FPS_RANGE[1]:
        raise VideoError(f"--fps {arguments.quoted(fps)}: give a number from {FPS_RANGE[0]:g} to {FPS_RANGE[1]:g}")
    return float(fps)


@dataclass
class FrameProgress:
    """Told to on_frame after each frame (each frame of each pass): its number (from 1), the total, whether it
    was skipped (already made by an earlier run), the seconds it took, and the pass."""

    frame: int
    frames: int
    skipped: bool
    seconds: float
    path: Path
    pass_number: int = 1
    passes: int = 1


@dataclass
class VideoResult:
    frames: int  # in the clip
    finished: int  # frames in the folder now
    skipped: int  # of those, already finished before this run
    stopped: bool  # interrupted before the last frame
    seconds: list = field(default_factory=list)  # (frame number, s) of each frame made in this run, in order
    output: Path | None = None  # make_video: the video or frames folder asked for
    folder: Path | None = None  # make_video: where the frames are (a video's work folder, kept when stopped)
    size: tuple[int, int] | None = None  # make_video: (width, height) of the stylised frames
    encoded: bool = False  # make_video: the video file was written
    passes: int = 1  # frames are made this many times (the multi-pass algorithm)
    frame_passes: int = 0  # multi-pass: the passes over a frame kept on disk, summed over the frames
    passes_before: int = 0  # multi-pass: of those, kept from before this run (a resume)

    @property
    def before(self) -> str:
        """What was finished before this run, as a stop counts it: "2" frames, or "6 of 12 frame passes"."""
        return str(self.skipped) if self.passes == 1 else \
            f"{self.passes_before} of {self.frames * self.passes} frame passes"

    @property
    def written_size(self) -> tuple[int, int] | None:
        """(width, height) of what was written: the video's (sides made even, encoded_size), or the frames'."""
        return encoded_size(self.size) if self.encoded and self.size else self.size


@dataclass(frozen=True)
class VideoPlan:
    """Told to make_video's on_ready once every check has passed, before the first frame."""

    frames: int  # in the clip
    size: tuple[int, int]  # (width, height) of the stylised frames
    output: Path
    folder: Path  # where the finished frames go
    note: str | None  # the memory plan's note (a lowered history, a compact run), or None
    passes: int = 1  # frames are made this many times (the multi-pass algorithm)


def frame_path(folder: Path, number: int) -> Path:
    return Path(folder) / FRAME_NAME.format(number)


def frame_start(options: VideoOptions, count: int, number: int, p: int = 1) -> tuple[str, bool]:
    """How frame `number` of a clip of `count` frames starts in pass p, and whether a temporal term holds it:
    ("init", False) for a frame made alone; "warped" (a single pass's later frame: the previous stylised frame
    warped), "own" (a later pass with no neighbour before it: its own last result) or "blended" (its own last
    result blended with the neighbour warped), each with whether the temporal term applies (_FrameRun.single_pass,
    multi_pass)."""
    o = options
    if o.independent or (o.passes == 1 and number == 1) or (o.passes > 1 and p == 1):
        return "init", False
    if o.passes == 1:
        return "warped", bool(o.temporal_weight and any(number - j >= 1 for j in o.long_term))
    neighbour = number - 1 if p % 2 else number + 1
    if not 1 <= neighbour <= count:
        return "own", False
    return "blended", bool(p >= o.first_temporal_pass and o.temporal_weight)


def frame_record(options: VideoOptions, settings: dict, start: str, terms: bool) -> tuple[dict, dict]:
    """(video options, settings) that a frame starting so (frame_start) reads, of those its run reads
    (unread.recorded): no temporal weight, distances or pass without a term; no flow or warp without a warped
    neighbour; no pass blend unless blended; --frame-iterations only where it sets the count (a single pass's
    later frame), and then no --iterations; none for a frame made alone in one pass (a first frame, or any frame
    with --independent: made the same either way). What the frame records, and what its fingerprint covers."""
    run = {**settings, **asdict(options)}
    video, settings = unread.recorded(asdict(options), "video", run), unread.recorded(settings, "transfer", run)
    warped = start in ("warped", "blended")  # (a neighbour warped into its start)
    unused = ("temporal_weight", "long_term", "temporal_from_pass") * (not terms) + \
        ("flow", "warp") * (not terms and not warped) + ("pass_blend",) * (start != "blended") + \
        ("frame_iterations",) * (start != "warped")
    if start == "init" and (options.independent or options.passes == 1):  # (made alone, as every --independent
        unused += ("independent", "passes")  # frame is: a first frame is the same either way)
    for name in unused:
        video.pop(name, None)
    if start == "warped" and options.frame_iterations is not None:
        settings.pop("iterations", None)  # (its count is --frame-iterations')
    return video, settings


def frame_marks(session, clip: Clip, styles, blend, options: VideoOptions) -> list[str]:
    """What each frame depends on (index: frame number - 1): a rerun resumes only a frame whose mark is the same.
    Each covers the clip, the styles (and the files' contents), the blend, and the settings and video options that
    frame reads (frame_record, in every pass of a multi-pass run, whose frames all depend on each other); a single
    pass's later frame also covers the mark of the frame before it, which it starts from (and so of every frame
    before that)."""
    settings = session.settings.to_dict()
    settings.pop("device", None)
    if settings.get("precision") == "fp32":  # frames made before the option existed resume
        settings.pop("precision")
    from .files import input_files

    data = {"source": os.path.realpath(clip.path), "count": clip.count,
            "styles": [os.path.realpath(s) if isinstance(s, (str, os.PathLike)) else
                       f"pixels:{digest(images.read_in_memory(s, 'style image'))}"  # (a PIL image by the picture
                       for s in styles],  # it shows, as read: palette, EXIF turn, transparency; not by its object)
            "blend": list(blend) if blend is not None else None,
            # what the files hold, not only their names: a new painting saved under the old name redoes the frames
            "digests": [_file_digest(f) for f in [*(s for s in styles if isinstance(s, (str, os.PathLike))),
                                                  *input_files(session.settings)]],
            "source_files": [_file_digest(f) for f in (clip.files or [clip.path])]}

    @functools.lru_cache(maxsize=None)
    def record(kind: tuple[str, bool]) -> str:
        return json.dumps(frame_record(options, settings, *kind), sort_keys=True, default=str)

    def mark(kinds, before=None) -> str:  # (each distinct record once, in one order: a one-frame clip's passes
        read = {record(k) for k in set(kinds)}
        frame = dict(inputs=inputs, read=sorted(read), before=before)  # read the same, whatever their starts)
        return hashlib.sha256(json.dumps(frame, sort_keys=True, default=str).encode()).hexdigest()[:16]

    inputs = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()  # (once: a clip's
    count = clip.count  # frames' digests are many)
    if options.passes > 1:  # (one mark: every frame and pass of it)
        return [mark({frame_start(options, count, n, p) for n in {1, min(2, count), count}  # (the first and last
                      for p in range(1, options.passes + 1)})] * count  # frames start as any other can, and more)
    marks: list[str] = []
    for number in range(1, count + 1):
        marks.append(mark([frame_start(options, count, number)],
                          None if options.independent or number == 1 else marks[-1]))
    return marks


def clip_key(clip: Clip) -> str:
    """The clip as its frames record it ("clip" in each frame's metadata): its real path and every file's SHA-256.
    encode takes frames stylize made only with the Clip they were made from."""
    data = [os.path.realpath(clip.path), [_file_digest(f) for f in (clip.files or [clip.path])]]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]


def _file_digest(path) -> str:
    """A file's SHA-256, read once per contents (the fingerprint and clip_key both digest the clip's files; a file
    replaced or changed since has another images.file_stamp, and is read again)."""
    try:
        return _digest_of(os.path.realpath(path), images.file_stamp(os.stat(path)))
    except OSError as e:
        raise VideoError(f"{path}: cannot read it ({_why(e)})") from None


@functools.lru_cache(maxsize=4096)
def _digest_of(path: str, stamp: tuple) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


LOCK_NAME = claims.FOLDER_LOCK  # in a frames folder while a run works in it (a POSIX lock, see claims.py)


def check_not_inputs(inputs, written) -> None:
    """Inputs are never outputs, whatever the flags: VideoError when an input (the clip, a frame, a style
    image, a mask, an --init image) is a path this run writes, or lies in a folder it writes."""
    def resolved(p) -> Path:
        return Path(os.path.normcase(os.path.realpath(p)))

    places = [(w, resolved(w)) for w in written]
    for source in inputs:
        if not isinstance(source, (str, os.PathLike)):
            continue
        r = resolved(source)
        for w, rw in places:  # (images.same_file: every name of one file, a link, '..', a hard link)
            if images.same_file(w, source) or rw in r.parents:
                raise VideoError(f"{w}: would overwrite the input {source}; choose another output")


def recorded_pass(path: Path, mark: str, number: int | None = None) -> int | None:
    """The pass that made a frame of this run's mark for it (frame_marks; 1 for a single-pass run) as frame
    `number`; 0: a frame of another run, or of another frame (copied or renamed), or partial, or unreadable; None:
    absent."""
    if not os.path.exists(path):
        return None
    meta = images.ours(path)  # ({} for a folder, an unreadable file: 0 below)
    video = meta.get("video") if isinstance(meta.get("video"), dict) else {}
    if meta.get("partial") or video.get("fingerprint") != mark or (number is not None and video.get("frame") != number):
        return 0
    return int(video.get("pass", 1))


def check_folder(folder: Path, count: int, marks, overwrite: bool, video: bool = False) -> dict[int, int]:
    """Refuse (without overwrite) a frames folder holding frames of another run; returns {frame number: pass}
    of this run's frames already made (`marks`: frame_marks; () keeps none). `video`: the folder is a video's work
    folder (OUT.mp4.frames/), which never holds the finished output of a run into that folder itself (`-o
    OUT.mp4.frames/`, its frames marked "frames_for": "folder": that run's result, not to be removed once the video
    is encoded), whatever the flags."""
    folder = Path(folder)
    if os.path.islink(folder) and not os.path.exists(folder):  # (never followed to make a folder where it leads)
        raise VideoError(f"{folder}: a link to nothing, not a frames folder; move it away or choose another output")
    if not os.path.exists(folder):
        return {}
    if not os.path.isdir(folder):
        raise VideoError(f"{folder}: is {images.kind_of(folder)}, not a frames folder")
    done, readable, another = {}, _image_suffixes(), None
    for f in sorted(folder.iterdir()):
        m = FRAME_PATTERN.match(f.name)
        if m is None:  # a user's numbered image (frame_00003.webp) would be a second frame 3 of the folder
            other = re.search(r"(\d+)$", f.stem)
            if other and 1 <= int(other.group(1)) <= count and f.suffix.lower() in readable:
                raise VideoError(f"{f}: a numbered image at frame {int(other.group(1))} of this clip (the folder would "
                                 f"hold two frames of that number); move it away or choose another output")
            if re.fullmatch(r"frame_\d{5,}", f.stem) and f.suffix.lower() in readable:  # (after the clip's frames)
                raise VideoError(f"{f}: not a frame stylize made, {_after(count)}; move it away or choose another "
                                 f"output")
            continue
        number = int(m.group(1))
        if video and images.ours(f).get("frames_for") == "folder":
            raise VideoError(f"{folder}: the frames of an earlier run whose output was this folder (-o {folder}/), "
                             f"which a video's work folder would replace and then remove; move it away, or choose "
                             f"another output")
        found = None
        if f.is_file() and number <= count:
            try:  # (a frame that cannot be read back, stylize's once or not: damaged, neither kept nor replaced)
                found = images.read_back(f)
            except ImageError as e:
                raise VideoError(f"{e}; it is kept: move it away (a rerun then makes that frame) or choose another "
                                 f"output") from None
        state = recorded_pass(f, marks[number - 1], number) if number <= min(count, len(marks)) else 0
        changed = state and images.not_as_recorded(images.ours(f), found, f)
        if changed:  # (another size or format under the name, with the frame's metadata: no frame to keep)
            raise VideoError(f"{f}: {changed}; it is kept: move it away (a rerun then makes that frame) or choose "
                             f"another output")
        if state:
            done[number] = state
        elif not _made_here(f):  # a file of the user's: never replaced nor removed, whatever the flags
            where = f"at a name this clip's frame {number} needs" if number <= count else _after(count)
            raise VideoError(f"{f}: not a frame stylize made, {where}; move it away or choose another output")
        elif not overwrite and another is None:  # (told after the files of the user's, which no flag changes)
            another = VideoError(f"{f}: a frame of another run (other settings, inputs or options, or unfinished) or "
                                 f"of another frame; pass --overwrite to redo such frames (or remove those after this "
                                 f"clip's), or choose another output")
    if another is not None:
        raise another
    return done


def _after(count: int) -> str:
    return f"numbered after this clip's {count} frame{'s' * (count != 1)} (the folder would read as a longer clip)"


def check_read(settings, options: VideoOptions) -> None:
    """VideoError for a field of `settings` given that the video's options leave unread (unread.py: --iterations
    with the multi-pass algorithm, whose frames run --pass-iterations)."""
    unread.check({**settings.to_dict(), **asdict(options)}, [n for n in unread.changed(settings) if n == "iterations"],
                 error=VideoError)


@synthesis.exit_waits
def stylize_frames(session, clip: Clip, style, out_dir, options: VideoOptions = VideoOptions(), *, blend=None,
                   callback=None, should_stop: Callable[[], bool] | None = None,
                   on_frame: Callable[[FrameProgress], None] | None = None, overwrite: bool = False,
                   extra_meta: dict | None = None, claim: claims.Claim | None = None,
                   _frames_for: str = "folder") -> VideoResult:
    """Stylize every frame of `clip` into out_dir/frame_00001.png, ... (written atomically as each one
    finishes); frames already made by an earlier run with the same mark (frame_marks) are kept, not redone.

    Single pass (Ruder et al. 2016): the first frame runs the full synthesis (--iterations, from --init); each
    later frame i starts from the stylised frame i-1 warped by the flow (everywhere, unreliable pixels
    included) and runs options.frame_iterations with the temporal term against the frames i-j, j in
    options.long_term, each warped onto it and weighted by long_term_weights. Multi-pass (options.passes > 1):
    see _FrameRun.multi_pass. `style`: one artwork or several (blended). The folder is claimed for the run
    (claims.py: another run working in it is refused, ClaimError) and released at the end, unless the caller
    passes `claim` (claims.claim_folder(out_dir)): then it is taken here and the caller releases it (make_video
    holds it until the video is encoded). `_frames_for` is make_video's: what the frames are for, recorded in each
    ("folder": a result, never a video's work folder to remove once encoded; "video": that work folder)."""
    from .api import Session

    if not isinstance(session, Session):
        raise VideoError(f"session: a stylize.Session (Session(settings)), not {type(session).__name__}")
    styles = styles_of(style)
    arguments.names(out_dir=out_dir)
    arguments.flags(overwrite=overwrite)
    arguments.functions(callback=callback, should_stop=should_stop, on_frame=on_frame)
    extra_meta, = arguments.mappings(extra_meta=extra_meta)
    if out_dir is None or not isinstance(clip, Clip) or type(options) is not VideoOptions:
        raise VideoError("stylize_frames: out_dir a folder name, clip a video.Clip (open_clip), options a VideoOptions")
    out_dir = Path(out_dir)
    if claim is not None and not (isinstance(claim, claims.Claim) and claim.lock_file.name == claims.FOLDER_LOCK
                                  and os.path.realpath(claim.what) == os.path.realpath(out_dir)):
        raise VideoError(f"claim: the claim of {out_dir} (claims.claim_folder(out_dir)) or None, not "
                         f"{arguments.quoted(claim, 60)}")  # (another folder's would leave this one unclaimed)
    clip = current(clip)
    check_read(session.settings, options)
    from .files import input_files

    check_not_inputs([clip.path, *clip.files, *styles, *input_files(session.settings)], [out_dir])  # (the API's
    # callers too: make_video checks more)
    claims.check_folder_free(out_dir)  # (said first, whatever the flags: never "pass --overwrite" for its frames)
    blend_weights(session.settings, blend, len(styles))  # (checked before the marks list it)
    marks = frame_marks(session, clip, styles, blend, options)
    made = check_folder(out_dir, clip.count, marks, overwrite)
    flow = None if options.independent else Flow(options.flow)  # RAFT's weights are checked before the folder is made
    created = images.missing_folders(out_dir)
    images.make_folder(out_dir, "frames folder")
    held = claim or claims.claim_folder(out_dir)
    if held.fd is None:  # (the caller's, taken by an earlier call of its run: its own, kept)
        held.take()
    try:
        claims.check_unclaimed_in(out_dir, "another output")  # a run writing a file here started before us
        if overwrite:
            for f in out_dir.iterdir():  # frames beyond this clip's count that an earlier stylize run made
                m = FRAME_PATTERN.match(f.name)
                if m and int(m.group(1)) > clip.count and _made_here(f):
                    f.unlink()
        run = _FrameRun(session, clip, styles, blend, out_dir, options, marks, made, flow,
                        dict(extra_meta or {}, frames_for=_frames_for))
        with pinned():  # (a style replaced meanwhile: refused, never frames of two styles in one video; a run the
            return run.all(unpinned(callback), unpinned(should_stop), unpinned(on_frame))  # callbacks start: its own)
    finally:
        if claim is None:
            held.release()
        images.remove_empty(created)  # (stopped before its first frame: the folders it made go)


def _made_here(path: Path) -> bool:
    """Whether `path` is a frame stylize made (its metadata says so): only those are removed, never a file of
    the user's that happens to have a frame's name."""
    return isinstance(images.ours(path).get("video"), dict)


class _Frames:
    """The clip's frames fitted to the synthesis size, decoded once, in order, on demand; a frame is kept while
    a later one may still need it (`keep` frames back; all of them when keep is None)."""

    def __init__(self, clip: Clip, size: int, keep: int | None):
        self._source, self._size, self._keep = clip.frames(), size, keep
        self._frames: dict[int, Image.Image] = {}
        self._decoded = 0

    def __getitem__(self, number: int) -> Image.Image:
        while self._decoded < number:
            self._decoded += 1
            self._frames[self._decoded] = images.fit(next(self._source), self._size)
            if self._keep is not None:
                self._frames.pop(self._decoded - self._keep - 1, None)
        return self._frames[number]

    def close(self) -> None:
        self._source.close()


class _FrameRun:
    """One stylize_frames call: the frames folder's state, the sources and stylised frames at hand, the flow."""

    def __init__(self, session, clip: Clip, styles, blend, out_dir: Path, options: VideoOptions, marks: list[str],
                 made: dict[int, int], flow: Flow | None, extra_meta: dict | None):
        self.session, self.clip, self.styles, self.blend = session, clip, styles, blend
        self.out_dir, self.options, self.marks, self.extra_meta = out_dir, options, marks, extra_meta
        self.passes = 1 if options.independent else options.passes
        self.made = dict(made)  # frame number -> the pass that made the frame on disk
        self.flow, self.clip_key = flow, clip_key(clip)
        self.memory_of = None  # the first frame's plan: its memory plan serves every frame (plan.make)
        self.keep = None if self.passes > 1 else max(options.long_term)
        self.frames = _Frames(clip, session.settings.size, self.keep)
        self.styled: dict[int, Image.Image] = {}  # stylised frames as saved (8-bit): a resumed run is identical
        self.result = VideoResult(clip.count, 0, sum(p == self.passes for p in made.values()), False,
                                  passes_before=sum(made.values()) if self.passes > 1 else 0)

    def all(self, callback, should_stop, on_frame) -> VideoResult:
        """Every pass over every frame not yet made; stops (result.stopped) when should_stop says so."""
        n = self.clip.count
        try:
            for p in range(1, self.passes + 1):
                for number in (range(1, n + 1) if p % 2 else range(n, 0, -1)):
                    path = frame_path(self.out_dir, number)
                    if self.made.get(number, 0) >= p:
                        if on_frame:
                            on_frame(FrameProgress(number, n, True, 0.0, path, p, self.passes))
                        continue
                    if synthesis.EXITING.is_set() or (should_stop is not None and should_stop()):  # (a script's end)
                        self.result.stopped = True
                        return self.result
                    started = time.perf_counter()
                    if not self.make(number, p, callback, should_stop):
                        self.result.stopped = True
                        return self.result
                    seconds = time.perf_counter() - started
                    self.result.seconds.append((number, seconds))
                    if on_frame:
                        on_frame(FrameProgress(number, n, False, seconds, path, p, self.passes))
        finally:
            self.frames.close()
            self.result.finished = sum(p == self.passes for p in self.made.values())
            self.result.passes, self.result.frame_passes = self.passes, sum(self.made.values())
        return self.result

    def make(self, number: int, p: int, callback, should_stop) -> bool:
        """Frame `number` in pass p, saved; False when stopped before it was finished."""
        o, s = self.options, self.session.settings
        sized = self.frames[number]
        job = self.session.transfer_job(sized, self.styles, self.blend)
        kind, held = frame_start(o, self.clip.count, number, p)
        info = {"frame": number, "frames": self.clip.count, "fingerprint": self.marks[number - 1],
                "source": str(self.clip.path), "clip": self.clip_key, "pass": p, "passes": self.passes}
        if self.passes == 1 and kind != "init":  # (the frame it starts from: encode checks the chain)
            info["follows"] = self.marks[number - 2]
        try:
            if kind == "init":
                start, terms, iterations = None, [], o.pass_iterations if self.passes > 1 else s.iterations
                info["start"] = "init"
            elif self.passes > 1:
                start, terms, iterations = self.multi_pass(number, p, info, held)
            else:
                start, terms, iterations = self.single_pass(number, info, held)
            plan = self.session.plan(job, memory_of=self.memory_of)
            self.memory_of = self.memory_of or plan
            outcome = self.session.run(plan, callback, should_stop, extra_terms=terms, start=start,
                                       iterations=iterations)
        finally:
            self.session.forget_image(sized)
        if outcome.partial:
            return False
        path = frame_path(self.out_dir, number)
        video, settings = frame_record(o, outcome.metadata["settings"], kind, held)  # (what this frame read)
        info.update(video)
        meta = dict(outcome.metadata, **self.extra_meta, content=f"{self.clip.path} frame {number}", video=info,
                    settings=settings)
        replace = number in self.made or (os.path.lexists(path) and _made_here(path))  # never a file that appeared
        images.save_image(outcome.image, path, meta, overwrite=replace)
        self.made[number] = p
        self.styled[number] = outcome.image
        if self.keep is not None:
            self.styled.pop(number - self.keep - 1, None)
        return True

    def single_pass(self, number: int, info: dict, held: bool):
        """Frame i > 1: start from the stylised frame i-1 warped (Ruder et al.'s prevWarped), hold it to the
        frames i-j, j in J, warped, with the long-term weights; `frame_iterations` iterations."""
        o = self.options
        js = [j for j in o.long_term if number - j >= 1]
        earlier = {j: self.earlier(number, number - j) for j in (js if 1 in js else [1, *js])}
        terms = []
        if held:  # (frame_start: a temporal weight, and an earlier frame at one of the distances)
            targets, weights = held_to([earlier[j] for j in js])
            terms = [TemporalTerm(targets, weights, o.temporal_weight)]
        info.update(start="previous frame warped", reliable=round(float(earlier[1][1].mean()), 4),
                    earlier=[number - j for j in js] if terms else [])  # (the frames a temporal term holds it to)
        return earlier[1][0], terms, o.iterations_after_first(self.session.settings.iterations)

    def multi_pass(self, number: int, p: int, info: dict, held: bool):
        """Ruder et al.'s multi-pass algorithm (IJCV 2018, "Multi-pass algorithm"): pass 1 makes every frame alone
        from --init; pass p > 1 goes the other way round (even passes from the last frame to the first) and starts
        frame i from delta c w + (1 - delta c) x, x its own result of pass p-1, w the neighbour just made in this
        pass (i-1 going forward, i+1 going back) warped onto it, c that warp's reliability; from pass
        first_temporal_pass on, with the temporal term against w. Every frame runs pass_iterations per pass."""
        o = self.options  # (pass 1: frame_start's "init", made in make)
        own = images.to_tensor(self.stylised(number))
        neighbour = number - 1 if p % 2 else number + 1
        if not 1 <= neighbour <= self.clip.count:
            info["start"] = "own result of the last pass"
            return own, [], o.pass_iterations
        warped, c = self.earlier(number, neighbour)
        start = (o.pass_blend * c * warped + (1 - o.pass_blend * c) * own).clamp(0, 1)
        terms = [TemporalTerm(warped, c, o.temporal_weight)] if held else []  # (from first_temporal_pass on)
        info.update(start=f"own result of the last pass blended with frame {neighbour} warped",
                    reliable=round(float(c.mean()), 4), earlier=[neighbour] if terms else [])
        return start, terms, o.pass_iterations

    def earlier(self, number: int, other: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The stylised frame `other` warped onto frame `number`, and its reliability (warp_onto)."""
        here = self.frames[number]
        styled = images.to_tensor(self.stylised(other))
        if styled.shape[-2:] != (here.height, here.width):
            raise VideoError(f"{frame_path(self.out_dir, other)}: a finished frame of another size; pass --overwrite "
                             f"to redo the frames")
        warped, reliable = warp_onto(here, self.frames[other], styled, self.flow, self.options.warp)
        # (a flow of a frame a few px high can be NaN at its edge: nothing there is reliable, the image stays in [0, 1])
        return torch.nan_to_num(warped).clamp(0, 1), torch.nan_to_num(reliable)

    def stylised(self, number: int) -> Image.Image:
        """Frame `number` as last saved (by this run, or by the earlier run that this one resumes)."""
        if number not in self.styled:
            self.styled[number] = images.load_image(frame_path(self.out_dir, number))
        return self.styled[number]


@synthesis.exit_waits
def make_video(source, styles, output, settings, options: VideoOptions = VideoOptions(), *, codec: str | None = None,
               fps: float = DEFAULT_FPS, keep_frames: bool = False, overwrite: bool = False,
               callback=None, should_stop: Callable[[], bool] | None = None,
               on_ready: Callable[[VideoPlan], None] | None = None,
               on_frame: Callable[[FrameProgress], None] | None = None, metadata: dict | None = None) -> VideoResult:
    """Stylize `source` (a video file or a folder of numbered frames, or an open Clip) with `styles` into
    `output`: a video when its name has a container's extension (.mp4 ...; its frames are made in
    OUT.mp4.frames/ and removed once it is encoded, unless keep_frames), else (an existing folder, a name ending
    in '/') a folder of frames.

    Everything is checked before the first frame (the clip, the sizes and memory at the first frame,
    the output, an existing folder's frames); then on_ready(VideoPlan) is told, and on_frame(FrameProgress)
    after every frame. A run stopped by should_stop keeps its finished frames (result.stopped) and writes
    no video; running it again continues. Raises VideoError (and the synthesis' StylizeErrors)."""
    from .api import Session

    from .settings import settings_of

    require()
    settings, styles = settings_of(settings), styles_of(styles)  # (StylizeErrors for what is none of them)
    fps = check_fps(fps)
    if type(options) is not VideoOptions:  # (a subclass: what it records need not be what runs)
        raise VideoError(f"options: a video.VideoOptions, not {type(options).__name__}")

    arguments.flags(keep_frames=keep_frames, overwrite=overwrite)
    arguments.functions(callback=callback, should_stop=should_stop, on_ready=on_ready, on_frame=on_frame)
    callback, should_stop, on_ready, on_frame = map(unpinned, (callback, should_stop, on_ready, on_frame))  # (each
    # in the run's folder, and a run it starts is one of its own: as stylize_frames', on_ready's and encode's too)
    metadata, = arguments.mappings(metadata=metadata)
    _codec_argument(codec)
    for value, what in ((source, "source"), (output, "output")):
        if not isinstance(value, (str, os.PathLike)) and not (what == "source" and isinstance(value, Clip)):
            raise VideoError(f"{what}: a file or folder name{' or a Clip' * (what == 'source')}, not "
                             f"{type(value).__name__}")
        if not isinstance(value, Clip) and "\0" in os.fspath(value):
            raise VideoError(f"{what}: a name cannot hold a NUL byte")
    out = Path(output)
    why = folder_at_a_video_name(output)
    if why:
        raise VideoError(why)
    as_video = names_a_video(output)
    if not as_video and not os.path.lexists(out) and Path(f"x{out.name}").suffix.lower() in CONTAINERS \
            and not os.fspath(output).endswith(("/", os.sep)):  # '.mkv': a hidden name with no extension
        raise VideoError(f"{out}: a name that is only an extension (a hidden frames folder's, not a video's); give "
                         f"it a stem, e.g. out{out.name}, or end it with / for a folder")
    clip = current(source) if isinstance(source, Clip) else open_clip(source)
    check_read(settings, options)
    unread.check(dict(video_file=as_video, frames_in=clip.kind == "folder"),  # the options of a video file's
                 [n for n, given in (("codec", codec is not None), ("keep_frames", keep_frames),
                                     ("fps", fps != DEFAULT_FPS)) if given], error=VideoError)
    from .files import input_files

    check_not_inputs([clip.path, *clip.files, *styles, *input_files(settings)],
                     [out, work_folder(out)] if as_video else [out])
    session = Session(settings)
    frames = clip.frames()
    first = next(frames)
    frames.close()
    plan = session.plan(session.transfer_job(first, styles))  # sizes and memory, before the frame is resized
    size = images.fit(first, settings.size).size
    with contextlib.ExitStack() as held:
        if as_video:  # the video: one run at a time (an API encode too)
            held.enter_context(claims.holding(out))
        if as_video:
            claims.check_folder_free(work_folder(out))  # (another run writing it: said first, whatever its frames)
            check_folder(work_folder(out), clip.count, (), overwrite=True, video=True)  # files of yours, a folder's
            # output: before "--overwrite"
            codec = check_video_output(out, codec, size, clip, fps, overwrite, shape=first.size, frames_folder=True)
            folder = work_folder(out)
        else:
            images.check_name(out)  # (a folder at one of stylize's own hidden names, .stylize.lock/: refused too)
            if clip.kind == "folder" and os.path.realpath(out) == os.path.realpath(clip.path):
                raise VideoError(f"{out}: is the input folder; choose another output")
            folder = out
            claims.check_folder_free(folder)  # (another run writing it: said first, as for a video's)
            check_folder(folder, clip.count, "", overwrite=True)  # (a file there, files of yours: before it is made)
        created = images.missing_folders(folder)
        images.make_folder(folder, "frames folder")
        claim = claims.claim_folder(folder)  # held from before on_ready (a run it starts there is refused) until the
        try:  # video is written
            claim.take()
            if on_ready is not None:
                on_ready(VideoPlan(clip.count, size, out, folder, plan.note,
                                   1 if options.independent else options.passes))
            result = stylize_frames(session, clip, styles, folder, options, callback=callback, should_stop=should_stop,
                                    on_frame=on_frame, overwrite=overwrite, claim=claim,
                                    extra_meta=metadata, _frames_for="video" if as_video else "folder")
            result.output, result.folder, result.size = out, folder, size
            if as_video and not result.stopped:
                try:
                    encode(folder, out, clip, codec, fps, overwrite, should_stop)
                except EncodingStopped:
                    result.stopped = True
                    return result
                result.encoded = True
        finally:
            claim.release()
            images.remove_empty(created)  # a run that ended before its first frame; frames in it are kept for a resume
        if result.encoded and not keep_frames:
            remove_work_folder(folder, clip.count)
        return result


# -- writing a video --------------------------------------------------------------------------
def work_folder(output) -> Path:
    """The frames of a video output, kept beside it until it is encoded: OUT.mp4 -> OUT.mp4.frames/."""
    output = Path(output)
    return output.with_name(output.name + WORK_SUFFIX)


def _even(n: int) -> int:
    return n + (n % 2)


def encoded_size(size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of a video made from frames of `size`: each side made even (what the encoders take)."""
    return _even(size[0]), _even(size[1])


TEMP_RANDOM = 8  # characters tempfile adds to a temporary video's name


def _temp_name(output: Path) -> Path:
    """The shape of a video's temporary name, .OUT.XXXXXXXX.tmp.mp4 (for the name-length check)."""
    return output.with_name(f".{output.stem}.{'X' * TEMP_RANDOM}.tmp{output.suffix}")


def _temp_file(output: Path) -> Path:
    """A new, empty temporary file beside `output`, created exclusively (tempfile: O_CREAT | O_EXCL, so never a
    file or link that was already there); the caller removes it."""
    fd, name = tempfile.mkstemp(dir=output.parent if str(output.parent) else ".", prefix=f".{output.stem}.",
                                suffix=f".tmp{output.suffix}")
    os.close(fd)
    os.chmod(name, images.file_mode())  # mkstemp's 0600 would stay with the video: as any output, umask's
    return Path(name)


X265_MIN_WIDTH = 64  # px: narrower frames (40, 48 px) make libx265 corrupt the heap now and then (an abort)
PIXEL_FORMATS = ("yuv420p", "yuvj420p", "yuv420p10le", "yuv422p10le", "yuv444p", "rgb24", "bgr0")  # preferred first


def pixel_format(codec: str, size: tuple[int, int] = (64, 48)) -> str:
    """The pixel format a video is encoded in: 4:2:0 (what players take) where the encoder opens with it, else
    the first of PIXEL_FORMATS that it opens with (MJPEG: full-range yuvj420p; ProRes: 4:2:2 10-bit;
    libx264rgb: RGB), else the first of its own formats that it opens with: at 64x48, else at the frames' `size`
    (DV opens at its own sizes only, and at 720x480 in 4:1:1)."""
    return _format_at(codec, (64, 48)) or _format_at(codec, encoded_size(size)) or _formats(codec)[0]


def _formats(codec: str) -> list[str]:
    """The encoder's pixel formats, PIXEL_FORMATS' first, in their order."""
    formats = [f.name for f in (_av().codec.Codec(codec, "w").video_formats or ())] or ["yuv420p"]
    return [f for f in PIXEL_FORMATS if f in formats] + [f for f in formats if f not in PIXEL_FORMATS]


@functools.lru_cache(maxsize=None)
def _format_at(codec: str, size: tuple[int, int]) -> str | None:
    """The first of _formats(codec) the encoder opens with at `size`, or None (each size probed once)."""
    return next((f for f in _formats(codec) if _opens(_av(), codec, size, f) is None), None)


# a trial encode failing so is the disk's fault, not the codec's (not EPERM: FFmpeg's -1 for any error)
WRITE_ERRORS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO, errno.EROFS}


def _url(path) -> str:
    """The name FFmpeg is given for a file: absolute, so that a file named `file:a.mp4` or `concat:a|b` is that
    file, not a protocol's URL (FFmpeg reads a relative name's `word:` as one)."""
    return os.path.abspath(path)


def _quiet(av, codec: str) -> dict:
    """The encoder's options that keep its own [info] lines off stderr, whatever --quiet (x265's; SVT-AV1 reads
    an environment variable), for every context of it: the probes' too."""
    name = av.codec.Codec(codec, "w").name
    if name == "libsvtav1":
        os.environ.setdefault("SVT_LOG", "1")  # errors only
    return {"x265-params": "log-level=error"} if name == "libx265" else {}


def _open_output(av, path: Path, codec: str, size, rate, time_base, source_container=None):
    quiet = _quiet(av, codec)
    out = av.open(_url(path), "w", options={"fflags": "+bitexact"})  # no random ids or dates: the same bytes
    stream = out.add_stream(codec, rate=rate)
    stream.width, stream.height = encoded_size(size)
    stream.pix_fmt = pixel_format(codec, size)
    if time_base:
        stream.codec_context.time_base = time_base
        stream.time_base = time_base
    encoder = stream.codec_context.name  # what `--codec h264` resolves to: libx264
    if encoder == "libx264":
        stream.options = {"crf": "18"}
        if stream.height % 16:  # x264's macroblock tree then reads memory it never wrote: other bytes each run
            stream.options = {**stream.options, "x264-params": "mbtree=0"}
    elif quiet:
        stream.options = quiet
    audio = {}
    if source_container is not None:
        for a in source_container.streams.audio:
            audio[a.index] = out.add_stream_from_template(a)
    return out, stream, audio


def _codec_argument(codec) -> None:
    """The API's `codec`: an encoder's name or None, else VideoError."""
    if codec is not None and not isinstance(codec, str):
        raise VideoError(f"codec: an encoder's name (or None), not {type(codec).__name__}")
    if codec is not None and not codec.strip():  # (as the command line's --codec: no name is not the default)
        raise VideoError(f"codec: an encoder's name (or None for the container's own), not {codec!r}")


def video_encoder(av, codec: str) -> str:
    """`codec` when this FFmpeg build has a video encoder of that name, else VideoError."""
    try:
        if av.codec.Codec(codec, "w").type != "video":
            raise ValueError(codec)
    except Exception:  # PyAV's UnknownCodecError and others: all mean "no such video encoder"
        raise VideoError(f"--codec {codec}: not a video encoder of this FFmpeg build (try libx264, mpeg4, libvpx-vp9)") \
            from None
    return codec


def even_sided(im: Image.Image, width: int, height: int) -> Image.Image:
    """A frame made (width, height), its encoded_size: the last row and column replicated (4:2:0 takes even
    sides), never scaled."""
    if im.size == (width, height):
        return im
    canvas = Image.new("RGB", (width, height))
    canvas.paste(im, (0, 0))
    if width > im.width:
        canvas.paste(im.crop((im.width - 1, 0, im.width, im.height)), (im.width, 0))
    if height > im.height:
        canvas.paste(canvas.crop((0, im.height - 1, width, im.height)), (0, im.height))
    return canvas


def check_video_output(output, codec: str | None, size: tuple[int, int], source: Clip, fps: float,
                       overwrite: bool, shape: tuple[int, int] | None = None, frames_folder: bool = False) -> str:
    """Refuse, before any work, a video output that exists (without overwrite), has no known container,
    or whose container cannot hold the codec (or the source's audio). Returns the codec. `size`: the frames'
    (width, height) as encoded; `shape`: the frames' own size before --size scaled them (default `size`), whose
    shape the encoder is tried at when it refuses `size` (rounded at a small --size, `size` has lost it);
    `frames_folder`: the output may be a folder of frames instead (make_video), which the message then says."""
    av = _av()
    output = Path(output)
    suffix = output.suffix.lower()
    if suffix not in CONTAINERS:
        raise VideoError(f"{output}: not a video name ({', '.join(CONTAINERS)})" + (
            "; for a folder of frames give a name without an extension, or end it with /" if frames_folder else ""))
    images.check_name(output)
    n, room = len(os.fsencode(output.name)), max(len(os.fsencode(p.name)) - len(os.fsencode(output.name))
                                                  for p in (_temp_name(output), work_folder(output)))
    if n + room > images.NAME_MAX:  # the temporary video and the frames folder are named after it
        raise VideoError(f"{output}: the file name is too long ({n} bytes; a video's at most {images.NAME_MAX - room}, "
                         f"leaving room for its frames folder and temporary file)")
    if not os.path.isdir(output.parent):
        raise VideoError(images.no_folder(output, output.parent))
    if os.path.isdir(output):
        raise VideoError(f"{output}: is a directory")
    try:
        images.check_writable(output.parent if str(output.parent) else ".")
    except OSError as e:
        raise VideoError(f"{output}: cannot write in {output.parent} ({_why(e)})") from None
    if source.kind == "video" and os.path.realpath(output) == os.path.realpath(source.path):
        raise VideoError(f"{output}: is the input clip; choose another output")
    codec = video_encoder(av, CONTAINERS[suffix] if codec is None else codec)
    if av.codec.Codec(codec, "w").name == "libx265" and encoded_size(size)[0] < X265_MIN_WIDTH:
        raise VideoError(f"--codec {codec}: x265 corrupts its memory on frames under {X265_MIN_WIDTH} px wide (these "
                         f"are {encoded_size(size)[0]}); use a larger --size or another --codec")
    rate, time_base = _rate(source, fps)
    trial = None
    try:
        trial = _temp_file(output)

        def opens(rate, time_base, audio: bool = True, at: tuple[int, int] = size) -> None:
            src = av.open(_url(source.path)) if audio and source.kind == "video" and source.audio else None
            try:
                out, stream, audio = _open_output(av, trial, codec, at, rate, time_base, src)
                with out:
                    out.start_encoding()
                    frame = av.VideoFrame.from_image(Image.new("RGB", encoded_size(at)))  # one frame through
                    frame.pts, frame.time_base = 0, time_base or 1 / Fraction(rate)  # (Dirac/VC-2 fail only here)
                    for packet in [*stream.encode(frame), *stream.encode(None)]:
                        out.mux(packet)
            finally:
                if src is not None:
                    src.close()
        try:
            opens(rate, time_base)
        except (av.FFmpegError, ValueError) as e:
            if getattr(e, "errno", None) in WRITE_ERRORS:  # a full disk, `ulimit -f`: not the codec's fault
                raise VideoError(f"{output}: cannot write it ({_why(e)})") from None
            blocked = _opens(av, codec, size, pixel_format(codec, size))  # the encoder itself (h264_nvenc: no GPU)?
            if blocked:  # (at this size: does it open at another? H.263 takes five sizes, DV two)
                w, h = encoded_size(size)
                shape = shape or size  # (these frames' shape: at larger sides, and the sizes that have it)
                sized = [encoded_size(images.fitted_size(shape, side)) for side in PROBE_SIDES]
                sized += [s for s in PROBE_SIZES if encoded_size(images.fitted_size(shape, max(s))) == s]
                shaped = next((s for s in sized if not _opens(av, codec, s, pixel_format(codec, s))), None)
                if shaped is None:
                    works = next((s for s in PROBE_SIZES if not _opens(av, codec, s, pixel_format(codec, s))), None)
                    if works:
                        raise VideoError(f"--codec {codec}: the encoder refuses frames of {w}x{h} px ({blocked}); it "
                                         f"takes {works[0]}x{works[1]}, another shape than these frames': use another "
                                         f"--codec") from None
                    raise VideoError(f"--codec {codec}: the encoder does not open here, at {w}x{h} px nor at the "
                                     f"common sizes tried ({blocked}); use another --codec") from None
                try:  # (the size hint only where that size alone would do it: in this container, at this rate)
                    opens(rate, time_base, at=shaped)
                except (av.FFmpegError, ValueError) as other:
                    e = other  # (and at that size, what else refuses it: below)
                else:
                    raise VideoError(f"--codec {codec}: the encoder refuses frames of {w}x{h} px ({blocked}); it takes "
                                     f"{shaped[0]}x{shaped[1]}: use --size {max(shaped)}, or another --codec") from None
            at = shaped if blocked else size
            try:
                opens(Fraction(DEFAULT_FPS), 1 / Fraction(DEFAULT_FPS), at=at)  # is it the frame rate?
            except (av.FFmpegError, ValueError):
                try:
                    opens(Fraction(DEFAULT_FPS), 1 / Fraction(DEFAULT_FPS), audio=False, at=at)  # is it the audio?
                except (av.FFmpegError, ValueError):
                    raise VideoError(f"{output}: the {suffix} container cannot hold {codec} video ({_why(e)}); use "
                                     f"another --codec or container") from None
                raise VideoError(f"{output}: the {suffix} container cannot hold the clip's audio, which is copied as "
                                 f"it is ({_why(e)}); use another container (.mkv holds any)") from None
            if source.kind == "video":  # (--fps is the clip's own: the timing is the clip's, not the user's)
                raise VideoError(f"{output}: the {codec} encoder cannot take the clip's timing ({float(rate):g} "
                                 f"frames a second, in steps of {time_base} s) ({_why(e)}); use another --codec") \
                    from None
            raise VideoError(f"{output}: the {codec} encoder cannot take {float(rate):g} frames a second "
                             f"({_why(e)}); give --fps a rate it takes" + (" (with fewer decimals)" if
                             rate.denominator > 1 else "") + ", or use another --codec or container") from None
    except OSError as e:
        raise VideoError(f"{output}: cannot write it ({_why(e)})") from None
    finally:
        try:
            if trial is not None:
                trial.unlink(missing_ok=True)
        except OSError:
            pass
    if images.taken(output) and not overwrite:  # (last: said only when --overwrite would do it)
        raise VideoError(f"{output}: already exists; pass --overwrite to replace it")
    return codec


# An encoder refused at the frames' size is tried at their shape at these long sides, then at these sizes (the
# common ones, H.263's and DV's: some encoders take a few sizes only).
PROBE_SIDES = (256, 512, 1024)
PROBE_SIZES = ((640, 480), (1280, 720), (128, 96), (176, 144), (352, 288), (704, 576), (720, 576), (720, 480))


def _opens(av, codec: str, size: tuple[int, int], pix_fmt: str) -> str | None:
    """Why the encoder alone, in no container, does not open and encode a frame at DEFAULT_FPS with `pix_fmt` (a
    hardware encoder without its device, a format it lists but refuses, Dirac at some sizes), or None when it
    does."""
    try:
        ctx = av.CodecContext.create(codec, "w")
        ctx.width, ctx.height = encoded_size(size)
        ctx.pix_fmt = pix_fmt
        ctx.time_base, ctx.framerate = 1 / Fraction(DEFAULT_FPS), Fraction(DEFAULT_FPS)
        ctx.options = _quiet(av, codec)
        ctx.open()
        frame = av.VideoFrame.from_image(Image.new("RGB", encoded_size(size))).reformat(format=pix_fmt)
        frame.pts, frame.time_base = 0, ctx.time_base
        ctx.encode(frame)
        ctx.encode(None)
    except (av.FFmpegError, ValueError, OSError) as e:
        return _why(e)
    return None


def _rate(source: Clip, fps: float):
    if source.kind == "video" and source.rate:
        return source.rate, source.time_base
    rate = Fraction(fps).limit_denominator(1001)
    if not rate > 0:
        raise VideoError(f"--fps {fps:g}: too low a frame rate to time (at least 0.01)")
    return rate, 1 / rate


class EncodingStopped(VideoError):
    """should_stop() said so while encoding: nothing was written (the frames are kept)."""

    def __init__(self, output=""):
        super().__init__(f"{output}: stopped while encoding; nothing was written (the frames are kept)")


def encode(frames_dir, output, source: Clip, codec: str | None = None, fps: float = DEFAULT_FPS,
           overwrite: bool = False, should_stop: Callable[[], bool] | None = None) -> Path:
    """Encode frames_dir/frame_00001.png ... (source.count of them) into `output` with the source's frame
    rate and time stamps, copying its audio; to a temporary name, then into place in one step (also on a
    filesystem without hard links). Before the first frame: the frames and the output (check_video_output: an
    existing one without overwrite, the container and `codec`, None for the container's own), with the output
    claimed (claims.holding: another run writing it is refused). should_stop() is asked before every frame:
    EncodingStopped, and the temporary file removed. A frame changed after the check (its images.file_stamp):
    ImageError, nothing written; the interpreter's exit (a script ending while a thread encodes): EncodingStopped,
    and the exit waits for it. Raises VideoError, ImageError, ClaimError."""

    if not isinstance(source, Clip):
        raise VideoError(f"source: the Clip of the frames (video.open_clip), not {type(source).__name__}")
    arguments.names(frames_dir=frames_dir)
    arguments.files(output=output)
    arguments.flags(overwrite=overwrite)
    arguments.functions(should_stop=should_stop)
    should_stop = unpinned(should_stop)  # (in the run's folder: its names lead from there)
    _codec_argument(codec)
    av, fps, source = _av(), check_fps(fps), current(source)
    unread.check(dict(video_file=True, frames_in=source.kind == "folder"), ["fps"] if fps != DEFAULT_FPS else [],
                 error=VideoError)  # (a video's own rate is kept)
    output = Path(output)
    check_not_inputs([source.path, *source.files], [output])
    if claims.folder_held(frames_dir):  # (another run writing the frames: they are not finished)
        raise VideoError(f"{frames_dir}: another stylize run{claims.owner(Path(frames_dir) / claims.FOLDER_LOCK)} is "
                         f"writing these frames; wait for it to end")
    if not os.path.isdir(frames_dir):
        raise VideoError(f"{frames_dir}: " + (f"is {images.kind_of(frames_dir)}, not a frames folder" if
                                              os.path.exists(frames_dir) else "no such frames folder"))
    files = [frame_path(frames_dir, n) for n in range(1, source.count + 1)]
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        raise VideoError(f"{missing[0]}: missing; the frames are not all finished")
    stamps = [_file_stamp(f) for f in files]  # (before the check reads them: each is encoded as it was checked)
    for f in files:  # (a frame that decodes from a damaged file, or changed since, would be encoded as it reads)
        try:
            changed = images.not_as_recorded(images.ours(f), images.read_back(f), f)
            if changed:
                raise ImageError(f"{f}: {changed}")
        except ImageError as e:
            raise VideoError(f"{e}; make that frame again (move it away, then rerun the video into this folder)") \
                from None
    _check_one_run(files, source)
    size = images.load_image(files[0]).size  # (as each frame is read below: EXIF orientation applied)
    codec = check_video_output(output, codec, size, source, fps, overwrite)
    with synthesis.running(), claims.holding(output):  # (a script ending meanwhile: stopped, and its exit waits)
        return _encode(av, dict(zip(files, stamps)), output, source, codec, size, fps, overwrite, should_stop)


def _file_stamp(file: Path) -> tuple | None:
    """The frame's images.file_stamp (None where it cannot be seen: load_image names why)."""
    try:
        return images.file_stamp(os.stat(file))
    except OSError:
        return None


def _check_one_run(files: list[Path], source: Clip) -> None:
    """VideoError unless the frames stylize made (their metadata's "video") are one run's finished frames of
    `source`: one run's marks (frame_marks: clip, styles, settings; a single pass's later frame made from the frame
    before it, as it is), each of the last pass and not partial, made as the frame of its number from this clip
    (clip_key: another clip's rate, time stamps and audio would be given to them). Frames of the user's own, with
    no such metadata, are encoded as they are (but never mixed with stylize's)."""
    metas = [images.ours(f) for f in files]
    if not any(isinstance(m.get("video"), dict) for m in metas):
        return
    made_from = metas[0].get("video", {}).get("clip") if isinstance(metas[0].get("video"), dict) else None
    if made_from is not None and made_from != clip_key(source):  # (frames of older versions record none)
        raise VideoError(f"{files[0]}: made from another clip than {source.path} (from "
                         f"{metas[0]['video'].get('source')}); encode the frames with the Clip they were made from")
    for i, (f, meta) in enumerate(zip(files, metas)):
        info = meta.get("video")
        if not isinstance(info, dict):
            raise VideoError(f"{f}: not a frame stylize made, among frames it made; one video is made from one run's "
                             f"frames")
        if info.get("frame") != i + 1:  # (copied or renamed: a resume refuses it too, recorded_pass)
            raise VideoError(f"{f}: made as frame {arguments.quoted(info.get('frame'))} of the clip, not frame {i + 1} "
                             f"(copied or renamed since); one video is made from one run's frames, each in its place: "
                             f"run the video again with --overwrite to redo it")
        if "follows" in info:  # a single pass's later frame: made from the frame before it, as that frame is
            one_run = i > 0 and info["follows"] == metas[i - 1]["video"].get("fingerprint")  # (a dict: checked there)
        else:  # any other: of the first frame's mark
            one_run = info.get("fingerprint") == metas[0]["video"].get("fingerprint")
        if not one_run:
            other = files[i - 1] if "follows" in info and i else files[0]
            raise VideoError(f"{f}: a frame of another run than {other.name} (other inputs or settings); one video "
                             f"is made from one run's frames: run the video again to finish them")
        if meta.get("partial") or info.get("pass", 1) != info.get("passes", 1):
            raise VideoError(f"{f}: not finished (stopped, or an earlier pass's); run the video again to finish it")


@contextlib.contextmanager
def _through_temp(av, output: Path, overwrite: bool):
    """A video encoded into a temporary file beside `output` (yielded) and moved into place in one step when the
    block ends (images.place: without `overwrite`, never over a file that appeared meanwhile); FFmpeg's and the
    disk's errors as one VideoError; the temporary file never left behind, whatever ends the block."""
    try:
        tmp = _temp_file(output)
    except OSError as e:
        raise VideoError(f"{output}: cannot write it ({_why(e)})") from None
    try:
        yield tmp
        images.place(tmp, output, overwrite)
    except av.FFmpegError as e:
        raise VideoError(f"{output}: cannot encode it ({_why(e)})") from None
    except OSError as e:
        raise VideoError(f"{output}: cannot write it ({_why(e)})") from None
    finally:
        tmp.unlink(missing_ok=True)


def _encode(av, files, output: Path, source: Clip, codec: str, size, fps, overwrite: bool, should_stop) -> Path:
    rate, time_base = _rate(source, fps)
    with _through_temp(av, output, overwrite) as tmp:
        src = av.open(_url(source.path)) if source.kind == "video" and source.audio else None
        try:
            out, stream, audio = _open_output(av, tmp, codec, size, rate, time_base, src)
            with out:
                for n, (f, stamp) in enumerate(files.items()):
                    if (should_stop is not None and should_stop()) or synthesis.EXITING.is_set():
                        raise EncodingStopped(output)
                    im = images.load_image(f)
                    if _file_stamp(f) != stamp:  # (after the check: another's file put there is not what was checked)
                        raise ImageError(f"{f}: replaced during this run (it differs from its first read): the video "
                                         f"would mix two versions of it; run again once it stays put")
                    if im.size != size:
                        raise VideoError(f"{f}: {im.size[0]}x{im.size[1]} px, but the first frame is "
                                         f"{size[0]}x{size[1]}")
                    frame = av.VideoFrame.from_image(even_sided(im, stream.width, stream.height))
                    pts = source.pts[n] if source.kind == "video" and n < len(source.pts) else None
                    frame.pts = pts if pts is not None else n
                    frame.time_base = time_base
                    for packet in stream.encode(frame):
                        out.mux(packet)
                for packet in stream.encode(None):
                    out.mux(packet)
                if src is not None:
                    for packet in src.demux(*src.streams.audio):
                        if packet.dts is None:
                            continue
                        packet.stream = audio[packet.stream.index]
                        out.mux(packet)
        finally:
            if src is not None:
                src.close()
    return output


def remove_work_folder(folder: Path, count: int) -> None:
    """Remove a video output's frames folder once the video is written: only the frames this run made
    (frame_00001.png ... up to `count`), then the folder if nothing else is in it; any other file is kept."""
    folder = Path(folder)
    for n in range(1, count + 1):
        if _made_here(frame_path(folder, n)):  # (a file put at a frame's name meanwhile is the user's: kept)
            frame_path(folder, n).unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError:
        pass  # something else is in it: keep it


def write_clip(frames: list[Image.Image], output, fps: float = DEFAULT_FPS, codec: str | None = None,
               overwrite: bool = False) -> Path:
    """Encode in-memory frames, all of one size, as a video (bench/make_clip.py, the tests), as encode does (each
    read as a file of it is, sides made even, the container's codec by default; the output claimed, written under a
    temporary name and moved into place). VideoError before any encoding for an existing `output` without
    `overwrite`, frames of several sizes or that cannot be read, and for what check_video_output refuses (a name
    that is no video's, an encoder that is none or does not work here or at this size or rate, a container that
    cannot hold it); ClaimError while another run writes `output`; VideoError, nothing written, when the
    interpreter exits meanwhile (a script ending while a thread encodes: the exit waits for it)."""
    arguments.files(output=output)
    arguments.flags(overwrite=overwrite)
    _codec_argument(codec)
    if not isinstance(frames, (list, tuple)) or not frames or not all(isinstance(f, Image.Image) for f in frames):
        raise VideoError("frames: a list of PIL images, at least one")
    try:  # (each as a file of it is read: its size is the turned one)
        frames = [images.read_in_memory(f, f"frame {n}") for n, f in enumerate(frames, 1)]
    except StylizeError as e:
        raise VideoError(str(e)) from None
    sizes = sorted({f.size for f in frames})
    if len(sizes) > 1:
        raise VideoError(f"frames: all of one size (as read: EXIF orientation applied), not "
                         f"{' and '.join(f'{w}x{h}' for w, h in sizes[:2])}")
    av, fps, output = _av(), check_fps(fps), Path(output)
    # (the command line's checks of the name, the encoder at this size and rate, and the container)
    codec = check_video_output(output, codec, sizes[0], Clip(output, "folder", len(frames), sizes[0]), fps, True)
    with synthesis.running(), claims.holding(output):  # (a script ending meanwhile: stopped, and its exit waits)
        images.check_not_held(output)
        if os.path.lexists(output) and not overwrite:
            raise VideoError(f"{output}: already exists; pass overwrite=True to replace it")
        with _through_temp(av, output, overwrite) as tmp:
            out, stream, _ = _open_output(av, tmp, codec, sizes[0], Fraction(fps).limit_denominator(1001), None)
            with out:
                for im in frames:
                    if synthesis.EXITING.is_set():
                        raise VideoError(f"{output}: stopped as the script ended; nothing was written")
                    for packet in stream.encode(av.VideoFrame.from_image(even_sided(im, stream.width, stream.height))):
                        out.mux(packet)
                for packet in stream.encode(None):
                    out.mux(packet)
    return output


# The Python API (README: Python API), each checking its arguments; the pieces of the temporal term (Flow, warp,
# warp_onto, reliability, held_to, long_term_weights, sharpness, temporal_error: docs/video.md) take tensors as a
# run makes them and check nothing.
__all__ = ["Clip", "EncodingStopped", "FrameProgress", "VideoError", "VideoOptions", "VideoPlan", "VideoResult", "encode",
           "make_video", "open_clip", "stylize_frames", "write_clip"]
