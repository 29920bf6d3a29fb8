"""claims.py: one run at a time on an output file or a frames folder; a dead run never blocks the next."""

import os
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from stylize.claims import FOLDER_LOCK, claim_file, claim_folder
from stylize.errors import ClaimError

from .conftest import cli_result_text

HOLD = ("import sys, time\n"
        "from stylize.claims import claim_file, claim_folder\n"
        "claim = claim_folder(sys.argv[1]).take() if sys.argv[2] == 'folder' else claim_file(sys.argv[1]).take(\n"
        "    shared=sys.argv[2] == 'shared')\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n")


def holder(path, kind="file"):
    """Another process holding the claim of `path` until killed."""
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(path), kind], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_a_live_runs_claim_refuses_another_and_a_killed_runs_claim_is_free_at_once(tmp_path):
    out = tmp_path / "same.png"
    other = holder(out)
    try:
        with pytest.raises(ClaimError, match=rf"same.png: another stylize run \(pid {other.pid}\) is writing it"):
            claim_file(out).take()
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait()
    with claim_file(out) as claim:  # the kernel dropped the dead run's lock: nothing to take over
        assert claim.lock_file.read_text() == f"stylize claim {os.getpid()}"
    assert list(tmp_path.iterdir()) == []  # released: the claim's file is gone, the output was never touched


def test_a_shared_claim_is_held_with_other_shared_holders_never_with_a_claim_held_alone(tmp_path):
    """Round 8: the shards writing one report share its claim; a figure claims its .json alone; neither may
    write while the other does (a batch wrote its report over a running figure's .json)."""
    out = tmp_path / "r.json"
    shard = holder(out, "shared")
    try:
        with pytest.raises(ClaimError, match="another stylize run"):
            claim_file(out).take()
        with claim_file(out).take(shared=True):  # a second shard
            pass
        assert claim_file(out).lock_file.exists()  # the first still holds it: not removed by the second
    finally:
        shard.send_signal(signal.SIGKILL)
        shard.wait()
    alone = holder(out)
    try:
        with pytest.raises(ClaimError, match="another stylize run"):
            claim_file(out).take(shared=True)
    finally:
        alone.send_signal(signal.SIGKILL)
        alone.wait()
    with claim_file(out).take(shared=True):
        pass
    assert list(tmp_path.iterdir()) == []  # the last holder removes it


def test_a_folders_claim_lives_inside_it_and_many_racing_runs_get_it_one_at_a_time(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    code = ("import sys, time\n"
            "from stylize.claims import claim_folder\n"
            "from stylize.errors import ClaimError\n"
            "try:\n"
            "    c = claim_folder(sys.argv[1]).take()\n"
            "except ClaimError:\n"
            "    print('refused'); sys.exit()\n"
            "print('held', flush=True); time.sleep(1.5); c.release()\n")
    runs = [subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True)
            for _ in range(4)]
    said = sorted(r.communicate(timeout=60)[0].strip() for r in runs)
    assert said.count("held") >= 1 and said.count("held") + said.count("refused") == 4
    assert not (folder / FOLDER_LOCK).exists()
    with claim_folder(folder):
        assert (folder / FOLDER_LOCK).exists()


def test_a_name_as_long_as_the_folder_allows_has_a_claim_that_fits(tmp_path):
    with claim_file(tmp_path / ("x" * 251 + ".png")) as claim:
        assert len(claim.lock_file.name) < 40


@pytest.mark.vgg
def test_a_second_transfer_into_the_same_output_is_refused_before_any_work(photo, art, tmp_path):
    from stylize.cli import cli

    out = tmp_path / "same.png"
    other = holder(out)
    try:
        r = CliRunner().invoke(cli, [str(photo), str(art), "-o", str(out), "--size", "40", "--iterations", "3"])
        assert r.exit_code == 1 and r.stderr.strip() == (
            f"Error: {out}: another stylize run (pid {other.pid}) is writing it; wait for it to end, or choose "
            f"another output"), cli_result_text(r)
        assert not out.exists()
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait()


def test_a_claim_never_writes_through_a_link_or_over_a_file_stylize_did_not_make(tmp_path):
    """Hostile round 3: a link named like the claim file had its target cut down to the run's pid."""
    out = tmp_path / "out.png"
    lock = claim_file(out).lock_file
    precious = tmp_path / "precious.txt"
    precious.write_text("precious data")
    lock.symlink_to(precious)
    with pytest.raises(ClaimError, match=r"out.png: cannot write .stylize-claim-\w+ beside it \(a link stylize did "
                                         r"not make; remove it\)"):
        claim_file(out).take()
    assert precious.read_text() == "precious data" and lock.is_symlink()
    lock.unlink()
    lock.write_text("my notes, not a pid")
    with pytest.raises(ClaimError, match="is not a file stylize made; move it away"):
        claim_file(out).take()
    assert lock.read_text() == "my notes, not a pid"
    lock.write_text("2024\n")  # round 17: a user's file of digits was taken for a claim, and removed
    with pytest.raises(ClaimError, match="is not a file stylize made; move it away"):
        claim_file(out).take()
    assert lock.read_text() == "2024\n"
    lock.write_text("stylize claim 123")  # a dead run's claim file: taken and removed as before
    claim_file(out).take().release()
    assert not lock.exists()
    for empty in (lock, tmp_path / "frames" / ".stylize.lock"):  # hostile round 6: an empty file is not a claim
        empty.parent.mkdir(exist_ok=True)
        empty.touch()
        claim = claim_file(out) if empty == lock else claim_folder(empty.parent)
        with pytest.raises(ClaimError, match=r"is not a file stylize made \(it is empty\); move it away"):
            claim.take()
        assert empty.exists() and empty.read_bytes() == b""


def test_a_claim_that_cannot_be_written_is_one_error_and_leaves_no_file(tmp_path, monkeypatch):
    """Hostile round 3: a full disk gave a traceback from the pid's write and left an empty claim file."""
    import errno

    def full(fd, data, *offset):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    monkeypatch.setattr(os, "pwrite", full)
    with pytest.raises(ClaimError, match=r"cannot write .stylize-claim-\w+ beside it \(No space left on device\)"):
        claim_file(tmp_path / "out.png").take()
    assert list(tmp_path.iterdir()) == []


def test_a_video_is_refused_a_folder_where_another_run_is_writing_a_file(tmp_path, art):
    """Round 16: a transfer making vf/frame_00002.png, then `video ... -o vf`: the video wrote that frame over
    the name the transfer had claimed, and the transfer lost its work. Refused at its start now."""
    pytest.importorskip("av")
    from stylize.claims import claimed_in
    from stylize.cli import cli

    from .conftest import pattern

    frames, vf = tmp_path / "frames", tmp_path / "vf"
    frames.mkdir()
    vf.mkdir()
    for i in (1, 2, 3):
        pattern(40, 32, seed=i).save(frames / f"frame_{i:05d}.png")
    fast = ["--size", "32", "--iterations", "2", "--independent", "--quiet"]
    p = holder(vf / "frame_00002.png")
    try:
        assert claimed_in(vf) == claim_file(vf / "frame_00002.png").lock_file
        r = CliRunner().invoke(cli, ["video", str(frames), str(art), "-o", str(vf), *fast])
        assert r.exit_code == 1 and f"another stylize run (pid {p.pid}) is writing a file in it" in r.stderr, \
            cli_result_text(r)
        assert [f.name for f in vf.iterdir()] == [claim_file(vf / "frame_00002.png").lock_file.name]
    finally:
        p.kill()
        p.wait()
    assert claimed_in(vf) is None  # a dead run's claim file, left behind, holds nothing back


def test_round_43_saving_a_figure_or_encoding_a_video_waits_for_no_one(tmp_path, synthetic_weights):
    """Hostile round 43: figures.save and video.encode took no claim: written while a command-line run held the
    name, which then lost its whole figure (or video) to "already exists". Both are refused while another run
    holds the name; within a figure's own run (which holds it) save writes as before."""
    from stylize import Settings, figures, video

    from .conftest import pattern

    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    fig = figures.grid(settings, photo, art, ratios=1e-3, layer_sets=["conv1_1"])
    frames = tmp_path / "frames"
    frames.mkdir()
    for n in (1, 2):
        pattern(32, 24, n).save(frames / f"frame_{n:05d}.png")
    clip = video.open_clip(frames)
    for name, write in (("fig.png", lambda out: figures.save(fig, out, overwrite=True)),
                        ("fig.json", lambda out: figures.save(fig, tmp_path / "fig.png", overwrite=True)),
                        ("v.mp4", lambda out: video.encode(frames, out, clip, overwrite=True))):
        other = holder(tmp_path / name)
        try:
            with pytest.raises(ClaimError, match=rf"another stylize run \(pid {other.pid}\) is writing it"):
                write(tmp_path / name)
        finally:
            other.send_signal(signal.SIGKILL)
            other.wait()
        assert not (tmp_path / "fig.png").exists() and not (tmp_path / "v.mp4").exists()
    figures.grid(settings, photo, art, ratios=1e-3, layer_sets=["conv1_1"], output=tmp_path / "fig.png")
    assert (tmp_path / "fig.png").exists() and (tmp_path / "fig.json").exists()


def test_round_48_another_run_of_this_process_is_refused_and_leaves_the_first_runs_claim(tmp_path, synthetic_weights):
    """Hostile round 48: a record lock is the process's, so a run started from a callback (or in another thread)
    got the claim a running figure or video held, wrote that output, and on its release removed the claim file and
    dropped the lock: a third process wrote the output too, and the first run, its work done, was refused. Claims
    are per run: another run of this process is refused at its start, and the first run's claim stays."""
    import threading

    from stylize import Session, Settings, batch, figures, video

    from .conftest import pattern

    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    seen = []

    def nested(progress):
        if seen:
            return
        with pytest.raises(ClaimError, match="nest.png: another stylize run"):
            figures.grid(settings, photo, art, ratios=1e-1, layer_sets=["conv1_1"], output=tmp_path / "nest.png")
        seen.append(claim_file(tmp_path / "nest.png").lock_file.exists())  # still the outer run's
        other = subprocess.run([sys.executable, "-c", HOLD, str(tmp_path / "nest.png"), "file"], timeout=60,
                               capture_output=True)
        seen.append(other.returncode)  # the other process is refused: the lock was not dropped

    figures.grid(settings, photo, art, ratios=1e-3, layer_sets=["conv1_1"], output=tmp_path / "nest.png",
                 callback=nested)
    assert seen[0] is True and seen[1] != 0
    assert (tmp_path / "nest.png").exists() and not claim_file(tmp_path / "nest.png").lock_file.exists()

    frames = tmp_path / "frames"
    frames.mkdir()
    for n in (1, 2):
        pattern(32, 24, n).save(frames / f"frame_{n:05d}.png")
    inner = []

    def on_frame(progress):
        if not inner:
            with pytest.raises(ClaimError, match="another stylize run"):
                video.stylize_frames(Session(settings), video.open_clip(frames), art, tmp_path / "vout",
                                     video.VideoOptions(), overwrite=True)
            inner.append(True)

    video.stylize_frames(Session(settings), video.open_clip(frames), art, tmp_path / "vout",
                         video.VideoOptions(), on_frame=on_frame)
    assert inner == [True]

    held = claim_file(tmp_path / "b" / "c__s.png")
    (tmp_path / "b").mkdir()
    with held:  # another thread's run holds the batch's output
        results = []
        worker = threading.Thread(target=lambda: results.append(batch.run_batch(
            batch.intake(None, [photo], [art], tmp_path / "b"), tmp_path / "b", settings)))
        worker.start()
        worker.join()
        assert [(r.status, "another stylize run" in r.error) for r in results[0].records] == [("failed", True)]
        assert held.lock_file.exists()
    assert not held.lock_file.exists()


def test_round_68_a_claim_is_released_by_its_own_name_after_a_change_of_folder(tmp_path, monkeypatch):
    """Hostile round 68: a claim taken by a relative name and released after the working folder changed looked
    for its file in the new folder: the file stayed, and this process counted the claim held ("another stylize run
    (pid <own>)") until it ended."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    claim = claim_file("out.png").take()
    os.chdir(tmp_path / "elsewhere")
    claim.release()
    os.chdir(tmp_path)
    assert sorted(os.listdir()) == ["elsewhere"]
    with claim_file("out.png"):  # (free again)
        pass


def test_round_78_two_threads_taking_one_claim_at_once_never_both_hold_it(tmp_path, monkeypatch):
    """Hostile round 78: two threads' runs (stylize_frames into one folder) both took its claim: each passed the
    check of this process's claims before either had added its own, and the kernel grants a process's record lock
    to all its threads. Both returned "finished", one run's frames replaced by the other's. (Slowed here between
    the check and the taking, as a busy machine does.)"""
    import threading
    import time

    from stylize import claims

    for name in ("open_own", "_create_held"):
        if hasattr(claims, name):
            slow = getattr(claims, name)
            monkeypatch.setattr(claims, name, lambda *a, _f=slow: (time.sleep(0.05), _f(*a))[1])
    for claim in (claim_file(tmp_path / "o.png"), claim_folder(tmp_path)):
        barrier, held, refused = threading.Barrier(4), [], []

        def take(claim=claim):
            mine = type(claim)(claim.lock_file, claim.what)
            barrier.wait()
            try:
                held.append(mine.take())
            except ClaimError as e:
                refused.append(str(e))

        threads = [threading.Thread(target=take) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(held) == 1 and len(refused) == 3, (held, refused)
        assert all(f"another stylize run (pid {os.getpid()}) is writing it" in m for m in refused)
        held[0].release()
    assert os.listdir(tmp_path) == []


def test_round_78_a_claim_file_is_never_seen_empty_or_unlocked(tmp_path, monkeypatch):
    """Hostile round 78: a run that opened another's claim file between its creation and its lock found it empty
    and unlocked: "is not a file stylize made (it is empty); move it away" (advice that would remove a live run's
    claim). A claim file appears already locked and holding its owner's pid: another process looking at the moment
    it appears is refused naming the pid."""
    from stylize import claims

    seen = []
    target = claim_file(tmp_path / "o.png").lock_file
    probe = ("import sys\nfrom stylize.claims import claim_file\nfrom stylize.errors import ClaimError\n"
             "try:\n    claim_file(sys.argv[1]).take()\nexcept ClaimError as e:\n    print(e)\nelse:\n    print('taken')")

    def look():  # (another process, the moment the file is there)
        if not seen and os.path.lexists(target):
            seen.append(subprocess.run([sys.executable, "-c", probe, str(tmp_path / "o.png")], capture_output=True,
                                       text=True, timeout=60).stdout.strip())

    real_open, real_link = os.open, os.link

    def opened(path, *args, **kwargs):
        fd = real_open(path, *args, **kwargs)
        if os.fspath(path) == os.fspath(target):
            look()
        return fd

    def linked(src, dst, *args, **kwargs):
        real_link(src, dst, *args, **kwargs)
        if os.fspath(dst) == os.fspath(target):
            look()

    monkeypatch.setattr(claims.os, "open", opened)
    monkeypatch.setattr(claims.os, "link", linked)
    claim = claim_file(tmp_path / "o.png").take()
    monkeypatch.undo()
    claim.release()
    assert seen == [f"{tmp_path / 'o.png'}: another stylize run (pid {os.getpid()}) is writing it; wait for it to "
                    f"end, or choose another output"]


def test_round_81_a_child_made_by_fork_holds_none_of_its_parents_claims(tmp_path):
    """Hostile round 81: a child made by fork (multiprocessing's default on Linux) kept its parent's claims as its
    own: an output the parent had since finished was refused for good, naming the child's own pid; while the
    parent still wrote it, the message named the child. And a claim object the child let go removed the parent's
    claim file. In the child: refused naming the parent, its release leaves the parent's file."""
    claim = claim_file(tmp_path / "o.png").take()
    pid = os.fork()
    if pid == 0:  # the child: report by its exit status only
        code = 0
        try:
            claim_file(tmp_path / "o.png").take()
            code = 1
        except ClaimError as e:
            code = 0 if f"(pid {os.getppid()})" in str(e) else 2
        claim.release()  # (the parent's, inherited: not the child's to remove)
        os._exit(code or (0 if claim.lock_file.exists() else 3))
    assert os.waitpid(pid, 0)[1] == 0
    assert claim.lock_file.exists()
    claim.release()
    pid = os.fork()
    if pid == 0:  # after the parent let it go: the child's to take
        try:
            claim_file(tmp_path / "o.png").take().release()
            os._exit(0)
        except BaseException:
            os._exit(1)
    assert os.waitpid(pid, 0)[1] == 0
    assert os.listdir(tmp_path) == []
