"""What a run leaves unread. A setting given where the others leave it unread (--learning-rate without --optimizer
adam, --seed with --init content, a ratio beside both weights, --pass-blend with one pass) is refused, never
silently ignored: the result would not be what was asked, and its metadata would record a value no command line
can repeat, so that no resume could ever keep it (README: Exit status, 2).

One set of rules for both: the command line refuses an option typed (not a default, nor a preset's value, which
it drops where unread); the API refuses a field of Settings or VideoOptions that is not at its default."""

from __future__ import annotations

from typing import Callable, Iterable

MANY_PASSES = (lambda v: (v.get("passes") or 1) > 1, "--passes 2 or more")
SEQUENTIAL = (lambda v: not v.get("independent"), "frames made one after another (not --independent)")
VIDEO_FILE = (lambda v: v.get("video_file"), "-o a video file (.mp4, ...), not a folder of frames")
START_NOISE = (lambda v: v.get("init") in (None, "noise"), "--init noise (the start image's noise)")
TEMPORAL = "the temporal term (--temporal-weight not 0; frames made one after another)"
CONTENT_TERM = (lambda v: v.get("content_weight") != 0, "a content term (--content-weight not 0)")
STYLE_TERM = (lambda v: v.get("style_weight") != 0, "a style term (--style-weight not 0)")

# field (of Settings, VideoOptions, or a command's own option) -> (whether `values` read it, what it needs)
USED_WITH: dict[str, tuple[Callable[[dict], bool], str]] = {
    "learning_rate": (lambda v: v.get("optimizer") == "adam", "--optimizer adam"),
    "coarse_iterations": (lambda v: (v.get("scales") or 1) > 1, "--scales 2 or more"),
    "guide": (lambda v: bool(v.get("content_mask")), "--content-mask"),
    "pass_iterations": MANY_PASSES, "pass_blend": MANY_PASSES,
    "temporal_weight": SEQUENTIAL, "warp": SEQUENTIAL, "flow": SEQUENTIAL, "passes": SEQUENTIAL,
    "long_term": (lambda v: SEQUENTIAL[0](v) and not MANY_PASSES[0](v) and v.get("temporal_weight") != 0,
                  TEMPORAL + ", in one pass (the multi-pass algorithm holds a frame to its neighbours)"),
    "iterations": (lambda v: not (SEQUENTIAL[0](v) and MANY_PASSES[0](v))  # (a video's: --pass-iterations counts,
                   or ((v.get("scales") or 1) > 1 and v.get("coarse_iterations") is None),  # but coarse levels read it)
                   "one pass, or --independent, or --scales 2 or more without --coarse-iterations (with --passes 2 "
                   "or more, --pass-iterations counts)"),
    "temporal_from_pass": (lambda v: MANY_PASSES[0](v) and v.get("temporal_weight") != 0,
                           "--passes 2 or more and " + TEMPORAL),
    "frame_iterations": (lambda v: SEQUENTIAL[0](v) and not MANY_PASSES[0](v),
                         "frames made one after another (not --independent), in one pass (with --passes 2 or more, "
                         "--pass-iterations counts)"),
    "content_layer": CONTENT_TERM, "loss_scaling": CONTENT_TERM,
    "style_layers": STYLE_TERM, "style_layer_weights": STYLE_TERM, "style_size": STYLE_TERM,
    "style_scale": STYLE_TERM, "style_blend": STYLE_TERM, "content_mask": STYLE_TERM, "style_masks": STYLE_TERM,
    "color": (lambda v: v.get("color") != "histogram" or STYLE_TERM[0](v),
              STYLE_TERM[1] + ": --color histogram recolours the style image"),
    "codec": VIDEO_FILE, "keep_frames": VIDEO_FILE,
    "fps": (lambda v: v.get("video_file") and v.get("frames_in"), "a folder of frames made into a video file (a "
                                                                    "video keeps its own rate)"),
    "ray_cpus": (lambda v: v.get("ray") is not None, "--ray"),
    "history": (lambda v: v.get("optimizer") in (None, "lbfgs"), "--optimizer lbfgs (Adam keeps no history)"),
    "evaluations": (lambda v: v.get("optimizer") in (None, "lbfgs"), "--optimizer lbfgs (Adam makes one evaluation an "
                                                                     "iteration: the cap never binds)"),
    "noise": START_NOISE,
    "seed": (lambda v: START_NOISE[0](v) and v.get("noise") != 0, "--init noise with --noise above 0 (the noise it "
                                                                    "draws)"),
    "ratio": (lambda v: v.get("content_weight") is None or v.get("style_weight") is None,
              "at most one of --content-weight and --style-weight (the two give alpha and beta themselves)"),
}

WEIGHTS = ("ratio", "content_weight", "style_weight")
UNREAD_BY = {  # fields a command never reads, whatever the others
    "content-recon": (WEIGHTS + ("style_layers", "style_layer_weights", "style_size", "style_scale"),
                      "content-recon has no style term and a content weight of 1"),
    "style-recon": (WEIGHTS + ("content_layer", "loss_scaling"), "style-recon has no content term and a style weight "
                                                                   "of 1"),
    "figure1": (WEIGHTS + ("content_layer", "style_layers", "style_layer_weights"),
                "figure1's cells are reconstructions, each of one term weighted 1, at the layers of --content-layers "
                "and --layer-sets"),
    "grid": (WEIGHTS + ("style_layers", "style_layer_weights"), "grid's columns are its --ratios and its rows its "
                                                                "--layer-sets"),
}


# what combines a photograph and an artwork: a reconstruction (and figure1, whose cells are) refuses each
# (job.content_job, style_job: "is for style transfer")
TRANSFER_ONLY = ("color", "color_map", "content_mask", "style_masks", "guide", "style_blend")


def recorded(fields: dict, command: str, values: dict | None = None) -> dict:
    """What a picture of `command` records of `fields` (Settings.to_dict() or a video's options, by field name):
    each one its run reads, with the run's other settings and options (`values`; default: `fields` alone). None
    its command never reads (UNREAD_BY: a reconstruction records no ratio, figure1 no layers of the cells' own;
    TRANSFER_ONLY for a reconstruction and figure1: no colour, masks or blend), none the others leave unread
    (USED_WITH: a learning rate without Adam, a seed with --init content, a temporal weight with --independent,
    --iterations with --passes 2): a field given where it is unread is refused, so the record loses nothing."""
    never = set(UNREAD_BY.get(command, ((), ""))[0])
    if command in ("content-recon", "style-recon", "figure1"):
        never.update(TRANSFER_ONLY)
    values = fields if values is None else values
    return {name: value for name, value in fields.items()
            if name not in never and (name not in USED_WITH or USED_WITH[name][0](values))}


def unread(values: dict, given: Iterable[str], command: str = "") -> tuple[str, str] | None:
    """The first field of `given` that `command` or the other `values` (a run's settings and options, by field
    name) leave unread, with why in words ("it needs --optimizer adam"); None when each is read."""
    never, why = UNREAD_BY.get(command, ((), ""))
    for name in given:
        if name in never:
            return name, why
        used, needs = USED_WITH.get(name, (None, ""))
        if used is not None and not used(values):
            return name, f"it needs {needs}"
    return None


def changed(obj) -> list[str]:
    """The fields of a dataclass instance (Settings, VideoOptions) not at their defaults: what the API was given."""
    from dataclasses import MISSING, fields

    return [f.name for f in fields(obj) if f.default is not MISSING and getattr(obj, f.name) != f.default]


def check(values: dict, given: Iterable[str], command: str = "", error: type[Exception] | None = None) -> None:
    """`error` (SettingsError by default) naming the first field of `given` left unread (unread)."""
    found = unread(values, given, command)
    if found is not None:
        from .errors import SettingsError

        raise (error or SettingsError)(f"{found[0]}: has no effect here: {found[1]}")


def replaced(settings, argument: str, *names: str) -> None:
    """SettingsError for a field of `settings` given (not at its default) that an argument of the call replaces
    (Session.transfer's blend= replaces style_blend, reconstruct_content's layer= the content_layer, ...): the
    command line has one option for each, the API would record a value it never used."""
    given = changed(settings)
    for name in names:
        if name in given:
            from .errors import SettingsError

            raise SettingsError(f"{name}: has no effect here: the {argument} given replaces it")


def check_settings(settings, command: str = "") -> None:
    """SettingsError for a field of `settings` not at its default that `command` (a transfer: "") leaves unread:
    the API's check of what the command line refuses as typed (Session's jobs, figures, batches, videos)."""
    check(settings.to_dict(), changed(settings), command)
