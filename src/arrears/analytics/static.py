"""Static chart images (PNG) for the PDF and the workbook, rendered by plotly's kaleido
in a local Chromium. Nothing is downloaded: plotly.js comes from the installed plotly
package and MathJax is off."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import plotly.graph_objects as go

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


class StaticExportUnavailable(RuntimeError):
    """Static images cannot be made on this machine; the message says what to install."""


def browser_path() -> str:
    """The Chrome/Chromium kaleido should drive: ``$BROWSER_PATH``, else the first
    found on PATH (Debian: ``apt-get install chromium``)."""
    found = os.environ.get("BROWSER_PATH") or next(
        (p for name in BROWSERS if (p := shutil.which(name))), None
    )
    if not found or not Path(found).exists():
        raise StaticExportUnavailable(
            "PDF and Excel reports need a Chrome or Chromium for their chart images: "
            "install one (Debian/Ubuntu: apt-get install chromium) or set BROWSER_PATH "
            "to its executable; the HTML report (--format html) needs neither"
        )
    return found


def render_png(figures: Mapping[str, go.Figure], scale: float = 2) -> dict[str, bytes]:
    """Each figure as PNG bytes, all through one browser session."""
    try:
        import kaleido
        import plotly
    except ImportError:
        raise StaticExportUnavailable(
            "PDF and Excel reports need kaleido for their chart images: pip install kaleido"
        ) from None
    os.environ.setdefault("BROWSER_PATH", browser_path())
    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    kaleido.start_sync_server(plotlyjs=str(plotly_js), mathjax=False, silence_warnings=True)
    try:
        out = {}
        for name, fig in figures.items():
            layout = fig.layout
            opts = {"format": "png", "width": layout.width, "height": layout.height}
            out[name] = kaleido.calc_fig_sync(fig.to_dict(), opts={**opts, "scale": scale})
        return out
    except Exception as e:  # kaleido raises its own types for a missing/broken browser
        raise StaticExportUnavailable(
            f"could not render chart images with {os.environ['BROWSER_PATH']}: {e}"
        ) from e
    finally:
        kaleido.stop_sync_server(silence_warnings=True)
