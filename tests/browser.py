"""Headless Chromium for the report tests: Debian's ``chromium`` through Playwright, with the network cut off.

Playwright drives the system browser; no browser is ever downloaded at run time. When the
package is missing the browser tests skip, unless AUTOML_REQUIRE_SYSTEM_DEPS=1 (CI), where
they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class LoadedPage:
    """A page opened from disk, with what went wrong while it loaded."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@contextmanager
def system_chromium() -> Iterator[Any]:
    """The system Chromium under Playwright; skips (or, in CI, fails) the test when it is not installed."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: the browser tests need Debian's 'chromium' package (apt-get install chromium)"
        if os.environ.get("AUTOML_REQUIRE_SYSTEM_DEPS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_offline(browser: Any, path: Path, width: int = 1366, height: int = 900) -> LoadedPage:
    """Open a local file with the network disabled; any request that leaves the file is recorded and refused."""
    context = browser.new_context(offline=True, viewport={"width": width, "height": height})
    page = context.new_page()
    loaded = LoadedPage(page)

    def refuse(route: Any) -> None:
        loaded.requests.append(route.request.url)
        route.abort()

    context.route(lambda url: not url.startswith("file:"), refuse)
    page.on(
        "console", lambda message: loaded.errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: loaded.errors.append(str(error)))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return loaded
