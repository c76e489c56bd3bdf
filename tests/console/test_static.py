"""The console's static files: the vendored htmx is the file VENDORED.md names, and nothing is fetched
from outside the console (no CDN) by its pages."""

from __future__ import annotations

import hashlib
import re

from local.console import render
from local.console.routes import STATIC
from local.console.views import ServiceView


def test_vendored_htmx_matches_its_recorded_checksum_and_licence() -> None:
    notes = (STATIC / "VENDORED.md").read_text()
    recorded = re.search(r"sha256 of `htmx.min.js`: `([0-9a-f]{64})`", notes)
    assert recorded, "VENDORED.md records the sha256 of htmx.min.js"
    assert hashlib.sha256((STATIC / "htmx.min.js").read_bytes()).hexdigest() == recorded.group(1)
    assert "| 2.0.11 |" in notes
    assert (STATIC / "htmx.LICENSE").read_text().startswith("Zero-Clause BSD")
    assert (STATIC / "htmx.min.js").read_bytes().startswith(b"var htmx=function()")


def test_pages_load_scripts_and_styles_from_the_console_only() -> None:
    view = ServiceView("iris", "default", "iris", True, None, ())
    html = render.service_page(view, [render.rollout_form(view), render.events_panel("default", "iris", [])], "local")
    html += render.index_page([view], "local")
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/console") for s in sources), sources
    assert "http://" not in html and "https://" not in html
    assert f"{render.PREFIX}/static/htmx.min.js" in sources
    for name in ("htmx.min.js", "console.css"):
        assert (STATIC / name).is_file()
