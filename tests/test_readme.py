"""Every shell command shown in README.md and docs/*.md runs as printed, at a tiny size.

Each ```sh block becomes one test. Its commands run in a fresh folder holding small copies of the
shipped examples (same names, 96 px; the sky mask at its photograph's size; a 3-frame clip), with
`--size` made 32 (64 beside `--style-scale`, whose half must still reach conv5_1), `--iterations` 1 and
`--frame-iterations` 1, on one thread: `stylize ...` through Click's CliRunner in this process (a command
that differs from an earlier one only in its output names runs once), `python examples/*.py` and
`python scripts/*.py` through runpy, `bash examples/controls.sh` with `stylize` replaced by a recorder
whose commands then run here, and plain shell helpers (mkdir, printf, find, ...) through bash. Every
command must end with status 0 and no traceback.

A block that cannot run in a test is preceded by `<!-- doc test: not run (why) -->`; the commands in
SKIPPED may appear anywhere (installing packages, the test suite itself). A command that is neither
runnable here nor marked fails the test, so a new block must be either.
"""

import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from stylize.cli import cli

from .conftest import ROOT, cli_result_text

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"<!--\s*doc test:\s*not run\s*\((.+?)\)\s*-->")
FENCE = re.compile(r"^```(\w*)\s*$")

# Commands that are never run, wherever they appear (reviewed list: prefix -> why).
SKIPPED = {
    ("pip", "install"): "installs packages",
    ("pip", "wheel"): "builds and installs packages",
    ("python", "-m", "pytest"): "the test suite itself",
}
SHELL_HELPERS = {"mkdir", "printf", "find", "sed", "echo", "cat", "ls"}
TINY_SCRIPTS = {"examples/ratios.py"}  # take --size and --iterations: run tiny
TINY = 96  # long side of the example copies
OUTPUTS = {"-o", "--output", "--out-dir", "--cells-dir", "--report"}


def blocks(path: Path):
    """(line number, language, text, skip reason or None) of every fenced block of `path`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out, k = [], 0
    while k < len(lines):
        m = FENCE.match(lines[k])
        if not m:
            k += 1
            continue
        start, lang = k, m.group(1)
        end = next(j for j in range(k + 1, len(lines)) if lines[j].startswith("```"))
        before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        reason = MARKER.search(before)
        out.append((start + 1, lang, "\n".join(lines[start + 1:end]), reason.group(1) if reason else None))
        k = end + 1
    return out


def shell_blocks():
    for path in DOCS:
        for line, lang, text, reason in blocks(path):
            if lang in ("sh", "bash", "shell", "console", ""):
                rel = path.relative_to(ROOT).as_posix()
                yield pytest.param(path, line, text, reason, id=f"{rel}:{line}")


def commands(text: str) -> list[str]:
    """Lines of a block, continuations joined, comment lines dropped."""
    joined = text.replace("\\\n", " ")
    return [c for c in (line.strip() for line in joined.splitlines()) if c and not c.startswith("#")]


def words(command: str) -> list[str]:
    return shlex.split(command, comments=True)


def skipped(argv: list[str]) -> str | None:
    for prefix, why in SKIPPED.items():
        if tuple(argv[:len(prefix)]) == prefix:
            return why
    return None


def tiny(argv: list[str]) -> list[str]:
    """The same command at a tiny size and a few iterations."""
    size = "64" if "--style-scale" in argv else "32"
    new = {"--size": size, "--iterations": "1", "--frame-iterations": "1", "--out-size": "32x32"}
    out, k = [], 0
    while k < len(argv):
        if argv[k] in new and k + 1 < len(argv):
            out += [argv[k], new[argv[k]]]
            k += 2
            continue
        out.append(argv[k])
        k += 1
    synthesis = not ({"--help", "-h", "--list-layers", "--version"} & set(argv))
    for option in ("--size", "--iterations"):
        if synthesis and option not in out:
            out += [option, new[option] if option != "--size" else size]
    return out


_RAN: set = set()  # commands already run, their output names left out: the same command is run once


def invoke_stylize(argv: list[str], stdin: str | None = None) -> None:
    assert argv[0] == "stylize"
    args = tiny(argv[1:])
    key = tuple(a for k, a in enumerate(args) if a not in OUTPUTS and (k == 0 or args[k - 1] not in OUTPUTS))
    if stdin is None and key in _RAN:
        return
    _RAN.add(key)
    result = CliRunner().invoke(cli, args, input=stdin, catch_exceptions=False)
    assert result.exit_code == 0, f"{shlex.join(argv)}\n{cli_result_text(result)}"
    assert "Traceback" not in result.output


def run_script(argv: list[str], folder: Path, capsys) -> None:
    script = argv[1]
    args = tiny(argv[1:])[1:] if script in TINY_SCRIPTS else argv[2:]
    old_argv = sys.argv
    sys.argv = [str(folder / script), *args]
    try:
        runpy.run_path(str(folder / script), run_name="__main__")
    except SystemExit as e:
        assert e.code in (0, None), f"{shlex.join(argv)} exited {e.code}: {capsys.readouterr().err[-2000:]}"
    finally:
        sys.argv = old_argv


def run_controls_sh(argv: list[str], folder: Path) -> None:
    """The script with `stylize` recorded, then each recorded command run here."""
    log = folder / "stylize-calls.txt"
    recorder = folder / "record-stylize"
    recorder.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\t" "$a"; done >> "{log}"\necho >> "{log}"\n')
    recorder.chmod(0o755)
    env = {**os.environ, "STYLIZE": str(recorder), "SIZE": "64", "ITERATIONS": "1"}
    proc = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    calls = [line.rstrip("\t").split("\t") for line in log.read_text().splitlines()]
    assert len(calls) == 9, calls
    for call in calls:
        invoke_stylize(["stylize", *call])


def run_command(command: str, folder: Path, capsys) -> None:
    if "&&" in command:
        for part in command.split("&&"):
            run_command(part.strip(), folder, capsys)
        return
    argv = words(command)
    if not argv or skipped(argv):
        return
    if "|" in argv or "|" in command.split("#")[0]:
        left, _, right = command.rpartition("|")
        right_argv = words(right)
        assert right_argv[:1] == ["stylize"], f"a pipeline must end in stylize: {command}"
        feed = subprocess.run(["bash", "-c", left], cwd=folder, capture_output=True, text=True, timeout=30)
        assert feed.returncode == 0, feed.stderr
        invoke_stylize(right_argv, stdin=feed.stdout)
        return
    program = argv[0]
    if program == "stylize":
        invoke_stylize(argv)
    elif program == "python" and len(argv) > 1 and re.fullmatch(r"(examples|scripts)/\w+\.py", argv[1]):
        run_script(argv, folder, capsys)
    elif argv[:2] == ["bash", "examples/controls.sh"]:
        run_controls_sh(argv, folder)
    elif program in SHELL_HELPERS:
        proc = subprocess.run(["bash", "-c", command], cwd=folder, capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, f"{command}: {proc.stderr}"
    else:
        pytest.fail(f"cannot run {command!r}: add it to a runnable form, or mark its block "
                    f"with <!-- doc test: not run (why) -->")


def _tiny_clip(source: Path, target: Path, frames: int = 3) -> None:
    av = pytest.importorskip("av")
    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        stream = dst.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for k, frame in enumerate(src.decode(video=0)):
            if k == frames:
                break
            im = frame.to_image().resize((64, 48), Image.Resampling.LANCZOS)
            for packet in stream.encode(av.VideoFrame.from_image(im).reformat(format="yuv420p")):
                dst.mux(packet)
        for packet in stream.encode():
            dst.mux(packet)


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory) -> Path:
    """A folder laid out like the repository, with small copies of the shipped examples and scripts."""
    base = tmp_path_factory.mktemp("repo")
    (base / "examples" / "video").mkdir(parents=True)
    sizes = {}
    for f in sorted((ROOT / "examples").glob("*.jpg")):
        im = Image.open(f).convert("RGB")
        im.thumbnail((TINY, TINY), Image.Resampling.LANCZOS)
        im.save(base / "examples" / f.name, quality=92)
        sizes[f.stem] = im.size
    mask = Image.open(ROOT / "examples" / "tubingen_sky_mask.png").resize(sizes["tubingen"], Image.Resampling.NEAREST)
    mask.save(base / "examples" / "tubingen_sky_mask.png")
    for pattern in ("examples/*.py", "examples/*.sh", "scripts/*.py"):
        for f in ROOT.glob(pattern):
            (base / f.parent.relative_to(ROOT)).mkdir(exist_ok=True)
            shutil.copy(f, base / f.relative_to(ROOT))
    _tiny_clip(ROOT / "examples" / "video" / "clip.mp4", base / "examples" / "video" / "clip.mp4")
    return base


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One thread: at 32 px two threads only wait for each other, and far worse on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.vgg
@pytest.mark.parametrize("path, line, text, reason", list(shell_blocks()))
def test_shell_block_runs(path, line, text, reason, tiny_repo, tmp_path, monkeypatch, capsys):
    if reason:
        pytest.skip(reason)
    folder = tmp_path / "repo"
    shutil.copytree(tiny_repo, folder, symlinks=True)
    monkeypatch.chdir(folder)
    ran = 0
    for command in commands(text):
        run_command(command, folder, capsys)
        ran += 1
    assert ran, f"{path.name}:{line}: an empty block"


def test_every_block_is_shell_python_or_marked():
    """A fenced block with another language, or none, would escape the test above."""
    for path in DOCS:
        for line, lang, text, reason in blocks(path):
            assert lang in ("sh", "python") or reason, f"{path.name}:{line}: ```{lang} block: use ```sh or mark it"


def test_readme_commands_write_distinct_outputs():
    """Run top to bottom, no README command stops with "already exists" because an earlier one wrote there."""
    seen = {}
    for line, lang, text, reason in blocks(ROOT / "README.md"):
        if lang != "sh" or reason:
            continue
        for command in commands(text):
            argv = words(command.rpartition("|")[2])
            if "--skip-existing" in argv:  # resumes on purpose
                continue
            for option in ("-o", "--out-dir"):
                if option in argv:
                    target = argv[argv.index(option) + 1]
                    assert target not in seen, f"README.md:{line} and {seen[target]} both write {target}"
                    seen[target] = f"README.md:{line}"


def test_unmarked_unknown_command_fails(tmp_path, capsys):
    """The guard itself: a command the test cannot run, in an unmarked block, is a failure, not a pass."""
    with pytest.raises(pytest.fail.Exception, match="cannot run 'kubectl apply"):
        run_command("kubectl apply -f job.yaml", tmp_path, capsys)
    assert skipped(words("pip install -e '.[video]'")) == "installs packages"
    assert tiny(["x.jpg", "y.jpg", "-o", "o.png", "--size", "512"]) == ["x.jpg", "y.jpg", "-o", "o.png", "--size",
                                                                        "32", "--iterations", "1"]
