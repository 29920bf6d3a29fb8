"""stylize: neural style transfer after Gatys, Ecker & Bethge (2015/2016).

The public names load on first use, so that `stylize --help` (and Ctrl-C during start-up) need not
wait for torch to import.
"""

__version__ = "0.1.0"

__all__ = ["transfer", "reconstruct_content", "reconstruct_style", "Session", "Job", "Plan", "Outcome", "Settings",
           "StylizeError", "__version__"]

_WHERE = {"transfer": "api", "reconstruct_content": "api", "reconstruct_style": "api", "Session": "api",
          "Job": "job", "Plan": "plan", "Outcome": "api", "Settings": "settings", "StylizeError": "errors"}


def __getattr__(name):
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'stylize' has no attribute {name!r}")
