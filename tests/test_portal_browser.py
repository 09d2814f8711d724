"""The portal's pages in headless Chromium (issue 17): what a new user sees on a fresh
`make run`."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.test_registry_browser import browser, page

__all__ = ["browser", "page"]


def test_api_page_shows_swagger_ui_without_errors(page: Page) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/api.html")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("DINAMIS")
    expect(page.locator(".opblock").first).to_be_visible()
    assert not errors, errors
