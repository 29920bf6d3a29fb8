"""The command line's very first code (the `stylize` script and `python -m stylize`): a SIGINT, SIGTERM or SIGHUP
that arrives while stylize's own modules import is noted here, with the C-level `_signal` module (imported before
anything else: `signal` itself imports enum), and acted on by console.main ("Interrupted.", 130, 143 or 129), never a
traceback from inside an import. Only signals that still have Python's default handling are taken."""

import _signal

_noted: list[int] = []
_DEFAULT = {_signal.SIGINT: _signal.default_int_handler, _signal.SIGTERM: _signal.SIG_DFL,
            _signal.SIGHUP: _signal.SIG_DFL}
_TAKEN = [s for s, default in _DEFAULT.items() if _signal.getsignal(s) is default]


def _note(signum, frame):
    _noted.append(signum)


for _s in _TAKEN:
    _signal.signal(_s, _note)


def main() -> None:
    from . import console

    for s in _TAKEN:  # (console.main takes them over at once: its handler notes a first signal the same way)
        _signal.signal(s, _DEFAULT[s])
    if _noted:
        console.EARLY.signal = _noted[-1]
    console.main()
