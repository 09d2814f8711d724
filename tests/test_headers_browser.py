"""The pages under their Content-Security-Policy in headless Chromium, against a live
`dinamis serve`: the viewer (with MapLibre's workers and an online basemap), the portal, the
sign-in, the ordering desk and the instructors' pages, in French and in English. Any
violation the browser reports (a `securitypolicyviolation` event, a console "Refused to …")
fails the test."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.registry import INSTRUCTOR
from tests.test_registry_browser import browser, sign_in

__all__ = ["browser"]

RECORD_VIOLATIONS = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.violations.push(`${event.violatedDirective} ${event.blockedURI} (${event.sourceFile}:${event.lineNumber})`);
});
"""
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
"""One pixel: what the online basemap's host answers here (no test reaches another host)."""
PAGES = [
    "/portail",
    "/connexion",
    "/connexion/oubli",
    "/portail/verification?demarche=adhesion",
    "/connexion/nouveau-mot-de-passe/not-a-real-token",
]
INSTRUCTOR_PAGES = [
    "/compte",
    "/commandes",
    "/commandes/projets/nouveau",
    "/commandes/instruction",
    "/registre/instruction",
    "/registre/entites",
    "/registre/journal",
    "/registre/courriels",
]


class Watched:
    """A browser context whose pages record every CSP violation."""

    def __init__(self, browser: Browser, live_url: str, locale: str) -> None:
        self.context: BrowserContext = browser.new_context(
            base_url=live_url.rstrip("/"), locale=locale
        )
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.context.route("https://tile.openstreetmap.org/**", self.basemap_tile)
        self.refused: list[str] = []
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.page.on("console", self.console)

    def basemap_tile(self, route: Route) -> None:
        route.fulfill(status=200, content_type="image/png", body=PNG)

    def console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or message.text.startswith("Refused to"):
            self.refused.append(f"{self.page.url}: {message.text}")

    def visit(self, path: str) -> Page:
        self.page.goto(path)
        self.page.wait_for_load_state("load")
        self.check()
        return self.page

    def check(self) -> None:
        events = self.page.evaluate("window.violations || []")
        self.refused.extend(f"{self.page.url}: {event}" for event in events)
        assert self.refused == [], self.refused


@pytest.fixture(params=["fr-FR", "en-GB"])
def watched(request: pytest.FixtureRequest, browser: Browser, live_url: str) -> Iterator[Watched]:
    tab = Watched(browser, live_url, request.param)
    yield tab
    tab.context.close()


def test_the_viewer_runs_under_its_policy(watched: Watched) -> None:
    """MapLibre's workers, the footprint tiles, an online basemap and the results."""
    lang = watched.context.pages[0].evaluate("navigator.language")[:2]
    page = watched.visit(f"/catalogue?lang={lang}&map=6/43.5/3.5")
    expect(page.get_by_test_id("total")).not_to_have_text("…")
    expect(page.locator(".map[data-idle=true]")).to_be_visible()
    basemap = "Fond de carte" if lang == "fr" else "Basemap"
    with page.expect_request(lambda r: r.url.startswith("https://tile.openstreetmap.org/")):
        page.get_by_label(basemap).select_option(label="OpenStreetMap")
    expect(page.locator(".map[data-idle=true]")).to_be_visible()
    watched.check()


def test_the_pages_run_under_their_policy(watched: Watched) -> None:
    for path in PAGES:
        watched.visit(path)
    sign_in(watched.page, INSTRUCTOR)
    for path in INSTRUCTOR_PAGES:
        watched.visit(path)
