"""The Python API: Session, jobs, plans, runs; in-memory images are keyed by their content."""

import dataclasses
import gc
import re

import pytest
import torch
from PIL import Image

from stylize import Session, api, plan as plans, transfer
from stylize.arguments import seal
from stylize.errors import ImageError, SettingsError
from stylize.objective import TVTerm

from .conftest import halves, pattern

TINY = dict(size=32, iterations=3)


@pytest.mark.vgg
def test_temporary_images_in_a_loop_each_get_their_own_result(art):
    # before: targets were cached by id() of the image object; a loop of temporaries reused freed ids and got
    # an earlier image's result (18 of 20 images)
    session = Session(**TINY)
    looped = []
    for seed in range(5):
        looped.append(session.transfer(pattern(40, 32, seed=10 + seed), art).image.tobytes())
        gc.collect()
    fresh = [Session(**TINY).transfer(pattern(40, 32, seed=10 + seed), art).image.tobytes() for seed in range(5)]
    assert looped == fresh
    assert len(set(looped)) == 5


@pytest.mark.vgg
def test_the_same_pixels_in_another_object_reuse_the_targets(art):
    session = Session(**TINY)
    a, b = pattern(40, 32, seed=3), pattern(40, 32, seed=3)
    session.transfer(a, art)
    computed = len(session.targets._cache)
    session.transfer(b, art)
    assert len(session.targets._cache) == computed


@pytest.mark.vgg
def test_a_file_rewritten_between_runs_is_read_again(tmp_path, art):
    path = tmp_path / "photo.png"
    session = Session(**TINY)
    pattern(40, 32, seed=1).save(path)
    first = session.transfer(path, art).image.tobytes()
    pattern(40, 32, seed=2).save(path)
    import os
    os.utime(path, ns=(1, 1))  # a different modification time, whatever the clock's resolution
    second = session.transfer(path, art).image.tobytes()
    assert second == Session(**TINY).transfer(pattern(40, 32, seed=2), art).image.tobytes()
    assert first != second


@pytest.mark.vgg
def test_a_plan_is_a_value_made_once_and_run_executes_it(photo, art, monkeypatch):
    session = Session(size=48, iterations=4, scales=2, coarse_iterations=2)
    before = dict(vars(session))
    plan = session.plan(session.transfer_job(photo, art))
    assert dict(vars(session)).keys() == before.keys()  # nothing left behind on the session
    assert [(lv.width, lv.height, lv.iterations) for lv in plan.levels] == [(24, 18, 2), (48, 36, 4)]
    assert plan.levels[-1].style_long_side == 48 and plan.levels[0].style_long_side == 24
    assert plan.memory is plan.levels[-1].memory and plan.note is None
    made = []
    monkeypatch.setattr(plans, "make", lambda *a, **k: made.append(a) or pytest.fail("planned twice"))
    outcome = session.run(plan)
    assert not made and outcome.image.size == (48, 36) and outcome.iterations <= 4


@pytest.mark.vgg
def test_a_stop_during_the_fine_levels_targets_keeps_the_coarse_levels_result(photo, art, monkeypatch):
    # before: the outcome carried the fine level's counters (0 evaluations): "Interrupted before the first
    # iteration" and nothing written, though the coarse level had finished
    import threading
    import time
    stop, real = threading.Event(), Session.terms

    def terms(self, job, net, level):
        if level.width == 48:  # the fine level: a stop arrives while its targets compute
            stop.set()
            time.sleep(0.4)
        return real(self, job, net, level)

    monkeypatch.setattr(Session, "terms", terms)
    session = Session(size=48, iterations=4, scales=2, coarse_iterations=2)
    outcome = session.run(session.transfer_job(photo, art), should_stop=stop.is_set)
    assert outcome.partial and not outcome.unstarted and outcome.evaluations >= 2
    assert outcome.image.size == (48, 36) and (outcome.metadata["width"], outcome.metadata["height"]) == (48, 36)


@pytest.mark.vgg
def test_a_stop_during_the_coarse_level_gives_an_image_of_the_planned_size(photo, art):
    # before: a partial saved during the coarse level was 24x18 while its metadata said 48x36
    seen = []
    session = Session(size=48, iterations=4, scales=2, coarse_iterations=3)
    outcome = session.run(session.transfer_job(photo, art), callback=seen.append, should_stop=lambda: bool(seen))
    assert outcome.partial and outcome.evaluations >= 1 and seen[0].level == 0
    assert outcome.image.size == (48, 36) == (outcome.metadata["width"], outcome.metadata["height"])


@pytest.mark.vgg
def test_run_of_a_job_plans_it_once(photo, art, monkeypatch):
    calls = []
    real = plans.make
    monkeypatch.setattr(plans, "make", lambda *a, **k: calls.append(1) or real(*a, **k))
    Session(size=32, iterations=2).transfer(photo, art)
    assert calls == [1]


def test_every_check_happens_in_the_plan_before_any_work(photo, art, monkeypatch):
    monkeypatch.setattr(Session, "network", lambda *a: pytest.fail("the network was loaded before the checks"))
    session = Session(size=48, style_size=8)
    with pytest.raises(ImageError, match=r"art.png: the style image is 8x8 px at this size; conv5_1 needs at "
                                         r"least 16 px on each side \(raise --style-size\)$"):
        session.plan(session.transfer_job(photo, art))


@pytest.mark.vgg
def test_an_extra_term_named_like_a_job_term_is_refused(photo, art):
    session = Session(size=32, iterations=2, tv_weight=1.0)
    with pytest.raises(SettingsError, match="two terms named 'tv'"):
        session.run(session.transfer_job(photo, art), extra_terms=[TVTerm(2.0)])


def test_the_session_leaves_process_wide_cuda_flags_alone(monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", False)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)
    Session(device="cpu")
    assert torch.backends.cudnn.deterministic is False and torch.backends.cudnn.benchmark is True
    api.deterministic_cuda()
    assert torch.backends.cudnn.deterministic is True and torch.backends.cudnn.benchmark is False


@pytest.mark.vgg
def test_transfer_returns_the_image_with_its_metadata(photo, art):
    out = transfer(photo, art, size=32, iterations=2)
    assert isinstance(out, Image.Image) and out.size == (32, 24)
    meta = out.info["stylize"]
    assert meta["command"] == "transfer" and meta["content"] == str(photo) and meta["iterations"] <= 2
    assert meta["settings"]["size"] == 32


@pytest.mark.vgg
def test_an_overflowing_term_is_named_with_the_option_of_its_weight(photo, art):
    from stylize.errors import NonFiniteError
    from stylize.objective import TemporalTerm

    session = Session(size=32, iterations=2)
    job = session.transfer_job(photo, art)
    target, c = torch.zeros(1, 3, 24, 32), torch.ones(1, 1, 24, 32)
    with pytest.raises(NonFiniteError, match=r"^the weighted temporal loss \(1e\+308 x .*\) is not finite at the "
                                             r"start: lower --temporal-weight$"):
        session.run(job, extra_terms=[TemporalTerm(target, c, 1e308)])
    edited = seal(dataclasses.replace(session.transfer_job(photo, art), tv_weight=1e300))  # (Settings refuse
    with pytest.raises(NonFiniteError, match="lower --tv-weight$"):  # 1e300, and a Job edited by hand: sealed here)
        session.run(edited)


@pytest.mark.vgg
def test_until_done_is_on_by_default_and_the_stop_is_recorded(photo, art, monkeypatch):
    from stylize import synthesis
    from stylize.settings import Settings

    assert Settings().until_done is True and Session().transfer_job(photo, art).until_done is True
    # a rule that calls any picture done after 11 iterations (window 10): the run says so, in its metadata too
    monkeypatch.setattr(synthesis, "DONE_DROP", 1e9)
    monkeypatch.setattr(synthesis, "DONE_WINDOW", 10)
    monkeypatch.setattr(synthesis, "DONE_AFTER", 11)
    done = Session(size=32, iterations=14, ratio=3e-4, evaluations=1000).transfer(photo, art)
    assert done.stopped == "done" and done.iterations == 11 and done.metadata["stopped"] == "done"
    assert done.metadata["settings"]["until_done"] is True
    # --no-until-done: every iteration, as before the rule existed
    off = Session(size=32, iterations=14, ratio=3e-4, until_done=False, evaluations=1000).transfer(photo, art)
    assert off.stopped == "iterations" and off.iterations == 14 and off.metadata["settings"]["until_done"] is False
    same = Session(size=32, iterations=11, ratio=3e-4, until_done=False, evaluations=1000).transfer(photo, art)
    assert same.image.tobytes() == done.image.tobytes()


def test_precision_is_the_convolutions_dtype_and_refused_where_absent(monkeypatch):
    from stylize.errors import DeviceError

    cpu = torch.device("cpu")
    assert api.precision_dtype("fp32", cpu) is torch.float32 and api.precision_dtype("bf16", cpu) is torch.bfloat16
    assert Session(device="cpu", precision="bf16").compute is torch.bfloat16
    with pytest.raises(DeviceError, match=r"^--precision bf16: this device \(mps\) has no bfloat16 convolutions"):
        api.precision_dtype("bf16", torch.device("mps"))
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    with pytest.raises(DeviceError, match="use --precision fp32$"):
        api.precision_dtype("bf16", torch.device("cuda"))


@pytest.mark.vgg
def test_a_bf16_run_lowers_the_float32_loss_and_records_its_precision(photo, art):
    """A bf16 run optimises nearly the float32 objective: scored by it, its picture's loss falls like a float32
    run's (not more than a quarter above it after the same 25 iterations, where two trajectories already differ
    by more than bf16's rounding), and the metadata says which arithmetic made it."""
    from stylize.images import to_tensor

    scores = {}
    for precision in ("fp32", "bf16"):
        session = Session(size=48, iterations=25, until_done=False, precision=precision, device="cpu")
        job = session.transfer_job(photo, art)
        outcome = session.run(job)
        reference = Session(size=48, device="cpu").objective(job)
        with torch.no_grad():
            start = float(reference(session.start_image(job, 48, 36))[0])
            scores[precision] = float(reference(to_tensor(outcome.image))[0])
        assert outcome.metadata["settings"]["precision"] == precision
        assert scores[precision] < 0.5 * start
    assert scores["bf16"] < 1.25 * scores["fp32"]




def test_a_plan_runs_as_it_was_checked_or_not_at_all(tmp_path, art):
    """Hostile round 39: a file changed between plan and run gave torch's RuntimeError (tensor sizes); a plan of
    one Session run by another with other settings recorded the first's settings; bad values (a typo'd setting,
    a lone layer name read letter by letter, a start of another shape, plan(None)) were bare Python errors."""
    import torch

    photo = tmp_path / "chg.png"
    Image.new("RGB", (64, 32), (200, 30, 30)).save(photo)
    s = Session(size=32, iterations=2)
    plan = s.plan(s.transfer_job(photo, art))
    Image.new("RGB", (32, 64), (30, 30, 200)).save(photo)
    with pytest.raises(ImageError, match="has changed since it was planned: plan the job again"):
        s.run(plan)
    plan = s.plan(s.transfer_job(photo, art))
    with pytest.raises(SettingsError, match="made by a Session with other settings"):
        Session(size=32, iterations=2, pooling="max").run(plan)
    cases = [(lambda: Session(sizee=32), "sizee: no such setting"),
             (lambda: s.run(s.transfer_job(photo, art), start=torch.zeros(3, 5)), r"start: a float tensor of shape"),
             (lambda: s.plan(None), "plan: a Job")]
    for make, message in cases:
        with pytest.raises(SettingsError, match=message):
            make()
    assert Session(style_layers="conv1_1").settings.style_layers == ("conv1_1",)


def test_round_45_one_run_reads_each_input_once_and_a_job_runs_on_the_session_that_made_it(tmp_path,
                                                                                       synthetic_weights):
    """Hostile round 45: a photograph replaced during a `--scales 2` run (the fine level reads it again) or before
    `--color luminance`'s finish: a bare RuntimeError, or a picture of two versions recorded as the old; a weights
    file replaced mid-run: the new file's digest recorded for the old network's picture; a mask replaced between two
    transfers of one Session: the old mask used, the new digest recorded; a Job of Session A run by Session B."""
    import os
    import shutil

    from stylize.errors import ImageError
    from stylize.weights import fingerprint

    photo, art, flipped = tmp_path / "c.png", tmp_path / "s.png", tmp_path / "flipped.png"
    pattern(64, 48, 1).save(photo)
    pattern(48, 48, 2).save(art)
    pattern(64, 48, 1).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(flipped)
    w = tmp_path / "w.pth"
    shutil.copy(synthetic_weights, w)
    tiny = dict(size=64, iterations=3, weights=str(w), normalize=False)
    original = photo.read_bytes()

    def swap_at(level):
        def callback(progress):
            if progress.level == level:
                shutil.copy(flipped, photo)
        return callback

    for settings, level in ((dict(scales=2, coarse_iterations=2), 0), (dict(color="luminance"), 0)):
        photo.write_bytes(original)
        with pytest.raises(ImageError, match="c.png: replaced during this run"):
            Session(**tiny, **settings).transfer(photo, art, callback=swap_at(level))
    photo.write_bytes(original)
    state = torch.load(w, weights_only=True)

    def swap_weights(progress):
        if not swapped:
            torch.save({k: v * 1.5 for k, v in state.items()}, w)
            swapped.append(1)

    swapped, loaded = [], fingerprint(str(w))  # (round 120: a run keeps the network it loaded at its start, for
    o = Session(**tiny, scales=2).transfer(photo, art, callback=swap_weights)  # every level, and records it so)
    assert swapped and o.metadata["weights_sha256"] == loaded != fingerprint(str(w))
    o = Session(**tiny).transfer(photo, art)
    assert o.metadata["weights_sha256"] == fingerprint(str(w))
    mask, inverse = tmp_path / "m.png", tmp_path / "inverse.png"
    halves(64, 48).save(mask)
    halves(64, 48, (0, 0, 0), (255, 255, 255)).save(inverse)
    pattern(48, 48, 5).save(tmp_path / "s2.png")
    styles, regions = [art, tmp_path / "s2.png"], dict(content_mask=str(mask), style_masks=("white", "black"))
    masked = Session(**tiny, **regions)
    first = masked.transfer(photo, styles)
    os.replace(inverse, mask)
    again = masked.transfer(photo, styles)
    fresh = Session(**tiny, **regions).transfer(photo, styles)
    assert again.image.tobytes() == fresh.image.tobytes() != first.image.tobytes()
    job = Session(**tiny, pooling="max").transfer_job(photo, art)
    with pytest.raises(SettingsError, match="job: made by a Session with other settings"):
        Session(**tiny).run(job)


def test_round_48_an_outcomes_metadata_is_its_own(tmp_path, synthetic_weights):
    """Hostile round 48: Outcome.metadata["inputs"] was the plan's own dict: a script that edited it made the next
    run of that plan fail with "an input of this plan has changed", and changed another Outcome's record."""
    pattern(40, 32, 1).save(tmp_path / "c.png")
    pattern(36, 36, 2).save(tmp_path / "s.png")
    s = Session(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    plan = s.plan(s.transfer_job(tmp_path / "c.png", tmp_path / "s.png"))
    first = s.run(plan)
    first.metadata["inputs"]["content"] = "edited"
    first.metadata["settings"]["size"] = 1
    second = s.run(plan)
    assert second.metadata["inputs"]["content"] != "edited" and second.metadata["settings"]["size"] == 32


def test_round_48_blend_weights_of_numpys_types_and_a_message_naming_blend(tmp_path, synthetic_weights):
    """Hostile round 48: transfer(..., blend=[numpy.int64(1), 2]) was "style_blend must be a number", naming a
    field the caller had not set."""
    import numpy as np

    pattern(40, 32, 1).save(tmp_path / "c.png")
    pattern(36, 36, 2).save(tmp_path / "s.png")
    pattern(36, 36, 3).save(tmp_path / "t.png")
    s = Session(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    job = s.transfer_job(tmp_path / "c.png", [tmp_path / "s.png", tmp_path / "t.png"], blend=[np.int64(1), 3])
    assert job.blend == (0.25, 0.75)
    with pytest.raises(SettingsError, match=r"^blend: a list of weights \(numbers\)"):
        s.transfer_job(tmp_path / "c.png", [tmp_path / "s.png", tmp_path / "t.png"], blend=["1", 3])


def test_round_49_a_run_from_a_given_start_or_with_extra_terms_says_so(tmp_path, synthetic_weights):
    """Hostile round 49: run(plan, start=...) recorded init "noise", seed 0: its settings alone do not make that
    picture again, and nothing said so (nor of extra_terms)."""
    pattern(40, 32, 1).save(tmp_path / "c.png")
    pattern(36, 36, 2).save(tmp_path / "s.png")
    s = Session(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    plan = s.plan(s.transfer_job(tmp_path / "c.png", tmp_path / "s.png"))
    plain = s.run(plan).metadata
    assert "start" not in plain and "extra_terms" not in plain
    given = s.run(plan, start=torch.zeros(1, 3, 8, 8), extra_terms=[TVTerm(1.0)]).metadata
    assert given["start"].startswith("given to Session.run") and given["extra_terms"] == ["TVTerm"]


def test_round_50_a_sessions_settings_are_fixed_and_a_meta_start_is_refused(tmp_path, synthetic_weights):
    """Hostile round 50: session.settings = ...replace(precision="bf16") gave an fp32 picture recorded as bf16 (the
    network's dtype and device are the Session's); a start tensor on the meta device raised a bare RuntimeError."""
    s = Session(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    for name, value in (("settings", s.settings.replace(precision="bf16")), ("device", torch.device("cpu")),
                        ("compute", torch.bfloat16)):
        with pytest.raises(SettingsError, match=f"Session.{name} is fixed when the Session is made"):
            setattr(s, name, value)
    assert s.settings.precision == "fp32"
    pattern(40, 32, 1).save(tmp_path / "c.png")
    pattern(36, 36, 2).save(tmp_path / "s.png")
    with pytest.raises(SettingsError, match="start: a float tensor"):
        s.run(s.transfer_job(tmp_path / "c.png", tmp_path / "s.png"), start=torch.empty(1, 3, 8, 8, device="meta"))


def test_round_69_extra_terms_are_checked_before_the_coarse_levels(tmp_path, synthetic_weights):
    """Hostile round 69: with --scales 3, an extra term named as one of the job's ('content') was refused, and one
    whose loss was no single number failed with a bare ValueError, only once the two coarse levels had run (37 s
    of work lost). Checked before any work, as the last level will see them."""
    from stylize.objective import Term

    from .conftest import pattern

    class Zero(Term):
        def loss(self, x, responses):
            return (x * 0).sum()

    class Rows(Term):
        def loss(self, x, responses):
            return x.sum(dim=1)

    pattern(64, 48, 1).save(tmp_path / "c.png")
    pattern(48, 48, 2).save(tmp_path / "s.png")
    for scales in (2, 1):
        session = Session(size=64, iterations=3, scales=scales, weights=str(synthetic_weights), normalize=False)
        job = session.transfer_job(tmp_path / "c.png", tmp_path / "s.png")
        for term, message in ((Zero(1.0, name="content"), "two terms named 'content'"),
                              (Rows(1.0), r"term 'term': its loss is not one number \(a tensor of shape \(1, 48, 64\)")):
            told = []
            with pytest.raises(SettingsError, match=message):
                session.run(job, extra_terms=[term], callback=told.append)
            assert told == []  # (no step of any level)
        assert session.run(job, extra_terms=[Zero(1.0, name="zero")]).image.size == (64, 48)


def test_round_70_an_extra_terms_layers_are_computed_or_refused(tmp_path, synthetic_weights):
    """Hostile round 70: an extra term reading conv5_4, which the job's network (truncated at conv4_2 and the style
    layers) does not compute, failed with a bare KeyError; an unknown layer too. The network is computed as deep
    as every term reads; an unknown name is a LayerError, before any work."""
    from stylize.errors import LayerError
    from stylize.objective import Term

    from .conftest import pattern

    class Deep(Term):
        name, layers = "deep", ("conv5_4",)

        def loss(self, x, responses):
            return responses["conv5_4"].mean()

    class Unknown(Deep):
        layers = ("relu4_2",)

    pattern(48, 40, 1).save(tmp_path / "c.png")
    pattern(48, 48, 2).save(tmp_path / "s.png")
    session = Session(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    job = session.transfer_job(tmp_path / "c.png", tmp_path / "s.png")
    told = []
    with pytest.raises(LayerError, match="unknown layer 'relu4_2'"):
        session.run(job, extra_terms=[Unknown(1.0)], callback=told.append)
    assert told == []
    assert session.run(job, extra_terms=[Deep(1.0)]).image.size == (32, 27)


def test_round_71_an_extra_terms_weight_is_a_finite_number_from_0(tmp_path, synthetic_weights):
    """Hostile round 71: an extra term of weight NaN or infinity was refused only at the first evaluation ("lower
    its weight", no help for NaN); a weight of -1 ran, maximising the term. Refused before any work."""
    from stylize.objective import Term

    from .conftest import pattern

    class Mean(Term):
        name, layers = "mean", ("conv1_1",)

        def loss(self, x, responses):
            return responses["conv1_1"].mean()

    pattern(40, 30, 1).save(tmp_path / "c.png")
    pattern(30, 30, 2).save(tmp_path / "s.png")
    session = Session(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    job = session.transfer_job(tmp_path / "c.png", tmp_path / "s.png")
    for weight in (float("nan"), float("inf"), -1.0):
        with pytest.raises(SettingsError, match="term 'mean': its weight is a finite number from 0"):
            session.run(job, extra_terms=[Mean(weight)])
    assert session.run(job, extra_terms=[Mean(0.5)]).image.size == (32, 24)


def test_round_72_an_extra_term_is_taken_as_it_was_at_the_call(tmp_path, synthetic_weights):
    """Hostile round 72: a callback setting an extra term's weight to "0.5" mid-run ended in a bare TypeError (the
    run's work lost); NaN stopped it as non-finite. The terms are used as checked at the call."""
    from stylize.objective import TVTerm

    from .conftest import pattern

    pattern(48, 40, 1).save(tmp_path / "a.png")
    pattern(48, 40, 2).save(tmp_path / "b.png")
    session = Session(size=32, iterations=6, weights=str(synthetic_weights), normalize=False)
    job = session.transfer_job(tmp_path / "a.png", tmp_path / "b.png")
    plain = session.run(job, extra_terms=[TVTerm(1.0)])
    for value in ("0.5", float("nan")):
        tv = TVTerm(1.0)

        def edit(progress):
            if progress.evaluations == 2:
                tv.weight = value

        out = session.run(job, edit, extra_terms=[tv])
        assert out.stopped == plain.stopped and out.loss == plain.loss and not out.metadata["partial"]


def test_round_73_an_extra_terms_weight_of_any_real_type(tmp_path, synthetic_weights):
    """Hostile round 73: an extra term's weight as a Fraction or a Decimal passed the check, then failed with a
    bare TypeError once the targets were computed; Fraction(1, 10**400) was not refused as too small for a float."""
    from decimal import Decimal
    from fractions import Fraction

    from stylize.objective import TVTerm

    from .conftest import pattern

    pattern(32, 32, 1).save(tmp_path / "c.png")
    pattern(32, 32, 2).save(tmp_path / "s.png")
    session = Session(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    job = session.transfer_job(tmp_path / "c.png", tmp_path / "s.png")

    def term(weight):
        t = TVTerm(1.0)
        t.weight = weight
        return t

    told = []
    with pytest.raises(SettingsError, match="its weight Fraction.* is too small or too large for a float"):
        session.run(job, extra_terms=[term(Fraction(1, 10**400))], callback=told.append)
    assert told == []
    for weight in (Fraction(1, 3), Decimal("0.5")):
        assert session.run(job, extra_terms=[term(weight)]).image.size == (32, 32)


def test_round_74_an_extra_terms_decimal_nan_weight_and_its_own_infinite_loss(tmp_path, synthetic_weights):
    """Hostile round 74: an extra term of weight Decimal('NaN') raised a bare decimal.InvalidOperation; a term whose
    own loss was infinite was blamed on "the network's responses" and --weights."""
    from decimal import Decimal

    from stylize.errors import NonFiniteError
    from stylize.objective import Term, TVTerm

    from .conftest import pattern

    class Infinite(Term):
        name = "big"

        def loss(self, x, responses):
            return (x * 0).sum() + float("inf")

    pattern(32, 32, 1).save(tmp_path / "c.png")
    pattern(32, 32, 2).save(tmp_path / "s.png")
    session = Session(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    job = session.transfer_job(tmp_path / "c.png", tmp_path / "s.png")
    for weight in (Decimal("NaN"), Decimal("-NaN")):
        term = TVTerm(1.0)
        term.weight = weight
        with pytest.raises(SettingsError, match="its weight is a finite number from 0"):
            session.run(job, extra_terms=[term])
    with pytest.raises(NonFiniteError, match="^term 'big': its own loss is not finite at the start$"):
        session.run(job, extra_terms=[Infinite(1.0)])


def test_round_82_a_stop_while_the_weights_load_ends_the_run_at_once(monkeypatch, synthetic_weights):
    """Hostile round 82: a signal while VGG-19's weights loaded (seconds: a few long C calls) was acted on only once
    they had loaded. Loading is computed as a pass is: a stop ends the run at once (nothing evaluated), the loading
    left to end unseen."""
    import threading

    from stylize import Session, Settings

    from .conftest import pattern

    session = Session(Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False))
    real, loading = session.network, threading.Event()
    release = threading.Timer(15, loading.set)  # (the load never ends by itself before the run returns)
    monkeypatch.setattr(session, "network", lambda layers: (loading.wait(), real(layers))[1])
    release.start()
    try:
        outcome = session.transfer(pattern(40, 30, 1), pattern(36, 36, 2), should_stop=lambda: True)
        assert not loading.is_set() and outcome.stopped == "interrupted" and outcome.evaluations == 0
    finally:
        loading.set()
        release.cancel()


def test_round_84_weighting_the_layers_of_a_style_reconstruction_is_said_how(synthetic_weights):
    """Hostile round 84: reconstruct_style(image, layers, style_layer_weights=(1, 2)) said "2 style layer weights
    for 5 style layers" (the default's, which layers= replaces), and every change it suggested was refused in turn.
    Both refusals say what works; what they say works does."""
    from stylize import Session, Settings
    from stylize.errors import SettingsError

    from .conftest import pattern

    common = dict(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    with pytest.raises(SettingsError, match=r"2 style layer weights for 5 style layers \(conv1_1,conv2_1,conv3_1,"
                                            r"conv4_1,conv5_1\); give one weight per style layer, in their order "
                                            r"\(--style-layers; style-recon's --layers; from Python, the layers in "
                                            r"style_layers beside them\)"):
        Settings(**common, style_layer_weights=(1, 2))
    with pytest.raises(SettingsError, match=r"style_layer_weights: has no effect here: the layers= given are weighted "
                                            r"equally; to weight them, give them as style_layers beside "
                                            r"style_layer_weights, and no layers="):
        Session(Settings(**common, style_layer_weights=(1, 2, 3, 4, 5))).reconstruct_style(
            pattern(36, 36, 2), ["conv1_1", "conv2_1"])
    outcome = Session(Settings(**common, style_layers=("conv1_1", "conv2_1"), style_layer_weights=(1, 2))
                      ).reconstruct_style(pattern(36, 36, 2))
    assert outcome.metadata["settings"]["style_layer_weights"] == (1.0, 2.0)


def test_round_85_a_reconstruction_records_the_layers_it_used(synthetic_weights):
    """Hostile round 85: reconstruct_style(image, ["conv1_1"]) recorded settings.style_layers as the five defaults
    (and reconstruct_content(image, "conv1_1") content_layer conv4_2), though the command line's --layers/--layer
    record the layers used: one picture, two recipes. The call's layers are recorded as the settings'."""
    from stylize import Session, Settings

    from .conftest import pattern

    session = Session(Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False))
    style = session.reconstruct_style(pattern(36, 36, 2), ["conv1_1", "conv2_1"]).metadata
    assert tuple(style["settings"]["style_layers"]) == ("conv1_1", "conv2_1") == tuple(style["layers"])
    assert style["settings"]["style_layer_weights"] is None
    content = session.reconstruct_content(pattern(40, 30, 1), "conv1_1").metadata
    assert content["settings"]["content_layer"] == "conv1_1" == content["layer"]
    from stylize.unread import recorded  # (round 102: none of the settings style-recon never reads)

    assert session.reconstruct_style(pattern(36, 36, 2)).metadata["settings"] == \
        recorded(session.settings.to_dict(), "style-recon")
    assert "ratio" not in content["settings"] and "style_layers" not in content["settings"]


def test_round_104_a_reconstruction_records_no_blend_and_no_masks(synthetic_weights):
    """Hostile round 104: content-recon and style-recon pictures recorded "blend" ([] and [1.0]) and the masks'
    digests in "inputs" (null, []), which a reconstruction never reads. A transfer records both."""
    from stylize import Settings

    session = Session(Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False))
    content = session.reconstruct_content(pattern(40, 30, 1), "conv1_1").metadata
    style = session.reconstruct_style(pattern(36, 36, 2)).metadata
    for meta in (content, style):
        assert "blend" not in meta and not {"content_mask", "style_masks"} & meta["inputs"].keys()
        assert meta["inputs"]["init"] is None and {"content", "styles"} <= meta["inputs"].keys()
    transfer = session.transfer(pattern(40, 30, 1), pattern(36, 36, 2)).metadata
    assert transfer["blend"] == [1.0] and (transfer["inputs"]["content_mask"], transfer["inputs"]["style_masks"]) == \
        (None, [])


def test_round_106_a_run_from_a_start_image_reads_no_init(tmp_path, synthetic_weights):
    """Hostile round 106: Session.run(job, start=...) recorded the settings' seed and noise (three pairs, one
    picture, three records) and the --init file's digest, and refused the run for an --init file of another shape:
    the start image stands for the init, which is never read."""
    from stylize import Settings

    photo, art = pattern(40, 30, 1), pattern(36, 36, 2)
    pattern(90, 20, 3).save(tmp_path / "init.png")  # (another shape than the output)
    start = torch.full((1, 3, 24, 32), 0.3)
    tiny = dict(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    pictures = set()
    for fields in (dict(seed=5, noise=0.5), dict(seed=0, noise=0.02), dict(init=str(tmp_path / "init.png"))):
        session = Session(Settings(**tiny, **fields))
        outcome = session.run(session.transfer_job(photo, art), start=start)
        assert not {"init", "noise", "seed"} & outcome.metadata["settings"].keys()
        assert outcome.metadata["inputs"]["init"] is None and outcome.metadata["start"]
        pictures.add(outcome.image.tobytes())
    assert len(pictures) == 1
    session = Session(Settings(**tiny, seed=5, noise=0.5))  # (round 107: one Session's settings serve its runs: the
    assert session.run(session.transfer_job(photo, art)).metadata["settings"]["seed"] == 5  # seed read here, and
    assert "seed" not in session.run(session.transfer_job(photo, art), start=start).metadata["settings"]  # not here
    session = Session(Settings(**tiny, init=str(tmp_path / "init.png")))
    with pytest.raises(ImageError, match="another shape than the output"):  # (without a start: the init is read)
        session.run(session.transfer_job(photo, art))


def test_round_108_a_plan_run_from_a_start_image_reads_no_init_and_a_change_is_named(tmp_path, synthetic_weights):
    """Hostile round 108: Session.run(plan, start=...) read the plan's --init file: replaced since, "an input of
    this plan (the photograph, ...) has changed" (naming one that had not); removed, "no such file". A Job ran. The
    start image stands for the init either way; a plan run without one names the input that changed."""
    from stylize import Settings

    init = tmp_path / "init.png"
    pattern(40, 30, 3).save(init)
    session = Session(Settings(size=40, iterations=2, weights=str(synthetic_weights), normalize=False,
                               init=str(init)))
    job = session.transfer_job(pattern(40, 30, 1), pattern(36, 36, 2))
    plan = session.plan(job)
    start = torch.full((1, 3, 30, 40), 0.4)
    pattern(40, 30, 4).save(init)  # (replaced since it was planned)
    for given in (plan, job):
        assert session.run(given, start=start).metadata["inputs"]["init"] is None
    with pytest.raises(ImageError, match=re.escape(f"an input of this plan ({init}) has changed since it was planned")):
        session.run(plan)
    init.unlink()
    for given in (plan, job):
        assert session.run(given, start=start).metadata["start"]


def test_round_113_an_unstarted_outcome_records_no_loss_as_null(synthetic_weights):
    """Hostile round 113: an Outcome stopped before its first evaluation recorded NaN and Infinity as its losses,
    which strict JSON cannot hold (the README's example writes .metadata with json.dumps). No loss was measured:
    the record holds null; a run that evaluated records its numbers."""
    import json

    from stylize import Settings

    session = Session(Settings(size=32, iterations=2, weights=str(synthetic_weights), normalize=False))
    for run in (lambda stop: session.transfer(pattern(40, 30, 1), pattern(36, 36, 2), should_stop=stop),
                lambda stop: session.reconstruct_content(pattern(40, 30, 1), "conv1_1", should_stop=stop)):
        unstarted = run(lambda: True)
        assert unstarted.unstarted and unstarted.evaluations == 0
        assert [unstarted.metadata[k] for k in ("content_loss", "style_loss", "loss")] == [None, None, None]
        json.dumps(unstarted.metadata, allow_nan=False)  # (strict JSON: no NaN, no Infinity)
        done = run(None)
        assert not done.unstarted and all(isinstance(done.metadata[k], float) and done.metadata[k] == getattr(done, k)
                                          for k in ("content_loss", "style_loss", "loss"))
