"""Checks of the Python API's arguments before any work (README: Python API): an argument of the wrong type is one
SettingsError line naming it, never a TypeError halfway through a run, and never read as another type would be (a
string "no" is not False)."""

from __future__ import annotations

import decimal
import json
import numbers
import os
import sys

from .errors import SettingsError


def _span_of_time(value) -> bool:
    """Whether `value` is numpy's timedelta64, which numpy registers as an integer though it is a span of time, no
    number (int() refuses one with a unit; one without a unit is no count either)."""
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.timedelta64)


def is_whole(value) -> bool:
    """Whether `value` is a whole number of any of Python's or numpy's integer types (never True or False, nor
    numpy's timedelta64)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and not _span_of_time(value)


def is_real(value) -> bool:
    """Whether `value` is a number of any of Python's or numpy's real types (a Fraction or a Decimal too, but not
    Decimal's signalling NaN, which float() refuses; never True or False, nor numpy's timedelta64)."""
    if isinstance(value, decimal.Decimal):
        return not value.is_snan()
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and not _span_of_time(value)


def as_float(value) -> float:
    """A real number of any of Python's or numpy's types as a float: OverflowError beyond a float's range (as
    float()), ValueError for one too small to be told from 0 (Fraction(1, 10**400): never taken for 0, "off", as
    the command line's 1e-400). Each caller says which, in its own words."""
    number = float(value)
    if number == 0 and value != 0:
        raise ValueError("too small to be told from 0")
    return number


def type_name(value) -> str:
    """A value's type as a message names it: numpy's bool_ is "numpy.bool" (not Python's bool, which is taken)."""
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__.split('.')[0]}.{kind.__name__}"


def quoted(value, limit: int = 40) -> str:
    """repr() of a value for a message, cut at `limit` characters; an integer too long for Python to write out
    (over sys.get_int_max_str_digits() digits, a ValueError) is said so."""
    try:
        return repr(value)[:limit]
    except ValueError:
        return f"a number of more than {sys.get_int_max_str_digits()} digits"


def _shown(value) -> str:
    text = quoted(value, 41)
    return text if len(text) <= 40 else f"a {type(value).__name__}"


def given_twice(items, key=None):
    """The first of `items` equal (by `key`) to an earlier one, else None: an item given twice (a layer, a ratio, a
    layer set, a frame distance) is refused everywhere, never run twice or merged (README: What is never lost, 2)."""
    seen = []
    for item in items:
        k = item if key is None else key(item)
        if k in seen:
            return item
        seen.append(k)
    return None


def flags(**named) -> None:
    """Each argument is True or False (`overwrite="no"` would replace files: a non-empty string is true)."""
    for name, value in named.items():
        if not isinstance(value, bool):
            raise SettingsError(f"{name}: True or False, not {_shown(value)}")


def functions(**named) -> None:
    """Each argument is None or a function (a callback, should_stop, on_...)."""
    for name, value in named.items():
        if value is not None and not callable(value):
            raise SettingsError(f"{name}: a function (or None), not {_shown(value)}")


def names(**named) -> None:
    """Each argument is None or a file or folder name (a str or an os.PathLike of one) without a NUL byte."""
    for name, value in named.items():
        if value is None:
            continue
        text = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
        if not isinstance(text, str):
            raise SettingsError(f"{name}: a file name (a str or a path), not {_shown(value)}")
        if "\0" in text:
            raise SettingsError(f"{name}: a file name cannot hold a NUL byte")
        if not text:  # (" " is a name; "" would be the current folder, or the default name, silently)
            raise SettingsError(f"{name}: the name is empty; give a file or folder name")


def files(**named) -> None:
    """Each argument is None or the name of a file to write (names): not one only a folder can have ('out.png/',
    'out/.'), which would be written as another file (settings.names_a_folder; the command line's -o refuses it)."""
    from .settings import names_a_folder

    names(**named)
    for name, value in named.items():
        if value is not None and names_a_folder(os.fspath(value)):
            raise SettingsError(f"{name}: {os.fspath(value)!r:.60} names a folder; give a file name")


# Every key stylize writes in an output's metadata (api.Session.metadata with a job's meta, an intermediate's, a
# figure's and its cells', a video frame's, a mark's, a contact sheet's): resumes and "partial" read them, so metadata given to the API adds keys
# beside these and never sets one (tests/test_arguments.py holds the list complete).
OWN_KEYS = frozenset({
    "stylize", "command", "layer", "layers", "settings", "content", "style", "styles", "blend", "inputs", "width",
    "height", "device", "torch", "weights_sha256", "content_loss", "style_loss", "loss", "iterations", "evaluations",
    "stopped", "partial", "memory", "intermediate", "intermediate_of", "cell", "video", "frames_for", "mark_of",
    "mark_sha256", "cells", "ratios", "style_layer_sets", "figure", "contact_sheet", "start", "extra_terms",
    "metadata_in", "missing",
})
COMMAND_LINE_KEYS = frozenset({"argv", "preset"})  # what the command line records of itself (CommandLineMetadata)


class CommandLineMetadata(dict):
    """The command line's record of itself (its argv, its --preset): the one `metadata` that may hold
    COMMAND_LINE_KEYS; a script's may not (a figure saved with {"preset": "quality"} would claim a preset no
    part of stylize applied)."""


def _json_number(value):
    """A number of numpy's (or Fraction) as JSON's; TypeError for anything else JSON has no value for (a set, bytes,
    an array: written as text, they would not be what was given, nor the same bytes twice)."""
    if is_whole(value):
        return int(value)
    if is_real(value):
        try:
            return as_float(value)
        except OverflowError:
            raise TypeError(f"{type_name(value)} {quoted(value, 30)} is beyond a float's range") from None
        except ValueError:
            raise TypeError(f"{type_name(value)} {quoted(value, 30)} is too small to be told from 0") from None
    raise TypeError(f"a {type_name(value)} is not JSON")


def mappings(**named) -> tuple:
    """Each argument is None or a dict of metadata added to an output's, that JSON can hold: text keys, none of
    stylize's own (OWN_KEYS: `partial=False` would make a stopped run's output pass for a finished one), nor the
    command line's (COMMAND_LINE_KEYS, but in its own CommandLineMetadata); SettingsError. Returns each as it is
    now, as it will be written (a copy through JSON: the caller's dict changed during the run changes nothing)."""
    kept = []
    for name, value in named.items():
        if value is not None and not isinstance(value, dict):
            raise SettingsError(f"{name}: a dict (or None), not {_shown(value)}")
        if value is not None and not all(isinstance(k, str) for k in value):
            raise SettingsError(f"{name}: a dict whose keys are texts (they become the metadata's keys)")
        own = sorted((OWN_KEYS if isinstance(value, CommandLineMetadata) else OWN_KEYS | COMMAND_LINE_KEYS)
                     .intersection(value or ()))
        if own:
            raise SettingsError(f"{name}: {own[0]!r} is a key stylize records itself (resumes read it); give your "
                                f"keys other names")
        try:  # (as images.save_image writes it, after the work: a dict of mixed keys or one holding itself; NaN
            text = json.dumps(value, sort_keys=True, default=_json_number, allow_nan=False)  # is no JSON)
        except (TypeError, ValueError, RecursionError) as e:
            raise SettingsError(f"{name}: cannot be written as JSON ({e}); give texts, finite numbers, lists and dicts "
                                f"with text keys") from None
        kept.append(None if value is None else (CommandLineMetadata if isinstance(value, CommandLineMetadata)
                                                else dict)(json.loads(text)))
    return tuple(kept)


def made_key(record) -> str:
    """A dataclass the API hands out (a Job, a Plan, a Clip) as one text of its fields but `made` and `stamp`, to
    be seen unchanged when it comes back: a copy by dataclasses.replace (which leaves `made` empty), a field
    assigned or a list edited in place, or one made by hand is not what the API checked. A PIL image counts by
    its pixels (targets.digest: one changed in place since is another input)."""
    from dataclasses import fields, is_dataclass

    from PIL import Image

    from .targets import digest

    def plain(value):
        if isinstance(value, Image.Image):
            return "image", digest(value)
        if is_dataclass(value) and not isinstance(value, type):
            return type(value).__name__, [(f.name, plain(getattr(value, f.name))) for f in fields(value)
                                          if f.name not in ("made", "stamp")]
        if isinstance(value, (list, tuple)):
            return type(value).__name__, [plain(v) for v in value]
        if isinstance(value, dict):
            return "dict", [(repr(k), plain(v)) for k, v in value.items()]
        return value

    return repr(plain(record))


def seal(record):
    """`record` (a frozen dataclass with a `made` field, init=False) marked as the API hands it out: its made_key."""
    object.__setattr__(record, "made", made_key(record))
    return record


def sealed(record) -> bool:
    """Whether `record` is as seal() left it: not a copy by dataclasses.replace (`made` empty), not edited since,
    not made by hand."""
    return bool(record.made) and record.made == made_key(record)
