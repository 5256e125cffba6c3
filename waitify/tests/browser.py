"""What the browser tests share: Debian's chromium, the two viewports, the screenshots.

Screenshots land in /screenshots/ (gitignored) so that a person can look at every
page after a run. The fixtures that use these (`browser`, `open_page`, `screenshot`)
are in the root conftest.py.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic"]
SCREENSHOTS_DIR = Path(__file__).resolve().parents[2] / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
