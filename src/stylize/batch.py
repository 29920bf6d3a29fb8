"""Batches: manifests, globs, deterministic shards, resume, per-pair reports. One network for all."""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .errors import ManifestError, StylizeError
from .images import output_format, read_metadata

DEFAULT_TEMPLATE = "{content}__{style}.png"


@dataclass
class Pair:
    index: int  # position in the whole manifest (before sharding), 0-based
    content: str
    style: str
    output: Path


@dataclass
class Record:
    index: int
    content: str
    style: str
    output: str
    status: str = "pending"  # ok | failed | skipped | interrupted | pending
    seconds: float | None = None
    content_loss: float | None = None
    style_loss: float | None = None
    iterations: int | None = None
    evaluations: int | None = None
    error: str | None = None


def read_manifest(text: str, where: str = "manifest") -> list[tuple[str, str, str | None]]:
    """Rows (content, style, output or None) from CSV with a header, or from JSON lines."""
    stripped = text.lstrip()
    if not stripped:
        raise ManifestError(f"{where} is empty")
    rows = []
    if stripped.startswith("{"):
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ManifestError(f"{where} line {n}: not JSON ({e.msg})") from None
            if not isinstance(obj, dict) or not obj.get("content") or not obj.get("style"):
                raise ManifestError(f"{where} line {n}: needs \"content\" and \"style\"")
            rows.append((str(obj["content"]), str(obj["style"]), obj.get("output") and str(obj["output"])))
        return rows
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "content" not in header or "style" not in header:
        raise ManifestError(f"{where}: the CSV header must name the columns content,style[,output]")
    reader.fieldnames = header
    for n, row in enumerate(reader, 2):
        content, style = (row.get("content") or "").strip(), (row.get("style") or "").strip()
        if not content or not style:
            raise ManifestError(f"{where} line {n}: empty content or style")
        rows.append((content, style, (row.get("output") or "").strip() or None))
    return rows


def expand(patterns) -> list[str]:
    """Paths and globs, each glob sorted; a pattern that matches nothing is an error."""
    out = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
            if not matches:
                raise ManifestError(f"{pattern!r} matches no file")
            out += matches
        else:
            out.append(pattern)
    return out


def plan(rows, out_dir: Path, template: str = DEFAULT_TEMPLATE) -> list[Pair]:
    """Pairs with their output paths; outputs must be distinct and must not be inputs."""
    pairs, seen = [], {}
    for index, (content, style, output) in enumerate(rows):
        if output is None:
            try:
                output = template.format(content=Path(content).stem, style=Path(style).stem, index=index)
            except (KeyError, IndexError, ValueError, AttributeError) as e:
                raise ManifestError(
                    f"name template {template!r}: unknown placeholder {e}; use {{content}}, {{style}}, {{index}}"
                ) from None
        path = Path(output) if Path(output).is_absolute() else out_dir / output
        output_format(path)
        key = os.path.normcase(os.path.abspath(path))
        if key in seen:
            raise ManifestError(f"pairs {seen[key] + 1} and {index + 1} would both write {path}")
        for source in (content, style):
            if os.path.abspath(source) == os.path.abspath(path):
                raise ManifestError(f"pair {index + 1}: the output {path} is one of its inputs")
        seen[key] = index
        pairs.append(Pair(index, content, style, path))
    return pairs


def shard(pairs: list[Pair], i: int, n: int) -> list[Pair]:
    """The i-th (1-based) of n disjoint shares: pairs whose manifest position is i-1 modulo n."""
    return [p for p in pairs if p.index % n == i - 1]


def complete(path: Path) -> bool:
    """An existing output counts as done unless stylize itself marked it partial (an interrupted
    run's best image so far); a file we cannot read is left alone, never replaced."""
    if not path.is_file():
        return False
    try:
        meta = read_metadata(path) if path.suffix.lower() == ".png" else None
    except (OSError, ValueError):
        return True
    return not (meta or {}).get("partial", False)


class Report:
    """The JSON report, rewritten atomically after every pair."""

    def __init__(self, path: Path | None, settings: dict, records: list[Record]):
        self.path, self.settings, self.records = path, settings, records
        self.started = time.strftime("%Y-%m-%dT%H:%M:%S%z")

    def summary(self) -> dict:
        counts = {}
        for r in self.records:
            counts[r.status] = counts.get(r.status, 0) + 1
        return counts

    def write(self) -> None:
        if self.path is None:
            return
        data = {"started": self.started, "settings": self.settings, "summary": self.summary(),
                "pairs": [asdict(r) for r in self.records]}
        folder = self.path.parent
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".stylize-tmp-", suffix=".json")
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=1)
            os.replace(tmp, self.path)
        except OSError as e:
            raise ManifestError(f"cannot write the report {self.path}: {e.strerror or e}") from None


def run(session, pairs: list[Pair], *, skip_existing: bool = False, overwrite: bool = False,
        continue_on_error: bool = True, should_stop=None, report: Report | None = None,
        on_pair=None, callback=None, save=None) -> list[Record]:
    """Run every pair through one session (network loaded once; targets cached per image).

    save(outcome, pair) writes the result; on_pair(record) is told when a pair ends.
    """
    records = report.records if report is not None else [
        Record(p.index, p.content, p.style, str(p.output)) for p in pairs]
    for pair, record in zip(pairs, records):
        if should_stop is not None and should_stop():
            break
        if pair.output.exists() and not overwrite:
            if skip_existing and complete(pair.output):
                record.status = "skipped"
            elif not skip_existing:
                record.status, record.error = "failed", f"{pair.output} already exists (use --skip-existing or --overwrite)"
            if record.status != "pending":
                _done(record, report, on_pair)
                if record.status == "failed" and not continue_on_error:
                    break
                continue
        start = time.perf_counter()
        try:
            outcome = session.transfer(pair.content, pair.style, callback=callback, should_stop=should_stop)
            if outcome.evaluations:
                save(outcome, pair)
            record.status = "interrupted" if outcome.partial else "ok"
            record.content_loss, record.style_loss = outcome.content_loss, outcome.style_loss
            record.iterations, record.evaluations = outcome.iterations, outcome.evaluations
        except StylizeError as e:
            record.status, record.error = "failed", str(e)
        except torch.OutOfMemoryError:
            record.status, record.error = "failed", "out of memory (lower --size or --history)"
        record.seconds = round(time.perf_counter() - start, 3)
        _done(record, report, on_pair)
        if record.status == "failed" and not continue_on_error:
            break
        if record.status == "interrupted":
            break
    return records


def _done(record: Record, report: Report | None, on_pair) -> None:
    if report is not None:
        report.write()
    if on_pair is not None:
        on_pair(record)
