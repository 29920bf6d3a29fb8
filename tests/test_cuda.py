"""The CUDA path; skipped where there is no GPU (as in CI)."""

import pytest
import torch

from stylize import Session
from stylize.api import resolve_device

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")]


def test_auto_picks_cuda():
    assert resolve_device("auto").type == "cuda"


def test_transfer_on_cuda_is_finite_reproducible_and_close_to_the_cpu(photo, art):
    run = lambda device: Session(size=40, iterations=5, device=device).transfer(photo, art)
    a, b = run("cuda"), run("cuda")
    assert a.image.tobytes() == b.image.tobytes()
    assert a.loss == a.loss and a.loss < float("inf")
    cpu = run("cpu")
    assert abs(a.loss - cpu.loss) < 0.05 * cpu.loss


def test_network_lives_on_the_gpu(photo, art):
    session = Session(size=32, device="cuda")
    net = session.network(("conv4_2", "conv5_1"))
    assert next(net.parameters()).device.type == "cuda"
