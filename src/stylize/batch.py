"""Batches: manifests, globs, deterministic shards, resume, per-pair reports. One network for all."""

from __future__ import annotations

import csv
import dataclasses
import glob
import hashlib
import json
import math
import os
import re
import stat
import string
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, NamedTuple

import torch

from . import arguments, synthesis
from .arguments import given_twice
from .claims import claim_file
from .errors import ClusterError, ImageError, ManifestError, SettingsError, StylizeError, UsageError, WeightsError
from .images import (NAME_MAX, OWN_NAMES, check_folder_name, check_mark, check_name, check_not_held,
                     check_writable, file_digest, file_stamp, fitted_size, holds_metadata, load_image, make_folder,
                     max_side, missing_folders, no_folder, output_format, parse_json, path_key, ours, remove_empty,
                     not_a_file, same_file, save_image, shown_size, sidecar_path, taken, through_link, kind_of,
                     as_given, empty_file, read_back, not_as_recorded)
from .job import inputs as job_inputs, transfer_job
from .plan import BLEND_UNREAD, BLEND_UNREAD_WHY
from .masks import is_colour
from .report import Record, Report
from .settings import MAX_COUNT, NUMBER_RANGE, STARTS, Settings, names_a_folder, number, settings_of, shown, whole
from .targets import digest, unpinned
from .unread import check_settings, recorded as settings_read
from .weights import identity

MAX_SHARDS = MAX_COUNT  # as --shard I/N's N

COLUMNS = ("content", "style", "output", "blend")  # a manifest line's fields (CSV header, JSON keys)
DEFAULT_TEMPLATE = "{content}__{style}.png"  # an output's name: the inputs' file stems


class Row(NamedTuple):
    """One line of a manifest: a photograph, one or more artworks, an output or None, blend weights or None."""

    content: str
    styles: tuple[str, ...]
    output: str | None = None
    blend: tuple[float, ...] | None = None
    error: str | None = None  # what is wrong with this line alone (its blend weights): the pair fails, the rest run


@dataclass
class Pair:
    index: int  # position in the whole manifest (before sharding), 0-based
    content: str
    styles: tuple[str, ...]
    output: Path
    blend: tuple[float, ...] | None = None  # None: the command's --style-blend, or equal
    error: str | None = None  # set: this pair fails without running (see Row.error)
    total: int | None = None  # pairs in the whole manifest (before sharding): the report's manifest_pairs
    manifest: "Files | None" = None  # every file of the whole manifest (all shards), set by plan()
    named: bool = True  # False: no output name could be made (an unreadable line): `output` is --out-dir, the
    # report's record names none
    out_dir: Path | None = None  # the folder plan() named the outputs in (run_batch refuses another)
    elsewhere: str = "choose another --out-dir"  # how the user writes this output elsewhere (an absolute or '..'
    # name is not moved by --out-dir: the manifest's output, or --name-template)

    @property
    def style(self) -> str:
        return ";".join(self.styles)


@dataclass(frozen=True)
class Files:
    """The files a whole manifest reads (content and style images) and writes (outputs), before sharding: a
    shard's report or contact sheet must be none of them (another shard reads and writes them)."""

    reads: tuple[str, ...]
    writes: tuple[Path, ...]
    digest: str = ""  # sha256 of every pair (position, images, output, blend): which manifest, in a report
    pairs: frozenset = frozenset()  # each pair's pair_key as plan() made it: run_batch refuses any other pair


def pair_key(p: Pair) -> str:
    """A pair as plan() made it (position, images, output, blend, error, manifest's count, folder), as one text."""
    return json.dumps([p.index, p.content, list(p.styles), str(p.output) if p.named else "",
                       None if p.blend is None else list(p.blend), p.error, type(p.output).__name__, p.total,
                       str(p.out_dir), p.elsewhere, p.named], default=repr)


def pairs_digest(pairs: list[Pair]) -> str:
    """The sha256 (hex) of the pairs as a report records them: two manifests of as many pairs are told apart."""
    h = hashlib.sha256()
    for p in pairs:
        h.update(json.dumps([p.index, p.content, list(p.styles), str(p.output) if p.named else "",
                             None if p.blend is None else list(p.blend)]).encode() + b"\n")
    return h.hexdigest()


class Share(list):
    """A shard's pairs (a list of Pair, shard()), which knows the whole manifest even when it holds none of its
    pairs (--shard 4/4 of 3 pairs): its report still counts the manifest's pairs, its checks its files."""

    def __init__(self, pairs, total: int, manifest: Files | None):
        super().__init__(pairs)
        self.total, self.manifest = total, manifest


def manifest_files(pairs: list[Pair]) -> Files:
    """The whole manifest's Files (plan() gives every pair of a shard the same), or these pairs' own."""
    if isinstance(pairs, Share) and pairs.manifest is not None:
        return pairs.manifest
    if pairs and pairs[0].manifest is not None:
        return pairs[0].manifest
    return Files(tuple(f for p in pairs for f in (p.content, *p.styles) if f),
                 tuple(p.output for p in pairs if p.error is None), pairs_digest(pairs))


def _blend(value, where: str) -> tuple[float, ...] | None:
    """Blend weights from a manifest: a JSON list of numbers, or a CSV cell '3,7' / '3;7'. ManifestError naming
    the first weight that is not one, or out of NUMBER_RANGE (by its position: JSON has already read 1e400 as
    inf, which the user never wrote)."""
    if value is None or value == "":
        return None
    if value == []:
        raise ManifestError(f"{where}: the blend list is empty; give a weight per artwork, e.g. [3, 7]")
    items = value if isinstance(value, list) else str(value).replace(";", ",").split(",")
    if not isinstance(value, list) and any(not v.strip() for v in items):  # CSV '1;' or '1,,2'
        raise ManifestError(f"{where}: the blend cell {shown(value, 60)} has an empty item; separate the weights "
                            f"with single ';' or ','")
    low, high = NUMBER_RANGE
    weights = []
    for k, v in enumerate(items, 1):
        what = f"{where}: blend weight {k} of {len(items)}"
        if isinstance(v, _Unreadable):  # (JSON: read, and refused, as the command line refuses it)
            raise ManifestError(f"{what}: {v.why}")
        if isinstance(v, bool) or (isinstance(value, list) and not isinstance(v, (int, float))):  # true, [1, "2"]
            raise ManifestError(f"{what} is not a number ({_as_json(v)}); blend weights are numbers")
        try:
            w = float(v) if isinstance(v, (int, float)) else number(v)
        except ValueError as e:  # (the number's own words: not one, or too small to be told from 0)
            raise ManifestError(f"{what}: {e}") from None
        except OverflowError:  # (a JSON integer of 400 digits: past any float)
            w = math.inf
        if w == 0:  # (read, but it changes nothing, and a resume would check that image too)
            raise ManifestError(f"{what} is 0: its style image would have no effect; leave that image out")
        if not low <= w <= high:
            why = "not a number" if math.isnan(w) else "negative" if w < 0 else "too large" if w > high else "too small"
            raise ManifestError(f"{what} is {why}: a weight is from {low:g} to {high:g}")
        weights.append(w)
    return tuple(weights)


def split_styles(cell: str) -> tuple[str, ...]:
    """A CSV cell's artworks: ';' separates several, except that a cell naming an existing file is that
    one file (a file whose name holds ';' needs no escaping). The rule of every input: a name that
    exists is that file (a folder or a link to nothing there: that name, refused as what it is); only what does
    not exist is read as a list or a pattern."""
    if os.path.lexists(cell):
        return (cell,)
    items = tuple(v.strip() for v in cell.split(";"))
    if "" in items and any(items):  # (read short, a blend column would no longer match its artworks)
        raise ManifestError(f"the style cell {shown(cell, 60)} has an empty item; separate the artworks with single "
                            f"semicolons")
    return tuple(v for v in items if v)


MAX_CELL = 4096  # characters of a manifest's path (PATH_MAX): a longer cell is a damaged line
MAX_WIDTH = 255  # largest width or precision in a name template's format spec (a file name's length)


def _unread(where: str) -> Row:
    """A manifest line that cannot be read: its pair fails alone, with the line's number."""
    return Row("", (), None, None, where)


def _as_json(value) -> str:
    """A JSON value as a message quotes it: as the user wrote it (false, "2", 3; not Python's False), or its
    length when long."""
    text = value.text if isinstance(value, _Unreadable) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 30 else shown(text, 30)


def _row(content, style, output, blend, where: str) -> Row:
    # JSON gives several styles as a list; a JSON string is one file name, ';' and all
    styles = tuple(style) if isinstance(style, list) else (style,) if isinstance(style, str) else ()
    bad = next((k for k, v in enumerate(styles, 1) if not (isinstance(v, str) and v)), None)
    if isinstance(style, list) and not style:
        raise ManifestError(f"{where}: \"style\" is an empty list; give at least one file name")
    if isinstance(style, list) and bad is not None:  # ["a.png", 3], [["a.png"]]: name the item
        raise ManifestError(f"{where}: style {bad} of {len(styles)} is not a file name ({_as_json(styles[bad - 1])})")
    if not isinstance(content, str):  # ["a.png"], 3, null: say what it is
        raise ManifestError(f"{where}: \"content\" is a file name (text), not {_as_json(content)}")
    if not isinstance(style, (str, list)):
        raise ManifestError(f"{where}: \"style\" is a file name or a list of them, not {_as_json(style)}")
    if not content or not styles or bad is not None:
        raise ManifestError(f"{where}: needs a content and at least one style")
    if output is not None and not isinstance(output, str):
        raise ManifestError(f"{where}: \"output\" must be a file name; leave it out to use the name template")
    for name in (content, *styles, output or ""):
        if "\x00" in name:
            raise ManifestError(f"{where}: a path holds a NUL byte")
        try:
            os.fsencode(name)
        except UnicodeEncodeError:  # a lone surrogate ("\ud800" in JSON): no file can have that name
            raise ManifestError(f"{where}: a path holds a character no file name can (a lone surrogate)") from None
        if len(name) > MAX_CELL:
            raise ManifestError(f"{where}: a path of {len(name)} characters (at most {MAX_CELL})")
    error = f"{where}: \"output\" {output} names a folder: give a file name" if names_a_folder(output) else None
    try:
        weights = _blend(blend, where)
        if weights is not None and len(weights) != len(styles):
            raise ManifestError(f"{where}: {len(weights)} blend weights for {len(styles)} style image(s)")
        if weights is not None and len(styles) == 1:  # (read, but it changes nothing: a usage slip, as the option's)
            raise ManifestError(f"{where}: a blend weight for one style image has no effect; leave it out")
    except ManifestError as e:
        weights, error = None, error or str(e)
    return Row(content, styles, output or None, weights, error)  # JSON: as written (" " is a name; "": the template's)


def read_manifest(text: str, where: str = "manifest") -> list[Row]:
    """Rows from CSV with a header content,style[,output][,blend], or from JSON lines {"content": ...,
    "style": ... or [...], "output": ..., "blend": [...]}. Several styles: a JSON list, or ';' in a CSV
    cell (a cell naming an existing file is that file). A line that cannot be read (not JSON, too deep,
    a NUL byte, a cell over MAX_CELL characters, no content or style) is a Row with its `error` and its
    line number: that pair fails alone. ManifestError for an empty manifest or a CSV without the header."""
    text = text.removeprefix("\ufeff")
    stripped = text.lstrip()
    if not stripped:
        raise ManifestError(f"{where} is empty")
    rows = []
    if stripped.startswith("{"):
        for n, line in enumerate(lines_of(text), 1):
            if not line.strip():
                continue
            at = f"{where} line {n}"
            try:
                try:
                    obj = parse_json(line, object_pairs_hook=_unique_keys, parse_float=_json_number)
                except ManifestError as e:  # _unique_keys
                    raise ManifestError(f"{at}: {e}") from None
                except ValueError as e:
                    raise ManifestError(f"{at}: not JSON ({getattr(e, 'msg', e)})") from None
                if not isinstance(obj, dict):  # (a line after the first that is a list, a number)
                    raise ManifestError(f"{at}: a JSON object {{\"content\": ..., \"style\": ...}}, not "
                                        f"{_as_json(obj)}")
                empty = next((k for k in ("content", "style") if obj.get(k) == ""), None)
                if empty:
                    raise ManifestError(f"{at}: \"{empty}\" is an empty name; give a file name")
                if "content" not in obj or "style" not in obj:  # (what either holds instead of a name: _row)
                    raise ManifestError(f"{at}: needs \"content\" and \"style\"")
                if "output" in obj and obj["output"] is None:  # (only "" means the name template's)
                    raise ManifestError(f"{at}: \"output\" must be a file name, not null; leave it out to use the "
                                        f"name template")
                unknown = sorted(set(obj) - set(COLUMNS))
                if unknown:  # a typo ("Output") would silently fall back to the template's name
                    raise ManifestError(f"{at}: unknown key {unknown[0]!r}; a line has {', '.join(COLUMNS)}")
                if obj.get("blend") is not None and not isinstance(obj["blend"], list):  # "3;7" is CSV's syntax
                    raise ManifestError(f"{at}: \"blend\" is a list of numbers, e.g. [3, 7], not "
                                        f"{_as_json(obj['blend'])}")
                rows.append(_row(obj["content"], obj["style"], obj.get("output"), obj.get("blend"), at))
            except ManifestError as e:
                rows.append(_unread(str(e)))
        return rows
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))  # a long cell is that line's error (MAX_CELL), not the file's
    try:
        lines = lines_of(text)
        first = next(n for n, line in enumerate(lines) if line.strip())
        header = [h.strip().lower() for h in next(csv.reader([lines[first]]))]
        if "content" not in header or "style" not in header:
            raise ManifestError(f"{where}: not a manifest: JSON lines, or CSV whose header names the columns "
                                "content,style[,output][,blend]")
        twice = [h for h in dict.fromkeys(header) if header.count(h) > 1]
        if twice:
            raise ManifestError(f"{where}: the CSV header names the column {twice[0]!r} twice")
        unknown = [h.strip() for h in next(csv.reader([lines[first]])) if h.strip().lower() not in COLUMNS]
        if unknown:  # (as written)
            raise ManifestError(f"{where}: unknown column {unknown[0]!r}; the columns are content, style, output, "
                                f"blend")
        for n, line in enumerate(lines[first + 1:], first + 2):  # one pair per line: a stray quote costs one line
            if not line.strip():
                continue
            at = f"{where} line {n}"
            try:
                try:
                    cells = next(csv.reader([line], strict=True))
                except csv.Error as e:
                    raise ManifestError(f"{at}: not CSV ({e}); a name with a quote or a line break is written "
                                        f"in JSON lines") from None
                if len(cells) > len(header):
                    raise ManifestError(f"{at}: {len(cells)} cells for the {len(header)} columns of the header")
                row = dict(zip(header, cells))
                content, style = _cell(row.get("content")), _cell(row.get("style"))
                empty = next((c for c, v in (("content", content), ("style", style)) if not v), None)
                if empty and len(cells) < len(header):  # a line of one cell: say so, not "empty"
                    raise ManifestError(f"{at}: {len(cells)} cell{'s' * (len(cells) != 1)} for the {len(header)} "
                                        f"columns of the header (no {empty})")
                if empty:
                    raise ManifestError(f"{at}: the {empty} cell is empty")
                try:
                    styles = list(split_styles(style))
                except ManifestError as e:
                    raise ManifestError(f"{at}: {e}") from None
                rows.append(_row(content, styles, (row.get("output") or "").strip() or None,
                                 (row.get("blend") or "").strip(), at))
            except ManifestError as e:
                rows.append(_unread(str(e)))
    finally:
        csv.field_size_limit(limit)
    if not rows:  # a header alone: no pair, as an empty manifest
        raise ManifestError(f"{where} has a header and no pairs")
    return rows


def lines_of(text: str) -> list[str]:
    """A manifest's lines: split at \\n, \\r\\n and \\r only (str.splitlines also splits at form feeds, U+0085
    and U+2028, which are characters of file names)."""
    return re.split(r"\r\n|\r|\n", text)


class _Unreadable(float):
    """A JSON number the command line would refuse (1e-400, which float() makes 0: "off"): NaN, with its text and
    the reason, so that the line is still read and its field (a blend weight) is named in the refusal."""

    text, why = "", ""


def _json_number(text: str) -> float:
    """A JSON number with a fraction or an exponent, as the command line reads one (settings.number)."""
    try:
        return number(text)
    except ValueError as e:
        bad = _Unreadable("nan")
        bad.text, bad.why = text, str(e)
        return bad


def _unique_keys(pairs: list) -> dict:
    """A JSON object whose keys are all different (json.loads keeps the last of two, silently)."""
    keys = [k for k, _ in pairs]
    twice = next((k for k in keys if keys.count(k) > 1), None)
    if twice is not None:
        raise ManifestError(f"the key {twice!r} is given twice")
    return dict(pairs)


def _cell(value: str | None) -> str:
    """A CSV cell as a name: as written when a file of that name exists (' sp.png'), else without the
    spaces around it."""
    value = value or ""
    return value if value.strip() != value and os.path.exists(value) else value.strip()


def check_template(template: str) -> str:
    """A name template's placeholders are {content}, {style} and {index}, with format specs of widths up
    to MAX_WIDTH; ManifestError otherwise (before any formatting: '{index:>99999999999}' would not fit in
    memory)."""
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as e:
        raise ManifestError(f"name template {template!r}: {e}") from None
    if names_a_folder(template):
        raise ManifestError(f"name template {template!r} names a folder: give a file name")
    if any(not c.isprintable() for c in template):  # ('\r' typed into a name; a fill's are refused below)
        raise ManifestError(f"name template {template!r} holds a control character; file names here are printable")
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if conversion:
            raise ManifestError(f"name template {template!r}: a conversion (!{conversion}) has no use in a name; "
                                f"write {{{name}}} or {{{name}:SPEC}}")
        if name not in ("content", "style", "index"):
            raise ManifestError(f"name template {template!r}: unknown placeholder {name!r}; use {{content}}, "
                                f"{{style}}, {{index}}")
        if "{" in (spec or "") or any(int(d) > MAX_WIDTH for d in re.findall(r"\d+", spec or "")):
            raise ManifestError(f"name template {template!r}: the format spec {spec!r} is not a width of at most "
                                f"{MAX_WIDTH}")
        # a placeholder's text stays inside its name: no character code ('c': {index:c} is a NUL, a '/' or a
        # line break) and no fill with a separator or a control character ('{content:/>9}': an absolute path)
        if spec and (spec.rstrip().endswith("c") or (len(spec) > 1 and spec[1] in "<>=^"
                                                     and (spec[0] in "/\\" or not spec[0].isprintable()))):
            raise ManifestError(f"name template {template!r}: the format spec {spec!r} would put a separator or a "
                                f"control character in a name; use a width, an alignment and a printable fill")
        try:  # {content} and {style} are text, {index} a whole number: '{content:x}' or '{index:s}' cannot apply
            format({"index": 1}.get(name, "a"), spec or "")
            if name == "index" and spec and spec[-1] in "eEfFgG%":  # (a float's: 0.000000e+00.png)
                raise ValueError(spec)
        except (ValueError, TypeError):
            kind = "a whole number" if name == "index" else "text"
            raise ManifestError(f"name template {template!r}: the format spec {spec!r} does not apply to {{{name}}}, "
                                f"which is {kind}") from None
    fixed = template.format(content="", style="", index=0)  # (the part of every name no file's name changes)
    longest = max((len(os.fsencode(part)) for part in fixed.split("/")), default=0)
    if longest > NAME_MAX:
        raise ManifestError(f"name template {template!r} gives names of {longest} bytes before any file's name is in "
                            f"them; a name is at most {NAME_MAX}")
    return template


def expand(patterns) -> list[str]:
    """Paths and globs, each glob sorted; a pattern that matches nothing is an error. A name that exists (a
    file, a folder, a link even to nothing) is that name, even when it looks like a glob ('photo[1].png')."""
    out = []
    for pattern in patterns:
        if glob.has_magic(pattern) and not os.path.lexists(pattern):
            matches = sorted(p for p in glob.glob(_existing_folders_literal(pattern)) if os.path.isfile(p))
            if not matches:
                raise ManifestError(f"{pattern}: matches no file")
            out += matches
        else:
            out.append(pattern)
    return out


def _existing_folders_literal(pattern: str) -> str:
    """A glob whose leading folders that exist are taken as named ('dir[1]/*.png' with a folder 'dir[1]': its
    files, not dir1's): escaped, as a file that exists is that file."""
    parts = Path(pattern).parts
    k = 0
    while k < len(parts) - 1 and os.path.isdir(os.path.join(*parts[:k + 1])):
        k += 1
    return os.path.join(glob.escape(os.path.join(*parts[:k])), *parts[k:]) if k else pattern


def plan(rows, out_dir: Path, template: str = DEFAULT_TEMPLATE) -> list[Pair]:
    """Pairs with their output paths; outputs must be distinct and must not be inputs."""
    check_template(template)
    pairs, seen = [], {}
    for index, row in enumerate(rows):
        if not isinstance(row, Row):  # a plain (content, style, output[, blend]) tuple
            row = _row(*row[:3], row[3] if len(row) > 3 else None, f"pair {index + 1}")
        if row.error and not row.styles:  # a line that could not be read: it fails alone, writing nothing
            pairs.append(Pair(index, row.content, row.styles, Path(out_dir), None, row.error, named=False))
            continue
        output = row.output
        if output is None:
            try:
                output = template.format(content=Path(row.content).stem,
                                         style="+".join(Path(s).stem for s in row.styles), index=index)
            except (KeyError, IndexError, ValueError, AttributeError) as e:
                raise ManifestError(
                    f"name template {template!r}: unknown placeholder {e}; use {{content}}, {{style}}, {{index}}"
                ) from None
            if not os.path.basename(output) or names_a_folder(output):  # '{content:.0}': no name at all
                raise ManifestError(f"name template {template!r} gives {output!r} for pair {index + 1}, which names "
                                    f"no file")
            if OWN_NAMES.fullmatch(os.path.basename(output)):  # (.stylize-tmp-a.png's: not one of stylize's names)
                if template != DEFAULT_TEMPLATE:
                    raise ManifestError(f"name template {template!r} gives {output!r} for pair {index + 1}, a name "
                                        f"stylize keeps for its own hidden files; change --name-template")
                output = os.path.join(os.path.dirname(output), os.path.basename(output).lstrip("."))
            if ".." in Path(output).parts and ".." not in Path(template).parts:  # a file named '...png' (stem '..')
                pairs.append(Pair(index, row.content, row.styles, Path(out_dir), None,
                                  f"pair {index + 1}: the name template makes {output!r} of its file names, a name "
                                  f"that climbs out of --out-dir ('..'); rename the file or change the template",
                                  named=False))
                continue
        path = Path(output) if Path(output).is_absolute() else out_dir / output
        elsewhere = "choose another --out-dir" if not Path(output).is_absolute() and ".." not in Path(output).parts \
            else "give it another output in the manifest" if row.output is not None else "change --name-template"
        if row.output is not None and names_a_folder(row.output):  # (its Row's error says so)
            pairs.append(Pair(index, row.content, row.styles, path, None, row.error))
            continue
        try:
            output_format(path)
        except StylizeError as e:
            if row.output is None:  # the name template's: every pair's
                raise
            pairs.append(Pair(index, row.content, row.styles, path, None, f"pair {index + 1}: {e}"))
            continue  # a manifest line's own output: that pair fails alone, before any work (its record names it)
        if os.path.isdir(path):  # (this pair's alone, whoever named it)
            pairs.append(Pair(index, row.content, row.styles, path, None,
                              f"pair {index + 1}: {path}: is a directory; an output is a file"))
            continue
        key = path_key(path)  # resolved: two names of one file (a link, '..') are one output
        if row.error is None:  # (a line that fails alone writes nothing: no clash)
            if key in seen:
                raise ManifestError(f"pairs {seen[key] + 1} and {index + 1} would both write {path}")
            seen[key] = index
        pairs.append(Pair(index, row.content, row.styles, path, row.blend, row.error, elsewhere=elsewhere))
    inputs = {}
    read = [p for p in pairs if p.styles]
    for pair in read:
        for source in (pair.content, *pair.styles):
            inputs.setdefault(path_key(source), pair.index)
    for pair in read:
        owner = inputs.get(path_key(pair.output))
        if owner is not None:
            which = "one of its inputs" if owner == pair.index else f"an input of pair {owner + 1}"
            raise ManifestError(f"pair {pair.index + 1}: the output {pair.output} is {which}")
    folders = folders_made(pairs)
    for pair in read:
        if pair.error is None:
            for name, what in ((pair.output, "the output"), (sidecar_path(pair.output), "its output's mark name")):
                check_not_a_folder(name, folders, f"pair {pair.index + 1}: {what} {name}",
                                   "give one of them another output")
    for pair in pairs:
        pair.total, pair.out_dir = len(pairs), Path(out_dir)
    whole = replace(manifest_files(pairs), pairs=frozenset(pair_key(p) for p in pairs))  # (as made: run_batch checks)
    for pair in pairs:
        pair.manifest = whole
    return pairs


def folders_made(pairs: list[Pair]) -> dict[str, Pair]:
    """The folders the batch will make for its pairs' outputs (missing now: images.missing_folders), by path_key:
    the first pair written in each."""
    made = {}
    for pair in pairs:
        if pair.styles and pair.error is None and pair.output is not None:
            for folder in missing_folders(Path(pair.output).parent):
                made.setdefault(path_key(folder), pair)
    return made


def check_not_a_folder(path, folders: dict, what: str, fix: str) -> None:
    """ManifestError when `path` (what: "pair 2: the output o/d.png", "o/r.json: the report") is one of the
    folders the batch makes for a pair's output (folders_made): said before any work, not found to be a folder
    after it."""
    hit = folders.get(path_key(path))
    if hit is not None:
        raise ManifestError(f"{what} is a folder the batch makes: pair {hit.index + 1}'s output {hit.output} is "
                            f"written in it; {fix}")


def intake(manifest: str | None, contents=(), styles=(), out_dir: Path = Path("."),
           template: str = DEFAULT_TEMPLATE, share: tuple[int, int] | None = None, stdin=None,
           should_stop: Callable[[], bool] | None = None) -> list[Pair]:
    """The pairs of a batch: from a manifest file ('-': `stdin`; a path object is a file, Path('-') too), or
    every content x every style (each a name or glob, or a list of them); then planned (outputs named, checked)
    and sharded. ManifestError; KeyboardInterrupt when should_stop() says so while the manifest is still to be
    read (a pipe that has given nothing yet)."""

    arguments.functions(should_stop=should_stop)
    should_stop = unpinned(should_stop)  # (in the caller's folder: the manifest's names lead from there)
    contents, styles = _names(contents, "contents"), _names(styles, "styles")
    arguments.names(out_dir=out_dir)
    check_out_dir(out_dir)
    if not isinstance(template, str):
        raise ManifestError(f"template: a name template (a text), not {type(template).__name__}")
    if share is not None and not (isinstance(share, (list, tuple)) and len(share) == 2 and all(
            arguments.is_whole(v) for v in share) and 1 <= share[0] <= share[1] <= MAX_SHARDS):
        raise ManifestError(f"share: (I, N), whole numbers with 1 <= I <= N <= {MAX_SHARDS}, not "
                            f"{arguments.quoted(share)}")
    share = None if share is None else (int(share[0]), int(share[1]))
    if manifest is not None and not isinstance(manifest, (str, os.PathLike)):
        raise ManifestError(f"manifest: a file name or '-', not {type(manifest).__name__}")
    if isinstance(manifest, os.PathLike) and os.fspath(manifest) == "-":  # (a path object is a file, never the
        manifest = os.path.join(os.curdir, "-")  # keyword: Path("-") is ./-, as init=Path("content") is ./content)
    manifest = None if manifest is None else os.fspath(manifest)  # (a path object of bytes: check_sources refuses)
    check_sources(manifest, contents, styles)
    if manifest:
        rows = read_manifest(*_stoppable(lambda: _manifest_text(manifest, sys.stdin if stdin is None else stdin),
                                         should_stop))
    else:
        rows = [Row(c, (s,)) for c in expand(contents) for s in expand(styles)]
    pairs = plan(rows, Path(out_dir), template)
    if manifest and manifest != "-":  # the manifest is read too: no output, report or sheet may replace it
        planned = manifest_files(pairs)
        whole = Files((manifest, *planned.reads), planned.writes, planned.digest, planned.pairs)
        for pair in pairs:
            pair.manifest = whole
    return shard(pairs, *share) if share else pairs


def _names(value, what: str) -> tuple:
    """The API's contents or styles: one name (or glob) alone, or a list of them, None for none (ManifestError
    otherwise)."""
    value = (value,) if isinstance(value, (str, os.PathLike)) else () if value is None else value
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, os.PathLike)) and
                                                       isinstance(os.fspath(v), str) for v in value) or any(
            "\0" in os.fspath(v) for v in value):  # (a path object of bytes: no name this reads)
        raise ManifestError(f"{what}: a file name or glob (without a NUL byte), or a list of them, not "
                            f"{arguments.quoted(value, 80)}")
    option = {"contents": "--content", "styles": "--style"}[what]
    for name in (os.fspath(v) for v in value if isinstance(v, os.PathLike)):  # (named as given: its escaped
        if not os.path.isfile(name):  # pattern below would be told as a glob that matches nothing)
            raise ManifestError(f"{option} {name}: {not_a_file(name, folder_glob(name))}")
    return tuple(glob.escape(os.fspath(v)) if isinstance(v, os.PathLike) else v for v in value)  # (a path object
    # is a file, never a pattern)


def check_sources(manifest: str | None, contents=(), styles=()) -> None:
    """The pairs come from a manifest, or from contents x styles: ManifestError for neither or both, a manifest
    or a --content/--style name that is no file, or a glob that matches none (the command line's usage errors)."""
    if manifest is not None and not (isinstance(manifest, str) and manifest):  # ("" is no "no manifest"; " " a name)
        raise ManifestError("an empty MANIFEST name: give a manifest file, or '-' for standard input" if
                            isinstance(manifest, str) else f"manifest: a file name (a str or a path), not "
                                                          f"{arguments.quoted(manifest)}")
    if manifest and (contents or styles):
        raise ManifestError("give either a MANIFEST or --content/--style, not both")
    if not manifest and not (contents and styles):
        raise ManifestError("give a MANIFEST, or both --content and --style")
    if any(not os.fspath(name) for name in (*contents, *styles)):  # (" " is a name)
        raise ManifestError("an empty --content or --style name: give a file or a glob")
    if manifest and manifest != "-" and not os.path.exists(manifest):  # (a link to nothing is told as one)
        raise ManifestError(f"{manifest}: {not_a_file(manifest)}")
    if manifest == "-" and os.path.lexists("-"):  # as `noise` beside a file named noise: both are meant, maybe
        raise ManifestError("'-' reads the manifest from standard input, and a file named '-' is here: write ./- "
                            "for the file, or move it away")
    for option, names in (("--content", contents), ("--style", styles)):  # a missing input: a usage error
        for name in names:
            if (not glob.has_magic(name) or os.path.lexists(name)) and not os.path.isfile(name):
                raise ManifestError(f"{option} {name}: {not_a_file(name, folder_glob(name))}")
        try:
            expand(names)  # a glob that matches no file
        except ManifestError as e:
            raise ManifestError(f"{option} {e}") from None


def folder_glob(name) -> str:
    """A folder given as --content or --style, told so with a glob of its files to give instead."""
    return f"is a directory: give its files as a glob, e.g. {os.path.join(name, '*.jpg')}"


def _stoppable(read: Callable[[], object], should_stop: Callable[[], bool] | None):
    """read() (a pipe that gives nothing yet, a FIFO no one opens) on a daemon thread while this one looks at
    should_stop every synthesis.POLL seconds: KeyboardInterrupt as soon as it says so, as a Ctrl-C would be
    (cli.main: "Interrupted."); the read is left blocked, and a daemon thread outside torch ends with the process."""
    if should_stop is None:
        return read()
    box, done = [], threading.Event()

    def run():
        synthesis.boxed(read, box)
        done.set()

    threading.Thread(target=run, name="stylize-manifest", daemon=True).start()
    synthesis.waited(done, should_stop, KeyboardInterrupt)
    return synthesis.unboxed(box)


def _manifest_text(manifest: str, stdin) -> tuple[str, str]:
    """A manifest's text and its name for messages. Its bytes are read as the system reads file names
    (UTF-8; a byte that is not, as in a Latin-1 name, stays that byte of the name), the same from a file and
    from standard input, whatever the locale; read_manifest drops a byte-order mark."""
    try:
        if manifest == "-":
            if stdin is not None and not hasattr(stdin, "read"):
                raise ManifestError(f"stdin: a file object to read the manifest from, not {type(stdin).__name__}")
            if stdin is None or stdin.closed:  # (None: sys.stdin when descriptor 0 is closed)
                raise ManifestError("standard input is closed: pipe a manifest in, or name a file")
            data, where = getattr(stdin, "buffer", stdin).read(), "standard input"
        else:
            if os.path.isdir(manifest):
                raise ManifestError(f"{manifest}: is a directory, not a manifest")
            mode = os.stat(manifest).st_mode if os.path.exists(manifest) else stat.S_IFREG
            if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):  # (/dev/zero would be read without end)
                raise ManifestError(f"{manifest}: a device or socket, not a manifest (a file or a pipe)")
            try:
                with open(manifest, "rb") as f:  # also reads pipes such as <(printf ...)
                    data, where = f.read(), manifest
            except FileNotFoundError:
                raise ManifestError(f"{manifest}: {not_a_file(manifest)}") from None
        return (data if isinstance(data, str) else data.decode("utf-8", "surrogateescape")), where
    except (OSError, ValueError) as e:
        raise ManifestError(f"{manifest}: cannot read the manifest ({getattr(e, 'strerror', None) or e})") from None


def check_out_dir(out_dir) -> None:
    """--out-dir named as one of stylize's own hidden files, or inside a folder so named: ManifestError."""
    try:
        check_folder_name(out_dir, "--out-dir")
    except ImageError as e:
        raise ManifestError(str(e)) from None


def prepare(out_dir: Path, pairs: list[Pair]) -> list[Path]:
    """Create the output folders and make sure they can be written, before the first pair; returns the
    folders it created (for images.remove_empty, when a later check refuses the batch). --out-dir that cannot be
    made refuses the batch (ImageError); a pair's own folder (a manifest's `output` in a subfolder) that cannot
    fails that pair alone, as a bad `output` does."""
    check_out_dir(out_dir)  # (run_batch's own, where no pair names it)
    made = missing_folders(out_dir)
    make_folder(out_dir, "output folder")
    writing: dict[Path, list[Pair]] = {}
    for pair in pairs:
        if pair.styles and pair.error is None:
            writing.setdefault(pair.output.parent, []).append(pair)
    for folder in sorted(set(writing) - {Path(out_dir)}):
        made += missing_folders(folder)
        try:
            make_folder(folder, "output folder")
        except ImageError as e:
            for pair in writing[folder]:
                pair.error = f"pair {pair.index + 1}: {e}"
    return made


def shard(pairs: list[Pair], i: int, n: int) -> list[Pair]:
    """The i-th (1-based) of n disjoint shares: pairs whose manifest position is i-1 modulo n (none when i is
    more than the manifest's pairs)."""
    return Share([p for p in pairs if p.index % n == i - 1], manifest_total(pairs), manifest_files(pairs))


def manifest_total(pairs: list[Pair]) -> int:
    """How many pairs the whole manifest has (shards included): the report's manifest_pairs."""
    if isinstance(pairs, Share):
        return pairs.total
    return max((p.total for p in pairs if p.total is not None), default=len(pairs))


SLURM = ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_STEP",
         "SLURM_ARRAY_TASK_COUNT")
KUBERNETES = "JOB_COMPLETION_INDEX"  # an indexed Job's pod: its index, from 0 (the count is not in the environment)


def shard_from_environment(count: int | None = None, environ=None) -> tuple[int, int, str]:
    """`--shard auto[/N]`: this task's (I, N) from the job array that runs it, and a line saying where from.

    Slurm: I from SLURM_ARRAY_TASK_ID's place in the array (SLURM_ARRAY_TASK_MIN, _STEP; a task id of 0 or
    more), N from SLURM_ARRAY_TASK_COUNT or _MIN/_MAX. A Kubernetes indexed Job: I = JOB_COMPLETION_INDEX + 1,
    N = `count` (the Job's completions). `count`, when given, must agree with the engine's. ClusterError when
    no array job is there, or its variables do not make a share."""
    env = os.environ if environ is None else environ
    slurm, kubernetes = "SLURM_ARRAY_TASK_ID" in env, KUBERNETES in env
    if slurm and kubernetes:
        raise ClusterError(f"--shard auto: both Slurm (SLURM_ARRAY_TASK_ID) and Kubernetes ({KUBERNETES}) "
                           f"variables are set; give --shard I/N")
    if kubernetes:
        index = _whole(env, KUBERNETES)
        if count is None:
            raise ClusterError(f"--shard auto: a Kubernetes indexed Job gives the index ({KUBERNETES}={index}), "
                               f"not the count; write --shard auto/N with N the Job's completions")
        if index >= count:
            raise ClusterError(f"--shard auto/{count}: {KUBERNETES}={index} is not below {count}; N must be the "
                               f"Job's completions")
        return index + 1, count, f"Kubernetes indexed Job: {KUBERNETES}={index}, --shard auto/{count}"
    if not slurm:
        raise ClusterError(f"--shard auto: not in a job array (neither SLURM_ARRAY_TASK_ID nor {KUBERNETES} is "
                           f"set); give --shard I/N")
    task, low, step = (_whole(env, SLURM[0]), _whole(env, SLURM[1], 0), _whole(env, SLURM[3], 1))
    high = _whole(env, SLURM[2], None)
    tasks = _whole(env, SLURM[4], None)
    if tasks is None and high is None:
        raise ClusterError("--shard auto: SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor "
                           "SLURM_ARRAY_TASK_MAX; give --shard I/N")
    if step == 0 or (high is not None and high < low):  # not an array Slurm makes
        raise ClusterError(f"--shard auto: {SLURM[3]}={step} with ids from {low} to {high}: not a Slurm array's "
                           f"ids; give --shard I/N" if step == 0 else
                           f"--shard auto: {SLURM[2]}={high} is below {SLURM[1]}={low}; give --shard I/N")
    span = (high - low) // step + 1 if high is not None else None
    if tasks is not None and span is not None and tasks != span:
        raise ClusterError(f"--shard auto: a Slurm array with gaps ({tasks} tasks with ids {low} to {high}); "
                           f"use a range such as --array=0-{tasks - 1}, or --shard I/N")
    n = tasks if tasks is not None else span
    if n > MAX_SHARDS:
        raise ClusterError(f"--shard auto: a Slurm array of {n} tasks; at most {MAX_SHARDS} shards")
    place, off = divmod(task - low, step)
    if off or not 0 <= place < n:
        raise ClusterError(f"--shard auto: SLURM_ARRAY_TASK_ID={task} is not one of the array's {n} ids from "
                           f"{low} by {step}")
    if count is not None and count != n:
        raise ClusterError(f"--shard auto/{count}: the Slurm array has {n} tasks")
    told = ", ".join(f"{k}={env[k]}" for k in SLURM if k in env)
    return place + 1, n, f"Slurm array: {told}"


MAX_ARRAY_ID = 10**12  # the largest job array id, index or count read from the environment


def _whole(env, name: str, default=...) -> int | None:
    if name not in env and default is not ...:
        return default
    try:
        value = whole(env[name])
    except ValueError as e:  # (its own words: not digits, or thousands of them)
        raise ClusterError(f"--shard auto: {name}: {e}") from None
    if not 0 <= value <= MAX_ARRAY_ID:  # (no job array's ids or counts come near: a message quotes it whole)
        raise ClusterError(f"--shard auto: {name}={shown(env[name])} is "
                           f"{'negative' if value < 0 else f'over {MAX_ARRAY_ID:.0e}'}")
    return value


def kept(path: Path) -> dict | None:
    """The metadata of an earlier output (partial or finished; {} when it has none of stylize's, or cannot be
    read: left alone, never replaced); None when `path` is no file."""
    return ours(path) if os.path.isfile(path) else None


def made_by(meta: dict) -> str | None:
    """What else than a transfer made a stylize image (a figure, a reconstruction, a video's frame, a contact
    sheet), as words; None for a transfer's output, or an image of the user's (no metadata of stylize's)."""
    if not meta:
        return None
    if "contact_sheet" in meta:
        return "a batch's contact sheet"
    if "video" in meta:
        return "a video's frame"
    command = meta.get("command")
    return f"the output of stylize {command}" if isinstance(command, str) and command != "transfer" else None


def save_output(outcome, pair: Pair, replace: bool, metadata: dict | None = None) -> str | None:
    """Write a pair's result atomically (images.save_image: never over a file unless `replace`), with
    `metadata` added to its own; return the memory plan's note of the pair, if it has one."""
    save_image(outcome.image, pair.output, dict(outcome.metadata, **(metadata or {})), overwrite=replace)
    return (outcome.metadata.get("memory") or {}).get("note")


def triage(pair: Pair, record: Record, *, skip_existing: bool = False, overwrite: bool = False,
           settings: Settings | None = None, key=None) -> bool | None:
    """Decide a pair before any work. None when its record is final: failed (its manifest line's own error,
    a name too long, an existing output without --skip-existing or --overwrite, or one that is not this pair's)
    or skipped (a finished output, --skip-existing). Otherwise whether its output may be replaced: --overwrite,
    or our own partial output being redone. `key`: an image's pixel digest (targets.Targets.key: each image
    decoded once for a whole batch), for an earlier output's inputs (made_from)."""
    try:
        return _decide(pair, record, skip_existing, overwrite, settings, key)
    except StylizeError as e:
        record.status, record.error = "failed", str(e)
        return None


def _decide(pair: Pair, record: Record, skip_existing: bool, overwrite: bool, settings: Settings | None, key):
    """triage's body: StylizeError for a pair that fails before its work."""
    if pair.error:
        raise ManifestError(pair.error)
    check_name(pair.output)
    check_mark(pair.output)  # it may be written: a .bmp's mark name must hold nothing of the user's (said first)
    check_not_held(pair.output)  # (another run writing it: not "exists", nor kept by --skip-existing)
    if taken(pair.output) and not overwrite:
        how = ("move it away (a --skip-existing resume then makes it), or rerun with --overwrite in place of "
               "--skip-existing (which makes every pair again)" if skip_existing else
               "move it away or pass --overwrite")
        if not os.path.isfile(pair.output):  # a link to nothing, a pipe: not an output to skip, nor ours to redo
            raise ManifestError(f"{pair.output} exists and is not an image file (a link to nothing, a pipe, ...); "
                                f"{how}")
        try:  # (empty, truncated, damaged: no finished output to keep, nor one a resume may take for one)
            found = read_back(pair.output)
        except ImageError as e:
            raise ManifestError(f"{e}; it is kept: {how}") from None
        meta = kept(pair.output)  # (an input that cannot be read now: made_from raises, as the pair's run would)
        other = made_by(meta) or not_as_recorded(meta, found, pair.output) or made_otherwise(meta, settings) or \
            made_from(meta, pair, settings, key)
        if other:  # kept or redone, another run's image would be reported (and shown on the sheet) as this pair's
            again = ("rerun with --overwrite in place of --skip-existing (which makes every pair again)" if
                     skip_existing else "pass --overwrite to make it again")  # (the two flags are refused together)
            raise ManifestError(f"{pair.output} exists, {other}; {again}, or {pair.elsewhere}")  # (before the hint
            # below: --skip-existing would not keep it)
        if not skip_existing:
            raise ManifestError(f"{pair.output} already exists (use --skip-existing or --overwrite)")
        if not meta.get("partial", False):  # finished, or the user's: kept
            record.status = "skipped"
            record.carry(meta)  # (what its earlier run measured, if its format holds metadata)
            return None
    return overwrite or taken(pair.output)


def synthesize(session, pair: Pair, record: Record, replace: bool, *, metadata: dict | None = None, callback=None,
               should_stop=None) -> str | None:
    """Make one pair with `session` (api.Session) and write its output (save_output). The outcome goes into
    `record`: ok, interrupted (should_stop: the best image so far is saved, marked partial), pending (stopped
    before its first evaluation: no image, nothing written) or failed with its message (an unreadable input, out
    of memory, an output that appeared meanwhile or that another run is making). Returns the memory plan's note
    of the pair, if it has one."""
    start, note = time.perf_counter(), None
    try:
        with claim_file(pair.output):  # another run making this output: this pair fails now, not after its work
            check_not_held(pair.output)  # (again, now that it is claimed: a video that took its folder meanwhile)
            job = transfer_job(session.settings, pair.content, pair.styles, pair.blend)  # (a pair's own blend
            outcome = session.run(job, callback, should_stop)  # beats --style-blend: check_read)
            if outcome.unstarted:  # no image, nothing written, still to do
                record.status = "pending"
                return None
            note = save_output(outcome, pair, replace, metadata)
        record.status = "interrupted" if outcome.partial else "ok"
        record.content_loss, record.style_loss = outcome.content_loss, outcome.style_loss
        record.iterations, record.evaluations = outcome.iterations, outcome.evaluations
    except StylizeError as e:
        record.status, record.error = "failed", str(e)
    except torch.OutOfMemoryError:
        record.status, record.error = "failed", "out of memory (lower --size or --history)"
    record.seconds = round(time.perf_counter() - start, 3)
    return note


def stops(record: Record, continue_on_error: bool) -> bool:
    """Whether a pair's end ends the batch: it was interrupted, or it failed under --stop-on-error."""
    return record.status == "interrupted" or (record.status == "failed" and not continue_on_error)


def run(session, pairs: list[Pair], *, skip_existing: bool = False, overwrite: bool = False,
        continue_on_error: bool = True, should_stop=None, report: Report | None = None, on_pair=None, on_note=None,
        callback=None, metadata: dict | None = None) -> list[Record]:
    """Run every pair through one session (network loaded once; targets cached per image), in order.

    on_pair(record) is told when a pair ends, on_note(pair, note) of a pair's memory note; outputs carry
    `metadata` besides their own."""
    records = report.records if report is not None else [record_of(p) for p in pairs]
    if not continue_on_error and failed_at_start(pairs, records, report, on_pair, skip_existing=skip_existing,
                                                 overwrite=overwrite, settings=session.settings,
                                                 key=session.targets.key):
        return records
    for pair, record in zip(pairs, records):
        if synthesis.EXITING.is_set() or (should_stop is not None and should_stop()):  # (a script's end: a stop)
            break
        replace = triage(pair, record, skip_existing=skip_existing, overwrite=overwrite, settings=session.settings,
                         key=session.targets.key)
        if replace is not None:
            check_same_weights(session.settings.weights, report)
            try:
                note = synthesize(session, pair, record, replace, metadata=metadata, callback=callback,
                                  should_stop=should_stop)
            except KeyboardInterrupt:  # a second signal, at once: the report still tells what is at the output
                if record.status == "pending" and (kept(pair.output) or {}).get("partial"):
                    record.status = "interrupted"  # (saved on the first signal, just before this one came)
                if report is not None:
                    report.write()
                raise
            if note and on_note is not None:
                on_note(pair, note)
        finished(record, report, on_pair)
        if stops(record, continue_on_error):
            break
    return records


def check_same_weights(weights: str, report: Report | None) -> None:
    """WeightsError (the batch stops; its finished pairs are kept) when the weights file is no longer the one the
    batch's report records (replaced between two pairs): its report would name one network for pairs of two."""
    recorded = report.settings.get("weights_sha256") if report is not None else None
    if recorded is not None and identity(weights) != recorded:
        raise WeightsError(f"--weights {shown(weights)}: replaced during this batch (its SHA-256 is not the one its "
                           f"report records); the pairs finished before it, if any, are kept, made with the file as "
                           f"it was")


def failed_at_start(pairs: list[Pair], records: list[Record], report: Report | None, on_pair=None, *,
                    skip_existing: bool = False, overwrite: bool = False, settings: Settings | None = None,
                    key=None) -> bool:
    """--stop-on-error: a pair that fails before its work (its manifest line, its blend weights, a mask that does
    not fit it; its output, triage's: one that exists, cannot be read back or is not this pair's) is recorded
    failed at once, before any pair's work, and the batch stops there (True); False when none fails yet. The
    others are decided again at their turn (what is at their names may change meanwhile)."""
    for pair, record in zip(pairs, records):
        decided = dataclasses.replace(record)  # (a kept output's record is made at its turn, not here)
        triage(pair, decided, skip_existing=skip_existing, overwrite=overwrite, settings=settings, key=key)
        if decided.status == "failed":
            record.status, record.error = decided.status, decided.error
            finished(record, report, on_pair)
            return True
    return False


def record_of(pair: Pair) -> Record:
    return Record(pair.index, pair.content, pair.style, str(pair.output) if pair.named else "",
                  blend=list(pair.blend) if pair.blend is not None else None, styles=list(pair.styles))


def finished(record: Record, report: Report | None, on_pair=None) -> None:
    """A pair ended: the report is rewritten (unless it was moments ago), on_pair(record) told."""
    if report is not None:
        report.write(force=False)
    if on_pair is not None:
        on_pair(record)


def begin(pairs: list[Pair], out_dir, settings, *, report=None, inputs=(), skip_existing: bool = False,
          overwrite: bool = False, on_folders: Callable[[], None] | None = None) -> Report:
    """Every check of a batch before its first pair, and its Report (not yet written: Report.open).

    A pair whose artworks the blend weights do not fit fails alone; the output folders are created; the
    report (`report`, a path, or None) is checked against every input (`inputs`: more files never to be
    replaced, e.g. the manifest), the outputs and existing files; on_folders() is told once the output folders
    exist (the command line claims a contact sheet there); the caller loads the weights next (load_weights).
    ManifestError, ImageError, ClaimError; UsageError for skip_existing with overwrite (the command line's usage
    error)."""
    if skip_existing and overwrite:
        raise UsageError("skip_existing keeps finished outputs and overwrite replaces them: give one")
    for pair in pairs:
        if pair.blend is None and pair.error is None:
            try:
                settings.blend(len(pair.styles))
            except SettingsError as e:  # (--style-blend, for pairs of another count of styles)
                fix = "run it without --style-blend" if len(pair.styles) < 2 else "give the pair a blend of its own"
                pair.error = f"pair {pair.index + 1}: {e}; {fix}"
    read = {path_key(f): f for f in read_files(pairs, settings, inputs)}
    for pair in pairs:
        if pair.error is None and path_key(pair.output) in read:
            raise ManifestError(f"pair {pair.index + 1}: the output {pair.output} would replace "
                                f"{read[path_key(pair.output)]}, which the batch reads; choose another output")
    if report:  # (said before prepare makes it: not "is a directory")
        check_not_a_folder(report, folders_made(pairs), f"{report}: the report", "choose another --report path")
    check_shared(pairs, settings)
    check_masks(pairs, settings)
    made = prepare(Path(out_dir), pairs)
    try:
        recorded = settings_read(settings.to_dict(), "transfer")  # (what its pairs' runs read, as each output
        # records them; and the network by its contents: torchvision's by name, perhaps not there yet)
        if settings.weights != "torchvision":
            recorded["weights_sha256"] = identity(settings.weights)
        rep = Report(Path(report) if report else None, recorded, [record_of(p) for p in pairs], manifest_total(pairs),
                     manifest_files(pairs).digest)
        if on_folders is not None:
            on_folders()
        rep.check(read_files(pairs, settings, inputs), overwrite, resume=skip_existing,  # an output's mark too
                  outputs=[f for o in manifest_files(pairs).writes for f in (o, sidecar_path(o))])
    except BaseException:  # (on_folders' own error too, or a stop)
        remove_empty(made)  # a refused batch leaves no new, empty --out-dir behind
        raise
    rep.folders = made
    return rep


def load_weights(rep: Report, pairs: list[Pair], settings, should_stop) -> None:
    """The last check before the first pair, after begin, the dearest: the weights, loaded as the pairs' runs load
    them (and cached for them), so that a file that cannot be read refuses the batch as it refuses `transfer`
    (WeightsError, exit 1), never pair by pair; begin's new folders are removed then. Loaded on a thread of its
    own (synthesis.computed), so that should_stop stops the batch at once, before its first pair."""
    from .synthesis import Interrupted, computed
    from .vgg import check_weights

    if not any(p.error is None for p in pairs):
        return
    try:
        computed(lambda: check_weights(settings.weights), should_stop)
    except Interrupted:  # (the first pair then sees the stop: every pair stays pending)
        pass
    except BaseException:
        remove_empty(rep.folders)
        raise


def check_shared(pairs: list[Pair], settings) -> None:
    """What every pair shares is checked once, before the first pair, as `transfer` checks it (not failed pair by
    pair): an --init image or a mask that cannot be read (ImageError), and a count of --style-mask that fits
    none of the pairs' counts of style images (UsageError, exit 2); the weights after begin (load_weights). A pair
    whose output an --init image does not fit (another shape) fails alone, at once."""
    from .files import input_files
    from .masks import check_count
    from .plan import check_init_shape

    sizes = {f: load_image(f).size for f in input_files(settings) if f != settings.weights}  # (as the run sees them)
    init = sizes.get(settings.init)  # a file: each pair's output must have its shape
    if init is not None:
        for pair in pairs:
            content = shown_size(pair.content) if pair.error is None else None
            try:
                if content is not None:
                    check_init_shape(settings.init, init, fitted_size(content, settings.size))
            except ImageError as e:
                pair.error = f"pair {pair.index + 1}: {e}"
    counts = sorted({len(p.styles) for p in pairs if p.error is None})
    if settings.content_mask is not None and counts and len(settings.style_masks) not in counts:
        try:
            check_count(settings.style_masks, counts[0])
        except SettingsError as e:
            raise UsageError(f"{e} (this batch's pairs have {' or '.join(map(str, counts))})") from None


def check_masks(pairs: list[Pair], settings) -> None:
    """With masks (--content-mask, --style-mask), every pair's images are sized from their headers before the
    first pair, and a pair that a mask does not fit (or whose regions do not match) fails alone now, not
    after the pairs before it were made (README: Checks see what the run sees)."""
    if settings.content_mask is None:
        return
    from .masks import read_regions

    fit = {}  # (sizes, which artworks count): whether a region blends artworks, where the masks fit them (read
    blended = False  # once per such key); whether --style-blend counts for any pair
    for pair in pairs:
        if pair.error is not None:
            continue
        sizes = tuple(shown_size(f) for f in (pair.content, *pair.styles))
        try:
            blend = pair.blend or settings.blend(len(pair.styles))
        except SettingsError:
            continue
        key = (sizes, tuple(b > 0 for b in blend))
        if None in sizes:
            continue  # (an image that cannot be read: its own error, at its turn)
        try:
            if key not in fit:
                fit[key] = read_regions(settings.content_mask, settings.style_masks, sizes[0], sizes[1:], blend,
                                        pair.content, list(pair.styles)).blends()
        except (ImageError, SettingsError) as e:
            pair.error = f"pair {pair.index + 1}: {e}"
            continue
        if pair.blend is not None and not fit[key]:  # (its own blend, unread: it fails alone, before any work)
            pair.error = f"pair {pair.index + 1}'s blend: {BLEND_UNREAD_WHY}"
        blended = blended or (pair.blend is None and len(pair.styles) > 1 and fit[key])
    if settings.style_blend is not None and not blended:  # (as plan.make says for one transfer)
        raise UsageError(BLEND_UNREAD)


def open_report(rep: Report, *, overwrite: bool, resume: bool) -> None:
    """Report.open, after begin: refused there (another batch's report, a full disk), the batch leaves no new,
    empty folder behind either."""
    try:
        rep.open(overwrite=overwrite, resume=resume)
    except StylizeError:
        remove_empty(rep.folders)
        raise


def read_files(pairs: list[Pair], settings, inputs=()) -> list:
    """Every file a batch reads, none of which it may ever write (README: What is never lost): `inputs` (the
    manifest), the pairs' content and style images, and files.input_files(settings) (--init, masks, --weights)."""
    from .files import input_files

    files = [*inputs, *manifest_files(pairs).reads, *input_files(settings)]  # every shard's pairs' images too
    return [f for f in files if f and str(f) != "-"]


def check_arguments(pairs, out_dir, report, inputs, skip_existing, overwrite, continue_on_error, metadata,
                    **functions) -> tuple[list, list, dict | None]:
    """The API's run_batch (and cluster.run_batch) arguments, before any work: `pairs` what intake or plan returns,
    names, flags, functions and `metadata` of their types (ManifestError, SettingsError). Returns the pairs and
    `metadata` as they are now (copies: the caller's changed during the run change nothing; the run's own notes
    on its pairs are not the caller's) and `inputs` as a list (one name alone: a list of one)."""

    if not isinstance(pairs, list) or not all(isinstance(p, Pair) for p in pairs):
        raise ManifestError("pairs: the list batch.intake returns")
    if any(p.manifest is None or pair_key(p) not in p.manifest.pairs for p in pairs) or (isinstance(
            pairs, Share) and pairs.manifest is not None and pairs.total != len(pairs.manifest.pairs)):  # (by hand:
        raise ManifestError("pairs: the pairs batch.intake returns, as it returned them (a pair made or changed by "
                            "hand is checked by nothing: two with one output, an index past the manifest's, ...)")
    twice = given_twice(p.index for p in pairs)
    if twice is not None and all(p.manifest == pairs[0].manifest for p in pairs):
        raise ManifestError(f"pairs: pair {twice + 1} is given twice; give each pair once")
    if any(p.manifest != pairs[0].manifest for p in pairs) or twice is not None:
        raise ManifestError("pairs: the pairs of one intake call, or some of them; two calls' pairs are two "
                            "batches (their numbers and outputs may clash): run each with its own run_batch")
    arguments.names(out_dir=out_dir)
    arguments.files(report=report)
    if out_dir is None:
        raise SettingsError("out_dir: a folder name, not None")
    planned = next((p.out_dir for p in pairs if p.out_dir is not None), None)
    if planned is not None and not same_file(planned, out_dir):  # (the outputs are named in it already)
        raise ManifestError(f"out_dir: {out_dir}, but the pairs were planned in {planned} (intake's out_dir); give "
                            f"run_batch the same folder")
    inputs = [inputs] if isinstance(inputs, (str, os.PathLike)) else inputs  # (one name alone: a list of one)
    if not isinstance(inputs, (list, tuple)):
        raise SettingsError(f"inputs: a file name or a list of them, not {type(inputs).__name__}")
    arguments.names(**{f"inputs[{k}]": v for k, v in enumerate(inputs)})
    arguments.flags(skip_existing=skip_existing, overwrite=overwrite, continue_on_error=continue_on_error)
    arguments.functions(**functions)
    metadata, = arguments.mappings(metadata=metadata)
    copies = [replace(p) for p in pairs]
    return (Share(copies, pairs.total, pairs.manifest) if isinstance(pairs, Share) else copies), list(inputs), metadata


def check_read(pairs: list[Pair], settings: Settings) -> None:
    """The settings a batch's pairs read (unread.py), before any work: SettingsError for a field given that a
    transfer leaves unread; UsageError for --style-blend when every pair gives its own blend (a pair's own wins)."""
    check_settings(settings)
    named = [p for p in pairs if p.error is None]
    if settings.style_blend is not None and named and all(p.blend is not None or len(p.styles) < 2 for p in named):
        raise UsageError("--style-blend (style_blend): has no effect here: no pair of the batch blends several style "
                         "images without a blend of its own")
    blending = next((p for p in named if p.blend is not None), None)
    if blending is not None and settings.alpha_beta[1] == 0:  # (as --style-blend: a usage error, not a record)
        raise UsageError(f"pair {blending.index + 1}'s blend: has no effect here: it needs a style term "
                         f"(--style-weight not 0)")


@synthesis.exit_waits
def run_batch(pairs: list[Pair], out_dir, settings, *, report=None, inputs=(), skip_existing: bool = False,
              overwrite: bool = False, continue_on_error: bool = True, callback=None,
              should_stop: Callable[[], bool] | None = None, on_ready: Callable[[Report], None] | None = None,
              on_pair: Callable[[Record], None] | None = None, on_note: Callable[[Pair, str], None] | None = None,
              on_folders: Callable[[], None] | None = None, metadata: dict | None = None) -> Report:
    """Run `pairs` (from intake) with `settings` in one session and return a copy of the batch's Report (records and
    counts; Report.view: it writes nothing).

    Every check before the first pair (begin); then on_ready(report) is told, and on_pair(record) after
    every pair; on_note(pair, note) with the memory plan's note of a pair that has one. Outputs are
    written atomically, with `metadata` added to each one's; the report is rewritten after every pair
    (merged with what other shards of the batch write into it, report.Report). Raises ManifestError and the
    session's errors; a pair's own failure is its record's."""
    from .api import Session

    pairs, inputs, metadata = check_arguments(
        pairs, out_dir, report, inputs, skip_existing, overwrite, continue_on_error, metadata, callback=callback,
        should_stop=should_stop, on_ready=on_ready, on_pair=on_pair, on_note=on_note, on_folders=on_folders)
    callback, should_stop, on_ready, on_pair, on_note, on_folders = map(told, (callback, should_stop, on_ready, on_pair,
                                                                               on_note, on_folders))
    settings = settings_of(settings)
    check_read(pairs, settings)
    session = Session(settings)  # its device checked before begin creates any folder
    rep = begin(pairs, out_dir, settings, report=report, inputs=inputs, skip_existing=skip_existing,
                overwrite=overwrite, on_folders=on_folders)
    load_weights(rep, pairs, settings, should_stop)
    open_report(rep, overwrite=overwrite, resume=skip_existing)
    try:
        if on_ready is not None:
            on_ready(rep)
        run(session, pairs, skip_existing=skip_existing, overwrite=overwrite, continue_on_error=continue_on_error,
            should_stop=should_stop, report=rep, on_pair=on_pair, on_note=on_note, callback=callback,
            metadata=metadata)
    finally:
        end(rep)
    return rep.view()  # (a copy: the batch has ended; what is done to it changes nothing on disk)


def told(fn):
    """A user's callback as the batch calls it: told copies of the batch's report, records and pairs (an edit
    changes none of the batch's), outside the run's pins and in its folder (targets.unpinned)."""
    if fn is None:
        return None
    fn = unpinned(fn)

    def call(*args):
        return fn(*[a.view() if isinstance(a, Report) else replace(a) if isinstance(a, (Record, Pair)) else a
                    for a in args])
    return call


def end(rep: Report) -> None:
    """A batch's last step (batch.run_batch, cluster.run_batch): the report's last write, then the folders made
    for it that hold nothing (stopped at once, every pair failed) are removed."""
    try:
        rep.close()
    finally:
        remove_empty(rep.folders)

# -- naming pairs, and the contact sheet --------------------------------------------------------------
SHEET_THUMB = 128  # px: the box each thumbnail of a contact sheet is fitted into
SHEET_PAD = 8  # px between thumbnails, rows and the edges
SHEET_TEXT = 28  # px under each row for its two lines of text (Pillow's default font)
SHEET_FORMATS = (".png", ".jpg", ".jpeg")


def label(record: Record) -> str:
    """A pair's short name for a progress bar: 'photo.jpg x starry.jpg' (several styles joined by '+'); a
    manifest line that could not be read is 'pair N'."""
    if not record.content:
        return f"pair {record.index + 1}"
    return f"{Path(record.content).name} x {'+'.join(Path(s).name for s in record.artworks())}"


def check_contact_sheet(path, pairs: list[Pair], settings, inputs=(), *, overwrite: bool = False,
                        resume: bool = False) -> Path:
    """Refuse, before the first pair, a contact sheet that is not .png/.jpg, is a file the batch reads
    (read_files: also `inputs`, --init, masks, --weights) or writes (an output), exists (without `overwrite`;
    resuming may replace an earlier stylize contact sheet), or cannot be written; returns its name (a link's:
    the file it leads to, images.through_link). ManifestError, or ImageError for a name too long."""
    p = through_link(Path(path))
    name = as_given(path, p)  # (in messages: as given, and where a link leads)
    if p.suffix.lower() not in SHEET_FORMATS:
        raise ManifestError(f"{name}: a contact sheet is a .png or .jpg file")
    check_name(p)
    folder = p.parent if str(p.parent) else Path(".")
    made = ".." not in folder.parts and any(path_key(folder) in (path_key(q) for q in Path(pair.output).parents)
                                            for pair in pairs)  # ('nd/..' needs nd: the kernel reads it, not path_key)
    if os.path.isdir(p) or not (os.path.isdir(folder) or made):  # (a folder the batch makes: there by then)
        raise ManifestError(f"{name}: is a directory" if os.path.isdir(p) else no_folder(p, folder))
    check_not_held(p)  # (a running video's frames folder is its own; another run writing the sheet: said first)
    check_not_a_folder(p, folders_made(pairs), f"{name}: the contact sheet", "choose another --contact-sheet path")
    others = [*read_files(pairs, settings, inputs), *manifest_files(pairs).writes]
    if any(same_file(p, o) for o in others if o):
        raise _sheet_clash(name)
    if taken(p) and not _is_sheet(p) and not empty_file(p):  # (said first: --overwrite would not replace it either)
        raise _not_a_sheet(p, name)
    if empty_file(p) and not overwrite:  # (nothing to lose: --overwrite replaces it; a resume cannot take that flag)
        raise ManifestError(f"{name}: already exists (an empty file); " + (
            "remove it or choose another --contact-sheet" if resume else "pass --overwrite to replace it"))
    if taken(p) and not overwrite and not (resume and _is_sheet(p, [pair.output for pair in pairs],
                                                                sheet_batch(pairs, settings))):
        if resume:  # (--overwrite cannot be added to --skip-existing)
            same = ours(p).get("outputs") == _sheet_mark(pair.output for pair in pairs)  # (its outputs, another batch)
            raise ManifestError(f"{name}: already exists, the contact sheet of "
                                + ("a batch of these outputs with other settings or inputs" if same else
                                   "other pairs (another batch's or shard's)")
                                + "; choose another --contact-sheet (one per shard)")
        raise ManifestError(f"{name}: already exists; pass --overwrite to replace it")
    width, height = sheet_size(len(pairs), max((len(pair.styles) for pair in pairs), default=1))
    limit = max_side(p)
    if limit is not None and max(width, height) > limit:
        raise ManifestError(f"{name}: a {p.suffix.lower()} image is at most {limit} px a side, and a contact sheet of "
                            f"{len(pairs)} pairs would be {width}x{height}; use .png, or one sheet per --shard")
    try:
        if os.path.isdir(folder):
            check_writable(folder)  # (a folder still to be made is checked with the outputs)
    except OSError as e:
        raise ManifestError(f"{name}: cannot write in {folder} ({e.strerror or e})") from None
    return p


def _sheet_clash(path) -> ManifestError:
    return ManifestError(f"{path}: the contact sheet would replace a file the batch reads or writes; choose another "
                         f"--contact-sheet path")


def _is_sheet(path: Path, outputs=None, batch: str = "") -> bool:
    """Whether `path` is a contact sheet stylize made (--overwrite replaces only one), or with `outputs`, the
    sheet of a batch of these outputs (resuming replaces only its own)."""
    mark = ours(path).get("contact_sheet")
    return mark is not None and (outputs is None or mark == _sheet_mark(outputs, batch))


def _not_a_sheet(path, name) -> ManifestError:
    what = f"{kind_of(path)}, not a contact sheet" if os.path.islink(path) else \
        "already exists and is not a contact sheet stylize made"  # (a link to a file: through_link followed it)
    return ManifestError(f"{name}: {what}; --overwrite replaces only a contact sheet, never a file of yours: move it "
                         f"away or choose another name")


def _sheet_mark(outputs, batch: str = "") -> str:
    """What a contact sheet records of its batch: a digest of its outputs' absolute names and of the batch itself
    (sheet_batch: its settings and manifest), so that a --skip-existing run replaces only its own batch's sheet."""
    names = "\n".join(sorted(os.path.abspath(os.fspath(o)) for o in outputs)) + "\n" + batch
    return hashlib.sha256(names.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def sheet_batch(pairs: list[Pair], settings) -> str:
    """The batch a contact sheet is of: its settings and its manifest's digest (as a report tells its batch)."""
    return json.dumps([settings.to_dict(), manifest_files(pairs).digest], sort_keys=True, default=str)


def sheet_size(pairs: int, styles: int, thumb: int = SHEET_THUMB) -> tuple[int, int]:
    """(width, height) px of a contact sheet of `pairs` rows with at most `styles` artworks each."""
    width = max(SHEET_PAD + (2 + styles) * (thumb + SHEET_PAD), 480)
    return width, SHEET_PAD + pairs * (thumb + SHEET_TEXT + SHEET_PAD)


def _fitted(draw, text: str, room: int) -> str:
    """`text` cut to the longest start that fits `room` pixels with "..." after it (a label of 250 styles' names is
    70 KB: measured a dozen times, by halves, never once per character)."""
    if draw.textlength(text) <= room:
        return text
    text = text[:room]  # (no character is under a pixel wide: the rest could never fit)
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if draw.textlength(text[:middle] + "...") <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "..."


def _inputs_of(meta: dict) -> dict[int, str]:
    """The pixel digests an output's metadata records of its content (column 0) and styles (1, 2, ...)."""
    inputs = meta.get("inputs")
    if not isinstance(inputs, dict):
        return {}
    styles = inputs.get("styles") if isinstance(inputs.get("styles"), list) else []
    return {c: d for c, d in enumerate([inputs.get("content"), *styles]) if isinstance(d, str)}


def sheet_found(path) -> tuple | None:
    """What is at a contact sheet's name when it is checked (None for nothing): contact_sheet's `found`, which tells
    a file put there during the batch: the file (device, inode) and its contents (SHA-256), nothing else (a chmod,
    a touch, a hard link made or removed puts no file there)."""
    try:
        return file_stamp(os.stat(path))[:2] + (file_digest(path),)
    except OSError:
        return None


def contact_sheet(records: list[Record], path, *, overwrite: bool = False, thumb: int = SHEET_THUMB,
                  should_stop: Callable[[], bool] | None = None, found: tuple | None | bool = False,
                  batch: str = "") -> Path | None:
    """Write a grid of thumbnails, one row per pair: content | style(s) | result, with the pair's name and
    its status and final losses as text under it (no seconds: the same batch in the same folder gives the same
    sheet; a missing result is a grey box). The sheet is SHEET_PAD + len(records) x (thumb + SHEET_TEXT +
    SHEET_PAD) pixels high; written atomically (images.save_image), marked in its metadata with a digest of its
    outputs' absolute names and `batch` (sheet_batch) ({"contact_sheet": _sheet_mark(...)}: a resume replaces
    only its own batch's). Call
    check_contact_sheet before the batch; here, a sheet at a name the records read or write is refused
    (ManifestError), whatever `overwrite`, and with `found` (sheet_found at that check), a file put there since
    (ManifestError: it is kept). should_stop() is asked before each row: a stop writes nothing (None)."""
    from PIL import Image, ImageDraw

    from .console import printable
    from .images import fit, load_image

    given, path = path, through_link(Path(path))  # (a link to a sheet is written through, as the command line's
    shown_as = as_given(given, path)  # check_contact_sheet; named in messages as given)
    if any(same_file(path, name) for r in records for name in (r.content, *r.artworks(), r.output) if name):
        raise _sheet_clash(shown_as)
    if found is not False and sheet_found(path) != found:
        raise ManifestError(f"{shown_as}: a file was put at the contact sheet's name during the batch; it is kept and "
                            f"the sheet not drawn: move it away, then run again with --skip-existing (the finished "
                            f"pairs are kept)")
    if taken(path) and not _is_sheet(path) and not (overwrite and empty_file(path)):  # (an --init image or a mask,
        raise _not_a_sheet(path, shown_as)  # which records do not name; a file put there during the batch: said
        # before "pass --overwrite", which would not help)

    columns = 2 + max((len(r.artworks()) for r in records), default=1)
    width, height = sheet_size(len(records), columns - 2, thumb)
    row = thumb + SHEET_TEXT + SHEET_PAD
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    for k, r in enumerate(records):
        if should_stop is not None and should_stop():  # (asked before each row: a stop writes no sheet, None)
            return None
        top = SHEET_PAD + k * row
        done = r.status in ("ok", "skipped", "interrupted")
        cells = [r.content, *r.artworks()] + [None] * (columns - 2 - len(r.artworks())) + \
            [r.output if done else ""]
        meta = ours(r.output) if done else {}
        made_from = _inputs_of(meta)  # column -> the digest the pair's output records
        replaced = r.status in ("ok", "interrupted") and holds_metadata(r.output) and not meta  # (this batch made
        # it, with its metadata: another file is there now)
        for c, source in enumerate(cells):
            if source is None:
                continue
            left = SHEET_PAD + c * (thumb + SHEET_PAD)
            try:
                im = load_image(source)
            except (StylizeError, OSError, ValueError):
                im, why = None, r.status if source == "" else "unreadable"
            else:  # (an input replaced after its pair ran: not what the result was made of; the result replaced)
                why = "replaced since" if made_from.get(c) not in (None, digest(im)) or \
                    (source == r.output and replaced) else None
            if why is None:
                im = fit(im, thumb)
                sheet.paste(im, (left + (thumb - im.width) // 2, top + (thumb - im.height) // 2))
            else:
                draw.rectangle((left, top, left + thumb - 1, top + thumb - 1), fill=(200, 200, 200))
                draw.text((left + 6, top + thumb // 2 - 6), why, fill="black")
        losses = r.content_loss is not None and r.style_loss is not None and done
        facts = [f"content loss {r.content_loss:.4g}, style loss {r.style_loss:.4g}" if losses else "", r.error or ""]
        lines = [f"{r.index + 1}. {label(r)} -> {Path(r.output).name}",
                 r.status + "".join(f"{': ' if n == 0 else ', '}{f}" for n, f in enumerate(x for x in facts if x))]
        for n, text in enumerate(printable(line) for line in lines):  # (a line break in a name: one line, escaped)
            draw.text((SHEET_PAD, top + thumb + 2 + 13 * n), _fitted(draw, text, width - 2 * SHEET_PAD),
                      fill="black")
    return save_image(sheet, Path(path), {"contact_sheet": _sheet_mark((r.output for r in records), batch),
                                          "outputs": _sheet_mark(r.output for r in records), "pairs": len(records)},
                      overwrite=overwrite)


# not compared: where it ran, and the names of files (a Ray worker's are absolute)
UNCOMPARED = ("device", "weights", "content_mask", "style_masks")


def made_otherwise(meta: dict, settings: Settings | None) -> str | None:
    """What an earlier output was made with (its metadata `meta`'s "settings") that differs from `settings`, as
    options ("--size 32, not 48"); None when the same, when it has no such metadata (not stylize's), or without
    `settings`. The device and the names of files are not compared; the weights by their contents (SHA-256):
    the network itself, whatever the file's name. WeightsError if the weights file cannot be read now."""
    theirs = meta.get("settings") if settings is not None else None
    if not isinstance(theirs, dict):
        return None
    recorded, now = meta.get("weights_sha256"), identity(settings.weights)
    if isinstance(recorded, str) and now is not None and recorded != now:
        return f"made with other VGG-19 weights than --weights {shown(settings.weights)} (their SHA-256 differs)"
    ours = json.loads(json.dumps(settings.to_dict(), default=str))

    def compared(key, value):  # (an --init file is compared as "a file": its name may differ, as above)
        return "a file" if key == "init" and value not in STARTS else value

    def seen(value) -> str:  # (None: the option not given, whatever it then means; never JSON's "null")
        text = "unset (its default)" if value is None else value if value == "a file" else json.dumps(value)
        return text if len(text) <= 40 else f"a value of {len(text)} characters"

    other = [f"--{key.replace('_', '-')} {seen(compared(key, theirs[key]))}, not {seen(compared(key, value))}"
             for key, value in ours.items()
             if key in theirs and key not in UNCOMPARED and compared(key, theirs[key]) != compared(key, value)]
    return "made with " + "; ".join(other[:3]) + ("; ..." if len(other) > 3 else "") if other else None


def made_from(meta: dict, pair: Pair, settings: Settings | None, key=None) -> str | None:
    """Whether an earlier output of `pair` was made from other pixels (its metadata's "inputs": a file changed
    under its name, README: Batches) or with another blend of its styles, in words; None when the same, when it
    does not say (not stylize's, an earlier build's), or without `settings`. Raises what the pair's run would
    (ImageError for an input that cannot be read now, SettingsError): an output that cannot be checked is not
    kept. `key`: as triage's (default: each image decoded here)."""
    theirs = meta.get("inputs") if settings is not None else None
    if not isinstance(theirs, dict):
        return None
    job = transfer_job(settings, pair.content, pair.styles, pair.blend)
    blend = meta.get("blend")
    if isinstance(blend, list) and len(blend) == len(job.blend) and any(
            not isinstance(b, (int, float)) or abs(b - w) > 1e-9 for b, w in zip(blend, job.blend)):
        return f"made with the blend {_weights(blend)}, not {_weights(job.blend)}"
    names = {"content": [pair.content], "styles": list(pair.styles), "init": [settings.init],
             "content_mask": [settings.content_mask], "style_masks": list(settings.style_masks)}
    ours = job_inputs(job, key or (lambda image: digest(load_image(image))))
    for key, value in ours.items():
        mine, before = (value, theirs.get(key)) if isinstance(value, list) else ([value], [theirs.get(key)])
        if key in theirs and mine != before:
            if key == "styles" and len(mine) != len(before):
                return f"made from {_count(len(before))}, not {_count(len(mine))}"
            if key == "styles" and sorted(mine) == sorted(before):
                return "made from the same style images in another order"
            if key == "styles":  # (the first whose pixels are in none of the recorded: the one that changed)
                k = next((k for k, a in enumerate(mine) if a not in before), None)
                return _other_file(names[key][k], _recorded(meta, "styles", k)) if k is not None else \
                    "made from other style images"
            k = next((k for k, (a, b) in enumerate(zip(mine, before)) if a != b), 0)
            changed, was = names[key][k], before[k] if k < len(before) else None
            if key in MASK_OPTIONS and (is_colour(changed) or is_colour(was)):  # a colour is a setting, not pixels
                return (f"made with {MASK_OPTIONS[key]} {was if is_colour(was) else 'a mask file'}, not "
                        f"{changed if is_colour(changed) else 'a mask file'}")
            return _other_file(changed, _recorded(meta, key, k))
    return None


def _recorded(meta: dict, key: str, k: int) -> str | None:
    """The name the output's metadata records for input `key` (content, styles) at position k, if it says."""
    names = meta.get(key) if key == "styles" else [meta.get(key)] if key == "content" else None
    return names[k] if isinstance(names, list) and k < len(names) and isinstance(names[k], str) else None


def _other_file(name: str, was: str | None) -> str:
    """How an earlier output's input differs from `name`: made from another file (`was`, its recorded name), or
    from this name's earlier pixels."""
    if was is not None and was != str(name):
        return f"made from {was}, not {name}"
    return f"made from another {name} (its pixels differ now)"


MASK_OPTIONS = {"content_mask": "--content-mask", "style_masks": "--style-mask"}


def _count(styles: int) -> str:
    return f"{styles} style image{'s' * (styles != 1)}"


def _weights(blend) -> str:
    return ",".join(f"{w:.4g}" if isinstance(w, (int, float)) else "?" for w in blend)


# The Python API (README: Python API); the other names serve the command line and check less.
__all__ = ["ManifestError", "Pair", "Record", "Report", "intake", "run_batch"]
