"""The optimization loop: targets set once, L-BFGS (or Adam) on the pixels, progress carried out by a callback."""

from __future__ import annotations

import atexit
import contextlib
import functools
import contextvars
import math
import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import torch

from . import linesearch, losses, stripes
from .settings import DEFAULTS

# The "done" stop (Settings.until_done): the picture is done when the best loss fell by less than DONE_DROP
# (relative) over the last DONE_WINDOW iterations, never before DONE_AFTER iterations. bench/convergence.py,
# 256 px, four photograph x artwork pairs, 500 iterations replayed (bench/README.md): it fires at 59-67 % of
# the evaluations with the loss 3.4-3.8 % above the 500th iteration's on the three pairs that settle, and at
# iteration 466 on the one that keeps changing colour. (A rule on the pixels' change, 2 8-bit levels over 10
# iterations, stopped that pair at iteration 211 with the loss 27 % above and its sky visibly lighter.)
DONE_DROP = 0.01  # relative fall of the best loss over the window
DONE_WINDOW = 25  # iterations
DONE_AFTER = 100  # iterations


@torch.inference_mode()
def content_targets(net, image: torch.Tensor, layers) -> dict[str, torch.Tensor]:
    """P^l, kept as responses (1, N, H, W) in the network's layout."""
    return {name: f.clone() for name, f in net(image, layers).items()}


@torch.inference_mode()
def style_targets(net, image: torch.Tensor, layers) -> dict[str, torch.Tensor]:
    """A^l / M_l of an artwork at each layer."""
    return {name: losses.style_target(losses.flatten(f)) for name, f in net(image, layers).items()}


@torch.inference_mode()
def guided_style_targets(net, image: torch.Tensor, guides: dict[str, list[torch.Tensor]]) -> dict[str, list]:
    """A^r / area of each region r at each layer: guides[layer] holds the artwork's T^r; None for a
    region that is empty at that layer."""
    responses = net(image, tuple(guides))
    return {name: [losses.guided_gram(responses[name], T) for T in ts] for name, ts in guides.items()}


@dataclass
class Progress:
    """Handed to the callback after every loss evaluation."""

    iteration: int  # L-BFGS iterations begun (an iteration runs 1 or more evaluations in its line search)
    evaluations: int  # loss evaluations (network forward + backward passes) so far
    loss: float
    content: float
    style: float
    best: float
    seconds: float
    image: torch.Tensor  # a copy of the best image so far (1, 3, H, W): a callback's edit changes no run (a Session
    # hands it on as the output would be saved there: the colour policy's finish applied)
    level: int = 0  # coarse-to-fine level of this synthesis (0 = coarsest), set by the caller of optimize
    levels: int = 1
    run: int = 0  # which of several syntheses sharing one progress display (a figure's cells)
    runs: int = 1
    terms: dict = field(default_factory=dict)  # every term's unweighted loss at this evaluation


@dataclass
class Result:
    image: torch.Tensor  # best (lowest-loss) image evaluated, (1, 3, H, W)
    loss: float
    content: float
    style: float
    iterations: int
    evaluations: int
    seconds: float
    stopped: str  # "iterations" | "evaluations" (the cap) | "done" | "converged" | "stalled" | "interrupted" |
    # "non-finite"

    @property
    def partial(self) -> bool:
        return self.stopped == "interrupted"


class _Stop(Exception):
    def __init__(self, reason: str):
        self.reason = reason


class Interrupted(_Stop):
    """should_stop() said so while computed() waited for its computation."""

    def __init__(self):
        super().__init__("interrupted")


POLL = 0.1  # seconds between two looks at should_stop while a pass computes on the worker
IDLE = 5.0  # seconds between an idle worker's looks at whether the thread that made it still lives


class _Worker(threading.Thread):
    """A daemon thread that computes the passes (one forward + backward each) of the thread that made it, while
    that thread waits and looks at should_stop every POLL seconds. Python runs a signal handler only between
    bytecodes of the main thread, so a pass computed there (one C call after another, the backward one call of
    minutes at 36 Mpx on a CPU) holds a stop signal until it ends; here the handler runs at once and the run stops
    with its best image within POLL, leaving the pass to finish unseen (`computing`). Each calling thread has its
    own (two sessions in two threads never queue behind each other), and ends once that thread has ended (a
    library called from short-lived threads leaves no thread behind)."""

    def __init__(self):
        super().__init__(name="stylize-pass", daemon=True)
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.busy = False
        self.owner = threading.current_thread()
        self.start()

    def run(self):
        while True:
            try:
                fn, on, threads, box, done = self.jobs.get(timeout=IDLE)
            except queue.Empty:
                if self.owner.is_alive():
                    continue
                return
            try:
                if torch.get_num_threads() != threads:  # the caller's (per thread: set there after this one began)
                    torch.set_num_threads(threads)
                with stripes.striped(on):  # (the caller's switch: it is per thread)
                    boxed(fn, box)
            finally:
                self.busy = False
                done.set()

    def call(self, fn, should_stop: Callable[[], bool]):
        """fn() computed here; Interrupted as soon as should_stop() says so (fn then ends unseen)."""
        box, done = [], threading.Event()
        self.busy = True
        fn = functools.partial(contextvars.copy_context().run, fn)  # (the caller's context: a run's pinned inputs)
        self.jobs.put((fn, stripes.enabled(), torch.get_num_threads(), box, done))
        try:
            waited(done, should_stop, Interrupted)
        except BaseException:  # (a stop, or a second signal's KeyboardInterrupt)
            if not _ABANDONED:
                atexit.register(_finish_abandoned)
            _ABANDONED.append(self)
            raise
        return unboxed(box)


def boxed(fn: Callable[[], object], box: list) -> None:
    """fn()'s value, or what it raised (with its traceback), appended to box as (ok, value) for another thread."""
    try:
        box.append((True, fn()))
    except BaseException as e:
        box.append((False, e))


def unboxed(box: list):
    """The value boxed() kept, or what fn raised, raised here."""
    ok, value = box[0]
    if not ok:
        raise value
    return value


def waited(done: threading.Event, should_stop: Callable[[], bool], stop: type[BaseException]) -> None:
    """Wait for `done`, looking at should_stop every POLL seconds: `stop` raised as soon as it says so."""
    while not done.wait(POLL):
        if should_stop():
            raise stop


_workers = threading.local()  # .worker: the calling thread's _Worker
_ABANDONED: list[_Worker] = []  # workers left computing a pass when their run stopped


def _finish_abandoned() -> None:
    """At the interpreter's exit, wait for the passes a stop left computing: finalizing under one aborts the
    process ("terminate called without an active exception", SIGABRT). A script's exit waits at most one pass;
    the command line ends at once with os._exit instead (console.main)."""
    while computing():
        time.sleep(POLL)


EXITING = threading.Event()  # the interpreter is exiting: every run stops at its next evaluation
_running = [0]  # runs in progress (Session.run), in any thread
_running_lock = threading.Lock()


@contextlib.contextmanager
def running():
    """A run in progress (api.Session.run). A run left going in another thread when the script ends (a daemon
    thread's) would be finalized under, which aborts the process (SIGABRT): at the interpreter's exit every run
    stops at its next evaluation (as interrupted) and the exit waits for it."""
    pid = os.getpid()
    with _running_lock:
        _running[0] += 1
    try:
        yield
    finally:
        if os.getpid() == pid:  # (a child made by fork leaving its parent's run: not one of its own, _forked)
            with _running_lock:
                _running[0] -= 1


def exit_waits(fn):
    """An API call that runs syntheses one after another (a batch's pairs, a video's frames, a figure's cells): the
    interpreter's exit waits for it to return (its claims released, its empty folders removed), as for one run;
    each unit's run stops at the exit (EXITING), and the call asks EXITING between units."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        with running():
            return fn(*args, **kwargs)
    return call


def _forked() -> None:
    """In a child made by fork (os.fork, multiprocessing's "fork"): only the forking thread lives on, so none of the
    parent's runs in progress, pass workers or locks held by its other threads is the child's (its exit would wait
    for a count no thread of its will lower)."""
    global _running_lock, _workers
    _running[0] = 0
    _running_lock = threading.Lock()
    _workers = threading.local()
    _ABANDONED.clear()


os.register_at_fork(after_in_child=_forked)


@atexit.register
def _stop_runs() -> None:
    EXITING.set()
    while _running[0] > 0:
        time.sleep(POLL)


def computed(fn: Callable[[], object], should_stop: Callable[[], bool] | None):
    """fn() (a computation of torch's, e.g. one pass or the targets' passes), on the calling thread's _Worker when
    should_stop is given, else on the calling thread. Raises what fn raises, or Interrupted as soon as
    should_stop() is true (fn then goes on to its end, unseen: computing())."""
    if should_stop is None:
        return fn()
    worker = getattr(_workers, "worker", None)
    if worker is None or worker.busy:  # (busy: one a stop left computing)
        worker = _workers.worker = _Worker()
    return worker.call(fn, should_stop)


def computing() -> bool:
    """Whether a pass a stop left unfinished is still computing (the process should then end with os._exit: an
    interpreter's normal exit would run torch's teardown under it)."""
    return any(w.busy for w in _ABANDONED)


def _value(parts: dict, name: str) -> float:
    v = parts.get(name)
    return 0.0 if v is None else float(v.detach())


class Bookkeeper:
    """Everything around the optimizer: the evaluation budget, stopping, the best image, progress.

    An optimizer only calls evaluate(x) -> (loss, gradient) and sets `iteration`; any optimizer can
    share this. Stops (raising _Stop inside evaluate) after `budget` evaluations, when the best loss
    improved by less than `tolerance` (relative) over `patience` evaluations, when should_stop() says
    so, at a non-finite loss, and with `until_done` when the picture is done ("done": the best loss fell by
    less than `drop`, relative, over the last `window` iterations, not before iteration `after`).
    """

    def __init__(self, objective, x0: torch.Tensor, budget: int, callback=None, should_stop=None,
                 patience: int = 50, tolerance: float = 1e-6, until_done: bool = False,
                 drop: float | None = None, window: int | None = None, after: int | None = None):
        self.objective, self.budget = objective, budget
        self.callback, self.should_stop = callback, should_stop
        self.patience, self.tolerance = patience, tolerance
        self.until_done = until_done  # the rule's figures: the arguments, else the module's DONE_* at this call
        self.drop = DONE_DROP if drop is None else drop
        self.after = DONE_AFTER if after is None else after
        window = DONE_WINDOW if window is None else window
        self.best_x = x0.detach().clone()
        self.evaluations = self.iteration = 0
        self.evaluated_in = 0  # the iteration of the last (finite) evaluation: the iterations a result reports
        self.best, self.content, self.style = math.inf, math.nan, math.nan
        self.marks: list[float] = []
        self.ends: deque[float] = deque(maxlen=window + 1)  # the best loss at the end of each of the last iterations
        self.seen = 0  # the iteration whose end was last measured
        self.start = time.perf_counter()

    def evaluate(self, x: torch.Tensor) -> tuple[float, torch.Tensor]:
        """Loss and gradient at x; records the best point and reports progress. A run its own rules end (the
        budget spent, the picture done) ends so, whatever should_stop says: a stop then stops nothing."""
        if self.until_done and self.iteration != self.seen:
            self._iteration_ended()
        if self.evaluations >= self.budget:
            raise _Stop("evaluations")
        if EXITING.is_set() or (self.should_stop is not None and self.should_stop()):
            raise _Stop("interrupted")
        leaf = x.detach().requires_grad_(True)
        value, parts = computed(lambda: self._pass(leaf), self.should_stop)
        if not math.isfinite(value):
            raise _Stop("non-finite")
        self.evaluations += 1
        self.evaluated_in = self.iteration
        content, style = _value(parts, "content"), _value(parts, "style")
        if value < self.best:
            self.best, self.content, self.style = value, content, style
            self.best_x.copy_(leaf.detach())
        if self.callback is not None:
            self.callback(Progress(self.iteration, self.evaluations, value, content, style, self.best,
                                   time.perf_counter() - self.start, self.best_x.clone(),
                                   terms={k: float(v.detach()) for k, v in parts.items()}))
        self.marks.append(self.best)
        if len(self.marks) > self.patience:
            old = self.marks.pop(0)
            if old - self.best <= self.tolerance * abs(self.best):
                raise _Stop("converged")
        return value, leaf.grad.detach()

    def _pass(self, leaf: torch.Tensor) -> tuple[float, dict]:
        """The loss at leaf and its terms; the gradient into leaf.grad (no backward pass at a non-finite loss)."""
        with torch.enable_grad():
            total, parts = self.objective(leaf)
            value = float(total.detach())
            if math.isfinite(value):
                total.backward()
        return value, parts

    def _iteration_ended(self) -> None:
        """The first evaluation of a new iteration: note the best loss at the last one's end, and stop ("done",
        reporting the iterations completed) when it fell by less than `drop` over the window."""
        completed = self.iteration - 1
        self.ends.append(self.best)
        self.seen = self.iteration
        if (completed >= self.after and len(self.ends) == self.ends.maxlen
                and self.ends[0] - self.best < self.drop * abs(self.best)):
            self.iteration = completed
            raise _Stop("done")

    def result(self, stopped: str) -> Result:
        if self.evaluations == 0 and stopped != "interrupted":  # stopped before the first evaluation: the start
            with torch.no_grad():
                total, parts = self.objective(self.best_x)
            self.best, self.content, self.style = float(total), _value(parts, "content"), _value(parts, "style")
        return Result(self.best_x, self.best, self.content, self.style, self.evaluated_in, self.evaluations,
                      time.perf_counter() - self.start, stopped)  # (an iteration stopped before it was evaluated:
                                                                  # a cap, a signal, a non-finite loss, never began)


OPTIMIZERS = ("lbfgs", "adam")


def optimize(objective, x0: torch.Tensor, iterations: int, history: int = DEFAULTS.history,
             evaluations: int | None = None,
             callback: Callable[[Progress], None] | None = None,
             should_stop: Callable[[], bool] | None = None,
             patience: int = 50, tolerance: float = 1e-6, optimizer: str = "lbfgs",
             learning_rate: float = DEFAULTS.learning_rate, until_done: bool = False) -> Result:
    """Minimize the objective over the pixels with L-BFGS and a strong-Wolfe line search (or with
    Adam, optimizer="adam": one evaluation per iteration, step `learning_rate` in pixel units).

    Plain L-BFGS (no line search) diverges to NaN on this loss; the line search keeps every step a
    descent step. At most `iterations` iterations and `evaluations` evaluations (default 1.25x
    iterations, torch's bound, and at least iterations + 1: `--iterations 1` takes a step); with `until_done`,
    fewer when the loss has stopped falling (the "done" stop, Settings.until_done); always returns the best image
    evaluated (see Bookkeeper for the stops).

    Our own loop rather than torch.optim.LBFGS: constructing any torch optimizer imports
    torch._dynamo, 1.6 s of every run's start-up on a 2-core machine (bench/README.md).
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {optimizer!r}")
    budget = evaluations if evaluations is not None else max(iterations + 1, iterations * 5 // 4)  # (1: 2, a step)
    book = Bookkeeper(objective, x0, budget, callback, should_stop, patience, tolerance, until_done)
    stopped = "iterations"
    try:
        if optimizer == "adam":
            adam(book, x0.detach().clone(), iterations, learning_rate)
        else:
            stopped = lbfgs(book, x0.detach().clone(), iterations, history) or stopped
    except _Stop as stop:
        stopped = stop.reason
    return book.result(stopped)


def lbfgs(book: Bookkeeper, x: torch.Tensor, iterations: int, history: int,
          curvature: float = linesearch.CURVATURE) -> str | None:
    """L-BFGS (Nocedal & Wright, Alg. 7.5): the two-loop recursion for the direction (Alg. 7.4), the
    strong-Wolfe line search of stylize.linesearch for the step.

    book.evaluate(x) -> (loss, gradient of x's shape) is the only thing called (any dtype: the tests
    drive it in float64); book.iteration is set to each iteration begun. x: the start, not modified.
    The history keeps the last `history` pairs (s, y) with y.s > 1e-10 (others are skipped, keeping
    the approximation positive definite); the initial inverse Hessian is gamma I, gamma = s.y / y.y of
    the newest pair (eq. 7.20). The first step is min(1, 1 / |g|_1) along -g, later ones start at 1.
    curvature: the line search's c2 (N&W's 0.9 for quasi-Newton methods; a small value makes each
    search nearly exact, as the tests do to check L-BFGS's n-step termination on quadratics).
    Returns after `iterations` iterations, at a zero gradient, or when a step no longer moves x or
    the loss ("stalled": x is resolved only as far as the loss's float resolution allows); the book raises
    its own stops (_Stop) out of evaluate."""
    evaluate = book.evaluate
    f, g = evaluate(x)
    memory: list[tuple[torch.Tensor, torch.Tensor, float]] = []  # (s, y, 1 / y.s), oldest first
    scale = 1.0  # initial inverse-Hessian guess gamma = s.y / y.y
    d = t = g_old = None
    for k in range(1, iterations + 1):
        book.iteration = k
        if k > 1:
            s_k, y_k = d.mul(t), g.sub(g_old)
            ys = float(y_k.flatten() @ s_k.flatten())
            if ys > 1e-10:
                if len(memory) == history:
                    memory.pop(0)
                memory.append((s_k, y_k, 1.0 / ys))
                scale = ys / float(y_k.flatten() @ y_k.flatten())
        d = two_loop_recursion(g, memory, scale)
        gtd = float(g.flatten() @ d.flatten())
        if gtd >= 0:  # not a descent direction (round-off): restart from steepest descent
            memory.clear()
            d, gtd = -g, -float(g.flatten() @ g.flatten())
        if gtd == 0:
            return  # zero gradient: nothing left to do
        t = min(1.0, 1.0 / float(g.abs().sum())) if k == 1 else 1.0
        g_old = g
        t, f_new, g_new = linesearch.strong_wolfe(evaluate, x, d, t, f, g, gtd, c2=curvature)
        x = x + t * d
        if t * float(d.abs().max()) < 1e-12 or f_new == f:
            return "stalled"  # no progress possible: optimize says so, never "iterations"
        f, g = f_new, g_new


def adam(book: Bookkeeper, x: torch.Tensor, iterations: int, learning_rate: float,
         betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
    """Adam (Kingma & Ba 2015, Alg. 1) on the pixels: one evaluation per iteration, two image-sized
    buffers (the moment estimates) instead of L-BFGS's history. Updates x in place; the step of each
    pixel is about `learning_rate` at first, whatever the loss's scale."""
    b1, b2 = betas
    m = torch.zeros_like(x)
    v = torch.zeros_like(x)
    for k in range(1, iterations + 1):
        book.iteration = k
        _, g = book.evaluate(x)
        m.mul_(b1).add_(g, alpha=1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        step = learning_rate / (1 - b1**k)
        denominator = v.sqrt().div_(math.sqrt(1 - b2**k)).add_(eps)
        x.addcdiv_(m, denominator, value=-step)
        del g, denominator


def two_loop_recursion(g: torch.Tensor, memory: list[tuple[torch.Tensor, torch.Tensor, float]],
                       scale: float) -> torch.Tensor:
    """The L-BFGS search direction -H g (Nocedal & Wright, Alg. 7.4, the two-loop recursion).

    g: the gradient (any shape); memory: the pairs (s, y, rho = 1 / y.s), oldest first, s and y of g's
    shape; scale: gamma, the initial inverse Hessian H0 = gamma I. Returns a new tensor of g's shape."""
    q = g.neg()
    alphas = []
    for s, y, rho in reversed(memory):
        a = rho * float(s.flatten() @ q.flatten())
        q.add_(y, alpha=-a)
        alphas.append(a)
    r = q.mul_(scale)
    for (s, y, rho), a in zip(memory, reversed(alphas)):
        b = rho * float(y.flatten() @ r.flatten())
        r.add_(s, alpha=a - b)
    return r


def noise_image(height: int, width: int, std: float, seed: int) -> torch.Tensor:
    """White noise: mid-grey plus Gaussian noise of the given std, drawn on the CPU so every device
    starts from the same image for the same seed."""
    g = torch.Generator().manual_seed(seed)
    return 0.5 + std * torch.randn(1, 3, height, width, generator=g)
