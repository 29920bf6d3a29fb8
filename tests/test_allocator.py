import platform
import subprocess
import sys

import pytest

# Allocate, touch and free a 64 MB tensor a few times; print the page faults the later rounds cost.
PROBE = """
import resource, sys, torch
from stylize import allocator
if sys.argv[1] != "default":
    assert allocator.manage() and allocator.mode() == "reuse"
if sys.argv[1] == "compact":
    assert allocator.use(False) and allocator.mode() == "compact"
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
# Warm up until two rounds in a row fault nothing (at most 40 rounds): with the setting, glibc's heap
# still grows block by block for the first rounds (up to 9 seen in 8 probes), then settles.
quiet = 0
for _ in range(40):
    before = faults()
    torch.empty(2**24).fill_(1.0)
    quiet = quiet + 1 if faults() == before else 0
    if quiet == 2:
        break
before = faults()
for _ in range(5):
    torch.empty(2**24).fill_(1.0)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(*modes):
    """The page faults of the probe's measured rounds under each mode (the probes run at once, one a process)."""
    probes = [subprocess.Popen([sys.executable, "-c", PROBE, m], stdout=subprocess.PIPE, text=True) for m in modes]
    counts = [int(p.communicate(timeout=120)[0]) for p in probes]
    assert all(p.returncode == 0 for p in probes)
    return counts


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_freed_activations_are_reused_without_faulting_their_pages_in_again():
    default, reused, compact = faults("default", "reuse", "compact")
    assert default > 5 * 2**24 * 4 // 4096 // 2  # each round maps 64 MB afresh: ~16k pages
    assert reused < default / 20
    assert compact > 5 * 2**24 * 4 // 4096 // 2  # compact: handed back, so mapped afresh again


def test_a_library_caller_s_allocator_is_left_alone():
    code = "from stylize import allocator; print(allocator.use(True), allocator.use(False), allocator.mode())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "None"]


def test_the_command_line_sets_it_up(monkeypatch):
    from click.testing import CliRunner

    from stylize import allocator, cli

    calls = []
    monkeypatch.setattr(allocator, "manage", lambda: calls.append(1) or True)
    assert CliRunner().invoke(cli.cli, ["transfer", "--help"]).exit_code == 0
    assert calls == [1]
