"""Plans: every level's sizes and iterations, and every check, before any work."""

import pytest
import torch

from stylize import memory, plan as plans
from stylize.errors import ImageError, OutOfMemoryError
from stylize.job import transfer_job
from stylize.settings import Settings
from stylize.targets import Targets

CPU = torch.device("cpu")


def test_levels_halve_down_to_what_the_layers_need():
    assert plans.level_sizes(400, 300, 3, 16) == [(100, 75), (200, 150), (400, 300)]
    assert plans.level_sizes(40, 30, 3, 16) == [(40, 30)]  # 20x15 is below 16 px: the level is left out
    assert plans.level_sizes(64, 48, 1, 16) == [(64, 48)]


def test_a_plan_has_every_levels_sizes_style_size_iterations_and_memory(photo, art):
    job = transfer_job(Settings(size=64, scales=2, iterations=9, coarse_iterations=4, style_size=40), photo, art)
    plan = plans.make(job, Targets(CPU), CPU)
    assert (plan.width, plan.height) == (64, 48)
    assert [(lv.width, lv.height, lv.style_long_side, lv.iterations, lv.factor) for lv in plan.levels] == [
        (32, 24, 20, 4, 0.5), (64, 48, 40, 9, 1.0)]
    assert plan.levels[0].evaluations is None and plan.levels[1].evaluations is None
    assert plan.with_iterations(3).levels[-1].iterations == 3 and plan.levels[-1].iterations == 9


def test_the_plan_refuses_what_cannot_run(photo, art, monkeypatch):
    with pytest.raises(ImageError, match=r"^the output is 16x12 px at this size; conv5_1 needs at least 16 px on "
                                         r"each side \(raise --size\)$"):
        plans.make(transfer_job(Settings(size=16), photo, art), Targets(CPU), CPU)
    monkeypatch.setattr(memory, "available", lambda device: 2**20)
    with pytest.raises(OutOfMemoryError):
        plans.make(transfer_job(Settings(size=64), photo, art), Targets(CPU), CPU)


def test_a_video_plans_memory_once_for_every_frame(photo, art, monkeypatch):
    # hostile round 6: frame 2 was refused after frame 1 was made, the memory frame 1 left mapped counted
    # against it; a plan made with memory_of keeps the first plan's memory decision (same sizes)
    first = plans.make(transfer_job(Settings(size=64, scales=2), photo, art), Targets(CPU), CPU)
    monkeypatch.setattr(memory, "available", lambda device: 2**20)
    job = transfer_job(Settings(size=64, scales=2), photo, art)
    with pytest.raises(OutOfMemoryError):
        plans.make(job, Targets(CPU), CPU)
    later = plans.make(job, Targets(CPU), CPU, memory_of=first)
    assert [lv.memory for lv in later.levels] == [lv.memory for lv in first.levels]
    with pytest.raises(OutOfMemoryError):  # another size is planned afresh
        plans.make(transfer_job(Settings(size=80, scales=2), photo, art), Targets(CPU), CPU, memory_of=first)


def test_an_init_image_of_another_shape_is_refused_not_stretched(photo, art, tmp_path, monkeypatch):
    """Hostile round 8: `--init strip.png` (1000x2) was stretched to the output silently; a mask of another
    shape is refused. The output of an earlier run at another --size (the same shape, scaled) is welcome."""
    from PIL import Image

    Image.new("RGB", (1000, 2)).save(tmp_path / "strip.png")
    with pytest.raises(ImageError, match=r"strip.png: the --init image is 1000x2 px, another shape than the output "
                                         r"\(64x48 px\)"):
        plans.make(transfer_job(Settings(size=64, init=str(tmp_path / "strip.png")), photo, art), Targets(CPU), CPU)
    Image.new("RGB", (40, 30)).save(tmp_path / "small.png")  # the photo (64x48) at --size 40
    plans.make(transfer_job(Settings(size=64, init=str(tmp_path / "small.png")), photo, art), Targets(CPU), CPU)
    plans.make(transfer_job(Settings(size=64, init="style"), photo, art), Targets(CPU), CPU)  # the artwork, stretched
    Image.new("RGB", (1024, 683)).save(tmp_path / "photo.png")  # the recipe: 512 px, then --init it at 4096 px
    Image.new("RGB", (512, 342)).save(tmp_path / "small.png")  # (341.5 rounded: 2736 px high at 8x, not 2732)
    job = transfer_job(Settings(size=4096, init=str(tmp_path / "small.png")), tmp_path / "photo.png", art)
    assert plans.output_size(job, Targets(CPU)) == (4096, 2732)
    monkeypatch.setattr(memory, "available", lambda device: 2**40)  # (the plan, not this machine's memory)
    plans.make(job, Targets(CPU), CPU)


def test_round_66_a_plan_copied_with_other_sizes_or_made_by_hand_is_refused(tmp_path, synthetic_weights):
    """Hostile round 66: a Plan copied by dataclasses.replace with other sizes ran unchecked: a bare torch
    RuntimeError, or a 48x36 picture recorded as made at --size 32. Only a plan as session.plan returned it runs."""
    import copy
    import dataclasses

    from stylize import Session
    from stylize.errors import SettingsError

    from .conftest import pattern

    pattern(40, 32, 1).save(tmp_path / "c.png")
    pattern(36, 36, 2).save(tmp_path / "s.png")
    session = Session(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    plan = session.plan(session.transfer_job(tmp_path / "c.png", tmp_path / "s.png"))
    level = plan.levels[-1]
    bad = [dataclasses.replace(plan, width=w, height=h, levels=(dataclasses.replace(level, width=w, height=h),))
           for w, h in ((64, 10), (48, 36))]
    bad.append(plans.Plan(plan.job, plan.width, plan.height, plan.levels))  # by hand
    for other in bad:
        with pytest.raises(SettingsError, match="plan: not as session.plan returned it"):
            session.run(other)
    with pytest.raises(SettingsError, match="memory_of: not as session.plan returned it"):  # (its memory plans kept)
        session.plan(plan.job, memory_of=dataclasses.replace(plan, levels=(dataclasses.replace(
            level, memory=dataclasses.replace(level.memory, history=1)),)))
    out = session.run(copy.deepcopy(plan))  # a copy of the plan unchanged runs as planned
    assert out.image.size == (plan.width, plan.height) == (32, 26)


def test_round_69_too_many_scales_for_an_out_size_names_out_size(art):
    """Hostile round 69: style-recon --out-size 64x20 --scales 2 said "lower --scales or raise --size", at any
    --size: --out-size WxH fixes the output, --size cannot help."""
    from stylize.job import style_job

    with pytest.raises(ImageError, match=r"the output is 64x20 px, too small for 2 .*\(lower --scales or raise "
                                         r"--out-size\)"):
        plans.make(style_job(Settings(size=2048, scales=2), art, ["conv1_1"], out_size=(64, 20)), Targets(CPU), CPU)


def test_round_81_a_shape_no_size_can_fit_is_told_so(tmp_path):
    """Hostile round 81: a 1x5000 photo (or artwork) said "raise --size", even at --size 65536, the largest: its
    short side stays under conv5_1's 16 px at any size. Said so; a shape a larger --size fits still says raise."""
    from PIL import Image

    from stylize import Session

    tall, wide = Image.new("RGB", (1, 5000)), Image.new("RGB", (1, 500))
    art = Image.new("RGB", (48, 48), (200, 30, 30))
    session = Session(size=32, iterations=2)
    for content, style in ((tall, art), (art, tall)):
        with pytest.raises(ImageError, match=r"\(no --size makes its short side 16 px within 65536 px on the long "
                                             r"one: give an image of a less narrow shape\)$"):
            session.plan(session.transfer_job(content, style))
    with pytest.raises(ImageError, match=r"1x32 px at this size; conv5_1 needs at least 16 px on each side "
                                         r"\(raise --size\)$"):
        session.plan(session.transfer_job(wide, art))


def test_round_82_a_style_no_style_scale_can_fit_says_what_can(tmp_path):
    """Hostile round 82: a 4000x8 artwork at --size 64 --style-scale 64 (its largest) said "raise --style-scale";
    what can help is a larger --size or a --style-size."""
    from PIL import Image

    from stylize import Session

    art = Image.new("RGB", (48, 48), (200, 30, 30))
    session = Session(size=64, iterations=2, style_scale=64.0)
    with pytest.raises(ImageError, match=r"4096x8 px at this size; conv5_1 needs at least 16 px on each side "
                                         r"\(--style-scale is at most 64: raise --size, or give --style-size\)$"):
        session.plan(session.transfer_job(art, Image.new("RGB", (4000, 8), (9, 9, 9))))
