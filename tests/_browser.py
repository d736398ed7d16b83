"""Debian's Chromium, as the browser tests launch it through Playwright.

``playwright install`` cannot download browsers on the course's machines, so the tests drive
the system's ``/usr/bin/chromium`` (``apt-get install -y chromium``), headless, with nothing
that would go online (background networking, component updates, the first-run page).
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
