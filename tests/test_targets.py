"""Targets keyed by the images' content: equal pixels share, other pixels never do, files are re-read."""

import os
from pathlib import Path

import pytest
import torch
from PIL import Image

from stylize import targets
from stylize.targets import Targets

from .conftest import pattern


def test_the_digest_is_of_the_pixels_not_of_the_object():
    a, b, c = pattern(20, 10, 1), pattern(20, 10, 1), pattern(20, 10, 2)
    assert targets.digest(a) == targets.digest(b) != targets.digest(c)
    assert targets.digest(a) != targets.digest(a.convert("L").convert("RGB"))


def test_a_file_is_read_again_when_it_changes(tmp_path):
    path = tmp_path / "p.png"
    t = Targets(torch.device("cpu"))
    pattern(20, 10, 1).save(path)
    first = t.key(path)
    assert t.key(path) == first
    pattern(20, 10, 2).save(path)
    os.utime(path, ns=(1, 1))
    assert t.key(path) != first and t.key(path) == targets.digest(pattern(20, 10, 2))


def test_the_cache_is_bounded_least_recently_used_first():
    t = Targets(torch.device("cpu"), max_entries=2)
    calls = []
    for key in ("a", "b", "a", "c", "a", "b"):
        t._cached((key,), lambda key=key: calls.append(key) or key)
    assert calls == ["a", "b", "c", "b"]  # "b" was dropped when "c" came; "a", used last, stayed


def test_forgetting_an_image_drops_only_its_targets():
    t = Targets(torch.device("cpu"))
    a, b = pattern(20, 10, 1), pattern(20, 10, 2)
    t._cached(("content", t.key(a), 20), lambda: 1)
    t._cached(("content", t.key(b), 20), lambda: 2)
    t._cached(("style", t.key(b), 20, (), (("luminance",), t.key(a))), lambda: 3)
    t.forget(a)
    assert list(t._cache) == [("content", t.key(b), 20)]


def test_round_43_a_file_replaced_under_its_name_is_read_again(tmp_path, synthetic_weights):
    """Hostile round 43: the network was cached by the weights file's name, and images and weights digests by
    (name, size, mtime): a weights file rewritten (or a style image replaced by one of equal size and mtime, `touch
    -r`) under its name ran the old contents while the metadata recorded the new digest."""
    import shutil

    from stylize import Session

    photo, art, other = tmp_path / "c.png", tmp_path / "s.bmp", tmp_path / "s2.bmp"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    pattern(36, 36, 3).save(other)
    os.utime(other, ns=(os.stat(art).st_atime_ns, os.stat(art).st_mtime_ns))  # touch -r: same size and mtime
    w = tmp_path / "w.pth"
    shutil.copy(synthetic_weights, w)
    settings = dict(size=32, iterations=3, weights=str(w), normalize=False)
    session = Session(**settings)
    first = session.transfer(photo, art)
    os.replace(other, art)
    again = session.transfer(photo, art)
    fresh = Session(**settings).transfer(photo, art)
    assert again.image.tobytes() == fresh.image.tobytes() != first.image.tobytes()
    state = torch.load(w, weights_only=True)
    torch.save({k: v * 0.5 if k.endswith("weight") else v for k, v in state.items()}, w)
    halved = Session(**settings).transfer(photo, art)
    assert halved.metadata["weights_sha256"] != fresh.metadata["weights_sha256"]
    assert halved.style_loss != fresh.style_loss  # the new file's network, not the cached one


def test_a_file_touched_during_a_pinned_run_is_the_same_file(tmp_path, synthetic_weights):
    """targets.pinned compares contents (a digest), not stamps: a file touched or copied onto itself mid-run is
    read again and found unchanged; one replaced by other pixels is refused."""
    import shutil

    from stylize import Session
    from stylize.errors import ImageError

    photo, art = tmp_path / "c.png", tmp_path / "s.png"
    pattern(40, 32, 1).save(photo)
    pattern(36, 36, 2).save(art)
    w = tmp_path / "w.pth"
    shutil.copy(synthetic_weights, w)
    settings = dict(size=32, iterations=2, weights=str(w), normalize=False)
    with targets.pinned():
        Session(**settings).transfer(photo, art)
        os.utime(art)
        os.utime(w)
        shutil.copy(art, tmp_path / "copy.png")
        shutil.copy(tmp_path / "copy.png", art)
        Session(**settings).transfer(photo, art)  # (the same pixels, the same weights)
        pattern(36, 36, 3).save(art)
        with pytest.raises(ImageError, match="s.png: replaced during this run"):
            Session(**settings).transfer(photo, art)


def test_round_46_pins_follow_the_run_not_the_thread(tmp_path, synthetic_weights):
    """Hostile round 46: with should_stop the targets are computed on the pass worker, which had no pins (a photo
    replaced between levels went through); a link re-pointed mid-run was a new name, never pinned; a transfer run
    from a callback shared the outer run's pins and was refused though its file had not changed during it; a run
    under torch.inference_mode failed with RuntimeError and broke every later run of the process."""
    import shutil

    from stylize import Session, images
    from stylize.errors import ImageError

    a, b, art = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "s.png"
    pattern(64, 48, 1).save(a)
    pattern(64, 48, 2).save(b)
    pattern(48, 48, 3).save(art)
    tiny = dict(size=64, iterations=3, scales=2, coarse_iterations=2, weights=str(synthetic_weights), normalize=False)
    photo, link = tmp_path / "c.png", tmp_path / "link.png"

    def swap(path, other):
        def callback(progress):
            if progress.level == 0 and not done:
                done.append(1)
                if path.is_symlink():
                    path.unlink()
                    path.symlink_to(other)
                else:
                    shutil.copy(other, path)
        return callback

    for stop in (None, lambda: False):
        done = []
        shutil.copy(a, photo)
        with pytest.raises(ImageError, match="c.png: replaced during this run"):
            Session(**tiny).transfer(photo, art, callback=swap(photo, b), should_stop=stop)
    done = []
    link.symlink_to(a)
    with pytest.raises(ImageError, match="link.png: replaced during this run"):
        Session(**tiny).transfer(link, art, callback=swap(link, b))
    inner = Session(size=32, iterations=1, weights=str(synthetic_weights), normalize=False)

    def nested(progress):
        images.to_pil(progress.image).save(tmp_path / "cur.png")
        inner.transfer(tmp_path / "cur.png", art)  # (a run of its own: the file differs from call to call)

    Session(size=32, iterations=3, weights=str(synthetic_weights), normalize=False).transfer(a, art, callback=nested)
    with torch.inference_mode():
        under = Session(size=32, iterations=2, weights=str(synthetic_weights), normalize=False).transfer(a, art)
    after = Session(size=32, iterations=2, weights=str(synthetic_weights), normalize=False).transfer(a, art)
    assert under.image.tobytes() == after.image.tobytes()


def test_round_47_runs_started_by_callbacks_folders_changed_and_images_changed_in_place(tmp_path, synthetic_weights,
                                                                                        monkeypatch):
    """Hostile round 47: a video's on_frame ran inside the video's pins (a preview transfer it started was refused);
    a script that changed folder mid-run read another file under the same relative name (a two-version picture,
    or a traceback); a PIL photo changed in place mid-run was used changed, recorded unchanged; objective() under
    inference_mode cached a network that broke every later run."""
    from PIL import ImageOps

    from stylize import Session, video
    from stylize.errors import ImageError

    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d1.mkdir()
    d2.mkdir()
    for d, seed in ((d1, 1), (d2, 2)):
        pattern(64, 48, seed).save(d / "c.png")
        pattern(48, 48, 3).save(d / "s.png")
    tiny = dict(size=64, iterations=3, scales=2, coarse_iterations=2, weights=str(synthetic_weights), normalize=False)
    monkeypatch.chdir(d1)

    def move(progress):
        if progress.level == 0:
            os.chdir(d2)

    done = Session(**tiny).transfer("c.png", "s.png", callback=move)  # (round 49: the folder changed back at once)
    assert os.getcwd() == str(d1) and done.metadata["inputs"] == Session(**tiny).transfer("c.png", "s.png").metadata[
        "inputs"]
    photo = pattern(64, 48, 4)
    done = []

    def mirror(progress):
        if progress.level == 0 and not done:
            done.append(1)
            photo.paste(ImageOps.mirror(photo))

    with pytest.raises(ImageError, match="replaced during this run"):
        Session(**tiny).transfer(photo, "s.png", callback=mirror)
    frames = tmp_path / "frames"
    frames.mkdir()
    for n in (1, 2):
        pattern(32, 24, n).save(frames / f"frame_{n:05d}.png")
    small = dict(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)

    def preview(progress):  # (the same scratch file each time: a run of its own, not the video's)
        Image.open(progress.path).save(tmp_path / "preview.png")
        images_done.append(Session(**small).transfer(tmp_path / "preview.png", "s.png"))

    images_done = []
    video.stylize_frames(Session(**small), video.open_clip(frames), "s.png", tmp_path / "out",
                         video.VideoOptions(independent=True), on_frame=preview)
    assert len(images_done) == 2
    import shutil

    shutil.copy(synthetic_weights, tmp_path / "w.pth")  # (a network not loaded yet in this process)
    fresh = dict(small, weights=str(tmp_path / "w.pth"))
    session = Session(**fresh)
    with torch.inference_mode():
        session.objective(session.transfer_job("c.png", "s.png"))
    Session(**fresh).transfer("c.png", "s.png")  # (the network the objective loaded: not an inference tensor)


def test_round_48_a_callback_that_changes_folder_never_moves_the_run(tmp_path, synthetic_weights, monkeypatch):
    """Hostile round 48: a grid's callback (or a batch's) that changed the working folder sent the cells, the
    outputs, the claims and the report to the new folder: the work refused after it was done, claim files left
    behind, the report written under a name the user never gave. Round 49: stopping the run there lost a finished
    cell and a pair's best image. A callback's change of folder is undone when it returns: the run goes on where
    its names lead, and nothing is written elsewhere."""
    import json

    from stylize import Settings, batch, figures

    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    pattern(40, 32, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)

    def moves(*args):
        os.chdir(tmp_path / "sub")

    figures.grid(settings, "c.png", "s.png", ratios=[1e-3, 1e-2], layer_sets=["conv1_1"], output="g.png",
                 cells_dir="gc", callback=moves)
    assert os.getcwd() == str(tmp_path) and Path("g.png").exists() and len(list(Path("gc").iterdir())) == 2
    rep = batch.run_batch(batch.intake(None, ["c.png"], ["s.png"], "bo"), "bo", settings, report="bo.json",
                          callback=moves, on_pair=moves, should_stop=lambda: moves() or False)
    assert os.getcwd() == str(tmp_path) and [r.status for r in rep.records] == ["ok"]
    assert json.loads(Path("bo.json").read_text())["summary"] == {"ok": 1} and Path("bo/c__s.png").exists()
    assert list(tmp_path.rglob(".stylize*")) == [] and list((tmp_path / "sub").iterdir()) == []


def test_round_50_a_pil_image_is_read_as_a_file_of_it_is(tmp_path):
    """Hostile round 50: a PIL image given to the API skipped the reading rules a file goes through: transparency
    was black, EXIF orientation ignored, 16-bit grey clipped, float pixels clipped, NaN pixels taken."""
    import numpy as np

    from stylize.errors import ImageError

    rgba = np.zeros((24, 32, 4), np.uint8)
    rgba[:, :16] = (255, 0, 0, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "transparent.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # a quarter turn
    pattern(32, 24, 1).save(tmp_path / "turned.jpg", exif=exif)
    Image.fromarray(np.full((24, 32), 32768, np.uint16)).save(tmp_path / "grey16.png")
    Image.fromarray(np.linspace(0, 1, 24 * 32, dtype=np.float32).reshape(24, 32), "F").save(tmp_path / "float.tif")
    cache = Targets(torch.device("cpu"))
    for name in ("transparent.png", "turned.jpg", "grey16.png", "float.tif"):
        by_name, in_memory = cache.image(tmp_path / name), cache.image(Image.open(tmp_path / name))
        assert in_memory.size == by_name.size and in_memory.tobytes() == by_name.tobytes(), name
    nan = np.random.default_rng(0).random((24, 32)).astype(np.float32)
    nan[5, 5] = np.nan
    with pytest.raises(ImageError, match="NaN or infinite pixels"):
        cache.image(Image.fromarray(nan, "F"))


def test_round_83_a_child_forked_in_a_callback_never_goes_on_with_its_parents_run(synthetic_weights, one_thread):
    """Hostile round 83: a child forked in a batch's callback (or on_ready) that returned went on with a copy of the
    parent's batch: it wrote the parent's outputs (inside the parent's claim), whose own work was then refused
    "already exists". Back from the callback, the child is ended (SystemExit naming why); the parent's run goes
    on as if nothing happened."""
    import os

    from stylize import Session, Settings

    session = Session(Settings(size=32, iterations=3, weights=str(synthetic_weights), normalize=False))
    forked = []

    def fork_once(progress):
        if not forked:
            forked.append(os.fork())  # (the child returns from here, into the run)

    try:
        outcome = session.transfer(pattern(40, 30, 1), pattern(36, 36, 2), callback=fork_once)
    except SystemExit as e:
        if forked == [0]:  # (the child)
            os._exit(0 if e.code == getattr(targets, "FORKED_CHILD", None) else 1)
        raise
    if forked == [0]:  # (the child, having gone on with the run)
        os._exit(2)
    assert forked[0] > 0 and os.waitpid(forked[0], 0)[1] == 0
    assert outcome.stopped != "interrupted" and outcome.evaluations > 1


def test_round_119_a_weights_file_replaced_between_runs_is_another_networks_targets(tmp_path, monkeypatch,
                                                                                    synthetic_weights):
    """Hostile round 119: a Session's targets were cached by the images' contents alone: after the weights file was
    replaced, the next run optimised the new network against the old one's Gram matrices (a picture neither file
    makes) and recorded the new file's digest. Targets are keyed by the network too: the run is a fresh Session's."""
    import shutil

    from stylize import Session, Settings

    from .conftest import pattern

    monkeypatch.chdir(tmp_path)
    pattern(40, 30, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    state = torch.load(synthetic_weights)
    torch.save({k: (v.float() * (1.5 if k.endswith("weight") else 1.0)).half() for k, v in state.items()}, "other.pth")
    shutil.copy(synthetic_weights, "w.pth")
    settings = Settings(size=32, iterations=3, weights="w.pth", normalize=False)
    session = Session(settings)
    first = session.transfer("c.png", "s.png")
    shutil.copy("other.pth", "w.tmp")
    os.replace("w.tmp", "w.pth")  # (another network under the same name, between two runs)
    second = session.transfer("c.png", "s.png")
    fresh = Session(settings).transfer("c.png", "s.png")
    assert second.metadata["weights_sha256"] == fresh.metadata["weights_sha256"] != first.metadata["weights_sha256"]
    assert second.image.tobytes() == fresh.image.tobytes() and second.loss == fresh.loss


def test_round_120_weights_replaced_after_the_network_loaded_change_nothing_the_run_made(tmp_path, monkeypatch,
                                                                                      synthetic_weights):
    """Hostile round 120: a weights file replaced while a run optimised (its network loaded long before) made the
    finished run refuse to save, "the output would mix two versions of it" (the file was read again for the record,
    after the work). The record holds the digest of the file as the network was loaded; the picture is written."""
    import hashlib
    import shutil

    from stylize import Session, Settings

    from .conftest import pattern

    monkeypatch.chdir(tmp_path)
    pattern(40, 30, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    state = torch.load(synthetic_weights)
    torch.save({k: (v.float() * 1.5).half() for k, v in state.items()}, "other.pth")
    shutil.copy(synthetic_weights, "w.pth")
    loaded = hashlib.sha256(Path("w.pth").read_bytes()).hexdigest()
    settings = Settings(size=32, iterations=4, weights="w.pth", normalize=False)
    plain = Session(settings).transfer("c.png", "s.png")

    def replace(progress):
        if progress.evaluations == 2:
            shutil.copy("other.pth", "w.tmp")
            os.replace("w.tmp", "w.pth")

    o = Session(settings).transfer("c.png", "s.png", callback=replace)
    assert o.metadata["weights_sha256"] == loaded != hashlib.sha256(Path("w.pth").read_bytes()).hexdigest()
    assert o.image.tobytes() == plain.image.tobytes()  # (made by the network as loaded, start to end)
