"""Settings: the one place for defaults, every field checked against its range."""

import pytest
from click.testing import CliRunner

from stylize import settings
from stylize.cli import cli
from stylize.errors import SettingsError
from stylize.settings import Settings


@pytest.mark.parametrize("field, value, message", [
    ("size", 10**400, "--size must be an integer from 1 to 65536, not a number of 401 digits"),
    ("size", 0, "--size must be an integer from 1 to 65536, not 0"),
    ("size", True, "--size must be an integer from 1 to 65536, not True"),
    ("history", 10**10, "--history must be an integer from 1 to 1000000000, not 10000000000"),
    ("scales", 10**6, "--scales must be an integer from 1 to 12, not 1000000"),
    ("style_size", 70000, "--style-size must be an integer from 1 to 65536, not 70000"),
    ("evaluations", 0, "--evaluations must be an integer from 2 to 10000000, not 0"),
    ("evaluations", 1, "--evaluations must be an integer from 2 to 10000000, not 1"),  # round 22: the start image
    ("coarse_iterations", 10**12, "--coarse-iterations must be an integer from 1 to 10000000, not 1000000000000"),
    ("style_scale", 1e300, "--style-scale must be at most 64, not 1e+300"),
    ("ratio", float("inf"), "ratio must be a finite number > 0, not inf"),
    ("noise", 2.0, "noise must be 0 or from 1e-12 to 1 (the command line's --noise), not 2.0"),
    ("precision", "fp16", "precision must be one of fp32, bf16, not 'fp16'"),
])
def test_every_number_has_a_range(field, value, message):
    with pytest.raises(SettingsError) as e:
        Settings(**{field: value})
    assert str(e.value) == message


@pytest.mark.parametrize("args, message", [
    (["--size", "1" + "0" * 400], "--size must be an integer from 1 to 65536, not a number of 401 digits"),
    (["--scales", "1000000"], "--scales must be an integer from 1 to 12, not 1000000"),
    (["--style-scale", "1e300"], "Invalid value for '--style-scale': '1e300' must be at most 64"),
    (["--history", "9" * 400], "--history must be an integer from 1 to 1000000000, not a number of 400 digits"),
])
def test_out_of_range_options_are_usage_errors_before_any_work(photo, art, tmp_path, args, message):
    r = CliRunner().invoke(cli, [str(photo), str(art), "-o", str(tmp_path / "o.png"), *args], catch_exceptions=False)
    assert r.exit_code == 2 and r.stderr.strip().splitlines()[-1] == f"Error: {message}"
    assert "Traceback" not in r.output and not (tmp_path / "o.png").exists()


def test_blend_weights_are_normalised_without_overflow():
    with pytest.raises(SettingsError, match="style blend weight must be a finite number > 0, not -0.0"):
        Settings(style_blend=(1.0, -0.0))  # (round 31: recorded as [1.0, -0.0]; round 56: a weight of 0 is refused)
    assert Settings(style_blend=(1e12, 1e12)).blend(2) == (0.5, 0.5)
    with pytest.raises(SettingsError, match="style blend weight must be from 1e-12 to 1e.12, not 1e.308"):
        Settings(style_blend=(1e308, 1e308))  # (round 42: the command line's range, in the API too)
    assert Settings(style_blend=(3, 7)).blend(2) == pytest.approx((0.3, 0.7))
    assert Settings().blend(3) == pytest.approx((1 / 3,) * 3)
    with pytest.raises(SettingsError, match="^2 style blend weights for 3 style image"):
        Settings(style_blend=(1, 2)).blend(3)


def test_alpha_and_beta_from_the_ratio_or_explicit_weights():
    assert Settings(ratio=1e-3).alpha_beta == (1e-3, 1.0)
    assert Settings(ratio=1e-3, style_weight=10.0).alpha_beta == pytest.approx((1e-2, 10.0))
    assert Settings(content_weight=2.0, style_weight=4.0).alpha_beta == (2.0, 4.0)
    # round 31: both given, one of them 0 turns that term off ("--style-weight 0 alone makes ..." was false)
    assert Settings(content_weight=1.0, style_weight=0.0).alpha_beta == (1.0, 0.0)
    assert Settings(content_weight=0.0, style_weight=1.0).alpha_beta == (0.0, 1.0)
    with pytest.raises(SettingsError, match="--style-weight 0 alone makes --content-weight 0 too"):
        Settings(style_weight=0.0)


def test_the_defaults_are_the_papers_method():
    d = settings.DEFAULTS
    assert d.content_layer == "conv4_2" and d.style_layers == ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
    assert d.pooling == "avg" and d.init == "noise" and d.optimizer == "lbfgs" and d.normalize
    assert d.layer_weights == {name: 0.2 for name in d.style_layers}


def test_a_message_shows_a_byte_that_is_not_utf8_as_the_byte():
    """Round 17: a manifest's byte \\xff (kept in a name as the surrogate U+DCFF) was shown as '\\udcff'."""
    from stylize.settings import shown

    assert shown("a\udcffb") == r"'a\xffb'" and shown("\udc80") == r"'\x80'"
    assert shown("\\udcff") == r"'\\udcff'" and shown("\\\udcff") == r"'\\\xff'"  # a typed backslash stays one
    assert shown("x" * 25) == "a text of 25 characters"


def test_settings_of_an_unknown_name_is_a_settings_error():
    """Round 41 (left open): Settings(bogus=1) raised Python's own TypeError, naming no remedy."""
    with pytest.raises(SettingsError, match="bogus: no such setting"):
        Settings(bogus=1)
    with pytest.raises(SettingsError, match="content_layer: given twice"):
        Settings("conv4_2", content_layer="conv4_2")
    with pytest.raises(SettingsError, match="at most"):
        Settings(*([0] * 100))
    assert Settings(size=64).size == 64 and Settings("conv3_2").content_layer == "conv3_2"


def test_round_48_numbers_of_other_types_and_objects_in_messages():
    """Hostile round 48: Settings(size=numpy.int64(32)) was refused as "--size must be an integer"; a picture given
    as init= was "not a text of 82 characters"."""
    import fractions

    import numpy as np
    from PIL import Image

    s = Settings(size=np.int64(48), ratio=fractions.Fraction(1, 1000), seed=np.int32(3), tv_weight=np.float32(0.5))
    assert (s.size, s.ratio, s.seed, s.tv_weight) == (48, 0.001, 3, 0.5) and type(s.size) is int
    with pytest.raises(SettingsError, match="init must be a name .a text., not an object of type Image$"):
        Settings(init=Image.new("RGB", (4, 4)))


def test_round_49_a_seed_of_true_is_no_seed():
    """Hostile round 49: Settings(seed=True) was taken, and the run failed in torch.manual_seed (RuntimeError)."""
    for seed in (True, False):
        with pytest.raises(SettingsError, match="seed must be an integer"):
            Settings(seed=seed)


def test_round_50_a_number_too_small_for_a_float_is_never_off():
    """Hostile round 50: Settings(style_weight=Fraction(1, 10**400)) became 0.0, "no style term" (the command line
    refuses 1e-400 as too small to be told from 0)."""
    from fractions import Fraction

    import numpy as np

    for field, value in (("style_weight", Fraction(1, 10**400)), ("tv_weight", np.longdouble("1e-4000")),
                         ("ratio", Fraction(1, 10**400)), ("style_blend", (1, Fraction(1, 10**400)))):
        with pytest.raises(SettingsError, match=f"{field}: .* is too small to be told from 0"):
            Settings(**{field: value})


def test_round_54_a_numpy_bool_is_named_as_such():
    """Hostile round 54: Settings(normalize=numpy.bool_(False)) said "must be True or False, not 'False' (bool)"."""
    import numpy as np

    with pytest.raises(SettingsError, match=r"normalize must be True or False, not 'False' \(numpy.bool"):
        Settings(normalize=np.bool_(False))


def test_round_55_a_decimal_is_a_number():
    """Hostile round 55: Settings(ratio=Decimal("0.001")) said "ratio must be a number"; a Decimal is one of
    Python's numbers (README: Python API), taken as a float like a Fraction; its signalling NaN is not a number."""
    from decimal import Decimal

    from stylize.video import VideoOptions

    assert Settings(ratio=Decimal("0.001")).ratio == 0.001
    assert Settings(style_blend=(Decimal(1), Decimal("0.5"))).style_blend == (1.0, 0.5)
    assert VideoOptions(passes=2, pass_blend=Decimal("0.25")).pass_blend == 0.25
    with pytest.raises(SettingsError, match="ratio: .* is too small to be told from 0"):
        Settings(ratio=Decimal("1e-400"))
    with pytest.raises(SettingsError, match=r"ratio must be a number, not 'sNaN' \(decimal.Decimal\)"):
        Settings(ratio=Decimal("sNaN"))


def test_round_67_a_subclass_of_settings_is_refused():
    """Hostile round 67: a dataclass subclass of Settings with a field of its own failed with a bare TypeError (a
    real type where an annotation's text was read); a subclass whose to_dict() told another ratio recorded it in
    the metadata of a picture made at the default ratio. Settings itself only."""
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class WithNote(Settings):
        note: str = "hello"

    class Telling(Settings):
        def to_dict(self):
            return dict(super().to_dict(), ratio=1.0)

    for make in (lambda: WithNote(size=32, note="x"), lambda: Telling(size=32)):
        with pytest.raises(SettingsError, match="a subclass of stylize.Settings is not taken"):
            make()
    assert settings.settings_of(Settings(size=32)).size == 32


def test_round_101_a_whole_number_field_tells_what_it_was_given():
    """Hostile round 101: a count field (size, iterations, ...) called any value of a long text "a number of N
    digits": a string, a list, a timedelta array. Only an integer's long text is its digits (a sign is no digit)."""
    import numpy as np

    for field, value, told in (
            ("size", "thirty-two pixels please, thanks", "a text of 32 characters (str)"),
            ("iterations", list(range(1, 11)), "an object of type list"),
            ("size", np.array(32, dtype="m8[s]"), "'32 seconds' (numpy.ndarray)"),
            ("size", 10**30, "a number of 31 digits"), ("size", -10**30, "a number of 31 digits"),
            ("size", "x", "'x'"), ("size", 3.5, "3.5")):
        with pytest.raises(SettingsError) as e:
            Settings(**{field: value})
        assert str(e.value).endswith(f", not {told}"), (field, str(e.value))


def test_round_108_noise_has_the_command_lines_range():
    """Hostile round 108: Settings(noise=1e-300) (or 1e-13) was taken, though --noise refuses it: a noise that is 0
    in float32, whose seed was then never read, recorded as given. 0, or from 1e-12 to 1, as on the command line."""
    for noise in (1e-300, 1e-13, -0.1, 1.5):
        with pytest.raises(SettingsError, match="noise must be 0 or from 1e-12 to 1"):
            Settings(noise=noise)
    assert (Settings(noise=0).noise, Settings(noise=1e-12).noise, Settings(noise=1).noise) == (0, 1e-12, 1)
