"""Spatial control (Gatys et al. 2017): masks that divide an image into regions, and each region's guide
at every layer of the network.

A mask is either one image with a colour per region (a photograph's sky white, its town black), or
grayscale files joined by '+' (`sky.png+town.png`), one per region, region k being the k-th file. For a
style image, a colour name or #rrggbb instead of a file puts the whole artwork in that region.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.nn.functional as nnf
from PIL import Image, ImageColor

from .errors import ImageError, SettingsError
from .layers import BY_NAME, deepest, up_to

MIN_SHARE = 0.002  # a colour covering less of a colour-coded mask is an edge or a compression artefact


def key_name(key) -> str:
    return f"#{key[0]:02x}{key[1]:02x}{key[2]:02x}" if isinstance(key, tuple) else f"region {key}"


def _colour(spec: str):
    if os.path.lexists(spec) or not spec or any(c in spec for c in "/\\."):  # (a name that exists is that file)
        return None
    try:
        return ImageColor.getrgb(spec)[:3]
    except ValueError:
        return None


def is_colour(spec) -> bool:
    """Whether a mask's spec (or its recorded fingerprint) is a colour of the content mask, not a file."""
    return isinstance(spec, str) and _colour(spec) is not None


def check_count(style_masks, styles: int) -> None:
    """One style mask per style image, in order: SettingsError otherwise (the CLI and Session share it)."""
    if len(style_masks) != styles:
        raise SettingsError(f"{len(style_masks)} --style-mask for {styles} style image(s): give one per style "
                            f"image, in order")


def mask_files(spec: str | None) -> list[str]:
    """The files a mask names: the file itself, or each grayscale file of 'a.png+b.png' (a file whose own
    name holds '+' is itself); none for a colour or no mask."""
    if not spec or _colour(spec) is not None:
        return []
    return [spec] if os.path.lexists(spec) or "+" not in spec else spec.split("+")  # (a link to nothing: that name)


def fingerprint(spec: str, key) -> str:
    """What a mask is, beyond its name: a colour's own name, else `key` (a digest of an image's pixels) of each
    file it names, joined by '+'."""
    files = mask_files(spec)
    return "+".join(key(f) for f in files) if files else spec


def read(spec: str, image_size: tuple[int, int], what: str) -> dict:
    """{region key: guide (H, W) float tensor in [0, 1]} for the image of size `image_size` (w, h). A mask
    file has that size, or is that image scaled (the same aspect ratio: a video's frames are resized to
    --size, the mask drawn on the clip's frames is resized with them, nearest-neighbour so that its
    colours stay exact); ImageError otherwise."""
    from PIL import Image

    from .images import fitted_size, load_image

    colour = _colour(spec)
    if colour is not None:
        w, h = image_size
        return {colour: torch.ones(h, w)}
    if not spec:
        raise ImageError("an empty mask name: give a mask file or a colour")
    files = mask_files(spec)
    if len(files) == 1 and not os.path.lexists(spec):
        raise ImageError(f"{spec}: no such file, and not a colour name or #rrggbb")
    regions = {}
    for k, f in enumerate(files, 1):
        im = load_image(f)
        if im.size != tuple(image_size) and fitted_size(im.size, max(image_size)) == tuple(image_size):
            im = im.resize(tuple(image_size), Image.Resampling.NEAREST)
        if im.size != tuple(image_size):
            raise ImageError(f"{f}: the mask is {im.size[0]}x{im.size[1]} px but {what} is "
                             f"{image_size[0]}x{image_size[1]} px; a mask must have its image's size (or its "
                             f"shape, scaled)")
        if len(files) > 1:
            data = torch.frombuffer(bytearray(im.convert("L").tobytes()), dtype=torch.uint8)
            regions[str(k)] = data.view(im.size[1], im.size[0]).float() / 255
        else:
            regions.update(_colour_regions(im))
    if all(float(t.max()) == 0 for t in regions.values()):
        raise ImageError(f"{spec}: the mask has no region")
    return regions


def _colour_regions(im: Image.Image) -> dict:
    """One binary guide per colour that covers at least MIN_SHARE of the mask; every other pixel
    joins the region of the nearest such colour."""
    w, h = im.size
    rgb = torch.frombuffer(bytearray(im.convert("RGB").tobytes()), dtype=torch.uint8).view(-1, 3)
    colours, inverse, counts = torch.unique(rgb, dim=0, return_inverse=True, return_counts=True)
    main = counts >= max(1, MIN_SHARE * h * w)
    if not bool(main.any()):
        main = counts == counts.max()
    palette = colours[main].float()  # (R, 3)
    nearest = torch.cdist(colours.float(), palette).argmin(dim=1)  # each colour's region
    label = nearest[inverse].view(h, w)
    return {tuple(int(v) for v in palette[r].tolist()): (label == r).float() for r in range(len(palette))}


def response_size(height: int, width: int, layer: str) -> tuple[int, int]:
    """(h, w) of a layer's response for an input of height x width (each 2x2 pooling floors)."""
    for _ in range(BY_NAME[layer].block - 1):
        height, width = height // 2, width // 2
    return height, width


def layer_guides(T: torch.Tensor, layers, mode: str = "simple") -> dict[str, torch.Tensor]:
    """Each layer's guide (1, 1, h, w) from an image-sized guide T (H, W).

    simple: the mask resized (nearest) to the layer's resolution; inside: only the units whose receptive
    field lies inside the region (the guide eroded by every 3x3 convolution and 2x2 pooling on the way).
    """
    T = T[None, None].float()
    H, W = T.shape[-2:]
    if mode == "simple":
        return {name: nnf.interpolate(T, size=response_size(H, W, name), mode="nearest") for name in layers}
    wanted, out, block = set(layers), {}, 1
    for layer in up_to(deepest(layers)):
        if layer.block != block:
            T = -nnf.max_pool2d(-T, 2)  # the pooling unit sees all four inputs
            block = layer.block
        T = -nnf.max_pool2d(-T, 3, stride=1, padding=1)  # the 3x3 convolution (padding is not a region)
        if layer.name in wanted:
            out[layer.name] = T
    return out


def plan(content_regions: dict, style_regions: list[dict], blend: tuple[float, ...], content_name: str,
         style_names: list[str]) -> dict:
    """{content region key: [(style index, blend weight renormalised within the region), ...]}; every
    region must have a counterpart on the other side."""
    out = {}
    for key in content_regions:
        sources = [(i, blend[i]) for i, regions in enumerate(style_regions) if key in regions and blend[i] > 0]
        if not sources:
            raise SettingsError(f"{key_name(key)} of the content mask {content_name} has no counterpart in any "
                                f"style mask (with a blend weight > 0)")
        total = sum(w for _, w in sources)
        out[key] = [(i, w / total) for i, w in sources]
    for i, regions in enumerate(style_regions):
        for key in regions:
            if key not in content_regions:
                raise SettingsError(f"{key_name(key)} of the style mask {style_names[i]} has no counterpart in the "
                                    f"content mask {content_name}")
    return out


@dataclass(frozen=True)
class Regions:
    """The regions of one job, read once: the photograph's, each artwork's, and which artworks (with which
    renormalised blend weights) supply each photograph region's style."""

    content: dict  # {region key: guide (H, W) at the photograph's size}
    styles: tuple  # per artwork, {region key: guide (H, W) at the artwork's size}
    sources: dict  # {content region key: [(style index, weight), ...]} (see plan)

    def blends(self) -> bool:
        """Whether a region takes its style from several artworks: only there do the blend weights count (they are
        renormalised within each region)."""
        return any(len(sources) > 1 for sources in self.sources.values())

    def used(self, style: int) -> bool:
        """Whether artwork `style` supplies any region."""
        return any(i == style for sources in self.sources.values() for i, _ in sources)


def read_regions(content_mask: str, style_masks, content_size: tuple[int, int], style_sizes, blend,
                 content_name: str, style_names) -> Regions:
    """Every mask of a job read and paired (ImageError for an unreadable or ill-sized mask, SettingsError for a
    region without counterpart or a wrong number of style masks). Sizes are (w, h) of the images at full size."""
    check_count(style_masks, len(style_sizes))
    content = read(content_mask, content_size, f"the content image {content_name}")
    styles = tuple(read(m, size, f"the style image {name}") for m, size, name in zip(style_masks, style_sizes,
                                                                                        style_names))
    return Regions(content, styles, plan(content, list(styles), blend, content_mask, list(style_masks)))


def resized(T: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """A region's guide (H, W) at another size, nearest (a region stays a region)."""
    return nnf.interpolate(T[None, None], size=(height, width), mode="nearest")[0, 0]


def mix(regions: Regions, style_targets: list, width: int, height: int, layers, mode: str = "simple") -> dict:
    """Per style layer, [(T^r of the output (1, 1, h, w), A^r), ...] over the regions present at that layer,
    A^r being the blend (weights of `regions.sources`) of the artworks' region Gram targets.

    style_targets[i]: {region key: {layer: A^r of artwork i}} or None for an artwork that supplies no region.
    ImageError when no region is large enough to guide any layer at this size."""
    out = {}
    for key, T in regions.content.items():
        guides = layer_guides(resized(T, height, width), layers, mode)
        for name in layers:
            parts = [(b, style_targets[i][key][name]) for i, b in regions.sources[key]]
            parts = [(b, A) for b, A in parts if A is not None]
            if not parts or float(guides[name].sum()) == 0:
                continue  # the region vanishes at this layer (a small region, or --guide inside)
            total = sum(b for b, _ in parts)
            A = sum(b * A for b, A in parts) / total
            out.setdefault(name, []).append((guides[name], A))
    if not out:
        raise ImageError("no region of the content mask is large enough to guide any style layer at this size")
    return out
