"""Large images: the lean backward pass, the memory plan (allocator mode, the L-BFGS history fallback), its
refusal, Adam's options.
Fast: tiny sizes; the memory budget is mocked. Real-VGG tests are marked vgg."""

import json

import pytest
import torch
from click.testing import CliRunner

from stylize import Session, memory, stripes
from stylize.cli import cli
from stylize.errors import OutOfMemoryError
from stylize.images import fit, load_image
from stylize.layers import CONV_INDEX
from stylize.objective import Objective
from stylize.settings import DEFAULTS

LAYERS = (DEFAULTS.content_layer,) + DEFAULTS.style_layers
CPU = torch.device("cpu")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _budget(monkeypatch, nbytes):
    """Pretend `nbytes` / USABLE are free: a run may then plan on `nbytes`."""
    monkeypatch.setattr(memory, "_free", lambda device: int(nbytes / memory.USABLE) + 1)


def test_the_plan_reuses_freed_blocks_when_that_fits(monkeypatch):
    _budget(monkeypatch, memory.estimate(256, 192, LAYERS, 100, reuse=True))
    plan = memory.plan(256, 192, LAYERS, 100, CPU)
    assert plan.reuse and plan.history == 100 and plan.note is None
    # the metadata records what decided the result, never the machine's state (free memory, allocator mode)
    assert plan.to_dict() == {"history": 100, "history_requested": 100, "note": None}


def test_the_plan_hands_freed_blocks_back_before_it_shortens_the_history(monkeypatch):
    compact = memory.estimate(2048, 1536, LAYERS, 100)
    assert compact < memory.estimate(2048, 1536, LAYERS, 100, reuse=True)
    _budget(monkeypatch, compact)
    plan = memory.plan(2048, 1536, LAYERS, 100, CPU)
    assert not plan.reuse and plan.history == 100 and plan.note is None
    assert plan.to_dict() == {"history": 100, "history_requested": 100, "note": None}


def test_history_falls_back_to_the_largest_that_fits_and_says_so(monkeypatch):
    _budget(monkeypatch, memory.estimate(512, 384, LAYERS, 40))
    plan = memory.plan(512, 384, LAYERS, 100, CPU)
    assert plan.history < 100 and not plan.reuse
    budget = int(memory.USABLE * memory.available(CPU))
    assert memory.estimate(512, 384, LAYERS, plan.history) <= budget
    assert memory.estimate(512, 384, LAYERS, plan.history + 1) > budget
    assert f"--history 100 does not fit at 512x384 px: using --history {plan.history}" in plan.note
    assert plan.to_dict()["history"] == plan.history and plan.to_dict()["history_requested"] == 100


def test_adam_needs_no_history(monkeypatch):
    _budget(monkeypatch, memory.estimate(512, 384, LAYERS, 1))
    plan = memory.plan(512, 384, LAYERS, 100, CPU, optimizer="adam")
    assert plan.note is None and plan.to_dict()["history"] is None


def test_an_impossible_size_is_refused_naming_the_size_that_fits(monkeypatch):
    _budget(monkeypatch, 2 * 2**30)
    with pytest.raises(OutOfMemoryError) as e:
        memory.plan(8000, 6000, LAYERS, 100, CPU)
    text = str(e.value)
    assert "even with --history 1" in text and "would fit with --history 1" in text and "lower --size" in text
    fits = int(text.split("--size ")[2].split()[0])
    assert memory.estimate(fits, fits * 3 // 4, LAYERS, 1) <= 2 * 2**30
    assert memory.estimate(fits + 16, (fits + 16) * 3 // 4, LAYERS, 1) > 2 * 2**30


def test_max_pooling_is_planned_with_the_places_of_its_maxima():
    avg, top = memory.estimate(1024, 768, LAYERS, 1), memory.estimate(1024, 768, LAYERS, 1, pooling="max")
    # pool1..pool4 outputs feeding conv2_1..conv5_1: (64/4 + 128/16 + 256/64 + 512/256) values per pixel
    counted = 2 * (16 + 8 + 4 + 2) * 1024 * 768 * 4 * memory.COMPACT_MARGIN
    assert top - avg == pytest.approx(counted, rel=1e-3)


def test_4096_px_is_planned_on_a_24_gb_machine(monkeypatch):
    """The issue's size on this project's machine (22.6 GiB free when idle): planned, not refused."""
    monkeypatch.setattr(memory, "_free", lambda device: int(22.6 * 2**30))
    plan = memory.plan(4096, 3072, LAYERS, 100, CPU)
    assert not plan.reuse and plan.history >= 10


def test_the_cli_refuses_an_impossible_size_in_one_line(photo, art, tmp_path, monkeypatch):
    _budget(monkeypatch, 1 * 2**30)
    r = run(photo, art, "-o", tmp_path / "o.png", "--size", "20000", "--quiet")
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith("Error: a 20000x15000 px synthesis needs about ") and "would fit" in r.stderr
    assert "lower --size" in r.stderr and not (tmp_path / "o.png").exists()


def test_the_memory_limit_variable(monkeypatch):
    monkeypatch.setenv(memory.BUDGET_ENV, "3G")
    assert memory.available(CPU) <= 3 * 2**30
    monkeypatch.setenv(memory.BUDGET_ENV, "1000")
    assert memory.available(CPU) == 1000
    for text, value in ((".5G", 2**29), ("0.5G", 2**29), ("5.", 5), ("2 KiB", 2048),  # as a person writes them
                        ("4Gi", 2**32), ("4gb", 2**32), ("1T", 2**40), ("1E", 2**60)):  # round 26: Gi, T-E refused
        monkeypatch.setenv(memory.BUDGET_ENV, text)
        assert memory.budget_override() == value, text
    for bad in ("lots", "-5", "0", "inf", "1e309", "-inf", "nan", "2E", "1_000", "0x10", "1e9", "10000000000G", ".",
                "4i", "G", "4GG", "2EiB"):
        monkeypatch.setenv(memory.BUDGET_ENV, bad)
        with pytest.raises(OutOfMemoryError, match="number of bytes"):
            memory.available(CPU)


def test_when_the_variable_binds_the_remedy_is_to_raise_it(monkeypatch):
    """Round 33: with $STYLIZE_MEMORY_LIMIT the smallest limit, "no size fits: free some memory" told the wrong
    remedy: freeing memory changes nothing there."""
    monkeypatch.setenv(memory.BUDGET_ENV, "100M")
    with pytest.raises(OutOfMemoryError, match=r"no size fits: raise \$STYLIZE_MEMORY_LIMIT$"):
        memory.plan(32, 24, ["conv5_1"], 100, CPU)
    monkeypatch.setenv(memory.BUDGET_ENV, "1K")  # round 34: "more than the 0.0 GiB ... of the 0.0 GiB"
    with pytest.raises(OutOfMemoryError, match=r"more than the 0.8 KiB a run may plan on \(85% of the 1.0 KiB of"):
        memory.plan(32, 24, ["conv5_1"], 100, CPU)
    monkeypatch.setenv(memory.BUDGET_ENV, "40")  # round 35: "0.0 KiB"
    with pytest.raises(OutOfMemoryError, match=r"more than the 34 B a run may plan on \(85% of the 40 B of"):
        memory.plan(32, 24, ["conv5_1"], 100, CPU)


def test_the_cli_refuses_an_infinite_memory_limit_in_one_line(photo, art, tmp_path, monkeypatch):
    monkeypatch.setenv(memory.BUDGET_ENV, "inf")
    r = run(photo, art, "-o", tmp_path / "o.png", "--size", "32", "--iterations", "1", "--quiet")
    assert r.exit_code == 2 and not (tmp_path / "o.png").exists()  # checked with the options: a usage error
    assert r.stderr.strip().endswith("Error: $STYLIZE_MEMORY_LIMIT='inf' is not a number of bytes (like 8G)")


def test_the_plan_honours_the_address_space_limit():
    # a batch scheduler's `ulimit -v`: what the process may still map, not the machine's free memory
    import subprocess
    import sys

    code = (
        "import resource, torch\n"
        "from stylize import memory\n"
        "mapped = next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmSize:'))\n"
        "resource.setrlimit(resource.RLIMIT_AS, (mapped + 2**30, resource.RLIM_INFINITY))\n"
        "print(memory.available(torch.device('cpu')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 0 < int(out.stdout) <= 2**30


def test_the_plan_honours_the_cgroup_limit(tmp_path, monkeypatch):
    (tmp_path / "max").write_text("3221225472\n")
    (tmp_path / "current").write_text("1073741824\n")
    monkeypatch.setattr(memory, "CGROUP_FILES", ((str(tmp_path / "max"), str(tmp_path / "current")),))
    assert memory.available(CPU) <= 2 * 2**30
    (tmp_path / "max").write_text("max\n")
    assert memory._cgroup_left() is None


@pytest.mark.vgg
def test_an_allocation_that_fails_anyway_is_one_out_of_memory_line(photo, art, tmp_path, monkeypatch):
    from stylize import synthesis

    def fail(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you "
                           "tried to allocate 123456789 bytes")

    monkeypatch.setattr(synthesis, "optimize", fail)
    r = run(photo, art, "-o", tmp_path / "o.png", "--size", "32", "--iterations", "1", "--quiet")
    assert r.exit_code == 1 and not (tmp_path / "o.png").exists()
    line = r.stderr.strip()
    assert "\n" not in line and line.startswith("Error: out of memory (RAM) at 32x24 px, although the plan said it "
                                                 "fits: --size ")
    assert line.endswith("; lower --size or free some memory")


@pytest.mark.parametrize("extra,line", [
    (["--optimizer", "sgd"], "Error: Invalid value for '--optimizer': 'sgd' is not one of 'lbfgs', 'adam'."),
    (["--learning-rate", "0"], "Error: Invalid value for '--learning-rate': '0' must be a finite number > 0"),
    (["--learning-rate", "-1"], "Error: Invalid value for '--learning-rate': '-1' must be a finite number > 0"),
    (["--learning-rate", "nan"], "Error: Invalid value for '--learning-rate': 'nan' must be a finite number > 0"),
])
def test_bad_optimizer_options_are_usage_errors(photo, art, tmp_path, extra, line):
    r = run(photo, art, "-o", tmp_path / "o.png", "--size", "40", *extra)
    assert r.exit_code == 2, r.stderr
    assert [s for s in r.stderr.splitlines() if s.startswith("Error")] == [line], r.stderr
    assert not (tmp_path / "o.png").exists()


def _reference(net, image, layers, tap=None):
    """The responses through torch's own modules (what VGG.forward computed before vgg.ConvReLU)."""
    x = (image.index_select(1, net.order) * net.a + net.b).contiguous(memory_format=torch.channels_last)
    out, deepest = {}, max(CONV_INDEX[name] + 1 for name in layers)
    for i, module in enumerate(net.layers):
        x = module(x)
        if net.index.get(i) in layers:
            x = tap(net.index[i], x) if tap is not None else x
            out[net.index[i]] = x
        if i >= deepest:
            return out


class _Reference:
    def __init__(self, net):
        self.net = net

    def __call__(self, image, layers, tap=None):
        return _reference(self.net, image, layers, tap)


@pytest.mark.vgg
@pytest.mark.parametrize("pooling,size,striped", [("avg", 64, False), ("avg", 61, False), ("max", 64, False),
                                                  ("avg", 61, True), ("max", 64, True)])
def test_the_lean_backward_gives_torchs_loss_and_gradient(photo, art, pooling, size, striped, monkeypatch):
    """Also in stripes (when memory is short), down to stripes of 3 rows."""
    monkeypatch.setattr(stripes, "STRIPE_BYTES", 3 * 64 * size * 4)
    session = Session(size=size, pooling=pooling, tv_weight=1.0)
    objective = session.objective(session.transfer_job(photo, art))
    plan = session.plan(session.transfer_job(photo, art))
    w, h = plan.width, plan.height
    x0 = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0))

    def evaluate(obj):
        x = x0.clone().requires_grad_(True)
        total, _ = obj(x)
        total.backward()
        return float(total.detach()), x.grad

    with stripes.striped(striped):
        loss, grad = evaluate(objective)
    loss2, grad2 = evaluate(Objective(_Reference(objective.net), objective.terms))
    assert loss == pytest.approx(loss2, rel=1e-6)
    torch.testing.assert_close(grad, grad2, rtol=1e-5, atol=1e-6 * float(grad2.abs().max()))


@pytest.mark.vgg
@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_the_lean_forward_keeps_about_half_of_what_torchs_modules_keep(photo, art, pooling):
    """What the forward pass saves for the backward one, counted by autograd's own hooks."""
    session = Session(size=96, pooling=pooling)
    objective = session.objective(session.transfer_job(photo, art))
    plan = session.plan(session.transfer_job(photo, art))
    w, h = plan.width, plan.height

    def saved_bytes(obj):
        storages = {}

        def pack(t):
            storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        x = torch.rand(1, 3, h, w).requires_grad_(True)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            total, _ = obj(x)
        total.backward()
        return sum(storages.values())

    lean, plain = saved_bytes(objective), saved_bytes(Objective(_Reference(objective.net), objective.terms))
    assert lean < 0.6 * plain, (lean, plain)


@pytest.mark.vgg
def test_the_cli_notes_a_shorter_history_and_records_the_plan(photo, art, tmp_path, monkeypatch):
    w, h = fit(load_image(photo), 48).size
    _budget(monkeypatch, memory.estimate(w, h, LAYERS, 30))
    out = tmp_path / "o.png"
    r = run(photo, art, "-o", out, "--size", "48", "--iterations", "2")
    assert r.exit_code == 0, r.stderr
    notes = [line for line in r.stderr.splitlines() if line.startswith("Note: --history 100 does not fit")]
    assert len(notes) == 1, r.stderr
    from PIL import Image

    plan = json.loads(Image.open(out).info["stylize"])["memory"]
    assert plan["history"] < 100 and plan["history_requested"] == 100 and plan["note"] in notes[0]
    quiet = run(photo, art, "-o", tmp_path / "q.png", "--size", "48", "--iterations", "2", "--quiet")
    assert quiet.exit_code == 0 and "Note:" not in quiet.stderr


@pytest.mark.vgg
def test_batch_notes_a_shorter_history_per_pair(photo, art, tmp_path, monkeypatch):
    w, h = fit(load_image(photo), 48).size
    _budget(monkeypatch, memory.estimate(w, h, LAYERS, 30))
    manifest = tmp_path / "pairs.csv"
    manifest.write_text(f"content,style\n{photo},{art}\n")
    r = run("batch", manifest, "--out-dir", tmp_path / "out", "--size", "48", "--iterations", "2")
    assert r.exit_code == 0, r.stderr
    notes = [line for line in r.stderr.splitlines() if "Note:" in line and "--history 100 does not fit" in line]
    assert len(notes) == 1, r.stderr
