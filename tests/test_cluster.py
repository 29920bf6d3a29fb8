"""Batches on Ray (cluster.py): a real local cluster (2 CPUs, workers in their own processes, no dashboard)
on tiny images and a synthetic VGG-19: every pair once, the plain batch's pixels, a worker killed with
SIGKILL mid-pair, Ctrl-C and resume; and the errors of a missing Ray, a bad or unreachable address and an
output folder the workers cannot see."""

import builtins
import json
import logging
import os
import signal
import subprocess
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, PngImagePlugin

from stylize import batch, cluster, console
from stylize.cli import cli
from stylize.errors import ClusterError, ManifestError, UsageError
from stylize.settings import Settings

from .conftest import EXAMPLES, cli_result_text, synthetic


def run(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kwargs)


def pixels(path) -> bytes:
    return Image.open(path).convert("RGB").tobytes()


# -- errors before any work (no cluster needed: these run before the module's cluster starts) -----------
def test_without_ray_one_line_names_the_extra(images, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    r = run("batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir", tmp_path / "o",
            "--ray", "--quiet")
    assert r.exit_code == 1, cli_result_text(r)
    assert r.stderr == f"Error: --ray needs Ray, which is not installed: {cluster.EXTRA}\n"
    assert not (tmp_path / "o").exists()  # refused before any work


def test_an_unreachable_address_is_one_line_after_a_bounded_wait(images, tmp_path):
    pytest.importorskip("ray")
    r = run("batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir", tmp_path / "o",
            "--ray", "127.0.0.1:9", "--quiet")  # the discard port: nothing listens there
    assert r.exit_code == 1 and r.stderr.startswith("Error: cannot reach the Ray cluster at 127.0.0.1:9: ")
    assert len(r.stderr.splitlines()) == 1 and not (tmp_path / "o").exists()
    with pytest.raises(ClusterError, match=r"192\.0\.2\.1:6379"):  # TEST-NET-1: never answers
        cluster.connect("192.0.2.1:6379", wait=0.5)


def test_sigterm_while_ray_starts_is_an_interruption_not_rays_exit(monkeypatch):
    """Hostile round 8: ray.init installs a SIGTERM handler that calls sys.exit(15) before it returns; a SIGTERM
    then ended the batch silently with status 15. It is stylize's interruption (143, "Interrupted.")."""
    class StartingRay:
        shut = False

        def is_initialized(self):
            return False

        def init(self, **options):
            signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(signum))  # what ray.init does
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler runs first

    monkeypatch.setattr(cluster, "import_ray", StartingRay)
    monkeypatch.setattr(console.EARLY, "signal", None)  # noted there too: not for later tests
    before = signal.getsignal(signal.SIGTERM)
    with console.catch_signals() as interrupted:
        assert cluster.connect() is True  # the caller shuts down whatever Ray started
        assert interrupted.signal == signal.SIGTERM
        assert signal.getsignal(signal.SIGTERM) == before  # ours acted: a second SIGTERM ends the run


def test_a_second_ctrl_c_acts_once_ray_is_shut_down_not_halfway(monkeypatch):
    """Hostile round 22: a second Ctrl-C during ray.shutdown() cut it in half: Ray's processes ran on for a minute
    and the exit status was 1, not 130. The shutdown now ends first; then the second signal stops at once."""
    class StoppingRay:
        down = False

        def shutdown(self):
            signal.raise_signal(signal.SIGINT)  # the first Ctrl-C, then the second, while Ray stops its processes
            signal.raise_signal(signal.SIGINT)
            StoppingRay.down = True

    def refused(*args, **kwargs):
        raise ManifestError("refused")  # (the batch ends at once: only the shutdown matters here)

    monkeypatch.setattr(cluster, "import_ray", StoppingRay)
    monkeypatch.setattr(cluster, "connect", lambda address: True)
    monkeypatch.setattr(batch, "begin", refused)
    monkeypatch.setattr(console.EARLY, "signal", None)
    with pytest.raises(KeyboardInterrupt):
        with console.catch_signals():
            cluster.run_batch([], "out", Settings())
    assert StoppingRay.down


def test_workers_lost_after_they_started_are_not_called_never_started(monkeypatch):
    """Round 9: a node's Ray agent killed mid-batch: 120 s later "no Ray worker started ... no free CPUs", though
    two had started and one had finished a pair. Which message, from whether a worker was ever seen ready."""
    from types import SimpleNamespace

    monkeypatch.setattr(cluster, "START_WAIT", 0.05)
    monkeypatch.setattr(cluster, "POLL", 0.01)
    for seen, message in ((True, "the Ray workers were lost and none started again"),
                          (False, "no Ray worker started within")):
        driver = object.__new__(cluster._Driver)  # the loop alone: no cluster, no actors
        slot = SimpleNamespace(name=None, job=None, actor=None)
        driver.ray, driver.slots, driver.queue, driver.dispatching = SimpleNamespace(kill=lambda *a, **k: None), \
            [slot], [object()], True
        driver.should_stop, driver.gpu, driver.threads = (lambda: False), False, 1
        driver.alive, driver.seen = time.monotonic(), seen
        driver.start = lambda: None
        driver.step = lambda timeout: time.sleep(timeout)
        driver.dispatch = lambda: None
        with pytest.raises(ClusterError, match=message):
            driver.run(1)


@pytest.mark.parametrize("value,message", [
    ("pairs.csv", "'pairs.csv' is not a Ray address: give auto, local, HOST:PORT or ray://HOST:PORT (a MANIFEST "
                  "goes before --ray, or write --ray=ADDRESS)"),
    ("head:99999", "'head:99999' is not a Ray address"),
    ("head:\u00b2", "'head:\u00b2' is not a Ray address"),  # round 17: a traceback (isdigit() yes, int() no)
    ("ray://head:\uff16\uff13\uff17\uff19", "is not a Ray address"),  # full-width 6379 was read as 6379
    ("h" * 5000 + ":1x", "a text of 5003 characters is not a Ray address"),
])
def test_a_bad_address_is_a_usage_error(tmp_path, value, message):
    r = run("batch", "--out-dir", tmp_path / "o", "--ray", value)
    assert r.exit_code == 2 and message in r.stderr, cli_result_text(r)


def test_a_bad_ray_address_variable_is_a_usage_error_naming_it(monkeypatch):
    """Round 23: RAY_ADDRESS=host:99999 was exit 1, its message not saying where the address came from."""
    from types import SimpleNamespace

    monkeypatch.setattr(cluster, "import_ray", lambda: SimpleNamespace(is_initialized=lambda: False))
    monkeypatch.setenv("RAY_ADDRESS", "host:99999")
    with pytest.raises(UsageError, match=r"^\$RAY_ADDRESS: 'host:99999' is not a Ray address"):
        cluster.connect()


def test_import_and_help_never_import_ray():
    code = ("import sys, stylize, stylize.cli; from click.testing import CliRunner; "
            "[CliRunner().invoke(stylize.cli.cli, a) for a in (['--help'], ['report', 'merge', '--help'])]; "
            "print('ray' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "False", p.stderr


def test_addresses():
    assert cluster.parse_address("") is None and cluster.parse_address("auto") is None
    assert cluster.parse_address("head:6379") == ("head", 6379)
    assert cluster.parse_address("ray://10.0.0.2") == ("10.0.0.2", cluster.CLIENT_PORT)
    assert cluster.parse_address("ray://[::1]:10002") == ("::1", 10002)


def test_a_worker_that_cannot_see_the_output_folder_says_so(tmp_path):
    worker = cluster.Worker(Settings(device="cpu"), threads=1)
    marker = tmp_path / "out" / f"{cluster.MARKER}0123"
    name, why = worker.ready(str(marker), marker.name)
    assert name.endswith(f":{os.getpid()}") and why == "No such file or directory"
    marker.parent.mkdir()
    marker.write_text("another run")
    assert worker.ready(str(marker), marker.name)[1] == "it holds another run's token"
    marker.write_text(marker.name)
    assert worker.ready(str(marker), marker.name) == (name, None)
    error = cluster.not_shared(marker, "node-2:77", why)
    assert str(error) == (f"{marker.parent} is not shared storage: the Ray worker node-2:77 cannot read "
                          f"{marker.name} there (No such file or directory); --out-dir must be a folder every node "
                          f"sees (NFS, a mounted bucket)")


def test_the_ray_cluster_example_starts_a_head_and_workers_and_runs_the_batch_on_them(tmp_path):
    script = EXAMPLES / "ray_cluster.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    env = {"HEAD_ADDRESS": "10.0.0.1", "SHARED": "/shared/stylize"}
    head, worker, run_batch = (_recorded(script, tmp_path / role, env, [role]) for role in ("head", "worker", "batch"))
    assert head == [["ray", "start", "--head", "--port=6379"]]
    assert worker == [["ray", "start", "--address=10.0.0.1:6379"]]
    assert len(run_batch) == 1 and run_batch[0][:2] == ["stylize", "batch"]
    ctx = cli.commands["batch"].make_context("batch", run_batch[0][2:])  # parses: every option exists
    assert ctx.params["ray"] == "10.0.0.1:6379" and ctx.params["skip_existing"]
    assert ctx.params["out_dir"].startswith("/shared/stylize/") and ctx.params["report"].startswith("/shared/stylize/")


def _recorded(script: Path, folder: Path, env: dict, args=()) -> list[list[str]]:
    """The commands a script runs, with `ray`, `stylize` and `srun` replaced by a recorder."""
    log, bin_dir = folder / "calls.txt", folder / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("ray", "stylize", "srun"):
        (bin_dir / name).write_text(f'#!/bin/sh\nprintf "%s\\t" {name} "$@" >> "{log}"\necho >> "{log}"\n')
        (bin_dir / name).chmod(0o755)
    proc = subprocess.run(["bash", str(script), *args], cwd=folder, capture_output=True, text=True, timeout=30,
                          env={**os.environ, **env, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    assert proc.returncode == 0, proc.stderr
    return [line.rstrip("\t").split("\t") for line in log.read_text().splitlines()]


# -- a real local cluster ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray cluster for this module's tests: 2 CPUs, no dashboard; its workers import this stylize."""
    ray = pytest.importorskip("ray")
    source = str(Path(cluster.__file__).resolve().parents[1])
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([source, *([old] if old else [])])
    printer = builtins.print  # Ray's driver replaces it (tqdm_ray) when it relays a worker's death
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    yield ray
    ray.shutdown()
    builtins.print = printer
    if old is None:
        os.environ.pop("PYTHONPATH")
    else:
        os.environ["PYTHONPATH"] = old


def _manifest(images, tmp_path, broken: bool = False) -> Path:
    lines = ["content,style"] + [f"{images / f'photo{i}.png'},{images / f'art{j}.jpg'}" for i in range(2)
                                 for j in range(2)]
    if broken:
        (tmp_path / "broken.png").write_text("not a png")
        lines.insert(2, f"{tmp_path / 'broken.png'},{images / 'art0.jpg'}")
    path = tmp_path / "pairs.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.ray
def test_ctrl_c_stops_the_workers_and_keeps_each_pairs_best_image_so_far(ray_cluster, images, tmp_path,
                                                                         synthetic_weights, one_thread, monkeypatch):
    monkeypatch.setattr(console.EARLY, "signal", None)  # the Ctrl-C below is noted there too: not for later tests
    manifest = _manifest(images, tmp_path, broken=True)
    tiny = [*synthetic(synthetic_weights), "--iterations", "10", "--no-until-done"]
    args = ["batch", manifest, "--out-dir", tmp_path / "ray", "--report", tmp_path / "r.json", "--ray", *tiny]
    finished = threading.Event()
    ctrl_c = threading.Thread(target=_ctrl_c_at_the_first_output, args=(tmp_path / "ray", finished), daemon=True)
    ctrl_c.start()
    try:
        r = run(*args)
    finally:
        finished.set()
        ctrl_c.join()
    assert r.exit_code == 130 and r.stderr.endswith("Interrupted: rerun with --skip-existing to resume.\n"), \
        cli_result_text(r)
    first = json.loads((tmp_path / "r.json").read_text())["pairs"]
    statuses = [p["status"] for p in first]
    assert "ok" in statuses and set(statuses) <= {"ok", "interrupted", "pending", "failed"}
    assert {"interrupted", "pending"} & set(statuses)  # stopped: what was out is interrupted, the rest pending
    for pid in {int(p["worker"].rpartition(":")[2]) for p in first if p["worker"]}:  # the workers are stopped
        _wait_gone(pid)
    for p in first:  # an interrupted pair keeps its best image so far, marked partial; a pending one nothing
        if p["status"] in ("interrupted", "pending") and Path(p["output"]).exists():
            assert p["status"] == "interrupted" and json.loads(Image.open(p["output"]).info["stylize"])["partial"]
    assert not [p for p in [*(tmp_path / "ray").iterdir(), *tmp_path.iterdir()] if p.name.startswith(".stylize")]


@pytest.mark.ray
def test_a_resume_on_ray_makes_each_pair_once_with_the_pixels_of_plain_batch(ray_cluster, images, tmp_path,
                                                                             synthetic_weights, one_thread):
    """A --skip-existing resume (after the stop above: two finished outputs, one partial) keeps the finished ones,
    redoes the partial, fails the broken pair alone and not again on another worker, and makes every picture with
    the pixels a plain batch and a plain transfer make."""
    manifest = _manifest(images, tmp_path, broken=True)
    tiny = [*synthetic(synthetic_weights), "--iterations", "10", "--no-until-done"]
    r = run("batch", manifest, "--out-dir", tmp_path / "plain", *tiny)
    assert r.exit_code == 3, cli_result_text(r)
    (tmp_path / "ray").mkdir()
    made = sorted((tmp_path / "plain").glob("*.png"))
    for finished in made[:2]:
        shutil.copy2(finished, tmp_path / "ray" / finished.name)
    partial = Image.open(made[2])
    meta = json.loads(partial.info["stylize"])
    info = PngImagePlugin.PngInfo()
    info.add_text("stylize", json.dumps({**meta, "partial": True, "stopped": "interrupted"}))
    Image.new("RGB", partial.size, (0, 0, 0)).save(tmp_path / "ray" / made[2].name, pnginfo=info)
    done = {str(tmp_path / "ray" / p.name): (tmp_path / "ray" / p.name).stat().st_mtime_ns for p in made[:2]}
    r = run("batch", manifest, "--out-dir", tmp_path / "ray", "--report", tmp_path / "r.json", "--ray", *tiny,
            "--skip-existing", "--quiet")
    assert r.exit_code == 3, cli_result_text(r)  # the broken pair fails alone
    report = json.loads((tmp_path / "r.json").read_text())
    assert [p["index"] for p in report["pairs"]] == list(range(5))
    assert [p["status"] for p in report["pairs"]] == \
        ["failed" if k == 1 else "skipped" if p["output"] in done else "ok" for k, p in enumerate(report["pairs"])]
    broken = report["pairs"][1]
    assert "not an image Pillow can read" in broken["error"] and broken["attempts"] is None  # not retried
    assert all(Path(o).stat().st_mtime_ns == t for o, t in done.items())  # never made twice
    assert all(p["attempts"] is None and p["worker"] for p in report["pairs"] if p["status"] == "ok")
    names = sorted(p.name for p in (tmp_path / "ray").iterdir() if p.suffix == ".png")
    assert names == [p.name for p in made] and len(names) == 4
    for name in names:
        assert pixels(tmp_path / "ray" / name) == pixels(tmp_path / "plain" / name), name
    r = run(images / "photo1.png", images / "art0.jpg", "-o", tmp_path / "t.png", *tiny)
    assert r.exit_code == 0 and pixels(tmp_path / "t.png") == pixels(tmp_path / "ray" / "photo1__art0.png")
    assert not [p for p in [*(tmp_path / "ray").iterdir(), *tmp_path.iterdir()] if p.name.startswith(".stylize")]


def _ctrl_c_at_the_first_output(folder: Path, finished: threading.Event) -> None:
    """Ctrl-C (SIGINT to this process) once the first output appears, however long the cluster takes to start
    (a busy machine: more than a minute), never after the run has ended."""
    while not finished.wait(0.05):
        if folder.is_dir() and any(p.suffix == ".png" for p in folder.iterdir()):
            os.kill(os.getpid(), signal.SIGINT)
            return


def _wait_gone(pid: int) -> None:
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail(f"the Ray worker {pid} still runs after the batch")


def _settings(weights, **kwargs):
    return Settings(weights=str(weights), normalize=False, size=32, **{"iterations": 3, **kwargs})


@pytest.mark.ray
def test_a_worker_killed_mid_pair_has_its_pair_made_again_elsewhere(ray_cluster, images, tmp_path,
                                                                    synthetic_weights):
    pairs = batch.intake(str(_manifest(images, tmp_path)), out_dir=tmp_path / "o")[:2]
    killed = []

    def kill_the_first(record, worker):
        if not killed:
            time.sleep(0.1)  # into its first pair: loading the network, computing targets, 30 iterations
            killed.append((record.index, worker))
            os.kill(int(worker.rpartition(":")[2]), signal.SIGKILL)

    rep = cluster.run_batch(pairs, tmp_path / "o", _settings(synthetic_weights, iterations=30, until_done=False),
                            on_start=kill_the_first)
    index, worker = killed[0]
    assert rep.summary() == {"ok": 2}
    again = rep.records[index]
    assert again.attempts == 2 and again.worker != worker
    for pair in pairs:
        meta = json.loads(Image.open(pair.output).info["stylize"])
        assert meta.get("partial") is not True and Image.open(pair.output).size == (32, 26)
    assert not [p for p in (tmp_path / "o").iterdir() if p.name.startswith(cluster.MARKER)]


@pytest.mark.ray
def test_report_and_cluster_errors_come_before_any_work(ray_cluster, images, tmp_path, synthetic_weights):
    (tmp_path / "notes.json").write_text("mine")
    args = ["batch", "--content", images / "photo0.png", "--style", images / "art0.jpg", "--out-dir", tmp_path / "o",
            "--ray", *synthetic(synthetic_weights)]
    r = run(*args, "--report", tmp_path / "notes.json")
    assert r.exit_code == 1 and "already exists and is not a stylize report" in r.stderr
    assert (tmp_path / "notes.json").read_text() == "mine"
    r = run(*args, "--ray-cpus", "3")
    assert r.exit_code == 1 and r.stderr == "Error: the Ray cluster has 2 CPUs, fewer than --ray-cpus 3\n"
    r = run(*args, "--device", "cuda")
    assert r.exit_code == 1 and r.stderr == "Error: --device cuda: the Ray cluster has no GPU\n"
    assert not (tmp_path / "o").exists()  # (round 37: it was left, empty)


def test_ray_cpus_without_ray_is_a_usage_error(tmp_path):
    """Round 17: `batch ... --ray-cpus 99999` without --ray ran a plain batch, the option silently unused."""
    r = run("batch", "--content", tmp_path / "c.png", "--style", tmp_path / "s.png", "--out-dir", tmp_path / "o",
            "--ray-cpus", "2")
    assert r.exit_code == 2 and "Invalid value for '--ray-cpus': has no effect here: it needs --ray" in r.stderr, \
        cli_result_text(r)


def test_a_workers_error_names_the_files_as_the_manifest_does(tmp_path, monkeypatch):
    """Round 27: a Ray batch's failed pair said `/abs/path/trunc.png: cannot read ...` where a plain batch says
    `trunc.png: ...` (the worker reads absolute names): the driver puts back the manifest's names."""
    from stylize import batch
    from stylize.cluster import _anywhere, _as_named

    monkeypatch.chdir(tmp_path)
    pair = batch.plan([("in/trunc.png", ["s.png", "in/s.png"], "o/x.png")], tmp_path / "out")[0]
    copy = _anywhere(pair)
    error = f"{copy.content}: cannot read the image; {copy.styles[1]} and {copy.output} too"
    assert _as_named(error, copy, pair) == f"in/trunc.png: cannot read the image; in/s.png and {pair.output} too"
    assert _as_named(None, copy, pair) is None
