"""Click commands only: parse options, call one library function, report (progress, messages), exit."""

from __future__ import annotations

import contextlib
import shlex
import signal
import sys
from pathlib import Path

import click

from . import __version__, arguments, claims, console, figures
from .console import Interrupt, ProgressBar, announce_download, catch_signals, printable, say
from .errors import OutOfMemoryError, StylizeError, UsageError
from .options import (CONTROL_OPTIONS, COUNT, INPUT, OUTPUT, RUN_OPTIONS, SAVE_EVERY, SYNTHESIS_OPTIONS,
                      VIDEO_OPTIONS, DefaultGroup, FloatList, InputPath, Layer, LayerList, LayerSets, LibraryDefault,
                      NameTemplate, OutputPath, OutSize, RayAddress, SectionedCommand, Shard, check_used,
                      default_output, list_layers, options, settings_from, style_recon_settings,
                      transfer_settings, video_settings)
from .settings import DEFAULTS, Settings, names_a_video

EXIT_SOME_FAILED = 3
EXIT_INTERRUPTED = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


# -- helpers for running (console.py: signals and progress bars) ----------------------------------
def fail(e: StylizeError):
    out_size = click.get_current_context().params.get("out_size")  # style-recon: its output's size is --out-size
    text = str(e).replace("--size", "--out-size") if out_size and isinstance(e, OutOfMemoryError) else str(e)
    kind = click.UsageError if isinstance(e, UsageError) else click.ClickException  # exit status 2 or 1
    raise kind(text.replace("(lower --size,", "(lower --out-size,") if out_size else text)


def echo(message: str, quiet: bool) -> None:
    if not quiet:
        say(message)


def argv() -> str:
    return shlex.join(["stylize", *sys.argv[1:]])


def metadata() -> dict:
    """What an output's metadata records of the command line: argv, and the --preset (options.settings_from)."""
    preset = click.get_current_context().meta.get("preset")
    return arguments.CommandLineMetadata(argv=argv(), **({"preset": preset} if preset else {}))


def interrupted(message: str, interrupt: Interrupt):
    """Tell how an interrupted run ended; exit 130 (SIGINT), 143 (SIGTERM) or 129 (SIGHUP)."""
    say(message)
    sys.exit(EXIT_INTERRUPTED.get(interrupt.signal, 130))


def run_one(settings: Settings, output, quiet: bool, save_every: int, overwrite: bool, make_job, desc: str,
            inputs=()) -> None:
    """One synthesis to a file (files.make_image: every check before any work), with a progress bar."""
    from .files import make_image

    bars, outcome, failed = [], None, None

    def on_ready(plan):
        announce_download(settings, quiet)
        if plan.note:
            echo(f"Note: {plan.note}", quiet)
        bars.append(ProgressBar(plan.level_iterations, quiet, desc))

    try:
        with catch_signals() as interrupt:
            outcome = make_image(settings, make_job, output, inputs=inputs, save_every=save_every, overwrite=overwrite,
                                 callback=lambda p: bars[0](p), should_stop=interrupt, on_ready=on_ready,
                                 metadata=metadata())
    except StylizeError as e:
        failed = e
    finally:
        for bar in bars:
            bar.close(outcome)
    if failed is not None and bars and interrupt():  # stopped, and the best image so far could not be written
        interrupted(f"Interrupted; the best image so far could not be saved: {printable(failed)}", interrupt)
    elif failed is not None:
        fail(failed)
    out = Path(output)
    if outcome.unstarted:
        interrupted("Interrupted before the first iteration; nothing written.", interrupt)
    if outcome.partial:
        interrupted(f"Interrupted: saved the best image so far ({ProgressBar.summary(outcome)[0]}, marked partial) "
                    f"to {out}", interrupt)
    if outcome.stopped == "non-finite":
        say(f"Warning: the loss became non-finite; saved the best finite image to {out}")
    counts, why = ProgressBar.summary(outcome)
    echo(f"Wrote {out} ({outcome.image.width}x{outcome.image.height}, content loss {outcome.content_loss:.4g}, "
         f"style loss {outcome.style_loss:.4g}, {counts}, {outcome.seconds:.1f} s){why}", quiet)


# -- the command group --------------------------------------------------------------------------
@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="stylize")
@click.option("--list-layers", is_flag=True, expose_value=False, is_eager=True, callback=list_layers,
              help="Print VGG-19's layer names (conv1_1 ... conv5_4) and exit.")
def cli():
    """Neural style transfer after Gatys, Ecker & Bethge. `stylize CONTENT STYLE [-o OUT]` is short for
    `stylize transfer ...`; `stylize COMMAND --help` shows a command's options and examples.

    \b
    Examples:
      stylize photo.jpg starry_night.jpg              # writes photo_starry_night.png
      stylize photo.jpg starry_night.jpg -o out.png --preset fast
    """
    from . import allocator

    allocator.manage()


@cli.command("transfer")
@click.argument("content", type=INPUT)
@click.argument("style", type=INPUT, nargs=-1, required=True)
@click.option("-o", "--output", type=OUTPUT, default=None,
              help="Output image; format from the extension [default: CONTENT_STYLE.png here, or -2, -3, ... "
                   "after it: never an existing file].")
@options(SYNTHESIS_OPTIONS)
@options(CONTROL_OPTIONS)
@SAVE_EVERY
@options(RUN_OPTIONS)
def transfer_command(content, style, output, save_every, quiet, overwrite, **kwargs):
    """Paint CONTENT (a photograph) in the style of STYLE (an artwork; several are blended).

    \b
    Examples:
      stylize photo.jpg starry_night.jpg                   # writes photo_starry_night.png
      stylize photo.jpg scream.jpg -o out.jpg --preset bold --size 768
      stylize photo.jpg a.jpg b.jpg -o out.png --style-blend 3,7 --color luminance
    Exit status: 0 done, 1 error, 2 usage error, 130/143 interrupted (best image so far saved).
    """
    settings = transfer_settings(kwargs, style)
    given, output = output, output or default_output(content, style[0])  # (a default name: never --overwrite)
    run_one(settings, output, quiet, save_every, overwrite and given is not None, lambda s: s.transfer_job(content, style),
            "stylize", [content, *style])


@cli.command("batch")
@click.argument("manifest", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--content", "contents", multiple=True, metavar="PATH|GLOB",
              help="Content images (repeatable; globs allowed). Used with --style instead of a MANIFEST.")
@click.option("--style", "styles", multiple=True, metavar="PATH|GLOB",
              help="Style images (repeatable; globs allowed); every content is paired with every style.")
@click.option("--out-dir", type=OutputPath(), required=True, help="Folder for the outputs (created).")
@click.option("--name-template", type=NameTemplate(), cls=LibraryDefault, default_from=("batch", "DEFAULT_TEMPLATE"),
              help="Output name: {content}, {style}: the inputs' file stems; {index}: the pair's position, from 0.")
@click.option("--skip-existing", is_flag=True, help="Skip pairs whose output exists (resume; partial outputs are redone).")
@click.option("--continue-on-error/--stop-on-error", default=True, show_default=True, help="Whether a failed pair stops the batch.")
@click.option("--report", type=OutputPath(dir_okay=False), default=None,
              help="Write a JSON report: per pair status, seconds, final losses, error.")
@click.option("--shard", type=Shard(), default=None, metavar="I/N|auto[/N]",
              help="Run only the I-th of N deterministic shares of the pairs (e.g. 2/8), for parallel workers; auto "
                   "(or auto/N): I and N from the Slurm array or Kubernetes indexed Job that runs it.")
@click.option("--ray", type=RayAddress(), is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Run on a Ray cluster: at ADDRESS (HOST:PORT, ray://HOST:PORT, auto), else $RAY_ADDRESS or this "
                   "machine's, else a new local one; one worker per GPU, or per --ray-cpus CPUs.")
@click.option("--ray-cpus", type=COUNT, help="CPUs (torch threads) of each Ray worker on a cluster without GPUs (with --ray).  [default: 1]")
@click.option("--contact-sheet", type=OutputPath(dir_okay=False), default=None, metavar="FILE.png|FILE.jpg",
              help="At the end, write a grid of thumbnails: a row per pair (content | style | result, losses).")
@options(SYNTHESIS_OPTIONS)
@options(CONTROL_OPTIONS)
@options(RUN_OPTIONS)
def batch_command(manifest, contents, styles, out_dir, name_template, skip_existing, continue_on_error, report,
                  shard, ray, ray_cpus, contact_sheet, quiet, overwrite, **kwargs):
    """Stylize many pairs in one process: the network is loaded once, each image's targets computed once.

    \b
    Pairs come from MANIFEST (CSV with a header content,style[,output][,blend], or JSON lines
    {"content": ..., "style": ... or [...], "output": ..., "blend": [...]}; '-' reads standard input;
    several styles in a CSV cell are ';'-separated; relative paths are taken from the current folder,
    relative outputs from --out-dir), or from --content x --style. With --ray, on many machines.

    \b
    Examples:
      stylize batch --content 'photos/*.jpg' --style 'art/*.jpg' --out-dir out --size 256
      stylize batch pairs.csv --out-dir out --skip-existing --report out/report.json --contact-sheet out/sheet.jpg
      parallel stylize batch pairs.csv --out-dir out --shard {}/4 ::: 1 2 3 4
      stylize batch pairs.csv --out-dir /shared/out --report /shared/out/report.json --ray head-node:6379
    Exit status: 0 every pair done or skipped, 3 some pair failed, 1 error, 2 usage error,
    130/143 interrupted (the current pair's best image is saved, marked partial).
    """
    from . import batch

    settings = settings_from(kwargs)
    if skip_existing and overwrite:
        raise click.UsageError("--skip-existing keeps finished outputs and --overwrite replaces them: give one")
    check_used(dict(ray=ray, ray_cpus=ray_cpus))
    try:
        batch.check_sources(manifest, contents, styles)
        if shard is not None and shard[0] is None:
            i, n, where = batch.shard_from_environment(shard[1])
            shard = (i, n)
            echo(f"Shard {shard[0]}/{shard[1]} from the {where}", quiet)
    except StylizeError as e:
        raise click.UsageError(str(e)) from None
    bar = console.BatchProgress(quiet, settings.iterations)

    def on_ready(rep):
        bar.ready(rep)
        announce_download(settings, quiet)

    held = contextlib.ExitStack()  # the contact sheet's claim, from its check until it is written
    with catch_signals() as interrupt:
        try:
            pairs = batch.intake(manifest, contents, styles, Path(out_dir), name_template, shard, stdin=sys.stdin,
                                 should_stop=interrupt)
            contact_sheet = contact_sheet if pairs else None  # a shard with no pair makes nothing, no sheet either
            if contact_sheet:
                contact_sheet = batch.check_contact_sheet(contact_sheet, pairs, settings, [manifest, report],
                                                          overwrite=overwrite, resume=skip_existing)
                found = batch.sheet_found(contact_sheet)
            common = dict(report=report, inputs=[manifest] if manifest and manifest != "-" else [],
                          skip_existing=skip_existing, overwrite=overwrite, continue_on_error=continue_on_error,
                          should_stop=interrupt, on_ready=on_ready, on_folders=contact_sheet and (  # its folder made
                              lambda: held.enter_context(claims.claim_file(contact_sheet))) or None,
                          on_pair=bar.pair, on_note=bar.note, metadata=metadata())
            if ray is None:
                rep = batch.run_batch(pairs, out_dir, settings, callback=bar.progress, **common)
            else:
                from . import cluster

                rep = cluster.run_batch(pairs, out_dir, settings, address=ray, cpus=ray_cpus or 1,
                                        on_start=bar.started, **common)
        except BaseException as e:  # (a second Ctrl-C too: the sheet's claim, then the empty folders, go)
            held.close()
            batch.remove_empty(bar.report.folders if bar.report else [])
            if not isinstance(e, StylizeError):
                raise
            fail(e)
        finally:
            bar.close()
    counts = rep.summary()
    echo((", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or f"no pair: this shard holds none of the "
          f"manifest's {rep.manifest_pairs}") + (f"; report: {report}" if report else ""), quiet)
    left = counts.get("interrupted") or (interrupt.signal is not None and (counts.get("pending") or contact_sheet))
    try:
        if contact_sheet and interrupt.signal is None and not batch.contact_sheet(
                rep.records, contact_sheet, overwrite=overwrite or skip_existing, should_stop=console.stopped,
                found=found, batch=batch.sheet_batch(pairs, settings)):
            left, interrupt.signal = True, console.EARLY.signal  # (a signal while the sheet was drawn: not written)
    except StylizeError as e:  # the pairs' outcome is told first; then the sheet's failure, and 3 if a pair failed
        say(f"Error: {e}")
        sys.exit(EXIT_SOME_FAILED if counts.get("failed") else 1)
    finally:
        held.close()
        batch.remove_empty(rep.folders)  # (an --out-dir the batch made and left empty: interrupted, all failed)
    if left:  # (a signal after every pair and the sheet were done leaves the batch finished)
        again = "--overwrite to make every pair" if overwrite else "--skip-existing to resume"
        interrupted(f"Interrupted: rerun with {again}.", interrupt)
    if counts.get("failed"):
        sys.exit(EXIT_SOME_FAILED)


@cli.group("report")
def report_group():
    """Batch reports: join the reports of a batch's shards."""


@report_group.command("merge", cls=SectionedCommand)
@click.argument("reports", nargs=-1, required=True, type=INPUT)
@click.option("-o", "--output", type=OUTPUT, required=True, help="The merged report (JSON).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
def report_merge_command(reports, output, overwrite):
    """Join the reports of one batch's shards into the report one run would have written.

    \b
    Examples:
      stylize report merge out/report-*.json -o out/report.json
    """
    from . import report

    try:
        data, missing = report.merge(reports, output, overwrite=overwrite)
    except StylizeError as e:
        fail(e)
    counts = ", ".join(f"{n} {k}" for k, n in sorted(data["summary"].items()))
    n = len(data["pairs"])
    say(f"Merged {len(reports)} report{'s' * (len(reports) != 1)} into {output}: {n} pair{'s' * (n != 1)}"
        + (f" ({counts})" if n else ""))
    if missing:
        shown = ", ".join(str(k + 1) for k in missing[:10]) + (", ..." if len(missing) > 10 else "")
        one = len(missing) == 1
        say(f"Warning: {len(missing)} of the manifest's {data['manifest_pairs']} pairs {'is' if one else 'are'} in "
            f"none of these reports (pair{'' if one else 's'} {shown})")


@cli.command("content-recon")
@click.argument("image", type=INPUT)
@click.option("-o", "--output", type=OUTPUT, required=True, help="Output image.")
@click.option("--layer", type=Layer(), default=DEFAULTS.content_layer, show_default=True, help="Layer whose response is matched.")
@options(SYNTHESIS_OPTIONS)
@SAVE_EVERY
@options(RUN_OPTIONS)
def content_recon_command(image, output, layer, save_every, quiet, overwrite, **kwargs):
    """Reconstruct IMAGE from white noise using only its response at one layer (paper Fig. 1, bottom).

    Lower layers give back the exact pixels, higher ones only the arrangement.

    \b
    Examples:
      stylize content-recon photo.jpg --layer conv2_1 -o recon.png --size 128 --iterations 1000
      stylize content-recon photo.jpg --layer conv5_1 -o recon5.png --preset fast
    """
    settings = settings_from(kwargs, "content-recon", content_layer=layer)
    run_one(settings, output, quiet, save_every, overwrite, lambda session: session.content_job(image, layer), layer,
            [image])


@cli.command("style-recon")
@click.argument("image", type=INPUT)
@click.option("-o", "--output", type=OUTPUT, required=True, help="Output image.")
@click.option("--layers", type=LayerList(), default=",".join(DEFAULTS.style_layers), show_default=True, help="Layers whose Gram matrices are matched.")
@click.option("--out-size", type=OutSize(), help="Output size WxH (or a long side); default: the artwork's shape at --size.")
@options(SYNTHESIS_OPTIONS)
@SAVE_EVERY
@options(RUN_OPTIONS)
def style_recon_command(image, output, layers, out_size, save_every, quiet, overwrite, **kwargs):
    """Synthesize a texture from white noise matching IMAGE's Gram matrices (paper Fig. 1, top).

    \b
    Examples:
      stylize style-recon starry_night.jpg --layers conv1_1,conv2_1,conv3_1 -o texture.png --out-size 256x256
      stylize style-recon starry_night.jpg -o texture.png --preset fast
    """
    settings, wh = style_recon_settings(kwargs, layers, out_size)
    run_one(settings, output, quiet, save_every, overwrite, lambda session: session.style_job(image, layers, wh),
            "texture", [image])


def run_figure(make, settings: Settings, quiet: bool, runs: int, desc: str) -> None:
    """Run a figure (make(callback, should_stop) -> Figure, checked, run and written by the library) with
    one progress bar; report."""
    bar = ProgressBar(settings.level_iterations, quiet, desc, runs=runs)
    try:
        with catch_signals() as interrupt:
            figure = make(bar, interrupt)
    except StylizeError as e:
        bar.close()
        fail(e)
    bar.close(finished=figure.output is not None and not figure.partial)
    if figure.output is None:
        interrupted("Interrupted before the first cell; nothing written.", interrupt)
    if figure.partial:
        interrupted(f"Interrupted: wrote {figure.output} and {figure.side}, the cells so far (marked partial)", interrupt)
    echo(f"Wrote {figure.output} and {figure.side}", quiet)


@cli.command("figure1")
@click.argument("photo", type=INPUT)
@click.argument("artwork", type=INPUT)
@click.option("-o", "--output", type=OUTPUT, required=True, help="The labelled figure.")
@click.option("--content-layers", type=LayerList(), default=",".join(figures.FIGURE1_CONTENT_LAYERS),
              show_default=True, help="Layers of the content reconstructions (top row).")
@click.option("--layer-sets", type=LayerSets(), default=None,
              help="Style layer sets of the style reconstructions, ';'-separated [default: the paper's A-E].")
@click.option("--cells-dir", type=OutputPath(), default=None, help="Also save each panel here.")
@options(SYNTHESIS_OPTIONS)
@options(RUN_OPTIONS)
def figure1_command(photo, artwork, output, content_layers, layer_sets, cells_dir, quiet, overwrite, **kwargs):
    """The paper's Figure 1: content and style reconstructions, as one labelled picture.

    Content reconstructions of PHOTO from conv1_1 ... conv5_1 (top row) and style reconstructions of
    ARTWORK from the growing layer sets A-E (bottom row).

    \b
    Examples:
      stylize figure1 tubingen.jpg starry_night.jpg -o fig1.png --size 256 --iterations 300
      stylize figure1 tubingen.jpg starry_night.jpg -o fig1.png --preset fast --cells-dir panels
    """
    sets = layer_sets or figures.PAPER_ROWS
    settings = settings_from(kwargs, "figure1")
    run_figure(lambda bar, stop: figures.figure1(settings, photo, artwork, content_layers, sets, cells_dir=cells_dir,
                                                 overwrite=overwrite, callback=bar, should_stop=stop, output=output,
                                                 argv=argv(), metadata=metadata()),
               settings, quiet, len(content_layers) + len(sets), "figure1")


@cli.command("grid")
@click.argument("photo", type=INPUT)
@click.argument("artwork", type=INPUT)
@click.option("-o", "--output", type=OUTPUT, required=True, help="The labelled grid; its cells' losses go beside it as .json.")
@click.option("--ratios", type=FloatList(distinct="the ratio"), default=",".join(f"{r:g}" for r in figures.PAPER_RATIOS),
              show_default=True, help="Columns: alpha/beta ratios.")
@click.option("--layer-sets", type=LayerSets(), default=None,
              help="Rows: style layer sets, ';'-separated [default: the paper's A-E].")
@click.option("--cells-dir", type=OutputPath(), default=None, help="Also save each cell here.")
@options(SYNTHESIS_OPTIONS)
@options(RUN_OPTIONS)
def grid_command(photo, artwork, output, ratios, layer_sets, cells_dir, quiet, overwrite, **kwargs):
    """The paper's Figure 3: style transfers at several layer sets and ratios, as one labelled picture.

    Style transfers of PHOTO with ARTWORK, rows = style layer sets A-E, columns = alpha/beta (plus a
    .json of every cell's final losses).

    \b
    Examples:
      stylize grid tubingen.jpg starry_night.jpg -o grid.png --size 256 --cells-dir cells
      stylize grid tubingen.jpg starry_night.jpg -o grid.png --preset fast --ratios 1e-4,1e-3
    """
    sets = layer_sets or figures.PAPER_ROWS
    settings = settings_from(kwargs, "grid")
    run_figure(lambda bar, stop: figures.grid(settings, photo, artwork, ratios, sets, cells_dir=cells_dir,
                                              overwrite=overwrite, callback=bar, should_stop=stop, output=output,
                                              argv=argv(), metadata=metadata()), settings, quiet, len(ratios) * len(sets), "grid")


@cli.command("video")
@click.argument("source", type=InputPath(exists=True))
@click.argument("style", type=INPUT, nargs=-1, required=True)
@click.option("-o", "--output", type=OutputPath(), required=True,
              help="A video (.mp4 .m4v .mov .mkv .webm .avi), or a folder of frames (a name without an extension, "
                   "or ending in /).")
@options(SYNTHESIS_OPTIONS)
@options(CONTROL_OPTIONS)
@options(VIDEO_OPTIONS)
@options(RUN_OPTIONS)
def video_command(source, style, output, frame_iterations, temporal_weight, long_term, warp, passes, pass_iterations,
                  pass_blend, temporal_from_pass, flow_method, independent, codec, fps, keep_frames, quiet, overwrite,
                  **kwargs):
    """Stylize a video (or a folder of frames) with STYLE, without flicker (Ruder et al. 2016).

    SOURCE is a video, or a folder of frames frame_00001.png ...: each frame after the first starts from
    the previous stylised frame warped by optical flow and is held to it where the flow is reliable. Finished frames are kept (a video's in
    OUT.frames/), so running the same command again continues where it stopped.

    \b
    Examples:
      stylize video clip.mp4 starry_night.jpg -o clip_starry.mp4 --size 512
      stylize video frames/ starry_night.jpg -o styled_frames --size 256
      stylize video clip.mp4 starry_night.jpg -o flicker.mp4 --independent --preset fast
    Exit status: 0 done, 1 error, 2 usage error, 130/143 interrupted (finished frames kept).
    """
    settings = transfer_settings(kwargs, style)
    settings = video_settings(settings, dict(locals(), flow=flow_method, video_file=names_a_video(output), frames_in=Path(source).is_dir()))
    if temporal_from_pass is not None and temporal_from_pass > passes:
        raise click.BadParameter(f"{temporal_from_pass} is after the last pass (--passes {passes})",
                                 param_hint="'--temporal-from-pass'")
    bar = console.VideoProgress(quiet)
    try:
        with catch_signals() as interrupt:
            from . import video

            result = video.make_video(source, style, output, settings,
                                      video.VideoOptions(temporal_weight=temporal_weight,
                                                         frame_iterations=frame_iterations, flow=flow_method,
                                                         independent=independent, warp=warp, long_term=long_term,
                                                         passes=passes, pass_iterations=pass_iterations,
                                                         pass_blend=pass_blend, temporal_from_pass=temporal_from_pass),
                                      codec=codec, fps=fps, keep_frames=keep_frames, overwrite=overwrite,
                                      should_stop=interrupt, on_ready=bar.ready, on_frame=bar.frame,
                                      metadata=metadata())
    except StylizeError as e:
        fail(e)
    finally:
        bar.close()
    if result.stopped:
        done = (f"{result.finished} of {result.frames} frames" if result.passes == 1 else
                f"{result.frame_passes} of {result.frames * result.passes} frame passes ({result.passes} a frame)")
        interrupted(f"Interrupted: {done} finished in {result.folder}; run the same command again to continue"
                    if Path(result.folder).is_dir() else  # (an empty new one: gone)
                    "Interrupted before the first frame was finished; nothing written.", interrupt)
    shown, (w, h) = result.written_size, result.size
    padded = f" (the frames' {w}x{h}, padded by a copied edge row or column)" if shown != (w, h) else ""
    echo(f"Wrote {result.output} ({result.frames} frame{'s' * (result.frames != 1)} at {shown[0]}x{shown[1]}{padded}; "
         f"{result.before} finished before)", quiet)


def main():
    """Run the command line (entered through console.main, which notes an early Ctrl-C; a second one acts)."""
    console.note_early_interrupts()
    if console.EARLY.signal is not None:  # Ctrl-C while the modules imported: the command never starts
        interrupted("Interrupted.", console.EARLY)
    try:
        code = cli.main(prog_name="stylize", standalone_mode=False)
    except SystemExit:  # the command chose its status and said why (a second Ctrl-C after "Interrupted: saved")
        console.ignore_signals()
        raise
    except (click.exceptions.Abort, KeyboardInterrupt):  # a second signal, acting at once (console.EARLY's)
        console.EARLY.signal = console.EARLY.signal or signal.SIGINT
        interrupted("Interrupted.", console.EARLY)
    except ImportError as e:  # torch itself cannot load: a broken install, or a process limit too small for it
        why = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        click.ClickException(f"cannot load {e.name or 'a module'} ({why}){console.limits()}").show()
        sys.exit(1)
    except (MemoryError, SystemError) as e:  # a module (torch's) that cannot map its memory under `ulimit -v`
        click.ClickException(f"out of memory: Python could not load or run a module ({type(e).__name__})"
                             f"{console.limits()}").show()
        sys.exit(1)
    except click.ClickException as e:
        if console.EARLY.signal is not None:  # Ctrl-C came first: whatever failed after it, the user stopped us
            interrupted("Interrupted.", console.EARLY)
        e.message = printable(e.message)  # a line break in a file name stays inside the one line
        e.show()
        sys.exit(e.exit_code)
    console.ignore_signals()  # done and told ("Wrote ..."): a signal after the work's last check changes nothing
    sys.exit(code if isinstance(code, int) else 0)
