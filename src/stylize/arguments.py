"""Checks of the Python API's arguments before any work (README: Python API): an argument of the wrong type is one
SettingsError line naming it, never a TypeError halfway through a run, and never read as another type would be (a
string "no" is not False)."""

from __future__ import annotations

import os

from .errors import SettingsError


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"a {type(value).__name__}"


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


def mappings(**named) -> None:
    """Each argument is None or a dict (metadata added to an output's)."""
    for name, value in named.items():
        if value is not None and not isinstance(value, dict):
            raise SettingsError(f"{name}: a dict (or None), not {_shown(value)}")
        if value is not None and not all(isinstance(k, str) for k in value):
            raise SettingsError(f"{name}: a dict whose keys are texts (they become the metadata's keys)")
