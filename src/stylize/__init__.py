"""stylize: neural style transfer after Gatys, Ecker & Bethge (2015/2016)."""

__version__ = "0.1.0"

from .api import Outcome, Session, reconstruct_content, reconstruct_style, transfer  # noqa: E402
from .errors import StylizeError  # noqa: E402
from .settings import Settings  # noqa: E402

__all__ = ["transfer", "reconstruct_content", "reconstruct_style", "Session", "Outcome", "Settings",
           "StylizeError", "__version__"]
