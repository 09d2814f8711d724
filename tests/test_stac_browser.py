"""Radiant Earth's STAC Browser (the pinned npm package, built by `make install`, served under
/browser/) in headless Chromium against a live `dinamis serve` (issue 20, 4): it lists the
collections, searches, and shows an item with its thumbnail, asking no other host than ours
for the catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from extensions.stac_browser import STATIC
from tests.test_registry_browser import browser

__all__ = ["browser"]

ASKED: list[str] = []
"""The paths STAC Browser asked of the live app."""
BUNDLE = 30_000
"""Milliseconds to wait for what STAC Browser draws: a webpack bundle of a few MB on 2 cores
(each expect says so, rather than a global option that would slow every other browser test's
failures)."""


@pytest.fixture(scope="module")
def tab(browser: Browser, live_url: str) -> Iterator[Page]:
    if not (STATIC / "index.html").is_file():
        pytest.fail("STAC Browser is not built: `make install` runs `npm run build:browser`")
    context = browser.new_context(base_url=live_url.rstrip("/"), locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(BUNDLE)
    host = urlsplit(live_url).netloc
    page.on(
        "request",
        lambda r: ASKED.append(urlsplit(r.url).path) if urlsplit(r.url).netloc == host else None,
    )
    yield page
    context.close()


def test_it_lists_the_collections(tab: Page) -> None:
    tab.goto("/browser/")
    for title in ("Pléiades", "SPOT 6/7"):
        expect(tab.get_by_text(title, exact=False).filter(visible=True).first).to_be_visible(
            timeout=BUNDLE
        )
    assert "/collections" in ASKED


def test_it_searches(tab: Page) -> None:
    tab.goto("/browser/#/search")
    tab.get_by_role("tab", name="Search for Items").click()
    tab.get_by_role("button", name="Submit").click()
    expect(tab.locator("a[href*='/items/']").first).to_be_visible(timeout=BUNDLE)
    assert "/search" in ASKED


def test_it_shows_an_item_with_its_thumbnail(tab: Page) -> None:
    tab.locator("a[href*='/items/']").first.click()
    tab.get_by_role("tab", name="Thumbnails").click()
    thumbnail = tab.locator("img[src*='/assets/']").first
    expect(thumbnail).to_be_visible(timeout=BUNDLE)
    assert tab.evaluate("img => img.complete && img.naturalWidth > 0", thumbnail.element_handle())
