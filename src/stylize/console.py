"""The terminal side of the command line, without click: signals that stop a run with its best image, and
progress bars fed by the library's Progress callbacks (cli.py's commands use them)."""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager


def limits() -> str:
    """'; the address-space limit (ulimit -v) is 2.4 GiB' when the process has one, else ''."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        return ""
    return "" if soft == resource.RLIM_INFINITY else f"; the address-space limit (ulimit -v) is {soft / 2**30:.1f} GiB"


PYTHON_ERROR = 97  # the probe's child: torch's import raised a Python exception (the parent's import will too)


class _TorchProbe:
    """Under an address-space limit (ulimit -v), torch's C++ start-up can abort the process (std::bad_alloc,
    SIGABRT: no Python error to catch). On the first `import torch` this meta-path finder first imports torch
    in a forked child; if the child dies of a signal, the import is a MemoryError here (one line, cli.main).
    Otherwise the import goes on as usual. Costs one more import of torch, only under such a limit."""

    def __init__(self, module: str = "torch"):
        self.module = module

    def find_spec(self, name, path=None, target=None):
        if name != self.module:
            return None
        sys.meta_path.remove(self)
        import os

        pid = os.fork()
        if pid == 0:  # the child: try the import, report only how it ended (its own messages go nowhere)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
            import faulthandler

            faulthandler.disable()  # (PYTHONFAULTHANDLER, pytest) its dump of the abort would reach the terminal
            try:
                __import__(name)
            except BaseException:
                os._exit(PYTHON_ERROR)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):  # std::bad_alloc's abort
            raise MemoryError(f"{name}'s start-up was killed by signal {os.WTERMSIG(status)}")
        if os.WEXITSTATUS(status) not in (0, PYTHON_ERROR):  # a library that exits by itself (OpenBLAS, no memory)
            raise MemoryError(f"{name}'s start-up ended the process (exit status {os.WEXITSTATUS(status)})")
        return None  # the usual finders import it (an ImportError or MemoryError then is cli.main's to show)


def probe_torch_under_limits() -> None:
    """Install a _TorchProbe for torch and for OpenCV (`video`'s optical flow: its native start-up segfaults near
    some limits) when the process has an address-space limit and the module is not loaded yet."""
    if limits() and hasattr(__import__("os"), "fork"):
        sys.meta_path[:0] = [_TorchProbe(m) for m in ("torch", "cv2") if m not in sys.modules]


def printable(text: str) -> str:
    """`text` with each character Python does not print as itself (a line break or a bidi control inside a file
    name) written as its escape, '\\n', so that every message stays one line a script can read; a byte of a name
    that is not UTF-8 (which Python keeps as a lone surrogate) as that byte, '\\xff', as settings.shown quotes it."""
    return "".join(c if c.isprintable() else _escape(c) for c in str(text))


def _escape(c: str) -> str:
    if "\udc80" <= c <= "\udcff":  # (surrogateescape: the byte 0x80-0xff it stands for)
        return f"\\x{ord(c) - 0xdc00:02x}"
    return repr(c)[1:-1]


def say(text: str) -> None:
    """One message on stderr, printable (the command line's every message goes through here or a bar)."""
    import click

    click.echo(printable(text), err=True)


class Interrupt:
    """Set by a stop signal (STOP_SIGNALS); the synthesis polls it and stops with its best image."""

    def __init__(self):
        self.signal = None
        self.raised = False  # EARLY: the KeyboardInterrupt of a second signal is on its way (raised once only)

    def __call__(self) -> bool:
        return self.signal is not None


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # Ctrl-C, `kill`, the terminal closed: the run stops
EARLY = Interrupt()  # SIGINT before a command's catch_signals (main's handler): acted on there, or at exit
_WAKEUP: list[int] = []  # the read end of the pipe Python's C signal handler writes a byte to for each signal


def _count_signals() -> None:
    """Have each stop signal that arrives counted (signal.set_wakeup_fd: a byte each), so that two that come
    while the main thread is in one long C call (a convolution, an import), which Python runs the handler for
    once, are still two: the second acts at once. Main thread only; where another wakeup fd is set, left so."""
    import os

    if _WAKEUP:
        return
    import fcntl

    pipe = os.pipe()  # moved above 2: a closed descriptor 2 (`2>&-`) stays free for outlive_readers to fill
    read, write = (fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3) for fd in pipe)
    for fd in pipe:
        os.close(fd)
    for fd in (read, write):
        os.set_blocking(fd, False)
    try:
        before = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    except ValueError:  # not the main thread
        before = None
    if before == -1:
        _WAKEUP.append(read)
        return
    if before is not None:
        signal.set_wakeup_fd(before)  # someone else's (asyncio's): theirs again, and signals are not counted
    os.close(read)
    os.close(write)


def _arrived() -> int:
    """How many stop signals (STOP_SIGNALS) arrived since the last call (at least the one being handled)."""
    import os

    count, data = 0, b"x" * 512
    while _WAKEUP and len(data) == 512:  # (a full read: more may wait)
        try:
            data = os.read(_WAKEUP[0], 512)
        except OSError:  # nothing to read
            break
        count += sum(b in STOP_SIGNALS for b in data)
    return max(count, 1)


def note_early_interrupts() -> None:
    """From start-up until a command's catch_signals: a first SIGINT, SIGTERM or SIGHUP is noted in EARLY (never
    raised inside an import), a second one stops at once (KeyboardInterrupt, with EARLY.signal the second's:
    cli.main says "Interrupted." and exits 130 or 143). Also a command's second signal (catch_signals gives
    it back to this handler). Only where the signal still has Python's default handling."""
    def early(signum, frame):
        stop = EARLY.signal is not None or _arrived() > 1
        EARLY.signal = signum
        if stop and not EARLY.raised:  # (once: a third signal raising again while the first KeyboardInterrupt
            EARLY.raised = True  # unwinds a lock's release, in threading's Event.wait, breaks the lock:
            raise KeyboardInterrupt  # "RuntimeError: release unlocked lock", a traceback; its status counts)

    _count_signals()

    for s in STOP_SIGNALS:
        if signal.getsignal(s) is (signal.default_int_handler if s == signal.SIGINT else signal.SIG_DFL):
            signal.signal(s, early)


def stopped() -> bool:
    """Whether a stop signal has come (EARLY: after a command's catch_signals block, main's handler notes it)."""
    return EARLY.signal is not None


def ignore_signals() -> None:
    """Once a command has chosen its exit status and said why: a stop signal now changes neither the files
    nor the status (it would kill the interpreter on its way out, or turn "Wrote ..." into "Interrupted")."""
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)


@contextmanager
def signals_held():
    """Hold SIGINT and SIGTERM for the block: a step that must not be cut in half (Ray's shutdown: interrupted,
    it leaves the cluster's processes running and the exit status lost). Each signal that came is then given,
    in order, to the handler in place once the block is done, as if it came at that moment (a second Ctrl-C
    then stops at once). Only in the main thread, and not where a signal is ignored."""
    import os
    import threading

    held, previous = [], {}
    if threading.current_thread() is threading.main_thread():
        for s in STOP_SIGNALS:
            if signal.getsignal(s) not in (signal.SIG_IGN, None):
                previous[s] = signal.signal(s, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        for signum in held:
            handler = signal.getsignal(signum)  # (a first signal's handler puts back the one for a second)
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), signum)


class _Outlived:
    """A text stream (stderr, stdout) whose reader may go away (`stylize ... 2>&1 | head -c 1`) or that cannot
    be written (`2>/dev/full`, a full disk, an I/O error): the first write that fails points its descriptor at
    /dev/null, so the messages and the progress bar are dropped and the work goes on to its files and its exit
    status, instead of failing on a message."""

    def __init__(self, stream, closed: bool = False):
        self._stream = stream
        self.failed: OSError | None = None  # the first write's error, if one failed
        self._closed = closed  # its descriptor was closed at start (`>&-`): on /dev/null, every write is lost

    def _quietly(self, method: str, *args):
        try:
            return getattr(self._stream, method)(*args)
        except OSError as e:  # EPIPE, ENOSPC, EIO, ...
            import os

            self.failed = self.failed or e
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())  # what is still buffered, and every later write, goes there
            os.close(devnull)
            return len(args[0]) if args else None

    def write(self, text):
        if self._closed and text and self.failed is None:
            import errno

            self.failed = OSError(errno.EBADF, "it is closed")
        return self._quietly("write", text)

    def flush(self):
        return self._quietly("flush")

    def __getattr__(self, name):
        return getattr(self._stream, name)


def outlive_readers() -> None:
    """Make sys.stderr and sys.stdout _Outlived (the command line only: a library leaves its caller's streams).
    A closed descriptor 1 or 2 (`2>&-`, a daemon's) is first opened on /dev/null: else the next file opened (an
    output) would take its number, and messages would be written into it."""
    import os

    closed = set()
    for fd, name in ((1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            closed.add(name)
            null = os.open(os.devnull, os.O_WRONLY)  # the lowest free descriptor: this one (1 before 2)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            setattr(sys, name, open(fd, "w", closefd=False))
    for name in ("stderr", "stdout"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, _Outlived) and hasattr(stream, "fileno"):
            setattr(sys, name, _Outlived(stream, closed=name in closed))


def main() -> None:
    """The `stylize` console script's body (after startup.main): notes Ctrl-C before the command line's modules
    (click, torch) import, then runs cli.main."""
    note_early_interrupts()
    outlive_readers()
    here_exists()
    probe_torch_under_limits()
    try:
        from .cli import main as run
    except KeyboardInterrupt:  # a second Ctrl-C (or SIGTERM) during the imports
        print("Interrupted.", file=sys.stderr)
        sys.exit(128 + (EARLY.signal or signal.SIGINT))
    try:
        run()
    except SystemExit as e:
        status = _printed(e.code)
        synthesis = sys.modules.get("stylize.synthesis")
        if synthesis is not None and synthesis.computing():  # a stop left a pass computing on another thread:
            import os

            for stream in (sys.stdout, sys.stderr):  # end now, not through torch's teardown under it
                stream.flush()
            os._exit(status or 0 if isinstance(status, int | None) else 1)
        sys.exit(status)


def here_exists() -> None:
    """One line and status 1 when the working folder is gone (removed since the shell entered it) or cannot be
    read: torch's start-up would die inside its native libraries without a word of stylize's."""
    import errno
    import os

    try:
        os.getcwd()
    except OSError as e:
        gone = e.errno == errno.ENOENT
        print("Error: the current folder " + ("no longer exists (removed since the shell entered it)" if gone else
                                             f"cannot be read ({e.strerror or e})") + "; change to a folder that "
              "exists" * gone + "another folder" * (not gone), file=sys.stderr)
        sys.exit(1)


def _printed(status):
    """`status`, or 1 (with a line on stderr) when what went to stdout could not be written there: stdout holds
    only what was asked for (--help, --version, --list-layers), so a full disk (ENOSPC) or an I/O error loses it.
    A reader that went away (EPIPE: `stylize --list-layers | head -1`) chose to read no more: not an error."""
    import errno

    out = sys.stdout
    if isinstance(out, _Outlived) and status in (0, None):
        out.flush()
        if out.failed is not None and out.failed.errno != errno.EPIPE:
            say(f"Error: cannot write to standard output ({out.failed.strerror or out.failed})")
            return 1
    return status


@contextmanager
def catch_signals():
    """A command's work: a first SIGINT, SIGTERM or SIGHUP sets the Interrupt it yields (the work stops at its
    next check and saves what it has); a second acts at once, by main's handler (note_early_interrupts). A signal
    that came before the block (EARLY) is its first: then the block takes none, and the next one acts at once."""
    flag = Interrupt()
    flag.signal, previous = EARLY.signal, {}
    _arrived()  # (what other handlers left on the counter is not this block's: every handler here reads its own)

    def handler(signum, frame):
        flag.signal = EARLY.signal = signum  # main's handler then makes a second SIGINT act at once
        for s, h in previous.items():  # a second signal acts at once
            signal.signal(s, h)
        if _arrived() > 1 and callable(previous.get(signum)):  # two came during one C call: this is the second
            previous[signum](signum, frame)

    for s in STOP_SIGNALS if flag.signal is None else ():
        if signal.getsignal(s) == signal.SIG_IGN:
            continue  # ignored by whoever started us (`cmd &` in a script): keep it so
        try:
            previous[s] = signal.signal(s, handler)
        except ValueError:  # not the main thread
            pass
    try:
        yield flag
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


class ProgressBar:
    """A tqdm bar fed by the library's Progress callbacks (shown from the first one). level_iterations:
    iterations of each coarse-to-fine level of one synthesis; runs: how many syntheses share the bar (a
    figure's cells, told apart by Progress.run)."""

    def __init__(self, level_iterations: list[int], quiet: bool, desc: str = "", runs: int = 1):
        self.offsets = [sum(level_iterations[:k]) for k in range(len(level_iterations))]
        self.per_run = sum(level_iterations)
        self.total = self.per_run * runs
        self.bar, self.quiet, self.desc, self.last = None, quiet, desc, None

    def __call__(self, p) -> None:
        position = p.run * self.per_run + self.offsets[min(p.level, len(self.offsets) - 1)] + p.iteration
        if (p.run, p.level, p.iteration) != self.last and not self.quiet:
            self.last = (p.run, p.level, p.iteration)
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=self.total, desc=self.desc, unit="it", file=sys.stderr, dynamic_ncols=True)
            self.bar.n = min(position, self.total)
            self.bar.set_postfix_str(f"content={p.content:.4g} style={p.style:.4g} evals={p.evaluations}", refresh=True)

    STOPS = {"done": "the loss stopped falling (--no-until-done runs every iteration)",
             "converged": "the loss no longer changes (under 1e-6 over 50 evaluations)",
             "stalled": "no step lowers the loss any more (a loss that flat: weights too small?)",
             "evaluations": "the cap on loss evaluations (--evaluations: 1.25 x --iterations unless given)"}

    @classmethod
    def summary(cls, outcome) -> tuple[str, str]:
        """('14 iterations / 18 evaluations', why the run ended before its last iteration or '') of an Outcome."""
        i, e = outcome.iterations, outcome.evaluations
        why = f"; stopped early: {cls.STOPS[outcome.stopped]}" if outcome.stopped in cls.STOPS else ""
        return f"{i} iteration{'s' * (i != 1)} / {e} evaluation{'s' * (e != 1)}", why

    def close(self, outcome=None, finished: bool = False) -> None:
        """Close the bar; an Outcome that ended before its last iteration says on it where and why (its own
        count of iterations, the one `Wrote ...` gives). finished: every synthesis of a shared bar (a figure's
        cells) is done, the last one perhaps stopped early, so the bar ends full."""
        if self.bar is not None:
            if finished:
                self.bar.n = self.total
                self.bar.refresh()
            if outcome is not None and outcome.stopped in self.STOPS:
                if self.total == self.per_run:  # one synthesis: the bar ends at the iteration the run ended on
                    self.bar.n = min(self.offsets[-1] + outcome.iterations, self.total)
                i = outcome.iterations
                self.bar.set_postfix_str(f"stopped after {i} iteration{'s' * (i != 1)}: {self.STOPS[outcome.stopped]}",
                                         refresh=True)
            self.bar.close()


class VideoProgress:
    """`stylize video`'s bar: one step per frame and pass, with seconds per frame (make_video's on_ready and
    on_frame); the memory plan's note above it."""

    def __init__(self, quiet: bool):
        self.quiet, self.bar = quiet, None

    def ready(self, plan) -> None:
        if self.quiet:
            return
        if plan.note:
            print(f"Note: {plan.note}", file=sys.stderr)
        from tqdm import tqdm

        self.bar = tqdm(total=plan.frames * plan.passes, desc="video", unit="frame", file=sys.stderr,
                        dynamic_ncols=True)

    def frame(self, p) -> None:
        if self.bar is not None:
            self.bar.update(1)
            done = "finished before" if p.skipped else f"the last took {p.seconds:.1f} s"  # (tqdm: the mean rate)
            self.bar.set_postfix_str(done if p.passes == 1 else f"pass {p.pass_number}/{p.passes}, {done}",
                                     refresh=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class BatchProgress:
    """A batch's bar: one step per pair, failures and memory notes written above it. In one process it names
    the pair that runs next and its iteration; on a cluster, where several run at once, the last pair to
    start and its worker."""

    def __init__(self, quiet: bool, iterations: int):
        self.quiet, self.iterations, self.bar, self.records, self.cluster = quiet, iterations, None, [], False
        self.report = None  # the batch's Report, once ready

    def ready(self, report) -> None:
        """batch.run_batch's on_ready."""
        from tqdm import tqdm

        self.report, self.records = report, report.records
        self.bar = tqdm(total=len(self.records), unit="pair", file=sys.stderr, disable=self.quiet or not self.records,
                        dynamic_ncols=True)  # (a shard that holds no pair has no bar: its summary says so)
        self.pair(None)

    def pair(self, record) -> None:
        """on_pair: a pair ended (None: before the first); an interrupted pair is not done (the bar counts done)."""
        from .batch import label

        if record is not None and record.status not in ("interrupted", "pending"):  # (pending: stopped before it began)
            self.bar.update(1)
        if self.cluster:
            self.bar.set_description(f"{self.bar.n}/{len(self.records)} done")
        elif self.bar.n < len(self.records):
            self.bar.set_description(printable(f"{self.bar.n + 1}/{len(self.records)} {label(self.records[self.bar.n])}"))
        if record is not None and record.status == "failed":  # by its number and as the bar names it (an unread
            number = f"pair {record.index + 1}"  # manifest line, that has neither content nor style: its number)
            error = (record.error or "").removeprefix(number + ": ")  # (a check that named it already)
            what = f"{number} ({label(record)})" if record.content else number
            self.bar.write(printable(f"failed: {what}: {error}"), file=sys.stderr)

    def started(self, record, worker: str) -> None:
        """cluster.run_batch's on_start."""
        from .batch import label

        self.cluster = True
        self.bar.set_description(printable(f"{self.bar.n}/{len(self.records)} done; {label(record)} on {worker}"))

    def note(self, pair, note: str) -> None:
        if not self.quiet:
            self.bar.write(printable(f"Note: {pair.output.name}: {note}"), file=sys.stderr)

    def progress(self, p) -> None:
        """The synthesis' Progress callback."""
        self.bar.set_postfix_str(f"iteration {p.iteration}/{self.iterations}", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def announce_download(settings, quiet: bool) -> None:
    """One line on stderr before torchvision's weights are downloaded (never on stdout, not with -q)."""
    if settings.weights == "torchvision" and not quiet:
        from .weights import TORCHVISION_FILE, torchvision_cache_path

        if not torchvision_cache_path().exists():
            say(f"Downloading torchvision's VGG-19 weights ({TORCHVISION_FILE}, 548 MB) to "
                f"{torchvision_cache_path().parent}")
