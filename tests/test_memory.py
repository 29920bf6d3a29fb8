"""Large images: the memory plan (recomputation, the L-BFGS history fallback), its refusal, Adam's options.
Fast: tiny sizes; the memory budget is mocked. Real-VGG tests are marked vgg."""

import json

import pytest
import torch
from click.testing import CliRunner

from stylize import Session, memory, vgg
from stylize.cli import cli
from stylize.errors import OutOfMemoryError
from stylize.images import fit, load_image
from stylize.objective import Objective
from stylize.settings import DEFAULTS

LAYERS = (DEFAULTS.content_layer,) + DEFAULTS.style_layers
KEPT = (DEFAULTS.content_layer,)
CPU = torch.device("cpu")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _budget(monkeypatch, nbytes):
    """Pretend `nbytes` / USABLE are free: a run may then plan on `nbytes`."""
    monkeypatch.setattr(memory, "_free", lambda device: int(nbytes / memory.USABLE) + 1)


def test_recomputing_needs_far_less_than_the_plain_run_at_large_sizes():
    for w, h in ((1024, 768), (2048, 1536), (4096, 3072)):
        plain = memory.estimate(w, h, LAYERS, 1)
        again = memory.estimate(w, h, LAYERS, 1, True, True, KEPT)
        assert again < 0.65 * plain, (w, h)


def test_recomputation_is_opt_in(monkeypatch):
    _budget(monkeypatch, memory.estimate(2048, 1536, LAYERS, 1) - 1)  # not even history 1 fits the plain run
    with pytest.raises(OutOfMemoryError):
        memory.plan(2048, 1536, LAYERS, 100, CPU, kept=KEPT)


def test_the_plain_run_is_planned_when_it_fits(monkeypatch):
    _budget(monkeypatch, memory.estimate(256, 192, LAYERS, 100))
    plan = memory.plan(256, 192, LAYERS, 100, CPU, kept=KEPT)
    assert not plan.recompute and plan.history == 100 and plan.note is None
    assert plan.to_dict()["recompute"] is False


def test_history_falls_back_to_the_largest_that_fits_and_says_so(monkeypatch):
    _budget(monkeypatch, memory.estimate(512, 384, LAYERS, 40))
    plan = memory.plan(512, 384, LAYERS, 100, CPU, kept=KEPT)
    assert plan.history < 100
    budget = int(memory.USABLE * memory.available(CPU))
    assert memory.estimate(512, 384, LAYERS, plan.history, True, plan.recompute, KEPT) <= budget
    assert memory.estimate(512, 384, LAYERS, plan.history + 1, True, plan.recompute, KEPT) > budget
    assert f"--history 100 does not fit at 512x384 px: using --history {plan.history}" in plan.note
    assert plan.to_dict()["history"] == plan.history and plan.to_dict()["history_requested"] == 100


def test_recomputation_switches_on_only_when_the_plain_run_cannot_fit_well(monkeypatch):
    monkeypatch.setenv(memory.RECOMPUTE_ENV, "auto")
    plain_least = memory.estimate(2048, 1536, LAYERS, 1)
    _budget(monkeypatch, plain_least - 1)  # not even history 1 fits the plain run
    plan = memory.plan(2048, 1536, LAYERS, 100, CPU, kept=KEPT)
    assert plan.recompute and plan.history >= 1
    assert "recomputing activations" in plan.note


def test_adam_needs_no_history(monkeypatch):
    _budget(monkeypatch, memory.estimate(512, 384, LAYERS, 1))
    plan = memory.plan(512, 384, LAYERS, 100, CPU, optimizer="adam", kept=KEPT)
    assert not plan.recompute and plan.note is None and plan.to_dict()["history"] is None


def test_an_impossible_size_is_refused_naming_the_size_that_fits(monkeypatch):
    _budget(monkeypatch, 2 * 2**30)
    with pytest.raises(OutOfMemoryError) as e:
        memory.plan(8000, 6000, LAYERS, 100, CPU, kept=KEPT)
    text = str(e.value)
    assert "even with --history 1" in text and "would fit with --history 1" in text and "lower --size" in text
    fits = int(text.split("--size ")[2].split()[0])
    assert memory.estimate(fits, fits * 3 // 4, LAYERS, 1) <= 2 * 2**30
    assert memory.estimate(fits + 16, (fits + 16) * 3 // 4, LAYERS, 1) > 2 * 2**30
    monkeypatch.setenv(memory.RECOMPUTE_ENV, "auto")
    with pytest.raises(OutOfMemoryError) as e:
        memory.plan(8000, 6000, LAYERS, 100, CPU, kept=KEPT)
    assert "even with activations recomputed, --history 1" in str(e.value)


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
    monkeypatch.setenv(memory.BUDGET_ENV, "lots")
    with pytest.raises(OutOfMemoryError):
        memory.available(CPU)


@pytest.mark.parametrize("extra,message", [
    (["--optimizer", "sgd"], "'sgd' is not one of 'lbfgs', 'adam'"),
    (["--learning-rate", "0"], "--learning-rate"),
    (["--learning-rate", "-1"], "--learning-rate"),
    (["--learning-rate", "nan"], "--learning-rate"),
])
def test_bad_optimizer_options_are_usage_errors(photo, art, tmp_path, extra, message):
    r = run(photo, art, "-o", tmp_path / "o.png", "--size", "40", *extra)
    assert r.exit_code == 2 and message in r.stderr, r.stderr
    assert len([line for line in r.stderr.splitlines() if line.startswith("Error")]) == 1


@pytest.mark.vgg
def test_recomputed_and_plain_evaluations_agree(photo, art):
    session = Session(size=64)
    objective = session.objective(session.transfer_job(photo, art))
    x0 = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(0))

    def evaluate(obj):
        x = x0.clone().requires_grad_(True)
        total, _ = obj(x)
        total.backward()
        return float(total.detach()), x.grad

    loss, grad = evaluate(objective)
    loss2, grad2 = evaluate(Objective(vgg.Recomputing(objective.net, KEPT), objective.terms))
    assert loss2 == pytest.approx(loss, rel=1e-6)
    torch.testing.assert_close(grad2, grad, rtol=1e-5, atol=1e-7 * float(grad.abs().max()))


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
def test_a_recomputing_run_gives_the_plain_runs_image(photo, art, monkeypatch):
    plain = Session(size=48, iterations=4).transfer(photo, art)
    monkeypatch.setenv(memory.RECOMPUTE_ENV, "always")
    again = Session(size=48, iterations=4).transfer(photo, art)
    assert again.metadata["memory"]["recompute"] and not plain.metadata["memory"]["recompute"]
    assert again.loss == pytest.approx(plain.loss, rel=1e-4)
