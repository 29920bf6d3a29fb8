"""Exceptions the library raises; the CLI turns each into a one-line message and exit status 1 (a UsageError: 2)."""


class StylizeError(Exception):
    """Base class: a problem the user can act on (bad input, missing weights, no memory)."""


class ImageError(StylizeError):
    """An image cannot be read, is too small, or an output cannot be written."""


class WeightsError(StylizeError):
    """A weights source cannot be found, downloaded, read, or does not fit VGG-19."""


class LayerError(StylizeError):
    """A layer name that VGG-19 does not have, or a layer list that does not fit."""


class DeviceError(StylizeError):
    """The requested device is not available."""


class OutOfMemoryError(StylizeError):
    """The run would not fit in the memory of the chosen device."""


class SettingsError(StylizeError):
    """A setting out of range (non-positive size, NaN ratio, ...)."""


class ManifestError(StylizeError):
    """A batch manifest or file list that cannot be used."""


class NonFiniteError(StylizeError):
    """The loss is not finite even at the start of the optimization."""


class ClusterError(StylizeError):
    """A batch cannot go onto many machines: Ray missing or unreachable, an output folder its workers
    cannot see, `--shard auto` outside a job array."""


class ClaimError(StylizeError):
    """Another live run is writing the same output or frames folder (claims.py), or its claim cannot be made."""


class UsageError(StylizeError):
    """The arguments themselves cannot be used as given (a report named twice): exit status 2, as Click's own."""
