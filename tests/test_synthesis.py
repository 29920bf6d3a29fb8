"""The optimization loop, on a one-layer stand-in network and on the real VGG-19 at tiny sizes."""

import math
import subprocess
import sys

import pytest
import torch
from torch import nn

from stylize import Session, color, linesearch, synthesis
from stylize.images import to_tensor
from stylize.objective import ContentTerm, Objective, StyleTerm

from .conftest import pattern, psnr


class OneLayer(nn.Module):
    """A stand-in encoder: a seeded 3->8 conv and ReLU, answering to the name conv1_1."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.requires_grad_(False)

    def forward(self, x, layers, tap=None):
        response = torch.relu(self.conv(x))
        return {"conv1_1": response if tap is None else tap("conv1_1", response)}


def _objective(alpha=1.0, beta=1.0):
    net = OneLayer()
    photo, art = to_tensor(pattern(32, 32, 1)), to_tensor(pattern(32, 32, 2))
    terms = []
    if alpha:
        terms.append(ContentTerm(synthesis.content_targets(net, photo, ["conv1_1"]), alpha))
    if beta:
        terms.append(StyleTerm(synthesis.style_targets(net, art, ["conv1_1"]), beta, {"conv1_1": 1.0}))
    return Objective(net, terms)


def test_loss_falls_and_every_value_is_finite():
    objective = _objective(alpha=1e-3)
    seen = []
    x0 = synthesis.noise_image(32, 32, 0.1, seed=0)
    result = synthesis.optimize(objective, x0, iterations=30, callback=lambda p: seen.append(p.loss))
    assert all(math.isfinite(v) for v in seen)
    assert result.loss < 0.1 * seen[0]
    assert result.loss == min(seen)
    assert result.evaluations == len(seen) and 1 <= result.iterations <= 30
    assert result.stopped in ("iterations", "evaluations", "converged")


def test_the_evaluation_cap_is_reported_as_such_not_as_the_iterations():
    objective = _objective(alpha=1e-3)
    x0 = synthesis.noise_image(32, 32, 0.1, seed=0)
    capped = synthesis.optimize(objective, x0, iterations=30, evaluations=6)
    assert capped.stopped == "evaluations" and capped.evaluations == 6 and capped.iterations < 30
    full = synthesis.optimize(objective, x0, iterations=3, evaluations=100)
    assert full.stopped == "iterations" and full.iterations == 3
    # round 19: --iterations 1 capped at 1 evaluation (1.25 x 1) wrote the untouched start, "0 iterations"
    one = synthesis.optimize(objective, x0, iterations=1)
    assert one.iterations == 1 and one.evaluations >= 2 and one.loss < objective(x0)[0]


def test_stops_when_asked_and_returns_the_best_so_far():
    objective = _objective()
    calls = []
    result = synthesis.optimize(objective, synthesis.noise_image(32, 32, 0.1, 0), iterations=100,
                             callback=lambda p: calls.append(p.loss), should_stop=lambda: len(calls) >= 5)
    assert result.stopped == "interrupted" and result.partial
    assert result.evaluations == 5 and result.loss == min(calls)


def _stalling(objective, at: int):
    """objective, whose pass number `at` stalls (a C call of minutes, as a pass at 36 Mpx on a CPU) until released
    (or 10 s): (the wrapped objective, `entered` set when that pass began, `release`)."""
    import threading

    entered, release, count = threading.Event(), threading.Event(), []

    def wrapped(x):
        count.append(1)
        if len(count) == at:
            entered.set()
            release.wait(10)
        return objective(x)

    return wrapped, entered, release


def test_a_stop_during_a_pass_ends_the_run_at_once_with_the_best_image_of_the_passes_before():
    """Hostile round 36: SIGTERM waited for the pass in progress (9+ minutes at 6000x6000 on a CPU: Python runs a
    signal handler only between bytecodes). The run now ends while the stalled pass still computes."""
    objective = _objective()
    stalling, entered, release = _stalling(objective, at=4)
    seen = []
    try:
        result = synthesis.optimize(stalling, synthesis.noise_image(32, 32, 0.1, 0), iterations=100,
                                    callback=lambda p: seen.append((p.loss, p.image.clone())),
                                    should_stop=entered.is_set)
        assert not release.is_set()  # returned while the pass was still stalled
        assert result.stopped == "interrupted" and result.evaluations == 3 == len(seen)
        loss, image = min(seen, key=lambda s: s[0])
        assert result.loss == loss and torch.equal(result.image, image)
        assert synthesis.computing()  # (the process must then end with os._exit: console.main)
    finally:
        release.set()
    for _ in range(100):  # the stalled pass ends unseen
        if not synthesis.computing():
            break
        import time

        time.sleep(0.05)
    assert not synthesis.computing()


def test_a_script_that_stops_a_run_mid_pass_exits_normally(tmp_path):
    """Hostile round 37: a Python script whose run was stopped during a backward pass aborted at its exit
    (SIGABRT, "terminate called without an active exception": the interpreter finalized under the pass). Its exit
    now waits for the abandoned pass."""
    script = tmp_path / "stopped.py"
    script.write_text(
        "import threading, time, torch\n"
        "from stylize import synthesis\n"
        "x = torch.randn(1, 32, 128, 128, requires_grad=True)\n"
        "w = torch.randn(32, 32, 3, 3) * 0.05\n"
        "started, seen = threading.Event(), threading.Event()\n"
        "def stop():\n"
        "    if started.is_set():\n"
        "        seen.set()\n"
        "    return seen.is_set()\n"
        "def pass_():\n"
        "    started.set()\n"
        "    seen.wait(60)  # (the stop seen first, however busy the machine)\n"
        "    begun = time.monotonic()\n"
        "    while time.monotonic() - begun < 1.5:  # (still computing when the script ends, however fast)\n"
        "        y = x\n"
        "        for _ in range(30):\n"
        "            y = torch.nn.functional.conv2d(y, w, padding=1)\n"
        "        y.square().sum().backward()\n"
        "try:\n"
        "    synthesis.computed(pass_, stop)\n"
        "except synthesis.Interrupted:\n"
        "    print('interrupted', synthesis.computing(), flush=True)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "interrupted True\n", "")


def test_a_stop_before_the_first_pass_ends_costs_no_further_pass():
    """Stopped during the first pass, the result is the start, with no forward pass computed for its loss (one
    more pass of minutes at a large size): it is written nowhere (README Exit status)."""
    objective = _objective()
    stalling, entered, release = _stalling(objective, at=1)
    x0 = synthesis.noise_image(32, 32, 0.1, 0)
    try:
        result = synthesis.optimize(stalling, x0, iterations=10, should_stop=entered.is_set)
        assert not release.is_set() and result.stopped == "interrupted" and result.evaluations == 0
        assert torch.equal(result.image, x0) and result.loss == math.inf
    finally:
        release.set()


def test_a_signal_during_a_stalled_pass_is_taken_at_once(monkeypatch):
    """A real SIGTERM, through the command line's handler (console.catch_signals), while a pass stalls."""
    import os
    import signal
    import threading

    from stylize import console

    monkeypatch.setattr(console.EARLY, "signal", None)
    objective = _objective()
    stalling, entered, release = _stalling(objective, at=3)
    sender = threading.Thread(target=lambda: entered.wait(10) and os.kill(os.getpid(), signal.SIGTERM))
    sender.start()
    try:
        with console.catch_signals() as interrupt:
            result = synthesis.optimize(stalling, synthesis.noise_image(32, 32, 0.1, 0), iterations=100,
                                        should_stop=interrupt)
        assert not release.is_set() and interrupt.signal == signal.SIGTERM
        assert result.stopped == "interrupted" and result.evaluations == 2
    finally:
        release.set()
        sender.join()


def test_passes_on_the_worker_thread_use_the_callers_torch_threads():
    """torch.set_num_threads is per thread: a worker made before a change (the tests' one_thread, a Ray actor's)
    computes with the caller's count, as the caller would (the same bytes)."""
    objective = _objective()
    x0 = synthesis.noise_image(32, 32, 0.1, 0)
    seen = []

    def counting(x):
        seen.append(torch.get_num_threads())
        return objective(x)

    before = torch.get_num_threads()
    try:
        for threads in (2, 1):
            torch.set_num_threads(threads)
            synthesis.optimize(counting, x0, iterations=2, should_stop=lambda: False)
            assert set(seen) == {threads}
            seen.clear()
    finally:
        torch.set_num_threads(before)
    inline = synthesis.optimize(objective, x0, iterations=5)
    threaded = synthesis.optimize(objective, x0, iterations=5, should_stop=lambda: False)
    assert torch.equal(inline.image, threaded.image) and inline.loss == threaded.loss


def test_a_worker_ends_once_the_thread_that_made_it_has_ended(monkeypatch):
    """A library called from short-lived threads (a server's, one per request) must not leave a thread each."""
    import threading
    import time

    monkeypatch.setattr(synthesis, "IDLE", 0.05)
    objective = _objective()
    made = []

    def one_request():
        synthesis.optimize(objective, synthesis.noise_image(32, 32, 0.1, 0), iterations=2, should_stop=lambda: False)
        made.append(synthesis._workers.worker)

    caller = threading.Thread(target=one_request)
    caller.start()
    caller.join()
    worker = made[0]
    for _ in range(100):
        if not worker.is_alive():
            break
        time.sleep(0.05)
    assert not worker.is_alive()


def test_non_finite_loss_stops_with_the_best_finite_image():
    objective = _objective()
    real = objective.__call__
    count = []

    def flaky(x):
        count.append(1)
        total, parts = real(x)
        return (total * float("nan"), parts) if len(count) > 3 else (total, parts)

    result = synthesis.optimize(flaky, synthesis.noise_image(32, 32, 0.1, 0), iterations=50)
    assert result.stopped == "non-finite"
    assert math.isfinite(result.loss) and torch.isfinite(result.image).all()


def test_noise_start_is_seeded():
    a = synthesis.noise_image(8, 8, 0.02, seed=5)
    assert torch.equal(a, synthesis.noise_image(8, 8, 0.02, seed=5))
    assert not torch.equal(a, synthesis.noise_image(8, 8, 0.02, seed=6))
    assert abs(float(a.mean()) - 0.5) < 0.01 and 0.01 < float(a.std()) < 0.03


@pytest.mark.vgg
def test_style_transfer_losses_fall_on_the_real_network(photo, art):
    seen = []
    out = Session(size=48, iterations=15).transfer(photo, art, callback=seen.append)
    assert out.image.size == (48, 36)
    assert out.loss < 0.5 * seen[0].loss
    assert out.content_loss < seen[0].content and out.style_loss < seen[0].style
    assert out.metadata["settings"]["ratio"] == 3e-4 and out.metadata["evaluations"] == out.evaluations


@pytest.mark.vgg
def test_objective_equals_the_formulas_on_untapped_responses(photo, art):
    # the style losses ride inside the forward pass (style_tap); the value and the image's gradient must
    # equal those computed from the plain responses with the (N, M) formulas and autograd
    from stylize import losses

    session = Session(size=48)
    s = session.settings
    net = session.network((s.content_layer,) + s.style_layers)
    job = session.transfer_job(photo, art)
    policy = color.policy(job.color)
    content_targets = session.targets.content(net, job, 48, policy)
    style_targets = session.targets.style(net, art, 48, s.style_layers, policy)
    alpha, beta = s.alpha_beta
    objective = Objective(net, [ContentTerm(content_targets, alpha), StyleTerm(style_targets, beta, s.layer_weights)])
    x = synthesis.noise_image(36, 48, 0.1, seed=1)
    a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    total, parts = objective(a)
    content, style = parts["content"], parts["style"]
    total.backward()
    responses = net(b, (s.content_layer,) + s.style_layers)
    plain_content = losses.content_loss(responses[s.content_layer], content_targets[s.content_layer])
    plain_style = losses.style_loss({k: losses.flatten(responses[k]) for k in s.style_layers}, style_targets,
                                    s.layer_weights)
    (alpha * plain_content + beta * plain_style).backward()
    assert float(content.detach()) == pytest.approx(float(plain_content.detach()), rel=1e-5)
    assert float(style.detach()) == pytest.approx(float(plain_style.detach()), rel=1e-5)
    assert float((a.grad - b.grad).norm() / b.grad.norm()) < 1e-4


@pytest.mark.vgg
def test_same_seed_same_bytes_other_seed_other_bytes(photo, art):
    run = lambda seed: Session(size=40, iterations=5, seed=seed).transfer(photo, art).image.tobytes()
    assert run(3) == run(3)
    assert run(3) != run(4)


@pytest.mark.vgg
def test_content_reconstruction_from_low_layer_is_close(photo):
    out = Session(size=48, iterations=150).reconstruct_content(photo, "conv1_1")
    from stylize.images import fit, load_image
    assert psnr(to_tensor(out.image), to_tensor(fit(load_image(photo), 48))) > 30


@pytest.mark.vgg
def test_coarse_to_fine_runs_each_level_and_ends_at_full_size(photo, art):
    levels = []
    out = Session(size=64, iterations=5, scales=2).transfer(
        photo, art, callback=lambda p: levels.append((p.level, p.image.shape[-1])))
    assert {(0, 32), (1, 64)} <= set(levels)
    assert out.image.size == (64, 48)


def test_adam_reduces_the_loss_one_evaluation_per_iteration():
    objective = _objective(alpha=1e-3)
    seen = []
    x0 = synthesis.noise_image(32, 32, 0.1, seed=0)
    result = synthesis.optimize(objective, x0, iterations=40, optimizer="adam", learning_rate=0.02,
                                callback=lambda p: seen.append((p.iteration, p.loss)))
    assert all(math.isfinite(v) for _, v in seen)
    assert result.loss < 0.5 * seen[0][1] and result.loss == min(v for _, v in seen)
    assert [k for k, _ in seen] == list(range(1, len(seen) + 1)) and result.iterations == len(seen)


def test_a_stop_before_an_iterations_first_evaluation_does_not_count_that_iteration():
    """Hostile round 12: Adam at --evaluations 3 said "4 iterations / 3 evaluations" (the stop came as the 4th
    iteration began); a stop on the cap or a signal counts the iterations that were evaluated."""
    objective, x0 = _objective(alpha=1e-3), synthesis.noise_image(32, 32, 0.1, seed=0)
    adam = synthesis.optimize(objective, x0, iterations=5, evaluations=3, optimizer="adam", learning_rate=0.02)
    assert (adam.iterations, adam.evaluations, adam.stopped) == (3, 3, "evaluations")
    seen = []
    lbfgs = synthesis.optimize(objective, x0, iterations=50, evaluations=6, callback=lambda p: seen.append(p.iteration))
    assert lbfgs.stopped == "evaluations" and lbfgs.evaluations == 6 and lbfgs.iterations == seen[-1] < 6
    calls = []
    stopped = synthesis.optimize(objective, x0, iterations=50, optimizer="adam", learning_rate=0.02,
                                 callback=calls.append, should_stop=lambda: len(calls) >= 2)  # (not per ask:
    # should_stop is also asked while a pass computes, every synthesis.POLL)
    assert (stopped.iterations, stopped.evaluations, stopped.stopped) == (2, 2, "interrupted")
    diverged = synthesis.optimize(objective, x0, iterations=3, optimizer="adam", learning_rate=1e12)  # round 13
    assert (diverged.iterations, diverged.evaluations, diverged.stopped) == (1, 1, "non-finite")


def test_an_unknown_optimizer_is_refused():
    with pytest.raises(ValueError):
        synthesis.optimize(_objective(), synthesis.noise_image(32, 32, 0.1, 0), iterations=2, optimizer="sgd")


# --- L-BFGS on functions with known minimisers (float64, driven by a plain function of a tensor) ------


def _lbfgs(function, x0, iterations, curvature=linesearch.CURVATURE):
    """Run synthesis.lbfgs on `function` (tensor -> scalar tensor) from x0 for at most `iterations`;
    returns the Bookkeeper (best_x: the lowest point evaluated, iteration, evaluations)."""
    book = synthesis.Bookkeeper(lambda x: (function(x), {}), x0, budget=100 * iterations, tolerance=0.0)
    synthesis.lbfgs(book, x0.clone(), iterations, history=100, curvature=curvature)
    return book


def _quadratic(n, seed):
    """0.5 x^T A x - b^T x with A symmetric positive definite (condition number about 4) and b = A x*,
    x* a seeded vector of norm about sqrt(n): its minimiser is x*."""
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(n, n, generator=g, dtype=torch.float64)
    a = m @ m.T + n * torch.eye(n, dtype=torch.float64)
    minimiser = torch.randn(n, generator=g, dtype=torch.float64)
    b = a @ minimiser
    return (lambda x: 0.5 * x @ a @ x - b @ x), minimiser


def test_two_loop_recursion_is_the_bfgs_inverse_hessian_times_the_gradient():
    # Nocedal & Wright eq. 7.19: H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T from H0 = gamma I
    g = torch.Generator().manual_seed(0)
    n, gamma = 6, 0.37
    pairs = []
    for _ in range(4):
        s, y = torch.randn(n, generator=g, dtype=torch.float64), torch.randn(n, generator=g, dtype=torch.float64)
        y = y if float(y @ s) > 0 else -y
        pairs.append((s, y, 1.0 / float(y @ s)))
    h = gamma * torch.eye(n, dtype=torch.float64)
    eye = torch.eye(n, dtype=torch.float64)
    for s, y, rho in pairs:
        h = (eye - rho * torch.outer(s, y)) @ h @ (eye - rho * torch.outer(y, s)) + rho * torch.outer(s, s)
    grad = torch.randn(n, generator=g, dtype=torch.float64)
    kept = grad.clone()
    direction = synthesis.two_loop_recursion(grad, pairs, gamma)
    assert torch.allclose(direction, -h @ grad, rtol=1e-12, atol=1e-14)
    assert torch.equal(grad, kept)  # the gradient is not modified
    assert torch.equal(synthesis.two_loop_recursion(grad, [], gamma), -gamma * grad)


@pytest.mark.parametrize("seed", range(4))
def test_lbfgs_with_near_exact_line_searches_solves_a_quadratic_in_n_iterations(seed):
    # with exact line searches the steps are conjugate and n of them reach the minimiser (N&W §7.2,
    # Thm 5.2); c2 = 1e-6 makes the searches exact to about 1e-6 of the slope
    n = 5
    function, minimiser = _quadratic(n, seed)
    book = _lbfgs(function, torch.zeros(n, dtype=torch.float64), iterations=n, curvature=1e-6)
    assert book.iteration == n and book.best_x.dtype == torch.float64
    assert float((book.best_x - minimiser).norm()) < 1e-8
    # one iteration fewer is not enough: the bound is the method's, not the tolerance's
    assert float((_lbfgs(function, torch.zeros(n, dtype=torch.float64), n - 1, 1e-6).best_x - minimiser).norm()) > 1e-6


@pytest.mark.parametrize("seed", range(4))
def test_lbfgs_with_its_default_line_search_solves_a_quadratic_superlinearly(seed):
    # c2 = 0.9 takes the quasi-Newton step 1 whenever it meets the Wolfe conditions: no finite
    # termination, but superlinear convergence: 1e-6 within 2n iterations on these quadratics. It
    # stops by itself once a step no longer changes the loss (f about -40 here, resolved to 1e-14:
    # x to about 1e-8), well before 4n iterations.
    n = 5
    function, minimiser = _quadratic(n, seed)
    book = _lbfgs(function, torch.zeros(n, dtype=torch.float64), iterations=2 * n)
    assert float((book.best_x - minimiser).norm()) < 1e-6
    book = _lbfgs(function, torch.zeros(n, dtype=torch.float64), iterations=4 * n)
    assert book.iteration < 4 * n and float((book.best_x - minimiser).norm()) < 1e-7


def _rosenbrock(x):
    return 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2


def test_optimize_minimises_rosenbrock_from_the_standard_start():
    x0 = torch.tensor([-1.2, 1.0], dtype=torch.float64)
    seen = []
    result = synthesis.optimize(lambda x: (_rosenbrock(x), {}), x0, iterations=50, evaluations=200, tolerance=0.0,
                                callback=lambda p: seen.append((p.iteration, float((p.image - 1).abs().max()))))
    assert result.image.dtype == torch.float64 and result.iterations <= 50
    assert float((result.image - 1).abs().max()) < 1e-6 and result.loss < 1e-12
    reached = min(k for k, error in seen if error < 1e-6)
    assert reached <= 40  # N&W report about 35 BFGS iterations from this start
    assert torch.equal(x0, torch.tensor([-1.2, 1.0], dtype=torch.float64))  # the start is not modified


def test_optimize_takes_its_defaults_from_the_settings():
    import inspect

    from stylize.settings import DEFAULTS

    parameters = inspect.signature(synthesis.optimize).parameters
    assert parameters["learning_rate"].default == DEFAULTS.learning_rate
    assert parameters["history"].default == DEFAULTS.history


# --- the "done" stop (Settings.until_done) -------------------------------------------------------------


def _drive(book, iterations: int):
    """Play an optimizer that evaluates once per iteration (the objective gives the losses)."""
    x = torch.full((1, 3, 8, 8), 0.5)
    book.evaluate(x)
    for k in range(1, iterations + 1):
        book.iteration = k
        book.evaluate(x)


def _book(factors, **kwargs):
    """A Bookkeeper whose k-th evaluation's loss is 1000 times the product of the first k factors."""
    losses = [1000.0]
    for f in factors:
        losses.append(losses[-1] * f)
    values = iter(losses)
    return synthesis.Bookkeeper(lambda x: (x.sum() * 0 + next(values), {}), torch.full((1, 3, 8, 8), 0.5),
                                budget=10**6, until_done=True, **kwargs)


def test_done_fires_once_the_loss_has_stopped_falling_and_not_before_the_minimum():
    # 10 % less per iteration up to iteration 30, then 0.01 %: over the window of 10 iterations the loss
    # falls by under 1 % from the end of iteration 40, and the book stops at the first evaluation after that
    book = _book([0.9] * 30 + [0.9999] * 100, drop=0.01, window=10, after=20)
    with pytest.raises(synthesis._Stop) as stop:
        _drive(book, 130)
    assert stop.value.reason == "done" and book.iteration == 40 and book.evaluations == 41
    # the same run, but the rule may not fire before iteration 60
    book = _book([0.9] * 30 + [0.9999] * 100, drop=0.01, window=10, after=60)
    with pytest.raises(synthesis._Stop):
        _drive(book, 130)
    assert book.iteration == 60


def test_done_never_fires_while_the_loss_keeps_falling():
    # 0.2 % per iteration: 2 % over the window of 10, for as long as it runs
    book = _book([0.998] * 300, drop=0.01, window=10, after=20)
    _drive(book, 300)
    assert book.iteration == 300 and book.evaluations == 301
    assert book.result("iterations").stopped == "iterations"


def test_a_converged_synthesis_stops_early_with_the_picture_a_full_run_has_at_that_iteration():
    objective, x0 = _objective(alpha=1e-3), synthesis.noise_image(32, 32, 0.1, 0)
    done = synthesis.optimize(objective, x0, iterations=400, evaluations=4000, tolerance=0.0, until_done=True)
    assert done.stopped == "done" and synthesis.DONE_AFTER <= done.iterations < 400
    fixed = synthesis.optimize(objective, x0, iterations=done.iterations, evaluations=4000, tolerance=0.0)
    assert fixed.stopped == "iterations" and fixed.evaluations == done.evaluations
    assert torch.equal(fixed.image, done.image) and fixed.loss == done.loss
    # the rule off: every iteration runs (or L-BFGS ends by itself), never "done"
    off = synthesis.optimize(objective, x0, iterations=400, evaluations=4000, tolerance=0.0)
    assert off.stopped in ("iterations", "stalled") and off.iterations > done.iterations and off.loss <= done.loss
    if off.iterations < 400:  # round 10: L-BFGS ending by itself says so ("stalled"), never "iterations"
        assert off.stopped == "stalled"


def test_round_49_a_script_that_ends_while_a_thread_runs_a_transfer_exits_normally(tmp_path, synthetic_weights):
    """Hostile round 49: a script whose transfer ran in a daemon thread when it ended aborted (SIGABRT, "terminate
    called without an active exception"): the interpreter finalized under the running pass. At exit every run
    stops at its next evaluation and the exit waits for it."""
    from .conftest import pattern

    pattern(64, 48, 1).save(tmp_path / "c.png")
    pattern(48, 48, 2).save(tmp_path / "s.png")
    script = tmp_path / "ends.py"
    script.write_text(
        "import sys, threading\n"
        "from stylize import Session, Settings\n"
        "c, s, w = sys.argv[1:4]\n"
        "session = Session(Settings(size=64, iterations=400, weights=w, normalize=False, until_done=False))\n"
        "started = threading.Event()\n"
        "threading.Thread(target=lambda: session.transfer(c, s, callback=lambda p: started.set()), daemon=True)"
        ".start()\n"
        "started.wait(60)\n"
        "print('ends', flush=True)\n")
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "c.png"), str(tmp_path / "s.png"),
                           str(synthetic_weights)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "ends\n", "")


def test_round_80_a_scripts_end_waits_for_a_threads_batch_video_or_figure(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 80: a script that ended while make_video ran in a daemon thread aborted (SIGABRT: the exit
    waited only while one frame's run went on, not between frames) and left its claim and lock; a run_batch left its
    new out_dir holding a claim. The exit waits for the whole call (synthesis.exit_waits), which stops as a stop
    would at the exit (EXITING, set here from a callback as atexit sets it): what is finished kept, nothing left."""
    import os
    from pathlib import Path

    from stylize import batch, figures, synthesis, video
    from stylize.settings import Settings

    from .conftest import pattern

    monkeypatch.chdir(tmp_path)
    Path("fr").mkdir()
    for n in (1, 2, 3):
        pattern(32, 24, n).save(f"fr/frame_{n:05d}.png")
    pattern(36, 36, 9).save("s.png")
    settings = Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    waited = []

    def exiting(*_):  # (the interpreter's exit begins: it waits while a call is running)
        waited.append(synthesis._running[0] > 0)
        synthesis.EXITING.set()

    try:
        pairs = batch.intake(None, ["fr/frame_00001.png", "fr/frame_00002.png"], ["s.png"], "o")
        records = batch.run_batch(pairs, "o", settings, on_ready=exiting).records
        assert [r.status for r in records] == ["pending", "pending"]
        synthesis.EXITING.clear()
        result = video.make_video("fr", "s.png", "v.mp4", settings, video.VideoOptions(independent=True),
                                  on_frame=exiting)
        assert result.stopped and not result.encoded
        synthesis.EXITING.clear()
        figure = figures.grid(settings, "fr/frame_00001.png", "s.png", ratios=(1e-3, 1e-2), layer_sets=[["conv1_1"]],
                              callback=exiting, output="g.png")
        assert figure.partial
    finally:
        synthesis.EXITING.clear()
    assert waited == [True] * len(waited) and len(waited) >= 3
    assert sorted(os.listdir()) == ["fr", "g.json", "g.png", "s.png", "v.mp4.frames"]
    assert os.listdir("v.mp4.frames") == ["frame_00001.png"]


def test_round_81_a_child_made_by_fork_has_none_of_its_parents_runs():
    """Hostile round 81: a child forked while a run went on in a thread hung for ever at its exit (waiting for the
    parent's run, counted in the copy of the count of runs in progress)."""
    import os

    from stylize import synthesis

    with synthesis.running():
        pid = os.fork()
        if pid == 0:
            os._exit(0 if synthesis._running[0] == 0 else 1)
        assert os.waitpid(pid, 0)[1] == 0


def test_round_82_a_child_leaving_its_parents_run_does_not_count_it(tmp_path):
    """Hostile round 82: a child forked inside a run (from a callback) that left with sys.exit unwound the parent's
    run and counted it as ended: the count of runs in progress went below zero and its exit waited for ever."""
    import os

    from stylize import synthesis

    def fork_in_a_run():
        with synthesis.running():
            pid = os.fork()
            if pid == 0:
                raise SystemExit  # (the child leaves the parent's run)
            return pid

    try:
        pid = fork_in_a_run()
    except SystemExit:
        os._exit(0 if synthesis._running[0] == 0 else 1)
    assert os.waitpid(pid, 0)[1] == 0 and synthesis._running[0] == 0


def test_round_115_a_stop_after_the_last_evaluation_stops_nothing(tmp_path, monkeypatch, synthetic_weights):
    """Hostile round 115: should_stop turning true during a run's last allowed evaluation (its budget spent) made
    the finished run "interrupted": its picture (the same pixels as without the stop) marked partial, a batch's
    pair made again by a resume. A run its own rules end ends so; a stop before that still stops it."""
    import json

    from PIL import Image

    from stylize import Settings, batch

    monkeypatch.chdir(tmp_path)
    pattern(48, 40, 1).save("c.png")
    pattern(36, 36, 2).save("s.png")
    settings = Settings(size=32, iterations=3, weights=str(synthetic_weights), normalize=False)  # (a budget of 4)
    plain = Session(settings).transfer("c.png", "s.png")
    assert plain.stopped == "evaluations" and plain.evaluations == 4
    for at, stopped in ((4, "evaluations"), (3, "interrupted")):
        seen = []
        o = Session(settings).transfer("c.png", "s.png", callback=lambda p: seen.append(p.evaluations),
                                       should_stop=lambda: bool(seen) and seen[-1] >= at)
        assert (o.stopped, o.partial, o.metadata["partial"]) == (stopped, stopped != "evaluations", o.partial)
        assert (o.image.tobytes() == plain.image.tobytes()) == (at == 4)
    seen = []
    done = batch.run_batch(batch.intake(None, ["c.png"], ["s.png"], "out"), "out", settings,
                           callback=lambda p: seen.append(p.evaluations), should_stop=lambda: bool(seen) and
                           seen[-1] >= 4)
    assert [r.status for r in done.records] == ["ok"]
    assert json.loads(Image.open("out/c__s.png").info["stylize"])["partial"] is False
    again = batch.run_batch(batch.intake(None, ["c.png"], ["s.png"], "out"), "out", settings, skip_existing=True)
    assert [r.status for r in again.records] == ["skipped"]
