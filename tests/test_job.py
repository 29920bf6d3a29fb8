"""Jobs: the complete description of one synthesis, resolved from Settings."""

import pytest

from stylize import job as jobs
from stylize.errors import SettingsError
from stylize.settings import Settings


def test_a_transfer_job_carries_everything_the_run_needs(photo, art):
    s = Settings(size=64, ratio=1e-2, style_scale=0.5, iterations=7, scales=2, coarse_iterations=3, history=9,
                 tv_weight=0.5, color="histogram", color_map="mk", seed=4, noise=0.1)
    job = jobs.transfer_job(s, photo, [art, art], blend=(1, 3))
    assert job.blend == (0.25, 0.75) and job.alpha == pytest.approx(1e-2) and job.beta == 1.0
    assert job.content_layers == ("conv4_2",) and job.layer_weights == (0.2,) * 5
    assert (job.size, job.iterations, job.coarse_iterations, job.scales, job.history) == (64, 7, 3, 2, 9)
    assert (job.tv_weight, job.color, job.color_map, job.seed, job.noise) == (0.5, "histogram", "mk", 4, 0.1)
    assert job.style_long_side(64) == 32 and job.level_style_long_side(0.5) == 16
    assert job.level_iterations(final=False) == 3 and job.level_iterations(final=True) == 7
    assert job.settings == s.to_dict() and job.layers[0] == "conv4_2"


def test_reconstructions_take_one_kind_of_loss(photo, art):
    s = Settings(size=48)
    content = jobs.content_job(s, photo, "conv2_1")
    assert content.content_layers == ("conv2_1",) and content.alpha == 1.0 and content.beta == 0.0
    assert jobs.content_job(s, photo).content_layers == (s.content_layer,)
    style = jobs.style_job(s, art, ["conv1_1", "conv2_1"], out_size=(40, 30))
    assert style.style_layers == ("conv1_1", "conv2_1") and style.layer_weights == (0.5, 0.5)
    assert style.out_size == (40, 30) and style.content is None and style.alpha == 0.0


def test_controls_for_transfer_only_and_counts_are_refused(photo, art):
    with pytest.raises(SettingsError, match="^--color is for style transfer; content-recon has no photograph"):
        jobs.content_job(Settings(color="luminance"), photo)
    with pytest.raises(SettingsError, match="^at least one style image is needed$"):
        jobs.transfer_job(Settings(), photo, [])
    with pytest.raises(SettingsError, match=r"^1 --style-mask for 2 style image\(s\)"):
        jobs.transfer_job(Settings(content_mask="m.png", style_masks=("white",)), photo, [art, art])


def test_the_apis_wrong_types_are_stylize_errors_naming_what_was_given(photo, art):
    """Hostile (kind of round 38's AttributeError): the Python API raised TypeError, ValueError or AttributeError
    for an image that is not one, no style, an unknown layer, or settings that are not Settings. The README says
    the library's errors are StylizeError subclasses."""
    from stylize import Session
    from stylize.errors import ImageError, LayerError

    from PIL import Image

    s = Settings(size=32)
    closed = Image.open(art)
    closed.close()
    cases = [
        (lambda: jobs.transfer_job(s, 123, art), ImageError, "the content image: an image is a file name or a PIL "
                                                             "image, not int"),
        (lambda: jobs.transfer_job(s, photo, None), ImageError, "the style: an image (a file name or a PIL image) or "
                                                                "a list of them, not NoneType"),
        (lambda: jobs.transfer_job(s, photo, [art, 5]), ImageError, "the style image 2: an image is a file name"),
        (lambda: jobs.content_job(s, photo, "conv9_1"), LayerError, "unknown layer 'conv9_1'"),
        (lambda: jobs.style_job(s, art, []), LayerError, "layers are given as a name or a list of names"),
        (lambda: jobs.style_job(s, art, ["conv1_1", 3]), LayerError, "layers are given as a name or a list"),
        (lambda: jobs.style_job(s, 3.5), ImageError, "the image: an image is a file name or a PIL image, not float"),
        (lambda: Session(5), SettingsError, "settings: a stylize.Settings, not int"),
        (lambda: Session().transfer(photo, art, callback=5), SettingsError, "callback: a function (or None), not 5"),
        (lambda: Session().run("a job"), SettingsError, "run: a Job or a Plan"),
        (lambda: jobs.transfer_job(s, Image.new("RGB", (0, 0)), art), ImageError, "an empty image (0x0 px)"),
        (lambda: jobs.transfer_job(s, closed, art), ImageError, "this PIL image cannot be read"),
        (lambda: jobs.transfer_job(s, photo, Image.new("RGB", (0, 0))), ImageError, "the style image: an empty image"),
        (lambda: jobs.content_job(s, photo, ["conv1_1", "conv5_1"]), LayerError, "made from one layer, not 2"),
        (lambda: jobs.transfer_job(s, photo, art, blend=1), SettingsError, "blend: a list of weights"),
        (lambda: jobs.transfer_job(s, "", art), ImageError, "a file name cannot be empty"),
        (lambda: jobs.style_job(s, art, out_size=(32.5, 32)), SettingsError, "out_size: (width, height), two whole"),
    ]
    for make, error, message in cases:
        with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
            make()
    assert jobs.style_job(s, art, "conv2_1").style_layers == ("conv2_1",)  # one name is a list of one


def test_round_66_a_job_copied_edited_or_made_by_hand_is_refused(tmp_path, synthetic_weights):
    """Hostile round 66: a Job copied by dataclasses.replace (another size), edited in place (its settings) or made
    by hand was planned and run: the picture was not what its metadata's settings make."""
    import dataclasses

    from stylize import Session

    from .conftest import pattern

    pattern(40, 32, 1).save(tmp_path / "c.png")
    pattern(36, 36, 2).save(tmp_path / "s.png")
    session = Session(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    job = session.transfer_job(tmp_path / "c.png", tmp_path / "s.png")
    edited = session.transfer_job(tmp_path / "c.png", tmp_path / "s.png")
    edited.settings["size"] = 99
    hand = jobs.Job("transfer", str(tmp_path / "c.png"), (str(tmp_path / "s.png"),), (1.0,))
    for bad in (dataclasses.replace(job, size=48), edited, hand):
        for use in (session.plan, session.run):
            with pytest.raises(SettingsError, match="job: not as session.transfer_job, content_job or style_job "
                                                    "made it"):
                use(bad)
    assert (session.plan(job).width, session.plan(job).height) == (32, 26)  # the job as made: planned


def test_round_67_a_pil_image_changed_after_the_job_was_made_is_refused(tmp_path, synthetic_weights):
    """Hostile round 67: a PIL photo painted red after transfer_job was planned and run with its new pixels (what
    the call was given is taken as it was at the call; a change after plan was refused already)."""
    from PIL import Image

    from stylize import Session

    from .conftest import pattern

    pattern(36, 36, 2).save(tmp_path / "s.png")
    photo = pattern(48, 32, 1)
    session = Session(size=32, iterations=2, weights=str(synthetic_weights), normalize=False)
    job = session.transfer_job(photo, tmp_path / "s.png")
    photo.paste((255, 0, 0), (0, 0, 48, 32))
    with pytest.raises(SettingsError, match="job: not as session.transfer_job"):
        session.plan(job)
    assert isinstance(session.run(session.transfer_job(photo, tmp_path / "s.png")).image, Image.Image)
