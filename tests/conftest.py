import math
import signal
from pathlib import Path

import pytest
import torch
from PIL import Image

from stylize.images import to_pil, to_tensor

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def pattern(width: int, height: int, seed: int = 0) -> Image.Image:
    """A small deterministic test picture: smooth colour gradients plus a few seeded blocks."""
    g = torch.Generator().manual_seed(seed)
    y = torch.linspace(0, 1, height).view(height, 1).expand(height, width)
    x = torch.linspace(0, 1, width).view(1, width).expand(height, width)
    phase = torch.rand(3, generator=g) * 6.28
    img = torch.stack([0.5 + 0.4 * torch.sin(6 * x + 4 * y + p) for p in phase])
    for _ in range(4):
        x0, y0 = (torch.rand(2, generator=g) * torch.tensor([width * 0.7, height * 0.7])).long().tolist()
        img[:, y0:y0 + height // 4, x0:x0 + width // 4] = torch.rand(3, 1, 1, generator=g)
    return to_pil(img.unsqueeze(0))


@pytest.fixture
def images(tmp_path) -> Path:
    """A folder of a batch's inputs: photo0.png ... photo2.png (40x32) and art0.jpg, art1.jpg (36x36)."""
    d = tmp_path / "in"
    d.mkdir()
    for i in range(3):
        pattern(40, 32, seed=i).save(d / f"photo{i}.png")
    for i in range(2):
        pattern(36, 36, seed=10 + i).save(d / f"art{i}.jpg")
    return d


@pytest.fixture
def photo(tmp_path) -> Path:
    p = tmp_path / "photo.png"
    pattern(64, 48, seed=1).save(p)
    return p


@pytest.fixture
def art(tmp_path) -> Path:
    p = tmp_path / "art.png"
    pattern(56, 56, seed=2).save(p)
    return p


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a - b) ** 2).mean())
    return 10 * math.log10(1 / max(mse, 1e-12))


def cli_result_text(result) -> str:
    """stdout + stderr of a CliRunner result, for failure messages."""
    return f"exit={result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}\nexc={result.exception!r}"


@pytest.fixture(autouse=True)
def _stop_signals_as_they_were():
    """A command run in this process (CliRunner) ends by ignoring SIGINT, SIGTERM and SIGHUP (console.ignore_signals),
    and an ignored signal is inherited by every process a later test starts: the signal tests' `stylize` would then
    never stop. Each test leaves the three as it found them."""
    from stylize import console

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for s, handler in before.items():
        if signal.getsignal(s) is not handler and handler is not None:
            signal.signal(s, handler)
    console.EARLY.raised = False  # (a second signal's KeyboardInterrupt is raised once per process)


@pytest.fixture(autouse=True)
def _vgg_mark_is_honest(request, monkeypatch):
    """`pytest -m "not vgg"` must skip every test that loads VGG-19: an unmarked test that tries fails."""
    if request.node.get_closest_marker("vgg") is not None:
        return
    assert "original" not in request.fixturenames, "this test loads VGG-19's weights: mark it @pytest.mark.vgg"
    from stylize import vgg, weights

    def refuse(*args, **kwargs):
        raise AssertionError("this test loads VGG-19's weights: mark it @pytest.mark.vgg")

    def real_weights_refused(cached):
        def guarded(source, *args, **kwargs):
            if source in ("original", "torchvision"):
                refuse()
            return cached(source, *args, **kwargs)  # a weights file, e.g. synthetic_weights below
        return guarded

    monkeypatch.setattr(vgg, "_cached_network", real_weights_refused(vgg._cached_network))
    monkeypatch.setattr(vgg, "_cached_weights", real_weights_refused(vgg._cached_weights))
    monkeypatch.setattr(weights, "load_original", refuse)


@pytest.fixture(scope="session")
def synthetic_weights(tmp_path_factory) -> Path:
    """A VGG-19-shaped state dict of seeded random filters (He initialisation, float16: 40 MB): the real
    network's shape and cost at tiny sizes, without loading VGG-19's weights, in any process (a Ray worker
    too). Use with --no-normalize (normalising calibrates a weights file over the shipped images first)."""
    from stylize.weights import expected_shapes

    path = tmp_path_factory.mktemp("weights") / "synthetic_vgg19.pth"
    g = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in expected_shapes().items():
        scale = math.sqrt(2 / (shape[1] * 9)) if key.endswith("weight") else 0.01
        state[key] = (torch.randn(shape, generator=g) * scale).half()
    torch.save(state, path)
    return path


@pytest.fixture
def one_thread():
    """One torch thread, as a Ray worker with --ray-cpus 1 has: at 32 px two threads only wait for each other,
    and far worse on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def synthetic(weights: Path) -> list[str]:
    """The options of a tiny run on synthetic_weights."""
    return ["--weights", str(weights), "--no-normalize", "--size", "32", "--iterations", "3", "--quiet"]


def tinted(width, height, seed, rgb):
    """A pattern pushed towards a colour: distinct colour statistics for each style."""
    x = to_tensor(pattern(width, height, seed)) * 0.4 + torch.tensor(rgb).view(1, 3, 1, 1) * 0.6
    return to_pil(x)


@pytest.fixture
def red(tmp_path):
    p = tmp_path / "red.png"
    tinted(48, 48, 3, (0.9, 0.15, 0.1)).save(p)
    return p


@pytest.fixture
def blue(tmp_path):
    p = tmp_path / "blue.png"
    tinted(48, 48, 4, (0.1, 0.2, 0.9)).save(p)
    return p


def halves(width, height, left=(255, 255, 255), right=(0, 0, 0)) -> Image.Image:
    im = Image.new("RGB", (width, height), right)
    im.paste(Image.new("RGB", (width // 2, height), left), (0, 0))
    return im


def pytest_configure(config):
    """The signal tests send SIGINT and SIGTERM to stylize (here and in child processes) and expect it to act.
    A suite started as a background job of a script (`pytest &`) has them ignored (POSIX), and stylize keeps
    an ignored signal ignored, as it should: restore the defaults, so the tests run the same from anywhere."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
