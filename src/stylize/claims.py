"""Claims: one run at a time on an output file or a frames folder.

Two runs that would write the same file (two `stylize` commands with one `-o`, two batches into one
--out-dir, two `video` runs into one output) must not both work for minutes and then have one of them lose
its result: the later one is refused at its start, in one line naming the run that holds the claim.

A claim is a POSIX record lock (fcntl.lockf) on a small hidden file: beside an output file
(.stylize-claim-<digest of its name>), or inside a frames folder (.stylize.lock). The kernel releases the
lock when its process ends however it ends (SIGKILL, a crash), so a dead run never blocks a later one and
no stale lock is ever "taken over" (two runs racing to take over a stale lock file both won). NFS honours
these locks. The file holds "stylize claim <the owner's pid>" for the message (a file of yours at that name,
digits only too, is never taken for one), and is removed when the claim is released. Where fcntl does not
exist (Windows) a claim is always granted.

A record lock is the process's: the kernel grants it again to any of its threads, and closing any descriptor of
the file drops it. So this process's claims are kept here too (_HELD), each with the run that holds it (RUN, a
context variable: another thread's run, or one a user's callback starts, is another run), and refused to any
other run of the process before its file is opened.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import hashlib
import itertools
import os
import re
import threading
from pathlib import Path

from .errors import ClaimError

FOLDER_LOCK = ".stylize.lock"  # the claim of a frames folder, inside it
CLAIM_MARK = "stylize claim "  # a claim file holds this and its owner's pid (a user's file of digits is not a claim)
_HELD: set[str] = set()  # the lock files this process holds (closing another descriptor of one would drop it)
_HELD_LOCK = threading.Lock()  # (a claim is checked and added to _HELD in one step: two threads never both take it)
# The lock files the current run holds (a context variable: a thread, or a run a user's callback starts, is another
# run, whose claim this process's record lock cannot refuse; the kernel grants a process's locks to all its threads)
RUN: contextvars.ContextVar[set | None] = contextvars.ContextVar("stylize_claims", default=None)


def _forked() -> None:
    """In a child made by fork: no claim of the parent's is the child's (record locks are not inherited), and a
    claim it would release is left to the parent (Claim.release removes a file only in the process that took it)."""
    global _HELD_LOCK
    _HELD.clear()
    _HELD_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def _this_run() -> set:
    held = RUN.get()
    if held is None:
        held = set()
        RUN.set(held)
    return held


class Claim:
    """A held claim; release() (or leaving a `with` block) gives it up and removes its file (a shared claim: the
    last of its holders)."""

    def __init__(self, lock_file: Path, what: Path):
        self.where = "in it" if Path(lock_file).parent == Path(what) else "beside it"  # a folder's, or a file's
        self.lock_file, self.what, self.fd, self.shared = Path(os.path.abspath(lock_file)), Path(what), None, False
        # (absolute: released by its own name after a change of working folder, never another file's)
        self.run: set = set()  # the held lock files of the run that holds it (claims.RUN's, from take())
        self.pid = os.getpid()  # the process that holds it (a child made by fork holds none of its parent's)

    def take(self, shared: bool = False) -> "Claim":
        """Hold the claim; ClaimError when a live run holds it (never waits). `shared`: held with other runs
        that take it shared (the shards of a batch writing one report), never with one that holds it alone."""
        try:
            import fcntl
        except ImportError:  # Windows: no record locks
            return self
        key = os.path.realpath(self.lock_file)
        with _HELD_LOCK:  # (checked and reserved in one step: two threads never both pass)
            if key in _HELD:  # another run of this process (before any open: closing a second descriptor of the
                raise self.busy()  # file would drop its lock)
            _HELD.add(key)
        try:
            self._take(fcntl, shared)
        finally:
            if self.fd is None:  # (refused, or no locks on this filesystem: nothing held)
                with _HELD_LOCK:
                    _HELD.discard(key)
        return self

    def _take(self, fcntl, shared: bool) -> None:
        mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        for _ in range(5):
            fd, created = _create_held(self.lock_file, mode), True
            if fd is None:  # (a file there already, or no hard links here)
                fd, created = open_own(self.lock_file, self.what, _is_claim, self.where)
                try:
                    fcntl.lockf(fd, mode)
                except OSError as e:
                    os.close(fd)
                    if e.errno not in (errno.EACCES, errno.EAGAIN):
                        return  # no locks on this filesystem: as on Windows
                    raise self.busy(mine=False) from None  # (another process's: its file names it)
            if not created and os.fstat(fd).st_size == 0 and _alone(fd, shared):  # a taken claim holds a pid
                os.close(fd)
                raise ClaimError(f"{self.what}: {self.lock_file.name} {self.where} is not a file stylize made (it is "
                                 f"empty); move it away")
            try:  # the file may have been removed by its last holder between our open and our lock: retry
                same = os.path.samestat(os.fstat(fd), os.stat(self.lock_file))
            except FileNotFoundError:
                same = False
            if same:
                try:  # (over the earlier owner's pid, never empty meanwhile: an empty claim is no run's)
                    mark = f"{CLAIM_MARK}{os.getpid()}".encode()
                    os.pwrite(fd, mark, 0)
                    os.ftruncate(fd, len(mark))
                except OSError as e:  # a full disk: nothing of ours is left behind
                    self.fd = fd
                    self.release()
                    raise ClaimError(f"{self.what}: cannot write {self.lock_file.name} {self.where} "
                                     f"({e.strerror or e})") from None
                self.fd, self.shared, self.run, self.pid = fd, shared, _this_run(), os.getpid()
                self.run.add(os.path.realpath(self.lock_file))
                return
            os.close(fd)
        raise ClaimError(f"{self.what}: other stylize runs keep claiming it at the same time; choose another output")

    def others(self) -> bool:
        """Whether other runs hold this shared claim too (the shards writing one report): asked by taking it alone
        for a moment, then shared again."""
        if self.fd is None or not self.shared:
            return False
        import fcntl

        if not _alone(self.fd, True):
            return True
        fcntl.lockf(self.fd, fcntl.LOCK_SH)
        return False

    def busy(self, mine: bool = True) -> ClaimError:
        """The refusal, naming the holder: this process where it holds (or is taking) the claim, and `mine`."""
        return ClaimError(f"{self.what}: another stylize run{owner(self.lock_file, mine)} is writing it; wait for it "
                          f"to end, or choose another output")

    def release(self) -> None:
        if self.fd is not None:
            self.run.discard(os.path.realpath(self.lock_file))
            if self.pid != os.getpid():  # (a child made by fork, leaving a block of its parent's: not its claim)
                os.close(self.fd)
                self.fd = None
                return
            if not self.shared or _alone(self.fd, True):
                try:
                    os.unlink(self.lock_file)  # while still held: a run that opened it retries on a new file
                except OSError:
                    pass
            os.close(self.fd)
            self.fd = None
            with _HELD_LOCK:  # (last: another thread's run may take it from here)
                _HELD.discard(os.path.realpath(self.lock_file))

    def __enter__(self) -> "Claim":
        return self.take() if self.fd is None else self

    def __exit__(self, *exc) -> None:
        self.release()


NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NEW = itertools.count()  # (each new claim file's temporary name in this process is its own)


def _create_held(path: Path, mode: int) -> int | None:
    """A new claim file at `path` that appears already locked (`mode`) and holding its owner's pid: made under a
    temporary name (.stylize-tmp-claim-<pid>-<n>), locked, written, then hard-linked into place (a link never
    replaces a file). Another run never sees it empty or unlocked: taken between an exclusive create and its lock,
    an empty claim would read as a file stylize did not make. Its descriptor, or None where a file is at `path`
    already, or the filesystem has no hard links (FAT, exFAT, SMB): open_own's way then."""
    import fcntl

    tmp = path.with_name(f".stylize-tmp-claim-{os.getpid()}-{next(_NEW)}")
    try:
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o644)
    except OSError:
        return None  # (open_own names what is wrong with the folder)
    try:
        fcntl.lockf(fd, mode)
        os.write(fd, f"{CLAIM_MARK}{os.getpid()}".encode())
        os.link(tmp, path)
        return fd
    except OSError:  # FileExistsError: a claim is there; else no locks or no hard links here
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def open_own(path: Path, what: Path, ours, where: str = "beside it") -> tuple[int, bool]:
    """A descriptor of stylize's own hidden file `path`, and whether this call created it (exclusively: O_EXCL);
    a file already there is used only if it is a plain file whose contents `ours(bytes)` recognises. ClaimError
    for a link (O_NOFOLLOW: a link's target would be written), something that is not a plain file, or a file
    stylize did not make."""
    for _ in range(5):
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o644), True
        except FileExistsError:
            pass
        except OSError as e:
            raise ClaimError(f"{what}: cannot write {path.name} {where} ({e.strerror or e})") from None
        try:
            fd = os.open(path, os.O_RDWR | NOFOLLOW)
        except FileNotFoundError:
            continue  # its last holder removed it meanwhile: create it
        except OSError as e:
            why = "a link stylize did not make; remove it" if e.errno == errno.ELOOP else (e.strerror or str(e))
            raise ClaimError(f"{what}: cannot write {path.name} {where} ({why})") from None
        try:
            import stat

            info = os.fstat(fd)
            mine = stat.S_ISREG(info.st_mode) and info.st_size <= 64 and ours(os.pread(fd, 64, 0))
        except OSError:
            mine = False
        if not mine:
            os.close(fd)
            raise ClaimError(f"{what}: {path.name} {where} is not a file stylize made; move it away")
        return fd, False
    raise ClaimError(f"{what}: {path.name} {where} keeps appearing and disappearing; try again")


def _alone(fd: int, shared: bool) -> bool:
    """Whether this process is the claim's only holder: a shared lock that could become exclusive (and now is)."""
    if not shared:
        return True
    import fcntl

    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _is_claim(data: bytes) -> bool:
    """A claim file holds CLAIM_MARK and its owner's pid, or nothing (between its creation and the pid's writing;
    an empty file no live run holds is refused in take()). A user's file of digits is not one."""
    return data == b"" or re.fullmatch(re.escape(CLAIM_MARK.encode()) + rb"[0-9]{1,20}", data) is not None


def owner(lock_file: Path, mine: bool = True) -> str:
    """The claim's holder as its file names it, ' (pid N)', for a message; '' when it cannot be read. `mine`: this
    process's pid where it holds or is taking the claim (its file is never opened then: closing a descriptor would
    drop its lock); not `mine` from the run that is taking it and found it another process's."""
    if mine and os.path.realpath(lock_file) in _HELD:
        return f" (pid {os.getpid()})"
    try:
        pid = int(lock_file.read_text().removeprefix(CLAIM_MARK))
    except (OSError, ValueError):
        return ""
    return f" (pid {pid})"


def claim_file(path: str | os.PathLike) -> Claim:
    """The claim of an output file: .stylize-claim-<16 hex digits> beside it (a digest of the file's name,
    so that any name that fits the folder has a claim that fits too). Not yet taken."""
    p = Path(path)
    digest = hashlib.sha256(os.fsencode(p.name)).hexdigest()[:16]
    return Claim(p.with_name(f".stylize-claim-{digest}"), p)


@contextlib.contextmanager
def holding(path: str | os.PathLike):
    """The claim of output file `path` held for a block (ClaimError while another run holds it), unless this
    run holds it already (figures.save and video.encode within a figure's or a video's run, which took it at
    their start), or its folder does not exist (the caller's checks say so, in their words)."""
    claim = claim_file(path)
    if os.path.realpath(claim.lock_file) in _this_run() or not os.path.isdir(Path(path).absolute().parent):
        yield claim
        return
    with claim:
        yield claim


def file_held(path: str | os.PathLike) -> Path | None:
    """The claim file of output `path` when another run holds it alone (writing that file), else None."""
    lock = claim_file(path).lock_file
    return lock if _held_elsewhere(os.fspath(lock)) else None


def file_in_use(path: str | os.PathLike) -> Path | None:
    """The claim file of `path` when any other run holds it, shared or alone (a batch writing its report), else
    None."""
    lock = claim_file(path).lock_file
    return lock if _held_elsewhere(os.fspath(lock), shared_too=True) else None


def folder_held(folder: str | os.PathLike) -> bool:
    """Whether another run holds `folder`'s claim (a video writing its frames there): its files are that run's,
    and no other command writes into it."""
    return _held_elsewhere(os.path.join(folder, FOLDER_LOCK))


def check_folder_free(folder: str | os.PathLike) -> None:
    """ClaimError, naming the holder's pid, while another run holds `folder`'s claim: said before anything about
    the files in it (they are that run's, finished or not), whatever the flags."""
    if folder_held(folder):
        raise claim_folder(folder).busy()


def claimed_in(folder: str | os.PathLike) -> Path | None:
    """The first claim file in `folder` that another live run holds (a run writing a file there), or None: a
    video's frames folder is refused while another run writes into it."""
    try:
        names = sorted(e.name for e in os.scandir(folder) if e.name.startswith(".stylize-claim-"))
    except OSError:
        return None
    return next((Path(folder) / n for n in names if _held_elsewhere(os.path.join(folder, n))), None)


def check_unclaimed_in(folder: str | os.PathLike, instead: str) -> None:
    """ClaimError when another live run writes a file in `folder` (claimed_in): a folder a run is about to own (a
    video's frames, a figure's cells) is refused at the start, not after the work. `instead`: what to choose."""
    other = claimed_in(folder)
    if other is not None:
        raise ClaimError(f"{folder}: another stylize run{owner(other)} is writing a file in it; wait for it to end, "
                         f"or choose {instead}")


def _held_elsewhere(path: str, shared_too: bool = False) -> bool:
    """Whether the claim file at `path` is held alone by another run (this run's own claims are not; another of
    this process's runs, a thread's or a callback's, is); `shared_too`: or shared (a shard writing a report)."""
    path = os.path.realpath(path)
    if path in _HELD:  # (never opened here: closing a second descriptor would drop this process's lock)
        return path not in _this_run()
    try:
        import fcntl
        import stat

        fd = os.open(path, (os.O_RDWR if shared_too else os.O_RDONLY) | NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except (ImportError, OSError):
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        fcntl.lockf(fd, (fcntl.LOCK_EX if shared_too else fcntl.LOCK_SH) | fcntl.LOCK_NB)  # (a probe: the
        # lock is let go with the descriptor)
    except OSError as e:
        return e.errno in (errno.EACCES, errno.EAGAIN)
    finally:
        os.close(fd)
    return False


def claim_folder(folder: str | os.PathLike) -> Claim:
    """The claim of a frames folder (which must exist): FOLDER_LOCK inside it. Not yet taken."""
    return Claim(Path(folder) / FOLDER_LOCK, Path(folder))
