"""The targets of a synthesis: the input images at a size, the photograph's responses P^l and the artworks'
A^l / M_l (paper, Sec. 2), computed once and cached by the images' content.

A cache keyed by the identity of an image object returns an earlier image's targets once that object is
freed and its id reused; every key here is a digest of the pixels (and, for a file, the file is re-read
when it changes: images.file_stamp). Within one run of many syntheses (a figure's cells, a video's frames:
`pinned`), a file read again must hold the pixels it held at its first read: one output is never made from two
versions of an input replaced meanwhile.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
from collections import OrderedDict
from pathlib import Path

import torch
from PIL import Image

from . import claims, color, images, masks, synthesis
from .job import ImageLike, Job, describe
from .errors import ImageError

MAX_ENTRIES = 64  # targets kept (least recently used dropped first): a batch's styles, a video's recent frames
_pins: contextvars.ContextVar[dict | None] = contextvars.ContextVar("stylize_pins", default=None)  # {absolute
# name: contents at its first read} while a run is pinned (a context variable: the pass worker runs in the caller's)


@contextlib.contextmanager
def pinned():
    """A run of many syntheses (each with its own Session, as a grid's cells): every file read in it must keep
    the contents of its first read, else ImageError (the output would mix two versions of the file). Nested: the
    outermost block's. A file is known by its name as given, made absolute (a link re-pointed meanwhile is a
    replaced file)."""
    token = _pins.set({None: os.getcwd()}) if _pins.get() is None else None  # (None: the folder it began in)
    try:
        yield
    finally:
        if token is not None:
            _pins.reset(token)


def unpinned(fn):
    """`fn` (a user's callback, or None) run outside the pinned run that calls it: a run it starts is a run of its
    own (its files may differ from the caller's earlier reads; its claims are refused where the caller's hold).
    A callback runs in the folder the run began in, and a change of the working folder it makes is undone when
    it returns: the run's names (outputs, cells, claims, its report) lead from that folder, to its end. A child
    made by fork in the callback that returns into the run is ended (SystemExit, FORKED_CHILD): the run, its
    outputs and claims are the parent's."""
    if fn is None:
        return None

    def call(*args, **kwargs):
        token, held, folder, pid = _pins.set(None), claims.RUN.set(None), os.getcwd(), os.getpid()
        try:
            value = fn(*args, **kwargs)
        finally:
            claims.RUN.reset(held)
            _pins.reset(token)
            _back_to(folder)
        if os.getpid() != pid:  # a child made by fork in the callback, back in its parent's run
            raise SystemExit(FORKED_CHILD)
        return value
    return call


FORKED_CHILD = ("stylize: a process forked in a callback cannot go on with its parent's run (its outputs and claims "
                "are the parent's); end the child with os._exit()")


def _back_to(folder: str) -> None:
    """The working folder made `folder` again, where a callback changed it."""
    try:
        moved = os.getcwd() != folder
    except OSError:  # (the folder it moved to was removed)
        moved = True
    if moved:
        with contextlib.suppress(OSError):
            os.chdir(folder)


def pinning() -> bool:
    """Whether a pinned run is going on here."""
    return _pins.get() is not None


def pin_key(name) -> str:
    """A file's name in the pinned run: made absolute from the folder the run began in (a script that changes
    folder mid-run reads another file under the same name: a replaced file)."""
    files = _pins.get()
    return os.path.join(files[None] if files else os.getcwd(), os.fspath(name))


def pinned_value(key: str):
    """What `key` (pin_key of a file's name) held at its first read in the pinned run going on here; None if none."""
    files = _pins.get()
    return None if files is None else files.get(key)


def check_pinned(source, key: str, pixels) -> None:
    """ImageError when `key` (pin_key of a file's name, or an in-memory image's identity) was read earlier in the
    pinned run with other contents (`pixels`: an image's digest, or a weights file's SHA-256)."""
    files = _pins.get()
    if files is not None and files.setdefault(key, pixels) != pixels:
        raise ImageError(f"{source}: replaced during this run (it differs from its first read): the output would mix "
                         f"two versions of it; run again once it stays put")


def digest(image: Image.Image) -> str:
    """A digest of an image's mode, size and pixels: equal pixels, equal digest."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{image.mode}:{image.size}".encode())
    h.update(image.tobytes())
    return h.hexdigest()


def network_key(net) -> tuple:
    """Which network computed a target (vgg.network: its weights file's real path and version, pooling and
    normalization): a weights file replaced between two runs of one Session is another network, whose targets are
    computed again, never mixed with the old one's."""
    return getattr(net, "identity", (id(net),))


class Targets:
    """Images and the targets computed from them on one device, keyed by content (LRU, MAX_ENTRIES).

    Raises what images.load_image raises (ImageError for an unreadable or missing file)."""

    def __init__(self, device: torch.device, max_entries: int = MAX_ENTRIES):
        self.device = device
        self.max_entries = max_entries
        self._files: dict[tuple, tuple[Image.Image, str]] = {}  # (path, size, mtime) -> (RGB image, digest)
        self._cache: OrderedDict[tuple, object] = OrderedDict()

    # -- images ---------------------------------------------------------------------------------
    def opened(self, source: ImageLike) -> tuple[Image.Image, str]:
        """(the RGB image, its digest)."""
        if isinstance(source, Image.Image):  # (read as a file of it would be: EXIF, transparency, 16-bit, float)
            rgb = images.read_in_memory(source, describe(source))
            pixels = digest(rgb)
            check_pinned(describe(source), f"image:{id(source)}", pixels)  # (changed in place during the run)
            return rgb, pixels
        path = Path(source)
        try:
            st = path.stat()
            key = (str(path.resolve()), images.file_stamp(st))
        except OSError:
            key = None  # load_image gives the right error
        if key is None or key not in self._files:
            im = images.load_image(source)
            if key is None:
                return im, digest(im)
            if len(self._files) >= self.max_entries:
                self._files.clear()
            self._files[key] = (im, digest(im))
        check_pinned(source, pin_key(source), self._files[key][1])
        return self._files[key]

    def image(self, source: ImageLike) -> Image.Image:
        """The image, RGB, at its own size (EXIF orientation applied)."""
        return self.opened(source)[0]

    def key(self, source: ImageLike) -> str:
        return self.opened(source)[1]

    def sized(self, source: ImageLike, long_side: int) -> torch.Tensor:
        """(1, 3, h, w) in [0, 1] on the device, the long side `long_side` px (images.fit)."""
        return images.to_tensor(images.fit(self.image(source), long_side)).to(self.device)

    def photo(self, source: ImageLike, long_side: int | None = None) -> torch.Tensor:
        """The photograph (1, 3, H, W) at its own size, or at `long_side`, for the colour hooks."""
        im = self.image(source)
        return images.to_tensor(im if long_side is None else images.fit(im, long_side)).to(self.device)

    # -- targets --------------------------------------------------------------------------------
    def _cached(self, key: tuple, compute):
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        value = compute()
        self._cache[key] = value
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        return value

    def content(self, net, job: Job, long_side: int, policy: color.Policy) -> dict[str, torch.Tensor]:
        """P^l of the job's photograph at its content layers, (1, N_l, h, w) each."""
        def compute():
            x = policy.prepare_content(self.sized(job.content, long_side))
            return synthesis.content_targets(net, x, job.content_layers)
        return self._cached(("content", network_key(net), self.key(job.content), long_side, job.content_layers,
                             policy.key), compute)

    def style(self, net, source: ImageLike, long_side: int, layers, policy: color.Policy,
              photo: ImageLike | None = None) -> dict[str, torch.Tensor]:
        """A^l / M_l (N_l, N_l) of one artwork at `layers`, as the colour policy prepares it against `photo`."""
        def compute():
            return synthesis.style_targets(net, self.style_image(source, long_side, policy, photo), layers)
        return self._cached((network_key(net), *self._style_key("style", source, long_side, layers, policy, photo)),
                            compute)

    def style_image(self, source: ImageLike, long_side: int, policy: color.Policy,
                    photo: ImageLike | None = None) -> torch.Tensor:
        """The artwork (1, 3, h, w) as the network sees it."""
        x = self.sized(source, long_side)
        return x if photo is None else policy.prepare_style(x, self.photo(photo))

    def _style_key(self, kind: str, source, long_side, layers, policy, photo) -> tuple:
        depends = (policy.key, self.key(photo)) if policy.key and photo is not None else ()
        return (kind, self.key(source), long_side, tuple(layers), depends)

    def blended_style(self, net, job: Job, long_side: int, policy: color.Policy) -> dict[str, torch.Tensor]:
        """Per style layer, sum_i b_i A_i^l / M_i^l over the job's artworks (blend weights b_i)."""
        parts = [(b, self.style(net, im, long_side, job.style_layers, policy, job.content))
                 for im, b in zip(job.styles, job.blend) if b]
        if len(parts) == 1 and parts[0][0] == 1.0:
            return parts[0][1]
        return {name: sum(b * t[name] for b, t in parts) for name in job.style_layers}

    def regions(self, job: Job) -> masks.Regions:
        """The job's masks, read once per content of its images (ImageError, SettingsError: masks.read_regions)."""
        masks_now = tuple(masks.fingerprint(m, self.key) if m is not None else None  # (the files' pixels: a mask
                          for m in (job.content_mask, *job.style_masks))  # replaced under its name is read again)
        key = ("regions", masks_now, self.key(job.content), tuple(self.key(im) for im in job.styles), job.blend)
        return self._cached(key, lambda: masks.read_regions(
            job.content_mask, job.style_masks, self.image(job.content).size, [self.image(im).size for im in job.styles],
            job.blend, describe(job.content), [describe(im) for im in job.styles]))

    def guided_style(self, net, job: Job, width: int, height: int, long_side: int, policy: color.Policy) -> dict:
        """Per style layer, [(T^r (1, 1, h, w), A^r), ...] for an output of width x height (masks.mix)."""
        regions = self.regions(job)
        layers = job.style_layers
        per_style = []
        for i, style in enumerate(job.styles):
            if not regions.used(i):
                per_style.append(None)
                continue
            x = self.style_image(style, long_side, policy, job.content)
            h, w = x.shape[-2:]
            guides = {key: masks.layer_guides(masks.resized(T, h, w), layers, job.guide)
                      for key, T in regions.styles[i].items()}
            keys = list(guides)
            found = synthesis.guided_style_targets(
                net, x, {name: [guides[k][name].to(self.device) for k in keys] for name in layers})
            per_style.append({k: {name: found[name][n] for name in layers} for n, k in enumerate(keys)})
        mixed = masks.mix(regions, per_style, width, height, layers, job.guide)
        return {name: [(T.to(self.device), A) for T, A in parts] for name, parts in mixed.items()}

    def forget(self, source: ImageLike | None = None) -> None:
        """Drop every target computed from `source` (all targets and images when None)."""
        if source is None:
            self._cache.clear()
            self._files.clear()
            return
        key = self.key(source)
        for k in [k for k in self._cache if key in k or any(isinstance(p, tuple) and key in p for p in k)]:
            del self._cache[k]
