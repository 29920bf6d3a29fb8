"""What a Python caller uses: images in, images out. The CLI, the batch runner and video only wrap this.

The pipeline, one stage per module, data flowing one way: Settings -> Job (job.py, complete) -> Plan (plan.py,
every check, made once) -> targets (targets.py, cached by content) -> Objective (objective.py) -> optimiser
(synthesis.py) -> Outcome. A Session holds the one network and the target cache that several runs share.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace
from typing import Callable

import torch
import torch.nn.functional as nnf
from PIL import Image

from . import __version__, allocator, arguments, color, images, memory, stripes, synthesis, vgg
from . import job as jobs, plan as plans
from .errors import DeviceError, ImageError, NonFiniteError, SettingsError
from .job import ImageLike, Job, describe
from .layers import check_layer, deepest
from .objective import ContentTerm, GuidedStyleTerm, Objective, StyleTerm, Term, TVTerm
from .plan import Level, Plan
from .settings import MAX_COUNT, Settings, settings_of
from .synthesis import Progress
from .targets import Targets, pinned, unpinned
from .unread import check_settings, recorded, replaced


def resolve_device(name: str) -> torch.device:
    """auto -> CUDA when present, else Apple's Metal (MPS) when present, else CPU; DeviceError for an explicit
    CUDA or MPS device that is absent."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not _mps_available():
            raise DeviceError("--device mps: Apple's Metal (MPS) is not available here; use --device cpu")
        return torch.device("mps")
    if name == "cuda" or name.startswith("cuda:"):
        try:
            device = torch.device(name)
        except RuntimeError:
            raise DeviceError(f"{name!r} is not a device name; use auto, cpu, mps, cuda or cuda:N") from None
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {name}: CUDA is not available here (no GPU, or a CPU-only torch); use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) here")
        return device
    raise DeviceError(f"{name!r} is not a device name; use auto, cpu, mps, cuda or cuda:N")


def precision_dtype(precision: str, device: torch.device) -> torch.dtype:
    """The dtype of the network's convolutions for --precision (Settings.precision) on `device`: float32, or
    bfloat16 on a CPU or a CUDA GPU that has it; DeviceError where it is absent."""
    if precision == "fp32":
        return torch.float32
    if device.type == "mps" or (device.type == "cuda" and not torch.cuda.is_bf16_supported()):
        raise DeviceError(f"--precision {precision}: this device ({device}) has no bfloat16 convolutions; "
                          f"use --precision fp32")
    return torch.bfloat16


def _mps_available() -> bool:
    """Whether this torch has Apple's Metal backend and this machine can run it."""
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def deterministic_cuda() -> None:
    """Make cuDNN pick deterministic convolution algorithms (no benchmarking): the same command gives the same
    bytes on the same GPU. Process-wide, so the library never calls it; the command line does at start-up."""
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def _measured(loss: float) -> float | None:
    """A loss as a record holds it: None where none was measured (NaN, infinite: an unstarted run)."""
    return loss if math.isfinite(loss) else None


@dataclass
class Outcome:
    """A finished (or interrupted) synthesis: the image and how it got there. Losses are unweighted
    (L_content, L_style); `loss` is the weighted total; `seconds` of optimisation. Stopped before its first
    evaluation (unstarted): no loss was measured (NaN; `loss` infinite; null in `metadata`), and the image is the
    start."""

    image: Image.Image
    content_loss: float
    style_loss: float
    loss: float
    iterations: int
    evaluations: int
    seconds: float
    stopped: str  # iterations | evaluations | done | converged | stalled | interrupted | non-finite
    metadata: dict

    @property
    def partial(self) -> bool:
        return self.stopped == "interrupted"

    @property
    def unstarted(self) -> bool:
        """Stopped before its first evaluation: its image is only the start, and is written nowhere."""
        return self.partial and not self.evaluations


class Session:
    """One network on one device, reused for many syntheses, with a target cache keyed by the images'
    content (targets.Targets).

    Raises DeviceError for an absent device and SettingsError for bad settings (Settings). Its settings, device
    and precision are fixed (settings, device, compute: read-only; other settings are another Session)."""

    def __init__(self, settings: Settings | None = None, **overrides):
        settings = settings_of(settings)
        self._settings = settings.replace(**overrides) if overrides else settings
        self._device = resolve_device(self._settings.device)
        self._compute = precision_dtype(self._settings.precision, self._device)
        self.targets = Targets(self._device)

    settings = property(lambda self: self._settings, doc="The Settings every run of this Session uses.")
    device = property(lambda self: self._device, doc="The torch.device it computes on (settings.device resolved).")
    compute = property(lambda self: self._compute, doc="The dtype it computes in (settings.precision on device).")

    def __setattr__(self, name, value):
        if name in ("settings", "device", "compute"):  # (the network, its dtype and device follow from them)
            raise SettingsError(f"Session.{name} is fixed when the Session is made; make a Session of the settings "
                                f"you want")
        super().__setattr__(name, value)

    def network(self, layers) -> vgg.VGG:
        """The network truncated after the deepest of `layers` (loaded once per process)."""
        s = self.settings
        return vgg.network(s.weights, s.pooling, s.normalize, deepest(layers), self.device)

    def image(self, image: ImageLike) -> Image.Image:
        """An input as the run reads it: RGB, EXIF orientation applied (ImageError when unreadable)."""
        return self.targets.image(jobs.image_like(image, "image"))

    # -- stage 1: jobs (job.py) -------------------------------------------------------------------------
    def transfer_job(self, content: ImageLike, style, blend: tuple[float, ...] | None = None) -> Job:
        s = self.settings  # (a field given that a transfer, or an argument here, leaves unread: unread.py)
        check_settings(s)
        if blend is not None:
            replaced(s, "blend=", "style_blend")
            if s.alpha_beta[1] == 0:  # (as --style-blend and a manifest's blend)
                raise SettingsError("blend=: has no effect here: it needs a style term (style_weight not 0)")
        return jobs.transfer_job(s, content, style, blend)

    def content_job(self, image: ImageLike, layer: str | None = None) -> Job:
        check_settings(self.settings, "content-recon")
        if layer is not None and jobs.layer_names(layer) != (self.settings.content_layer,):
            replaced(self.settings, "layer=", "content_layer")
        return jobs.content_job(self.settings, image, layer)

    def style_job(self, image: ImageLike, layers=None, out_size: tuple[int, int] | None = None) -> Job:
        s = self.settings
        check_settings(s, "style-recon")
        if layers is not None and jobs.layer_names(layers) != s.style_layers:  # (other layers: weighted equally)
            replaced(s, "layers=", "style_layers")
            if s.style_layer_weights is not None:
                raise SettingsError("style_layer_weights: has no effect here: the layers= given are weighted equally; "
                                    "to weight them, give them as style_layers beside style_layer_weights, and no "
                                    "layers=")
        if out_size is not None and (s.style_size or s.style_scale):  # (else --size sizes the artwork)
            replaced(s, "out_size= (with style_size or style_scale)", "size")
        return jobs.style_job(s, image, layers, out_size)

    # -- stage 2: the plan (plan.py) --------------------------------------------------------------------
    def plan(self, job: Job, memory_of: Plan | None = None) -> Plan:
        """Every check before any work, and every level's sizes and memory plan (plan.make; `memory_of`: keep an
        earlier plan's memory plans, as a video does for its frames)."""
        if not isinstance(job, Job):
            raise SettingsError(f"plan: a Job (session.transfer_job, ...), not {type(job).__name__}")
        if memory_of is not None and not isinstance(memory_of, Plan):
            raise SettingsError(f"memory_of: an earlier Plan (or None), not {type(memory_of).__name__}")
        jobs.check_made(job)  # (first: an edited Job's settings are not another Session's)
        if job.settings != self.settings.to_dict():  # (its network, pooling, ...: this Session's would run it)
            raise SettingsError("job: made by a Session with other settings (its metadata would name them, this "
                                "Session's network would run it); plan it with the Session that made it")
        inputs = jobs.inputs(job, self.targets.key)  # (in a pinned run: an input replaced meanwhile is named first,
        # before an earlier plan of it as `memory_of` is seen changed)
        if memory_of is not None:  # (its memory plans are kept: they must be ones planned)
            plans.check_made(memory_of, "memory_of")
        plan = plans.make(job, self.targets, self.device, self.settings.pooling, memory_of)
        return arguments.seal(replace(plan, inputs=inputs, settings=self.settings))

    def _check_plan(self, plan: Plan, started: bool = False) -> None:
        """A plan given to run is run as it was checked: by a Session of the same settings (the network), on inputs
        whose pixels have not changed since (but the init, where `started`: a start image given to run stands for
        it), as it was returned (SettingsError, ImageError naming the input that changed)."""
        plans.check_made(plan)
        if plan.settings is not None and plan.settings != self.settings:
            raise SettingsError("this plan was made by a Session with other settings: plan the job with this one")
        if plan.inputs is None:
            return
        job, then = (_without_init(plan.job), {**plan.inputs, "init": None}) if started else (plan.job, plan.inputs)
        now = jobs.inputs(job, self.targets.key)
        if now != then:
            which = {"content": job.content, "init": job.init, "content_mask": job.content_mask,
                     **{f"styles{i}": s for i, s in enumerate(job.styles)},
                     **{f"style_masks{i}": m for i, m in enumerate(job.style_masks)}}
            changed = next((name for name in which if _item(now, name) != _item(then, name)), "content")
            raise ImageError(f"an input of this plan ({describe(which[changed])}) has changed since it was planned: "
                             f"plan the job again")

    # -- stage 3: the objective of a level --------------------------------------------------------------
    def terms(self, job: Job, net, level: Level) -> list[Term]:
        """The objective's terms for one level of the synthesis."""
        policy = color.policy(job.color, job.color_map)
        out = []
        if job.content is not None and job.alpha:
            out.append(ContentTerm(self.targets.content(net, job, max(level.width, level.height), policy), job.alpha,
                                   size_invariant=job.size_invariant))
        if job.styles and job.beta:
            layer_weights = dict(zip(job.style_layers, job.layer_weights))
            if job.masked:
                guides = self.targets.guided_style(net, job, level.width, level.height, level.style_long_side, policy)
                out.append(GuidedStyleTerm(guides, job.beta, layer_weights))
            else:
                out.append(StyleTerm(self.targets.blended_style(net, job, level.style_long_side, policy), job.beta,
                                     layer_weights))
        if job.tv_weight:
            out.append(TVTerm(job.tv_weight))
        return out

    def objective(self, job: Job) -> Objective:
        """The job's objective at its full size (the last level), e.g. to evaluate an image against it (a job of
        another Session's too: scored by this Session's network)."""
        if not isinstance(job, Job):
            raise SettingsError(f"job: a Job (session.transfer_job, content_job, style_job), not {type(job).__name__}")
        plan = plans.make(job, self.targets, self.device, self.settings.pooling)
        net = self.network(job.layers)
        return Objective(net, self.terms(job, net, plan.levels[-1]), self.compute)

    # -- stage 4: the run -------------------------------------------------------------------------------
    def run(self, plan: Plan | Job, callback: Callable[[Progress], None] | None = None,
            should_stop: Callable[[], bool] | None = None, *, extra_terms=(), start: torch.Tensor | None = None,
            iterations: int | None = None) -> Outcome:
        """Execute a plan (or plan a job, then execute it): each coarse-to-fine level an optimisation of the
        job's objective, the next level starting from the last one's result, resized (bicubic).

        extra_terms: more terms for the last level (a video's temporal term); start: the start image
        (1, 3, H, W) in [0, 1] instead of the job's init, resized to each level; iterations: instead of the
        job's at the last level. Raises NonFiniteError when the loss is not finite at the start, and what
        plan() raises."""

        arguments.functions(callback=callback, should_stop=should_stop)
        if iterations is not None and not (arguments.is_whole(iterations) and 1 <= iterations <= MAX_COUNT):
            raise SettingsError(f"iterations: a whole number from 1 to {MAX_COUNT} (or None), not "
                                f"{arguments.quoted(iterations)}")
        iterations = None if iterations is None else int(iterations)
        if not isinstance(extra_terms, (list, tuple)) or not all(isinstance(t, Term) for t in extra_terms):
            raise SettingsError("extra_terms: a list of objective terms (stylize.objective.Term)")
        extra_terms = _taken_terms(extra_terms)
        if not isinstance(plan, (Job, Plan)):
            raise SettingsError(f"run: a Job or a Plan (session.transfer_job, session.plan), not {type(plan).__name__}")
        if start is not None and not (isinstance(start, torch.Tensor) and start.layout == torch.strided
                                      and not start.is_nested and not start.is_meta
                                      and start.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64)
                                      and start.dim() == 4 and start.shape[:2] == (1, 3) and start.numel() > 0
                                      and bool(((start >= 0) & (start <= 1)).all())):
            raise SettingsError("start: a float tensor of shape (1, 3, H, W), H and W > 0, values in [0, 1]")
        callback, should_stop = unpinned(callback), unpinned(should_stop)  # (a run they start is one of its own)
        with synthesis.running(), pinned(), torch.inference_mode(False), torch.enable_grad():  # (an input replaced during the run, between
            # levels or before the finish: refused, never mixed; a caller's inference mode or no_grad is not the run's)
            return self._pinned_run(plan, callback, should_stop, extra_terms, start, iterations)

    def _pinned_run(self, plan, callback, should_stop, extra_terms, start, iterations) -> Outcome:
        if isinstance(plan, Job):  # (with a start image, the job's init is never read: neither checked nor digested)
            plan = self.plan(plan if start is None else _without_init(plan))
        else:
            self._check_plan(plan, started=start is not None)
        if iterations is not None:
            plan = plan.with_iterations(iterations)
        try:
            return self._run(plan, callback, should_stop, extra_terms, start)
        except torch.cuda.OutOfMemoryError:
            raise self._failed_allocation(plan) from None
        except RuntimeError as e:
            if "can't allocate memory" not in str(e) and "out of memory" not in str(e):
                raise
            raise self._failed_allocation(plan) from None

    def _failed_allocation(self, plan: Plan) -> Exception:
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        return memory.failed_allocation(plan.width, plan.height, plan.job.layers, self.device, self.settings.pooling)

    def _run(self, plan: Plan, callback, should_stop, extra_terms, start) -> Outcome:
        job = plan.job
        policy = color.policy(job.color, job.color_map)
        layers = job.layers + tuple(name for t in extra_terms for name in (*t.layers, *t.tapped))
        try:  # (loading the weights: seconds, a few long C calls, as stoppable as a pass)
            net = synthesis.computed(lambda: self.network(layers), should_stop)
        except synthesis.Interrupted:
            net = None
        if self.device.type == "cpu":
            allocator.use(plan.memory.reuse)  # the command line's allocator, as the plan says (allocator.py)
        if extra_terms and len(plan.levels) > 1 and net is not None:
            self._check_extra_terms(plan, net, extra_terms, start, policy, should_stop)
        x = result = None
        for k, level in enumerate(plan.levels):
            final = k == len(plan.levels) - 1
            if x is None:
                x = (self.start_image(job, level.width, level.height, policy) if start is None
                     else start.float()).to(self.device)
            if x.shape[-2:] != (level.height, level.width):
                x = nnf.interpolate(x, size=(level.height, level.width), mode="bicubic", align_corners=False)
            previous = result
            if net is None:  # (stopped while the weights loaded: no evaluation)
                result = synthesis.Result(x, math.inf, math.nan, math.nan, 0, 0, 0.0, "interrupted")
                break
            try:  # (the targets' forward passes: minutes at a large size, as stoppable as the synthesis's)
                terms = synthesis.computed(lambda: self.terms(job, net, level), should_stop)
            except synthesis.Interrupted:
                result = synthesis.Result(x, math.inf, math.nan, math.nan, 0, 0, 0.0, "interrupted")
            else:
                terms += list(extra_terms) if final else []
                level_callback = None if callback is None else _LevelCallback(
                    callback, k, len(plan.levels), self._finish_at(job, policy, level))
                objective = Objective(net, terms, self.compute)
                with stripes.striped(not level.memory.reuse):  # memory is short: gradients a stripe at a time
                    result = synthesis.optimize(objective, x, level.iterations, level.memory.history,
                                                level.evaluations, level_callback, should_stop,
                                                optimizer=job.optimizer, learning_rate=job.learning_rate,
                                                until_done=job.until_done)
                if result.stopped == "non-finite" and result.evaluations == 0:
                    raise NonFiniteError(objective.overflow(x))
            if result.partial and not result.evaluations and previous is not None:
                result = replace(previous, stopped="interrupted")  # a coarser level's finished result
            x = result.image
            if result.stopped in ("interrupted", "non-finite"):
                break
        out = result.image
        if out.shape[-2:] != (plan.height, plan.width):  # stopped at a coarser level: the output has the planned size
            out = nnf.interpolate(out, size=(plan.height, plan.width), mode="bicubic", align_corners=False).clamp(0, 1)
        if job.content is not None and policy.finishes:
            out = policy.finish(out, self.targets.photo(job.content, job.size).to(out.device))
        return Outcome(images.to_pil(out), result.content, result.style, result.loss, result.iterations,
                       result.evaluations, result.seconds, result.stopped,
                       self.metadata(plan, result, start is not None, extra_terms))

    def _finish_at(self, job: Job, policy, level: Level):
        """The colour policy's finish of an image at `level` (the photograph at its size), or None without one."""
        if job.content is None or not policy.finishes:
            return None
        photo = self.targets.photo(job.content, max(level.width, level.height)).to(self.device)
        if photo.shape[-2:] != (level.height, level.width):
            photo = nnf.interpolate(photo, size=(level.height, level.width), mode="bicubic", align_corners=False)
        return lambda image: policy.finish(image, photo.to(image.device)).clamp(0, 1)

    def _check_extra_terms(self, plan: Plan, net, extra_terms, start, policy, should_stop) -> None:
        """Extra terms join the last level only: where coarser levels run first, they are checked before any work,
        as the last level will see them (its objective: a name taken twice; at its start image: a loss that is
        not one finite number). SettingsError, NonFiniteError; a stop meanwhile is left to the run."""
        job, level = plan.job, plan.levels[-1]
        try:
            terms = synthesis.computed(lambda: self.terms(job, net, level), should_stop)  # (cached: the run's own)
        except synthesis.Interrupted:
            return
        objective = Objective(net, terms + list(extra_terms), self.compute)
        x = (self.start_image(job, level.width, level.height, policy) if start is None else start.float()).to(self.device)
        if x.shape[-2:] != (level.height, level.width):
            x = nnf.interpolate(x, size=(level.height, level.width), mode="bicubic", align_corners=False)
        with torch.no_grad():
            total, _ = objective(x)
        if not bool(torch.isfinite(total).all()):
            raise NonFiniteError(objective.overflow(x))

    def metadata(self, plan: Plan, result: synthesis.Result, started: bool = False, extra_terms=()) -> dict:
        """What an output records: the job, the plan that decided the result, and how the run ended (an Outcome's
        own copy: editing it changes neither the plan, the job nor another Outcome). A run from a caller's start
        image (`started`: run's `start`) or with extra objective terms says so: its settings alone do not make
        it again."""
        job = plan.job
        settings = _settings_used(job)
        inputs = plan.inputs if plan.inputs is not None else jobs.inputs(job, self.targets.key)
        if started:  # (the start image given to run stands for the settings' init: its init, noise, seed unread)
            settings = {name: value for name, value in settings.items() if name not in ("init", "noise", "seed")}
            inputs = {**inputs, "init": None}
        return copy.deepcopy({
            "stylize": __version__,
            "command": job.command,
            **dict(job.meta),
            "settings": settings,
            "content": describe(job.content),
            "style": describe(job.styles[0]) if len(job.styles) == 1 else None,
            "styles": [describe(im) for im in job.styles],
            **({"blend": list(job.blend)} if job.command == "transfer" else {}),  # (a reconstruction blends none)
            "inputs": inputs,
            "width": plan.width,
            "height": plan.height,
            "device": str(self.device),
            "torch": torch.__version__,
            "weights_sha256": vgg.loaded_digest(self.settings.weights),  # (as its network was loaded)
            # (null where none was measured: a run stopped before its first evaluation, whose picture is the start;
            "content_loss": _measured(result.content),  # JSON has no NaN or infinity)
            "style_loss": _measured(result.style),
            "loss": _measured(result.loss),
            "iterations": result.iterations,
            "evaluations": result.evaluations,
            "stopped": result.stopped,
            "partial": result.partial,
            "memory": plan.memory.to_dict(),
            **({"start": "given to Session.run (not the settings' init)"} if started else {}),
            **({"extra_terms": [type(t).__name__ for t in extra_terms]} if extra_terms else {}),
        })

    def start_image(self, job: Job, width: int, height: int, policy: color.Policy | None = None) -> torch.Tensor:
        """The start (1, 3, height, width) in [0, 1]: white noise around mid-grey (paper), or an image
        resized to the level (ImageError when the command has no such image)."""
        if job.init == "noise":
            return synthesis.noise_image(height, width, job.noise, job.seed)
        source = {"content": job.content, "style": job.styles[0] if job.styles else None}.get(job.init, job.init)
        if source is None:
            raise ImageError(f"--init {job.init}: a {job.command} synthesis has no {job.init} image")
        x = images.to_tensor(self.image(source).resize((width, height), Image.Resampling.LANCZOS))
        return (policy or color.policy(job.color, job.color_map)).prepare_start(x)

    # -- conveniences -----------------------------------------------------------------------------------
    def transfer(self, content: ImageLike, style, callback=None, should_stop=None, blend=None) -> Outcome:
        """Plan and run a style transfer (transfer_job)."""
        return self.run(self.transfer_job(content, style, blend), callback, should_stop)

    def reconstruct_content(self, image: ImageLike, layer: str | None = None, callback=None,
                            should_stop=None) -> Outcome:
        return self.run(self.content_job(image, layer), callback, should_stop)

    def reconstruct_style(self, image: ImageLike, layers=None, out_size: tuple[int, int] | None = None,
                          callback=None, should_stop=None) -> Outcome:
        return self.run(self.style_job(image, layers, out_size), callback, should_stop)

    def forget_image(self, image: ImageLike) -> None:
        """Drop every target computed from this image's content (a video drops each frame when done)."""
        self.targets.forget(jobs.image_like(image, "image"))

    def forget(self) -> None:
        """Drop cached images and targets (the batch runner calls this between groups)."""
        self.targets.forget()


def _taken_terms(extra_terms) -> tuple:
    """Session.run's extra terms as checked at the call, each a copy (a callback's edit of a term's weight, name or
    layers changes nothing in the run; the tensors it holds are shared): its weight a finite float from 0 (a
    Fraction or Decimal too; one too small for a float is not 0), its layers VGG-19's (computed for it).
    SettingsError, LayerError."""
    taken = []
    for term in extra_terms:
        try:  # (a Decimal NaN cannot be compared; a huge Fraction is no float)
            weight = float(term.weight) if arguments.is_real(term.weight) else math.nan
        except (OverflowError, ValueError):
            weight = math.inf
        if not 0 <= weight < math.inf:
            raise SettingsError(f"term {term.name!r}: its weight is a finite number from 0, not "
                                f"{arguments.quoted(term.weight)}")
        try:
            arguments.as_float(term.weight)
        except ValueError:
            raise SettingsError(f"term {term.name!r}: its weight {arguments.quoted(term.weight)} is too small or too "
                                f"large for a float") from None
        if not isinstance(term.layers, (list, tuple)) or not isinstance(term.tapped, (list, tuple)):
            raise SettingsError(f"term {term.name!r}: its layers and tapped are tuples of VGG-19 layer names")
        for name in (*term.layers, *term.tapped):
            check_layer(name)
        taken.append(copy.copy(term))
        taken[-1].weight = weight
    return tuple(taken)


def _without_init(job: Job) -> Job:
    """`job` as a run given a start image runs it: its init never read (noise, which reads no file)."""
    return job if job.init == "noise" else arguments.seal(replace(job, init="noise"))


def _item(inputs: dict, name: str):
    """One input's digest in jobs.inputs' dict, by its name there, a list's item by its index ("styles1")."""
    base = name.rstrip("0123456789")
    if base == name:
        return inputs.get(name)
    items = inputs.get(base) or []
    index = int(name[len(base):])
    return items[index] if index < len(items) else None


def _settings_used(job: Job) -> dict:
    """The settings a picture records: the job's (but those its run never reads: unread.recorded), with a
    reconstruction's layers as the call gave them (layer=, layers=: the command line's --layer/--layers are its
    settings' content_layer/style_layers, so one picture records one recipe however it was asked for)."""
    settings = dict(job.settings)
    if job.command == "content-recon":
        settings["content_layer"] = job.content_layers[0]
    elif job.command == "style-recon" and tuple(settings["style_layers"]) != tuple(job.style_layers):
        settings.update(style_layers=tuple(job.style_layers), style_layer_weights=None)  # (layers=: equal weights)
    return recorded(settings, job.command)  # (none its run never reads: a style-recon's ratio, an unread seed)


class _LevelCallback:
    """Tags progress with the coarse-to-fine level it belongs to, its image as the output would be saved at that
    point (`finish`: the colour policy's, where it has one: --color luminance/swap take the photograph's chroma; a
    --save-every intermediate is what a stop there would save)."""

    def __init__(self, callback, level: int, levels: int, finish=None):
        self.callback, self.level, self.levels, self.finish = callback, level, levels, finish

    def __call__(self, progress: Progress) -> None:
        progress.level, progress.levels = self.level, self.levels
        if self.finish is not None:
            progress.image = self.finish(progress.image)
        self.callback(progress)


def transfer(content: ImageLike, style, settings: Settings | None = None, *,
             callback: Callable[[Progress], None] | None = None, **overrides) -> Image.Image:
    """Stylize `content` with `style` (one artwork, or a list blended by settings.style_blend) and return the
    image (its metadata in `image.info["stylize"]`); Session.transfer returns the whole Outcome instead.
    Raises StylizeError subclasses: ImageError, SettingsError, OutOfMemoryError, NonFiniteError, DeviceError."""
    outcome = Session(settings, **overrides).transfer(content, style, callback=callback)
    outcome.image.info["stylize"] = outcome.metadata
    return outcome.image


def reconstruct_content(image: ImageLike, layer: str | None = None, settings: Settings | None = None, *,
                        callback=None, **overrides) -> Image.Image:
    """Reconstruct `image` from white noise using only its response at `layer` (default: the settings'
    content layer, conv4_2); paper Fig. 1, bottom. Raises as transfer()."""
    outcome = Session(settings, **overrides).reconstruct_content(image, layer, callback=callback)
    outcome.image.info["stylize"] = outcome.metadata
    return outcome.image


def reconstruct_style(image: ImageLike, layers=None, settings: Settings | None = None, *, out_size=None,
                      callback=None, **overrides) -> Image.Image:
    """Synthesize a texture from white noise matching `image`'s Gram matrices at `layers` (paper Fig. 1,
    top); out_size (width, height) defaults to the artwork's shape at settings.size. Raises as transfer()."""
    outcome = Session(settings, **overrides).reconstruct_style(image, layers, out_size=out_size, callback=callback)
    outcome.image.info["stylize"] = outcome.metadata
    return outcome.image
