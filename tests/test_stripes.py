"""stripes: gradients a stripe at a time; the switch belongs to one thread (two sessions, two threads)."""

import threading

import torch

from stylize import stripes


def _tall(channels: int = 4) -> torch.Tensor:
    """(1, C, H, W) channels-last, more rows than one stripe holds (with STRIPE_BYTES lowered)."""
    return torch.zeros(1, channels, 64, 8).contiguous(memory_format=torch.channels_last)


def test_striped_is_per_thread(monkeypatch):
    monkeypatch.setattr(stripes, "STRIPE_BYTES", 4 * 8 * 4 * 4)  # 4 rows a stripe
    t = _tall()
    inside, seen = threading.Barrier(2), {}

    def worker(name: str, on: bool):
        with stripes.striped(on):
            inside.wait(timeout=10)  # both threads are in their block now
            seen[name] = (stripes.enabled(), stripes.active(t))
            inside.wait(timeout=10)  # neither leaves before the other has looked
        seen[name + " after"] = stripes.enabled()

    threads = [threading.Thread(target=worker, args=("on", True)), threading.Thread(target=worker, args=("off", False))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=20)
    assert seen == {"on": (True, True), "off": (False, False), "on after": False, "off after": False}
    assert not stripes.enabled()  # the main thread never entered a block


def test_nested_blocks_restore_the_outer_state():
    with stripes.striped(True):
        with stripes.striped(False):
            assert not stripes.enabled()
        assert stripes.enabled()
    assert not stripes.enabled()


def test_the_graphs_own_choice_wins_over_the_thread_running_its_backward(monkeypatch):
    """A backward pass reads the choice made when its graph was built (autograd may run it elsewhere)."""
    monkeypatch.setattr(stripes, "STRIPE_BYTES", 4 * 8 * 4 * 4)
    t = _tall()
    assert stripes.active(t, True) and not stripes.active(t, False)
    with stripes.striped(True):
        assert not stripes.active(t, False)
    assert not stripes.active(t.contiguous(), True)  # not channels-last: whole-tensor kernels


def test_stripes_give_the_whole_tensor_result(monkeypatch):
    monkeypatch.setattr(stripes, "STRIPE_BYTES", 4 * 8 * 4 * 4)
    g = torch.Generator().manual_seed(0)
    grad = torch.randn(1, 4, 64, 8, generator=g).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(4, 4, 3, 3, generator=g)
    expected = torch.nn.functional.conv2d(grad, weight, padding=1)
    torch.testing.assert_close(stripes.conv3x3_in_place(grad.clone(), weight), expected)
