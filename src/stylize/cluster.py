"""Batches on a Ray cluster: one actor per GPU (or per `cpus` CPUs), each holding one Session, so the network
and each artwork's targets are loaded once per worker. The driver hands each pair to whichever actor is
free (an actor keeps to one artwork while that artwork has pairs left), retries on another actor the pair
of an actor that died, and alone writes the report. Workers write the outputs straight into the output
folder, which every node must see (shared storage): a marker file checks that before the work.

Ray is imported here only, and only when a batch runs on it (the `ray` extra).
"""

from __future__ import annotations

import builtins
import collections
import dataclasses
import logging
import os
import re
import secrets
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Callable

import torch

from . import batch
from .batch import Pair
from .console import signals_held
from .errors import ClusterError, UsageError
from .report import Record, Report
from .settings import STARTS, WEIGHT_SOURCES, settings_of, shown
from .targets import Targets

EXTRA = "pip install 'gatys-stylize[ray]'"
CONNECT_WAIT = 10.0  # s: a cluster ADDRESS that does not answer within this is unreachable
START_WAIT = 120.0  # s with no worker ready (none can be placed, or none starts): the batch stops
STOP_WAIT = 30.0  # s the workers have, after Ctrl-C, to save their pairs' best images so far
ATTEMPTS = 3  # a pair whose worker died this many times while making it fails
POLL = 0.2  # s between looks at Ctrl-C while the workers work
CLIENT_PORT = 10001  # Ray client's port, for ray://HOST without one
MARKER = ".stylize-shared-"  # the marker file's name in the output folder, before its token


def import_ray():
    """The ray module; ClusterError naming the extra to install when it is missing."""
    try:
        import ray
    except ImportError:
        raise ClusterError(f"--ray needs Ray, which is not installed: {EXTRA}") from None
    return ray


def parse_address(address: str) -> tuple[str, int] | None:
    """(host, port) of a cluster's ADDRESS: HOST:PORT (its head's GCS port, 6379 by default) or
    ray://HOST[:PORT] (Ray client, 10001); None for '' (this machine's running cluster, else a new local
    one), 'auto' (this machine's running cluster) and 'local' (a new local one). ClusterError otherwise."""
    if address in ("", "auto", "local"):
        return None
    client = address.startswith("ray://")
    rest = address[len("ray://"):] if client else address
    host, sep, port = rest.rpartition(":")
    if client and (not sep or "]" in port):
        host, sep, port = rest, ":", str(CLIENT_PORT)
    host = host.strip("[]")
    if not sep or not host or not re.fullmatch("[0-9]{1,5}", port) or not 0 < int(port) < 65536:  # ASCII digits
        raise ClusterError(f"{shown(address, 60)} is not a Ray address: give auto, local, HOST:PORT or "
                           f"ray://HOST:PORT")
    return host, int(port)


def connect(address: str | None = None, *, wait: float = CONNECT_WAIT) -> bool:
    """Connect this process to Ray, unless it is already: to `address` (parse_address), else $RAY_ADDRESS,
    else this machine's running cluster, else a new local one. An address is first reached over TCP within
    `wait` seconds. Returns whether this call connected (its caller then calls ray.shutdown()).
    ClusterError: Ray missing, a bad or unreachable address."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    from_environment = not address and bool(os.environ.get("RAY_ADDRESS"))
    address = address or os.environ.get("RAY_ADDRESS") or None
    try:
        target = parse_address(address or "")
    except ClusterError as e:  # (--ray ADDRESS is checked as the command line is read: a usage error, exit 2)
        if from_environment:
            raise UsageError(f"$RAY_ADDRESS: {e}") from None
        raise
    if target is not None:
        try:
            socket.create_connection(target, timeout=wait).close()
        except TimeoutError:
            raise ClusterError(f"the Ray cluster at {address} does not answer (waited {wait:g} s)") from None
        except OSError as e:
            raise ClusterError(f"cannot reach the Ray cluster at {address}: {e.strerror or e}") from None
    terminate = signal.getsignal(signal.SIGTERM)  # ray.init replaces it with sys.exit; SIGTERM stays ours
    terminated = False
    try:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    except ConnectionError as e:
        raise ClusterError(f"cannot connect to a Ray cluster{f' at {address}' if address else ''}: "
                           f"{_last_line(e)}") from None
    except SystemExit as e:  # SIGTERM reached Ray's handler (sys.exit(15)) before ray.init gave SIGTERM back
        if e.code != signal.SIGTERM or not callable(terminate):
            raise
        terminated = True
    finally:
        if threading.current_thread() is threading.main_thread() and terminate is not None:
            signal.signal(signal.SIGTERM, terminate)
    if terminated:
        terminate(signal.SIGTERM, None)  # ours, as if it had come a moment later: the run stops as interrupted
    return True


class Worker:
    """What a Ray actor holds: one Session on its process's device, with `threads` torch threads."""

    def __init__(self, settings, threads: int):
        import torch

        from . import allocator
        from .api import Session, deterministic_cuda

        allocator.manage()  # the worker owns its process, as the command line owns its own
        torch.set_num_threads(threads)
        self.session = Session(settings)
        if self.session.device.type == "cuda":
            deterministic_cuda()
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = threading.Event()

    def ready(self, marker: str, token: str) -> tuple[str, str | None]:
        """(this worker's name, None) when it sees the driver's `marker` holding `token`; else (name, why not)."""
        try:
            seen = Path(marker).read_text(encoding="utf-8")
        except OSError as e:
            return self.name, e.strerror or str(e)
        return self.name, None if seen == token else "it holds another run's token"

    def run(self, pair: Pair, record: Record, replace: bool, metadata: dict | None) -> tuple[Record, str | None]:
        """Make one pair (batch.synthesize, as a plain batch does) and return its record and memory note."""
        record.worker = self.name
        note = batch.synthesize(self.session, pair, record, replace, metadata=metadata,
                                should_stop=self.stopping.is_set)
        return record, note

    def stop(self) -> None:
        """Stop the pair in progress with its best image so far (saved, marked partial)."""
        self.stopping.set()


@dataclasses.dataclass
class _Slot:
    actor: object
    starting: object = None  # the ObjectRef of ready(), until it answers
    job: object = None  # the ObjectRef of run(), while a pair is out
    task: tuple | None = None  # (pair, its copy for the worker, replace)
    name: str = ""
    style: tuple = ()  # the artworks of its last pair: their targets are in its cache


class _Queue:
    """The pairs still to make, by artwork: an actor takes the next pair of the artwork it had last, else one
    of the artwork with the most pairs left that no other actor is on, else of the one with the most left."""

    def __init__(self, tasks):
        self.groups = collections.OrderedDict()
        for task in tasks:
            self.groups.setdefault(task[0].styles, collections.deque()).append(task)

    def __len__(self) -> int:
        return sum(len(g) for g in self.groups.values())

    def put_back(self, task) -> None:
        self.groups.setdefault(task[0].styles, collections.deque()).appendleft(task)

    def take(self, last: tuple, taken) -> tuple | None:
        groups = {k: g for k, g in self.groups.items() if g}
        if not groups:
            return None
        key = last if last in groups else max(groups, key=lambda k: (k not in taken, len(groups[k])))
        return groups[key].popleft()


def plan_workers(ray, settings, cpus: int, workers: int | None) -> tuple[int, dict, object]:
    """How many actors the cluster holds, their resources, and the settings they run with: one per GPU
    (unless --device cpu or mps), else one per `cpus` CPUs; at most `workers`. ClusterError when none fits."""
    total = ray.cluster_resources()
    gpus, cores = int(total.get("GPU", 0)), int(total.get("CPU", 0))
    cuda = settings.device == "cuda" or settings.device.startswith("cuda:")
    if gpus and (cuda or settings.device == "auto"):
        count, resources = gpus, {"num_gpus": 1, "num_cpus": min(cpus, max(cores // gpus, 1))}
        settings = settings.replace(device="cuda")  # each actor sees its own GPU as cuda:0
    elif cuda:
        raise ClusterError(f"--device {settings.device}: the Ray cluster has no GPU")
    else:
        count, resources = cores // cpus, {"num_cpus": cpus}
        if not count:
            raise ClusterError(f"the Ray cluster has {cores} CPUs, fewer than --ray-cpus {cpus}")
    return min(count, workers or count), resources, settings


def run_batch(pairs: list[Pair], out_dir, settings, *, address: str | None = None, cpus: int = 1,
              workers: int | None = None, report=None, inputs=(), skip_existing: bool = False,
              overwrite: bool = False, continue_on_error: bool = True,
              should_stop: Callable[[], bool] | None = None, on_ready: Callable[[Report], None] | None = None,
              on_start: Callable[[Record, str], None] | None = None,
              on_pair: Callable[[Record], None] | None = None, on_note: Callable[[Pair, str], None] | None = None,
              on_folders: Callable[[], None] | None = None, metadata: dict | None = None) -> Report:
    """Run `pairs` on a Ray cluster (connect(address)) and return a copy of the batch's Report, as batch.run_batch.

    Actors: plan_workers(cpus, workers). Every check happens before the first pair (batch.begin); pairs
    already done (--skip-existing) or refused never reach a worker. on_start(record, worker) is told when
    a pair goes to a worker ("host:pid"), on_pair(record) when it ends. A pair whose worker dies is made
    again on another (at most ATTEMPTS times); a pair that fails (bad input) fails alone. should_stop()
    (Ctrl-C) stops the workers: each saves its pair's best image so far, marked partial, within STOP_WAIT
    seconds. Raises ManifestError, ClusterError (Ray missing or unreachable, an output folder a worker cannot
    see, no worker starting within START_WAIT seconds) and a worker's own unexpected exception."""
    pairs, inputs, metadata = batch.check_arguments(
        pairs, out_dir, report, inputs, skip_existing, overwrite, continue_on_error, metadata, should_stop=should_stop,
        on_ready=on_ready, on_start=on_start, on_pair=on_pair, on_note=on_note, on_folders=on_folders)
    should_stop, on_ready, on_start, on_pair, on_note, on_folders = map(batch.told, (
        should_stop, on_ready, on_start, on_pair, on_note, on_folders))  # (as batch.run_batch's)
    settings = settings_of(settings)
    batch.check_read(pairs, settings)
    ray = import_ray()
    printer = builtins.print  # Ray's driver replaces it (tqdm_ray) when it relays a worker's death
    owned = connect(address)
    marker = None
    try:
        rep = batch.begin(pairs, out_dir, settings, report=report, inputs=inputs, skip_existing=skip_existing,
                          overwrite=overwrite, on_folders=on_folders)
        try:
            batch.load_weights(rep, pairs, settings, should_stop)
            count, resources, settings = plan_workers(ray, _absolute(settings), cpus, workers)
            batch.open_report(rep, overwrite=overwrite, resume=skip_existing)
            if on_ready is not None:
                on_ready(rep)
            tasks = []
            key = Targets(torch.device("cpu")).key  # (a kept output's inputs: each image decoded once)
            if not continue_on_error and batch.failed_at_start(pairs, rep.records, rep, on_pair,
                                                               skip_existing=skip_existing, overwrite=overwrite,
                                                               settings=settings, key=key):
                pairs = []
            for pair, record in zip(pairs, rep.records):
                replace = batch.triage(pair, record, skip_existing=skip_existing, overwrite=overwrite,
                                       settings=settings, key=key)
                if replace is None:
                    batch.finished(record, rep, on_pair)
                    if batch.stops(record, continue_on_error):
                        break
                else:
                    tasks.append((pair, _anywhere(pair), replace))
            if tasks and not (should_stop is not None and should_stop()):
                marker = Path(os.path.abspath(out_dir)) / f"{MARKER}{secrets.token_hex(8)}"
                marker.write_text(marker.name, encoding="utf-8")
                driver = _Driver(ray, rep, _Queue(tasks), resources, settings, marker, metadata, continue_on_error,
                                 should_stop, on_start, on_pair, on_note)
                driver.run(min(count, len(tasks)))
        finally:
            if marker is not None:
                marker.unlink(missing_ok=True)
            batch.end(rep)
    finally:
        if owned:
            try:
                with signals_held():  # (a second Ctrl-C acts once Ray is down, not leaving its processes running)
                    ray.shutdown()
            finally:
                builtins.print = printer
    return rep.view()  # (a copy: the batch has ended; what is done to it changes nothing on disk)


class _Driver:
    """The loop of run_batch: start actors, hand out pairs, collect records, replace actors that die."""

    def __init__(self, ray, report: Report, queue: _Queue, resources: dict, settings, marker: Path, metadata,
                 continue_on_error: bool, should_stop, on_start, on_pair, on_note):
        self.ray, self.report, self.queue, self.marker, self.metadata = ray, report, queue, marker, metadata
        self.continue_on_error, self.should_stop = continue_on_error, should_stop or (lambda: False)
        self.on_start, self.on_pair, self.on_note = on_start, on_pair, on_note
        self.actor_class = ray.remote(max_concurrency=2, max_restarts=0, **resources)(Worker)
        self.settings, self.threads, self.gpu = settings, resources["num_cpus"], "num_gpus" in resources
        self.records = {r.index: r for r in report.records}
        self.attempts = collections.Counter()
        errors = ray.exceptions  # a worker's process or node gone: its pair is made again elsewhere
        self.deaths = (errors.RayActorError, errors.WorkerCrashedError, errors.NodeDiedError, errors.ObjectLostError,
                       errors.OutOfMemoryError)
        self.slots, self.dispatching = [], True
        self.alive, self.seen = time.monotonic(), False  # when a worker was last seen ready; whether one ever was

    def start(self) -> None:
        actor = self.actor_class.remote(self.settings, self.threads)
        self.slots.append(_Slot(actor, starting=actor.ready.remote(str(self.marker), self.marker.name)))

    def run(self, count: int) -> None:
        try:
            for _ in range(count):
                self.start()
            while self.busy() or (self.dispatching and len(self.queue)):
                if self.should_stop():
                    self.stop()
                    break
                self.step(POLL)
                self.dispatch()
                if any(s.name for s in self.slots):
                    self.alive, self.seen = time.monotonic(), True
                elif time.monotonic() - self.alive > START_WAIT and self.seen:  # a node, or Ray itself, died
                    raise ClusterError(f"the Ray workers were lost and none started again within {START_WAIT:g} s "
                                       f"(a node or its Ray processes gone?); rerun with --skip-existing to finish")
                elif time.monotonic() - self.alive > START_WAIT:
                    raise ClusterError(f"no Ray worker started within {START_WAIT:g} s: the cluster has no free "
                                       f"{'GPU' if self.gpu else f'{self.threads} CPUs'} for one, or none can start")
        finally:
            for slot in self.slots:
                self.ray.kill(slot.actor, no_restart=True)

    def busy(self) -> list[_Slot]:
        return [s for s in self.slots if s.job is not None]

    def stop(self) -> None:
        """Ctrl-C: every worker stops its pair with the best image so far; what comes back in time is kept."""
        for slot in self.busy():
            slot.actor.stop.remote()
        deadline = time.monotonic() + STOP_WAIT
        while self.busy() and time.monotonic() < deadline:
            self.step(POLL)

    def step(self, timeout: float) -> None:
        refs = {s.starting or s.job: s for s in self.slots if s.starting or s.job}
        if not refs:
            time.sleep(timeout)
            return
        done, rest = self.ray.wait(list(refs), num_returns=1, timeout=timeout)
        if done and rest:  # whatever else has ended meanwhile, without waiting
            done += self.ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        for ref in done:
            slot = refs[ref]
            if slot.starting is not None:
                self.started(slot)
            else:
                self.finished(slot)

    def started(self, slot: _Slot) -> None:
        try:
            slot.name, why = self.ray.get(slot.starting)
        except self.deaths as e:
            if getattr(e, "actor_init_failed", False):  # the same on every try: stylize missing on a node, ...
                raise ClusterError(f"a Ray worker could not start: {_last_line(e)}") from None
            self.replace(slot)
            return
        if why is not None:
            raise not_shared(self.marker, slot.name, why)
        slot.starting, self.alive = None, time.monotonic()

    def dispatch(self) -> None:
        if self.should_stop():
            return
        for slot in self.slots:
            if not (self.dispatching and slot.name and slot.starting is None and slot.job is None):
                continue
            task = self.queue.take(slot.style, {s.style for s in self.busy()})
            if task is None:
                return
            pair, copy, replace = task
            record = self.records[pair.index]
            slot.task, slot.style = task, pair.styles
            slot.job = slot.actor.run.remote(copy, dataclasses.replace(record), replace, self.metadata)
            if self.on_start is not None:
                self.on_start(record, slot.name)

    def finished(self, slot: _Slot) -> None:
        pair = slot.task[0]
        record = self.records[pair.index]
        self.attempts[pair.index] += 1
        try:
            result, note = self.ray.get(slot.job)
        except self.deaths:
            task, slot.job = slot.task, None
            if self.attempts[pair.index] < ATTEMPTS:
                self.queue.put_back(task)
            self.replace(slot)
            if self.attempts[pair.index] < ATTEMPTS:
                return
            record.status = "failed"
            record.error = f"its Ray worker died {ATTEMPTS} times while making it (killed, out of memory, node lost)"
            note = None
        else:
            slot.job = None
            vars(record).update(vars(result))  # the report's own object: the front end holds it
            record.error = _as_named(record.error, slot.task[1], pair)
        record.attempts = self.attempts[pair.index] if self.attempts[pair.index] > 1 else None
        batch.finished(record, self.report, self.on_pair)
        if note and self.on_note is not None:
            self.on_note(pair, note)
        if batch.stops(record, self.continue_on_error):
            self.dispatching = False

    def replace(self, slot: _Slot) -> None:
        """A worker died: kill what is left of it, and start another in its place while there is work for it
        (more pairs waiting than workers left, or no worker left)."""
        self.ray.kill(slot.actor, no_restart=True)
        self.slots.remove(slot)
        if not self.slots or len(self.queue) > len(self.slots):
            self.start()


def not_shared(marker: Path, worker: str, why: str) -> ClusterError:
    """The error of a worker that cannot read the driver's marker file: the output folder is not shared."""
    return ClusterError(f"{marker.parent} is not shared storage: the Ray worker {worker} cannot read {marker.name} "
                        f"there ({why}); --out-dir must be a folder every node sees (NFS, a mounted bucket)")


def _absolute(settings):
    """The settings with every file they name absolute: a worker's working folder is not the driver's."""
    from .masks import mask_files

    def absolute(spec):
        parts = mask_files(spec)
        return "+".join(os.path.abspath(p) for p in parts) if parts and parts != [spec] else \
            os.path.abspath(spec) if parts else spec

    return settings.replace(
        weights=settings.weights if settings.weights in WEIGHT_SOURCES else os.path.abspath(settings.weights),
        init=settings.init if settings.init in STARTS else os.path.abspath(settings.init),
        content_mask=absolute(settings.content_mask), style_masks=tuple(absolute(m) for m in settings.style_masks))


def _anywhere(pair: Pair) -> Pair:
    """The pair as a worker reads it: absolute paths, without the whole manifest's file list (the driver's)."""
    return dataclasses.replace(pair, content=os.path.abspath(pair.content),
                               styles=tuple(os.path.abspath(s) for s in pair.styles),
                               output=Path(os.path.abspath(pair.output)), manifest=None)


def _as_named(error: str | None, copy: Pair, pair: Pair) -> str | None:
    """A worker's error about its copy of the pair (absolute paths: _anywhere) in the names the manifest gave, as
    a plain batch words it."""
    there = (copy.content, *copy.styles, str(copy.output))
    here = (pair.content, *pair.styles, str(pair.output))
    for absolute, named in sorted(zip(there, here), key=lambda names: -len(names[0])):  # (longest first)
        error = error.replace(absolute, named) if error else error
    return error


def _last_line(e: BaseException) -> str:
    """The line of a Ray error that says what happened (the last of its traceback), without our class's path."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    line = lines[-1] if lines else type(e).__name__
    return re.sub(r"^stylize\.errors\.\w+: ", "", line)[:300]
