"""startup.py: the command line's first code notes a signal that arrives while stylize's own modules import."""

import signal
import subprocess
import sys


def test_a_signal_while_stylizes_modules_import_is_interrupted_not_a_traceback():
    """Round 19: a Ctrl-C about 0.2 s into `stylize video ...` landed in console.py's `import signal` (enum): a
    KeyboardInterrupt traceback through stylize's code. startup.py notes it with `_signal` before any import."""
    code = ("import os, signal, sys\nsys.argv = ['stylize', '--version']\nimport stylize.startup as startup\n"
            "os.kill(os.getpid(), signal.SIG{0})  # (as if while console and cli import)\nstartup.main()\n")
    for name, status in (("INT", 130), ("TERM", 143)):
        p = subprocess.run([sys.executable, "-c", code.format(name)], capture_output=True, text=True, timeout=60,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler) and None)
        assert p.returncode == status and p.stderr.strip().endswith("Interrupted.") and "Traceback" not in p.stderr, \
            (name, p.returncode, p.stderr)
