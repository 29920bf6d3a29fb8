"""VGG-19's convolutional layers, once: the table every other module derives names, depths, channel
counts, strides and torchvision indices from. Plain Python (no torch), so the command line's --help
stays fast."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LayerError

# (channels, convolutions) of VGG-19's five blocks; each block but the last ends in a 2x2 pooling layer.
BLOCKS: tuple[tuple[int, int], ...] = ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))


@dataclass(frozen=True)
class ConvLayer:
    """One convolution of VGG-19 by the paper's name; its "response" is the rectified output."""

    name: str  # conv{block}_{i}
    block: int  # 1..5
    index: int  # torchvision vgg19().features index of the convolution (its ReLU is index + 1)
    channels: int  # N_l, filters
    in_channels: int

    @property
    def stride(self) -> int:
        """Input pixels per response position along each axis (the poolings before this block)."""
        return 2 ** (self.block - 1)


def _table() -> tuple[ConvLayer, ...]:
    out, index, in_channels = [], 0, 3
    for block, (channels, n) in enumerate(BLOCKS, 1):
        for i in range(1, n + 1):
            out.append(ConvLayer(f"conv{block}_{i}", block, index, channels, in_channels))
            index += 2
            in_channels = channels
        index += 1  # the block's pooling layer
    return tuple(out)


TABLE: tuple[ConvLayer, ...] = _table()
BY_NAME: dict[str, ConvLayer] = {layer.name: layer for layer in TABLE}
LAYERS: tuple[str, ...] = tuple(layer.name for layer in TABLE)
CONV_INDEX: dict[str, int] = {layer.name: layer.index for layer in TABLE}
PAPER_STYLE_LAYERS: tuple[str, ...] = tuple(f"conv{b}_1" for b in range(1, 6))


def check_layer(name: str) -> str:
    if name not in BY_NAME:
        raise LayerError(f"unknown layer {name!r}; VGG-19's layers are {', '.join(LAYERS)}")
    return name


def deepest(names) -> str:
    """The deepest of the named layers (the network is truncated after it)."""
    return max(names, key=LAYERS.index)


def up_to(name: str) -> tuple[ConvLayer, ...]:
    """Every layer from conv1_1 to `name`, in order."""
    return TABLE[: LAYERS.index(name) + 1]


def min_side(names) -> int:
    """Smallest image side (pixels) for which every named layer still has one position."""
    return BY_NAME[deepest(names)].stride
