"""A batch's JSON report: one record per pair, written atomically, shared safely by the shards of one batch.

A report is valid JSON at every moment (each version replaces the last in one step). Several runs may
write one report at once (`--shard 1/2` and `--shard 2/2` with one `--report`): every write takes a lock
(a hidden lock file beside the report, POSIX record locks, which NFS honours), reads what is there, keeps
the records of the other runs' pairs and writes the union. Only runs of one batch (the same settings, the
same manifest) share a report this way; another batch is refused before its first pair. Reports written
apart (one per shard, where no lock reaches) are joined by merge() into the report one run would have
written.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import errno
import hashlib
import json
import math
import operator
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from .claims import claim_file, file_in_use, open_own, owner
from .errors import ClaimError, ManifestError, UsageError
from .images import (check_name, check_not_held, check_writable, no_folder, path_key, read_json_here, same_file,
                     as_given, empty_file, through_link, kind_of, write_json)

WRITE_SHARE = 0.1  # a report is rewritten at most this share of the time (a huge report is written less often)


@dataclass
class Record:
    """One pair's line of a report: what it is (its place in the manifest, inputs, output) and how it ended."""

    index: int
    content: str
    style: str  # the artworks, ';'-separated
    output: str
    status: str = "pending"  # ok | failed | skipped | interrupted | pending
    seconds: float | None = None
    content_loss: float | None = None
    style_loss: float | None = None
    iterations: int | None = None
    evaluations: int | None = None
    error: str | None = None
    blend: list | None = None
    styles: list | None = None  # the artworks as a list (a name may hold ';'); older reports: None
    worker: str | None = None  # on a cluster: the worker that made it, "host:pid"
    attempts: int | None = None  # on a cluster: 2 or more when a worker died while making it

    @classmethod
    def from_dict(cls, data: dict) -> Record:
        """A record as a report holds it (unknown keys are ignored, missing ones take their defaults)."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    def artworks(self) -> list[str]:
        """The pair's artworks: `styles`, or (a report written before it existed) `style` split at ';'."""
        return list(self.styles) if self.styles else self.style.split(";")

    def key(self, output: bool = True) -> tuple:
        """What makes two records the same pair of the same manifest: its position, images, output (unless not
        `output`) and blend (each artwork's own name, where one holds ';', is told by the manifest's digest, which a
        report written before `styles` existed holds neither)."""
        return (self.index, self.content, self.style, *(self.output,) * output,
                None if self.blend is None else tuple(self.blend))

    def carry(self, data: dict) -> None:
        """Take what an earlier run of this pair measured (final losses, iterations, evaluations) from `data`, its
        output's metadata or its record in the report being resumed; each value only if it is what stylize writes
        there (_fits: a finite number >= 0, a count a whole one), else it stays None."""
        for key in MEASURED:
            value, kind = data.get(key), _FIELDS[key]
            if value is not None and _fits(value, kind):
                setattr(self, key, kind(value))


def _plain(settings: dict) -> dict:
    """Settings as they read back from the JSON file (tuples become lists), to compare two batches."""
    return json.loads(json.dumps(settings, default=str))


MAX_PAIRS = 10**12  # the most pairs a report's manifest may count (no manifest is larger; a count must fit an index)
_NAMES = ("content", "style", "output")  # a record's texts that are always there (output: "" for the template's)
_FIELDS = {"error": str, "worker": str, "seconds": float, "content_loss": float, "style_loss": float,
           "iterations": int, "evaluations": int, "attempts": int, "blend": [float],
           "styles": [str]}  # a record's other fields: absent or null, else of this kind ([k]: a list of k)
MEASURED = ("content_loss", "style_loss", "iterations", "evaluations")  # what a run measured (kinds: _FIELDS)


def _fits(value, kind) -> bool:
    """Whether a record's field holds what stylize writes there: a text, a finite number >= 0 (a whole one for
    counts, at most MAX_PAIRS), a list of such (blend weights, artworks' names); or nothing (None). NaN, a
    negative or 4000-digit count or a text where a number goes is damage."""
    if value is None:
        return True
    if isinstance(kind, list):
        return isinstance(value, list) and all(v is not None and _fits(v, kind[0]) for v in value)
    if kind is float:
        return type(value) in (int, float) and math.isfinite(value) and value >= 0
    if kind is int:
        return type(value) is int and 0 <= value <= MAX_PAIRS  # (no count stylize writes is larger)
    return isinstance(value, kind)


def read(path: Path) -> dict | None:
    """A stylize report's contents, or None for anything else (missing, not JSON, another program's, or damaged:
    an index that is not a position, an unknown status, a manifest smaller than its records)."""
    data = read_json_here(path, follow=True)
    return data if valid(data) else None


def valid(data) -> bool:
    """Whether `data` is a stylize report as read() takes one: every field a reader relies on, or copies, of its
    type and range (a report Report writes: the same test, before it writes)."""
    if not (isinstance(data, dict) and {"started", "settings", "pairs"} <= data.keys()
            and isinstance(data["pairs"], list) and all(isinstance(r, dict) for r in data["pairs"])):
        return False
    # a damaged or hand-made file: every field a reader relies on, or copies, has its type and range
    records = data["pairs"]
    if not isinstance(data["settings"], dict):
        return False
    if not all(type(r.get("index")) is int and r["index"] >= 0 and isinstance(r.get("status", "pending"), str)
               and r.get("status", "pending") in RANK and all(isinstance(r.get(k), str) for k in _NAMES)
               and all(_fits(r.get(k), kind) for k, kind in _FIELDS.items())
               for r in records):
        return False
    if not isinstance(data.get("manifest_sha256", ""), str):
        return False
    total = data.get("manifest_pairs")
    if total is not None and not (type(total) is int and max((r["index"] + 1 for r in records), default=0) <= total
                                  <= MAX_PAIRS):
        return False
    return True


NOT_A_REPORT = "; --overwrite replaces only a report: move it away or choose another name"
LOCK_MARK = b"stylize report lock\n"  # what a report's lock file holds: stylize's, not a user's empty file


class Lock:
    """The lock file of a report: byte 0 is held while one run reads and rewrites the report, byte 1
    (shared) by every run that writes it, byte 2 + i by the run that writes pair i's record (shards hold
    disjoint pairs; a second run of the same pairs is refused: its records would overwrite the first's). The
    last run out removes the file."""

    def __init__(self, report: Path):
        digest = hashlib.sha256(report.name.encode("utf-8", "surrogateescape")).hexdigest()[:12]
        self.path, self.report, self.fd = report.parent / f".stylize-report-lock-{digest}", report, None

    def _lockf(self, how: int, start: int) -> bool:
        """fcntl.lockf on one byte; with LOCK_NB, False when another process holds it."""
        import fcntl

        try:
            fcntl.lockf(self.fd, how, 1, start)
        except OSError as e:
            if how & fcntl.LOCK_NB and e.errno in (errno.EACCES, errno.EAGAIN):
                return False
            raise ManifestError(f"{self.report}: cannot lock the report ({e.strerror or e}); give each shard its "
                                f"own --report and join them with `stylize report merge`") from None
        return True

    def enter(self) -> bool:
        """Take the write lock and join the writers; return whether other runs are writing the report now."""
        import fcntl

        while True:
            try:
                self.fd, created = open_own(self.path, self.report, lambda data: data in (b"", LOCK_MARK))
            except ClaimError as e:
                raise ManifestError(str(e)) from None
            if created:
                try:
                    os.write(self.fd, LOCK_MARK)
                except OSError as e:  # a full disk: nothing of ours is left behind
                    os.close(self.fd)
                    self.fd = None
                    with contextlib.suppress(OSError):
                        os.unlink(self.path)
                    raise ManifestError(f"{self.report}: cannot write {self.path.name} beside it "
                                        f"({e.strerror or e})") from None
            elif not self._marked():  # empty: not stylize's (a run writes the mark as soon as it creates it)
                os.close(self.fd)
                self.fd = None
                raise ManifestError(f"{self.report}: {self.path.name} beside it is not a file stylize made (it is "
                                    f"empty); move it away")
            self.hold()
            try:
                if os.path.samestat(os.fstat(self.fd), os.stat(self.path)):
                    break  # not a file the last run out removed while we waited for it
            except FileNotFoundError:
                pass
            os.close(self.fd)
        alone = self._lockf(fcntl.LOCK_EX | fcntl.LOCK_NB, 1)
        self._lockf(fcntl.LOCK_SH, 1)
        return not alone

    def _marked(self) -> bool:
        """Whether the lock file holds LOCK_MARK, waiting a moment for a run that has just created it."""
        for _ in range(20):
            if os.pread(self.fd, len(LOCK_MARK), 0) == LOCK_MARK:
                return True
            time.sleep(0.01)
        return False

    def hold(self) -> None:
        import fcntl

        self._lockf(fcntl.LOCK_EX, 0)

    def hold_pairs(self, indexes) -> bool:
        """Hold the bytes of these pairs' records (2 + index), each contiguous run at once; False (none held)
        when another run holds one of them."""
        import fcntl

        runs = []
        for i in sorted(set(indexes)):
            if runs and runs[-1][1] == i:
                runs[-1][1] = i + 1
            else:
                runs.append([i, i + 1])
        for n, (start, end) in enumerate(runs):
            try:
                fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, end - start, 2 + start)
            except OSError as e:
                for first, last in runs[:n]:
                    fcntl.lockf(self.fd, fcntl.LOCK_UN, last - first, 2 + first)
                if e.errno in (errno.EACCES, errno.EAGAIN):
                    return False
                raise ManifestError(f"{self.report}: cannot lock the report ({e.strerror or e}); give each shard its "
                                    f"own --report and join them with `stylize report merge`") from None
        return True

    def release(self) -> None:
        import fcntl

        self._lockf(fcntl.LOCK_UN, 0)

    def leave(self) -> None:
        """Stop writing; the last writer removes the lock file."""
        import fcntl

        if self.fd is None:
            return
        try:
            self.hold()
            if self._lockf(fcntl.LOCK_EX | fcntl.LOCK_NB, 1):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)
        finally:
            os.close(self.fd)
            self.fd = None


def _check_arguments(path, settings, records, manifest_pairs, manifest_sha256) -> int:
    """A Report's arguments (a Report made by hand is the API's too), before it claims or writes anything: the
    report they make must be one read() takes back. Returns manifest_pairs as an int. ManifestError, and
    SettingsError for a name ending in '/'."""
    from .arguments import files, is_whole

    if path is not None and not (isinstance(path, (str, os.PathLike)) and isinstance(os.fspath(path), str)
                                 and os.fspath(path) and "\0" not in os.fspath(path)):
        raise ManifestError(f"path: the report's file name (a str or a path), or None, not {type(path).__name__}")
    files(path=path)  # ('r.json/' names a folder, as run_batch's report=)
    try:  # (as the report writes them: finite numbers; NaN is no JSON)
        json.dumps(settings, default=str, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        settings = None
    if not isinstance(settings, dict):
        raise ManifestError("settings: a dict that JSON can hold (texts, finite numbers, lists, dicts)")
    if not (isinstance(records, list) and all(isinstance(r, Record) for r in records)):
        raise ManifestError("records: a list of report.Record")
    for k, r in enumerate(records):
        try:
            ok = valid({"started": "", "settings": {}, "pairs": [json.loads(json.dumps(asdict(r), allow_nan=False))]})
        except (TypeError, ValueError, RecursionError):
            ok = False
        if not ok:
            raise ManifestError(f"records[{k}]: not as a report holds one (index a whole number (int) from 0, "
                                f"status one of {', '.join(RANK)}, content, style and output texts, numbers finite)")
    indexes = [r.index for r in records]
    if len(set(indexes)) < len(indexes):
        raise ManifestError(f"records: two of pair {sorted(i for i in indexes if indexes.count(i) > 1)[0] + 1}; "
                            f"give each pair once")
    pairs = len(records) if manifest_pairs is None else manifest_pairs
    if not (is_whole(pairs) and max((i + 1 for i in indexes), default=0) <= pairs <= MAX_PAIRS):
        raise ManifestError(f"manifest_pairs: the manifest's number of pairs, a whole number above every record's "
                            f"index, not {manifest_pairs!r}"[:160])
    if manifest_sha256 is not None and not isinstance(manifest_sha256, str):
        raise ManifestError(f"manifest_sha256: a text (or None), not {type(manifest_sha256).__name__}")
    return int(pairs)


class Report:
    """The report of one run: its own records, and (written into the same file by other shards of the
    same batch) the others', kept as they are. `manifest_pairs`: how many pairs the whole manifest has,
    before sharding; the records are indexed by their position in it."""

    def __init__(self, path: Path | None, settings: dict, records: list[Record], manifest_pairs: int | None = None,
                 manifest_sha256: str | None = None):
        manifest_pairs = _check_arguments(path, settings, records, manifest_pairs, manifest_sha256)
        self.path, self.settings, self.records = path and through_link(Path(path)), settings, records
        self.shown = path and as_given(path, self.path)  # (its name in messages: as given, and where a link leads)
        self.manifest_pairs = manifest_pairs
        self.manifest_sha256 = manifest_sha256
        self.started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self.lock = Lock(self.path) if path is not None else None  # (a link's file: one lock for its names)
        self.claim = None
        self.folders: list[Path] = []  # the folders its batch made for the outputs: removed if refused at open()
        self._next_write, self._open, self._copy = 0.0, False, False
        self._earlier: dict[int, dict] = {}  # resuming: this batch's finished records in the report, by index

    def view(self) -> "Report":
        """A copy of the report as it is now, for a caller (on_ready's, and what run_batch returns): its records,
        settings and folders are copies, and it holds neither the batch's lock nor its claim, so that nothing done
        to it changes this report, what it writes or what its batch removes; its check(), open() and write() are a
        ManifestError (a batch writes its report itself), its close() nothing."""
        view = copy.copy(self)
        view.records, view.settings = [replace(r) for r in self._kept()], copy.deepcopy(self.settings)
        view.folders, view._earlier = list(self.folders), copy.deepcopy(self._earlier)
        view.lock, view.claim, view._open, view._copy = None, None, False, True
        return view

    def _kept(self) -> list[Record]:
        """The records as the report holds them: resuming, a pair not reached yet keeps its earlier run's record
        while its output is there (one removed since: pending, as this run says)."""
        return [Record.from_dict(self._earlier[r.index]) if r.status == "pending" and r.index in self._earlier
                and os.path.lexists(self._earlier[r.index].get("output", "")) else r for r in self.records]

    def _own(self) -> None:
        """A copy (view) neither claims, opens nor writes the report: ManifestError."""
        if self._copy:
            raise ManifestError(f"{self.shown}: this Report is a copy its batch handed out (to on_ready, or as "
                                f"run_batch's result); a batch writes its report itself: run the batch again")

    def summary(self) -> dict:
        """This run's counts by status."""
        return count(self.records)

    def check(self, inputs=(), overwrite: bool = False, resume: bool = False, outputs=()) -> None:
        """Refuse, before the first pair, a report that would replace an input, one of the outputs or (unless
        `overwrite`, `resume` or it holds the other shards of this batch) an existing file, or that cannot be
        written: ManifestError, or ImageError for a name too long."""
        self._own()
        if self.path is None:
            return
        check_name(self.path)
        folder = self.path.parent
        if not os.path.isdir(folder):
            raise ManifestError(no_folder(self.path, folder))
        if os.path.isdir(self.path):
            raise ManifestError(f"{self.shown}: is a directory")
        check_not_held(self.path)  # (a running video's frames folder is its own)
        try:
            links = os.stat(self.path).st_nlink
        except OSError:
            links = 1
        if links > 1:  # (its lock and claim go by its name, and each rewrite replaces the file under this name only)
            raise ManifestError(f"{self.shown}: the file has other names (hard links, {links} in all); a report is "
                                f"rewritten under one name, which would split it from the others and let two runs "
                                f"write it: remove the other links, or choose another --report")
        if any(other and same_file(self.path, other) for other in inputs):
            raise ManifestError(f"{self.shown}: the report would overwrite an input; choose another --report path")
        if any(same_file(self.path, o) for o in outputs):
            raise ManifestError(f"{self.shown}: the report would be one of the pairs' outputs (or an output's mark); "
                                f"choose another --report path")
        try:
            check_writable(folder)
        except OSError as e:
            raise ManifestError(f"{self.shown}: cannot write in {folder} ({e.strerror or e})") from None
        self._take_claim()
        try:  # (other runs writing it now: its shards, or another batch, refused as such, not told --overwrite)
            self._decide(read(self.path), os.path.lexists(self.path), self.claim.others(), overwrite, resume)
        except BaseException:
            self._release_claim()
            raise

    def _take_claim(self) -> None:
        """The report's claim, from its check until close(): shared with the other shards writing it, never
        with a run that claims the file alone (a figure's .json, `report merge -o`). ManifestError."""
        if self.claim is None:
            try:
                self.claim = claim_file(self.path).take(shared=True)
            except ClaimError as e:
                raise ManifestError(str(e)) from None

    def _release_claim(self) -> None:
        if self.claim is not None:
            self.claim.release()
            self.claim = None

    def open(self, overwrite: bool = False, resume: bool = False) -> None:
        """Join the report's writers and write its first version (under the lock, what check() decided is
        decided again: another run may have started meanwhile). ManifestError as check()."""
        self._own()
        if self.path is None:
            return
        self._take_claim()
        try:
            others = self.lock.enter()
            if not self.lock.hold_pairs(r.index for r in self.records):  # (a shard holds others' pairs)
                raise ManifestError(f"{self.shown}: another stylize batch is writing the records of these pairs into "
                                    f"this report now (the same pairs, not another shard's); wait for it to end, or "
                                    f"choose another --report")
            there = read(self.path)
            self._decide(there, os.path.lexists(self.path), others, overwrite, resume)
            if there is not None and self._same_batch(there):  # (a pair kept by --skip-existing keeps its record's
                self._earlier = {r["index"]: r for r in there["pairs"]  # losses where its output holds no metadata)
                                 if r.get("status") in ("ok", "skipped")}
            self._write_locked(first=True)
        except BaseException:
            self.lock.leave()
            self._release_claim()
            raise
        self._open, self._pid = True, os.getpid()  # (a child made by fork writes none of it: _forked)
        self.lock.release()

    def _decide(self, there: dict | None, exists: bool, others: bool, overwrite: bool, resume: bool) -> None:
        if not exists:
            return
        if there is None and empty_file(self.path):  # (nothing to lose: `--report /dev/stdout > r.json`'s new file)
            if overwrite:
                return
            raise ManifestError(f"{self.shown}: already exists (an empty file); " + (
                "remove it or choose another --report" if resume else "pass --overwrite to replace it"))  # (a
            # resume cannot take --overwrite, which would make every pair again)
        if there is None:  # (an image, a manifest, notes: --overwrite replaces only a report, as `report merge -o`)
            what = f"{kind_of(self.path)}, not a stylize report" if os.path.islink(self.path) else \
                "already exists and is not a stylize report"  # (a link to a file: through_link followed it)
            raise ManifestError(f"{self.shown}: {what}{NOT_A_REPORT}")
        if self._same_batch(there):
            ours = {r.index for r in self.records}
            done = [r for r in there["pairs"] if r.get("index") in ours and r.get("status") != "pending"]
            if others or overwrite or resume or not done:
                return  # the records of the other pairs are kept
            raise ManifestError(f"{self.shown}: already holds results of these pairs; pass --skip-existing to resume "
                                f"or --overwrite to replace it")
        if others:
            raise ManifestError(f"{self.shown}: another stylize batch (other settings or pairs) is writing this report "
                                f"now; choose another --report path")
        if overwrite:
            return
        unmarked = _unmarked(there, self.manifest_sha256)
        if unmarked:
            raise ManifestError(f"{self.shown}: already exists, a report that {unmarked}: its pairs cannot be told "
                                f"to be this manifest's; choose another --report (--skip-existing keeps each finished "
                                f"output whatever the report)")
        if there.get("manifest_sha256") and not self.manifest_sha256:  # (a Report made by hand without one)
            raise ManifestError(f"{self.shown}: already exists, the report of a manifest it records by its digest, "
                                f"and this Report records none (made without manifest_sha256): its pairs cannot be "
                                f"told to be that manifest's; give its manifest_sha256, or choose another report")
        if there.get("settings") == _plain(self.settings):
            # (only the pairs differ, or their count: a manifest edited since, or its outputs named otherwise.
            # --overwrite would make every pair again, and drop the other shards' records: a report of its own keeps
            # both)
            kept = "--skip-existing, as given," if resume else "--skip-existing"
            raise ManifestError(f"{self.shown}: already exists, the report of {self._other_pairs(there)}; choose "
                                f"another --report ({kept} keeps each finished output whatever the report)")
        if resume:  # (--overwrite cannot be added to --skip-existing)
            raise ManifestError(f"{self.shown}: already exists, the report of a batch with other settings; choose "
                                f"another --report")
        raise ManifestError(f"{self.shown}: already exists (a report of a batch with other settings); pass "
                            f"--overwrite to replace it, or choose another --report")

    def _other_pairs(self, there: dict) -> str:
        """Whose pairs a report of these settings but not of this manifest holds, in words: these pairs written
        to other outputs (another --out-dir, --name-template, output names), or another manifest's pairs."""
        theirs = _records(there) or []
        ours = {r.index: r for r in self.records}
        if theirs and there.get("manifest_pairs") == self.manifest_pairs and all(
                r.index in ours and ours[r.index].key(output=False) == r.key(output=False) for r in theirs) \
                and any(ours[r.index].output != r.output for r in theirs):
            return "these pairs written to other outputs (another --out-dir or --name-template, or the manifest's " \
                "output names)"
        return "another manifest's pairs (edited since it was written?)"

    def _same_batch(self, there: dict) -> bool:
        """Whether a report on disk belongs to this batch: the same settings, the same manifest (manifest_sha256:
        an edit of any pair, this shard's or another's, makes another) and the same pairs (Record.key: position,
        images, output, blend) where both hold one."""
        if there.get("manifest_pairs") != self.manifest_pairs or there.get("settings") != _plain(self.settings) \
                or not _same_manifest(there.get("manifest_sha256"), self.manifest_sha256):
            return False
        ours, theirs = {r.index: r.key() for r in self.records}, _records(there)
        return theirs is not None and all(ours.get(r.index, r.key()) == r.key() for r in theirs)

    def write(self, force: bool = True) -> None:
        """Write the report (this run's records with the other shards' found in the file); without `force`,
        only when the last write is long enough ago (at most WRITE_SHARE of the time goes to writing).
        ManifestError when it cannot be written, or is not open (before open(), after close(): its batch's claim
        and lock are not held), or a copy (view). In a child made by fork, nothing: the parent writes it."""
        self._own()
        if self._forked():
            return
        if self.path is None or (not force and time.monotonic() < self._next_write):
            return
        if not self._open:
            raise ManifestError(f"{self.shown}: this report is not open for writing (its batch has not begun, or has "
                                f"ended); a batch writes its report itself")
        self.lock.hold()
        try:
            self._write_locked()
        finally:
            self.lock.release()

    def _write_locked(self, first: bool = False) -> None:
        """Write the report under its lock. `first`: open()'s write, which may replace what check() decided it may
        (another batch's report with --overwrite); a later one finds this batch's report there, or nothing."""
        start = time.monotonic()
        for r in self.records if self._earlier else ():  # (their keys are ours: _same_batch; each carried once)
            if r.status == "skipped" and r.content_loss is None and r.index in self._earlier:
                r.carry(self._earlier.pop(r.index))
        ours = {r.index for r in self.records}
        mine = self._kept()
        there = read(self.path)
        if not first and os.path.lexists(self.path) and (there is None or not self._same_batch(there)):  # (put
            raise ManifestError(f"{self.shown}: a file that is not this batch's report (a file of yours, or another "
                                f"batch's report) was put at the report's name during the batch; it is kept and the "
                                f"report not written: move it away, then resume with --skip-existing")  # there since)
        joined = there is not None and self._same_batch(there)
        others = [Record.from_dict(r) for r in there["pairs"] if r.get("index") not in ours] if joined else []
        records = sorted([*mine, *others], key=lambda r: r.index)
        started = min(self.started, there["started"]) if others and isinstance(there.get("started"), str) \
            else self.started
        data = document(started, self.settings, self.manifest_pairs, records, self.manifest_sha256)
        try:  # (a Report made by hand and edited since it was made: never a file no command takes back)
            ok = valid(json.loads(json.dumps(data, default=str, allow_nan=False))) and \
                len({r.index for r in records}) == len(records)
        except (TypeError, ValueError, RecursionError):
            ok = False
        if not ok:
            raise ManifestError(f"{self.shown}: this report's settings, records or count of pairs are not as a report "
                                f"holds them (changed since the Report was made); nothing written")
        try:
            write_json(self.path, data, overwrite=True)
        except OSError as e:
            raise ManifestError(f"cannot write the report {self.path}: {e.strerror or e}") from None
        now = time.monotonic()
        self._next_write = now + (now - start) * (1 / WRITE_SHARE - 1)

    def _forked(self) -> bool:
        """Whether this is a child made by fork of the process that opened the report."""
        return self._open and self._pid != os.getpid()

    def close(self, write: bool = True) -> None:
        """The last write, and leave the report's writers (the last one out removes the lock file). In a child made
        by fork (leaving its parent's batch as it exits), nothing: the report, its lock and claim are the parent's."""
        if self._forked():
            return
        if not self._open:
            self._release_claim()  # checked, never opened (a batch that failed between the two)
            return
        try:
            if write:
                self.write()
        finally:
            self._open = False
            self.lock.leave()
            self._release_claim()


def count(records) -> dict:
    counts = {}
    for r in records:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts


def document(started: str, settings: dict, manifest_pairs: int, records: list[Record],
             manifest_sha256: str | None = None) -> dict:
    return {"started": started, "settings": settings, "manifest_pairs": manifest_pairs,
            **({"manifest_sha256": manifest_sha256} if manifest_sha256 else {}), "summary": count(records),
            "pairs": [asdict(r) for r in records]}


def _unmarked(data: dict, digest: str | None) -> str | None:
    """Why a report on disk cannot be told to be of one manifest, or None: it counts no pairs (a report of an
    earlier stylize version), or it records no manifest digest where `digest` is one (an earlier version's, or a
    Report made without manifest_sha256). Such a report is never resumed or merged, only replaced."""
    if data.get("manifest_pairs") is None:
        return "counts no manifest pairs (written by an earlier stylize version)"
    if digest and not data.get("manifest_sha256"):
        return ("records no manifest digest (written by an earlier stylize version, or by a Report made without "
                "manifest_sha256)")
    return None


def _records(there: dict) -> list[Record] | None:
    """The records of a report read from disk (`there`); None where its pairs are not records."""
    try:
        return [Record.from_dict(r) for r in there["pairs"]]
    except (TypeError, KeyError):
        return None


def _same_manifest(a, b) -> bool:
    """Whether two reports' manifests (their pairs' sha256) are one: the same digest, or none on either side (two
    Reports made without one, judged by their settings and pairs); a digest on one side alone cannot tell which
    manifest the other's pairs are of."""
    return (a or None) == (b or None)


RANK = {"pending": 0, "interrupted": 1, "failed": 2, "skipped": 3, "ok": 3}


def merge(paths, output, *, overwrite: bool = False) -> tuple[dict, Missing]:
    """Join the reports of one batch's shards into the report one run would have written; return it and the
    (0-based) positions of the manifest's pairs that none of them holds (a Missing: a read-only sequence, indexed
    and sliced as a list). For a pair in several reports the
    furthest record wins (ok or skipped, then failed, interrupted, pending); of equals, the later report's.
    ManifestError for a file that is not a stylize report, reports of different batches (settings,
    manifest), or an `output` that exists (unless `overwrite`, and then only a stylize report is replaced) or is
    one of the reports; UsageError for a report given twice (or two names of one file)."""
    from .arguments import files, flags

    flags(overwrite=overwrite)
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else paths  # (one report alone: a list of one)
    if not isinstance(paths, (list, tuple)) or not all(isinstance(p, (str, os.PathLike)) for p in [*paths, output]):
        raise ManifestError("give the reports to merge as file names (a name, or a list of them) and the output as one")
    files(output=output, **{f"paths[{k}]": p for k, p in enumerate(paths)})
    typed = [os.fspath(p) for p in paths]  # (each report as given, for messages)
    paths, given, output = [Path(p) for p in paths], output, through_link(Path(output))  # (a link to a report:
    name = as_given(given, output)  # written through; named in messages as given)
    if not paths:
        raise ManifestError("give the reports to merge")
    if any(same_file(output, p) for p in paths):
        raise ManifestError(f"{name}: is one of the reports to merge; choose another output")
    keys: dict = {}
    for k, p in enumerate(paths):  # (a name given twice, or two names of one file: a count of reports that is not one)
        first = keys.setdefault(path_key(p), k)
        if first != k:
            also = "" if p == paths[first] else ": two names of one file"
            raise UsageError(f"{typed[k]}: given twice (as {typed[first]}{also}); give each report once")
    check_name(output)
    if not os.path.isdir(output.absolute().parent):
        raise ManifestError(no_folder(output, output.parent))
    check_not_held(output)
    if os.path.lexists(output):  # (what no flag changes is said first)
        if os.path.islink(output):  # (through_link followed any other)
            raise ManifestError(f"{name}: {kind_of(output)}, not a stylize report{NOT_A_REPORT}")
        if not os.path.isfile(output) or (read(output) is None and not empty_file(output)):  # a manifest, an image...
            raise ManifestError(f"{name}: already exists and is not a stylize report{NOT_A_REPORT}")
        if not overwrite:
            raise ManifestError(f"{name}: already exists; pass --overwrite to replace it")
    first, records, started, digest = None, {}, [], None
    for p in paths:
        busy = file_in_use(p)
        if busy is not None:  # (a shard still writing it: its pairs would be merged as they are now)
            raise ManifestError(f"{p}: a stylize batch{owner(busy)} is still writing this report; merge once it has "
                                f"ended")
        data = read(p)
        if data is None:
            kind = kind_of(p)
            why = "no such file" if kind == "nothing" else kind if kind.endswith("nothing") else \
                "not a stylize report" if os.path.isfile(p) else \
                f"{kind}, not a stylize report" if kind.endswith("folder") else \
                f"{kind}, not a regular file (save the report to a file first)"
            raise ManifestError(f"{p}: {why}")
        found = [(p, _unmarked(data, None))]  # (which manifest its pairs are of cannot be told: never merged)
        if first is not None:  # (one of two records its manifest's digest and the other not)
            found += [(p, _unmarked(data, first[1].get("manifest_sha256"))),
                      (first[0], _unmarked(first[1], data.get("manifest_sha256")))]
        for q, unmarked in found:
            if unmarked:
                raise ManifestError(f"{q}: a report that {unmarked}; merge only reports that record their manifest "
                                    f"(rerun that shard with a new --report to make one)")
        if first is None:
            first = (p, data)
        elif data["settings"] != first[1]["settings"]:
            raise ManifestError(f"{first[0]} and {p} are not shards of one batch: their settings differ "
                                f"({_difference(first[1]['settings'], data['settings'])})")  # (in the names' order)
        elif data["manifest_pairs"] != first[1]["manifest_pairs"]:
            raise ManifestError(f"{first[0]} and {p} are not shards of one batch: manifests of "
                                f"{first[1]['manifest_pairs']} and {data['manifest_pairs']} pairs")
        elif not _same_manifest(data.get("manifest_sha256"), digest):
            raise ManifestError(f"{first[0]} and {p} are not shards of one batch: their manifests differ (other "
                                f"images, outputs or blends)")
        digest = digest or data.get("manifest_sha256")
        started += [data["started"]] if isinstance(data["started"], str) else []
        for raw in data["pairs"]:
            r = Record.from_dict(raw)  # (read() has checked its index, names and fields)
            old = records.get(r.index)
            if old is not None and old.key() != r.key():
                raise ManifestError(f"{first[0]} and {p} are not shards of one batch: pair {r.index + 1} differs")
            if old is None or RANK.get(r.status, 0) >= RANK.get(old.status, 0):
                records[r.index] = r
    total = first[1]["manifest_pairs"]
    data = document(min(started, default=""), first[1]["settings"], total, [records[k] for k in sorted(records)],
                    digest)
    try:
        with claim_file(output):  # not while another run writes it (a figure's .json, a batch's report)
            write_json(output, data, overwrite=overwrite)
    except ClaimError as e:
        raise ManifestError(str(e)) from None
    except OSError as e:
        raise ManifestError(f"cannot write {output}: {e.strerror or e}") from None
    return data, Missing(total, records)


class Missing(Sequence):
    """The (0-based) positions of a manifest's `total` pairs that `held` lacks, in order: a read-only sequence (a
    list's indexing, slicing, len, iteration, `in`, ==) computed without listing them all (a report may say its
    manifest has billions of pairs)."""

    def __init__(self, total: int, held):
        self.total = total
        self.held = sorted({k for k in held if isinstance(k, int) and 0 <= k < total})

    def __len__(self) -> int:
        return self.total - len(self.held)

    def _at(self, i: int) -> int:
        """The i-th missing position (0 <= i < len): i, moved past every held position at or before it."""
        k = i
        for h in self.held:
            if h > k:
                break
            k += 1
        return k

    def __getitem__(self, part):
        if isinstance(part, slice):
            return [self._at(i) for i in range(len(self))[part]]
        i = operator.index(part)  # (TypeError for a key of another type, as a list's)
        if not -len(self) <= i < len(self):
            raise IndexError("missing position out of range")
        return self._at(i % len(self))

    def __iter__(self):
        return (k for k in range(self.total) if not self._held(k))

    def _held(self, k: int) -> bool:
        i = bisect.bisect_left(self.held, k)
        return i < len(self.held) and self.held[i] == k

    def __contains__(self, value) -> bool:  # (as a list's `in`: == to one of them, 1.0 and numpy's 1 too)
        from .arguments import is_real

        if isinstance(value, bool) or not is_real(value):  # (another type: as a list compares it, one by one)
            return any(k == value for k in self)
        try:
            k = operator.index(value)
        except TypeError:
            try:
                k = int(value) if float(value).is_integer() else None
            except (TypeError, ValueError, OverflowError):
                k = None
        return k is not None and 0 <= k < self.total and not self._held(k)

    def __eq__(self, other) -> bool:  # (as a list's ==: equal to a list of the same positions, not to a tuple)
        return isinstance(other, (list, Missing)) and len(self) == len(other) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"Missing({self[:10]}{' ...' if len(self) > 10 else ''} of {self.total})"


def _difference(a: dict, b: dict) -> str:
    keys = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    return ", ".join(f"{_quoted(k, str)} {_quoted(a.get(k))} vs {_quoted(b.get(k))}" for k in keys[:3])


def _quoted(value, show=repr, limit: int = 40) -> str:
    """A settings key or value as a message quotes it: whole when short, else its kind and length (a damaged
    report's 200,000-character value is no help in an error line)."""
    text = show(value)
    return text if len(text) <= limit else f"a {type(value).__name__} of {len(text)} characters"


# The Python API (README: Python API); the other names serve the command line and check less.
__all__ = ["Record", "Report", "merge"]
