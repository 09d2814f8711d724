"""The pages' layout in headless Chromium against a live `dinamis serve`, at a desktop width
(1400 px) and a phone's (390 px): nothing sticks out of its card or of the window, no column
hides behind a scroll bar, labels sit above their fields."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.registry import INSTRUCTOR
from tests.test_ordering_browser import BRUCE, new_project
from tests.test_registry_browser import browser, sign_in

__all__ = ["browser"]

WIDTHS = [1400, 390]
INSTRUCTOR_PAGES = ["/compte", "/registre/entite", "/registre/instruction", "/registre/entites"]
OVERFLOWS = """
() => {
  const width = document.documentElement.clientWidth;
  const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + (e.className && typeof e.className === "string" ? "." + e.className.trim().replace(/\\s+/g, ".") : "");
  const found = [];
  if (document.documentElement.scrollWidth > width)
    found.push(`page ${document.documentElement.scrollWidth} > ${width}`);
  for (const box of document.querySelectorAll("main, .card, table, dl"))
    if (box.scrollWidth > box.clientWidth + 1)
      found.push(`${name(box)} scrolls ${box.scrollWidth} > ${box.clientWidth}`);
  for (const element of document.querySelectorAll("main *")) {
    const rect = element.getBoundingClientRect();
    if (rect.width && rect.right > width + 1) found.push(`${name(element)} ends at ${rect.right}`);
  }
  return found;
}
"""
"""What sticks out: the page, a card, table or list wider than its box, an element past the
window's right edge (as the Actions column was, behind a scroll bar)."""


@pytest.fixture(params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def page(request: pytest.FixtureRequest, browser: Browser, live_url: str) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_url.rstrip("/"),
        locale="fr-FR",
        viewport={"width": request.param, "height": 900},
    )
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab
    context.close()


def overflows(page: Page, path: str) -> list[str]:
    page.goto(path)
    page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    return list(page.evaluate(OVERFLOWS))


@pytest.mark.parametrize("path", INSTRUCTOR_PAGES)
def test_registry_pages_fit(page: Page, path: str) -> None:
    sign_in(page, INSTRUCTOR)
    assert overflows(page, path) == []


def test_labels_sit_above_their_select(page: Page) -> None:
    """The super-entity's label stays above its list, not wrapped around it."""
    sign_in(page, INSTRUCTOR)
    overflows(page, "/registre/entites")
    for form in page.locator("form[action$='/regrouper']").all():
        label, select = form.locator("label").bounding_box(), form.locator("select").bounding_box()
        assert label and select
        assert label["y"] + label["height"] <= select["y"] + 1, form.locator("label").inner_text()


def test_ordering_desk_fits_and_speaks_french(page: Page) -> None:
    sign_in(page, BRUCE)
    new_project(page)
    project = page.url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    for path in ("/commandes", f"/commandes/projets/{project}"):
        assert overflows(page, path) == []
        expect(page.locator("main").get_by_text("Statut", exact=True).first).to_be_visible()
        expect(page.locator("main").get_by_text("Status", exact=True)).to_have_count(0)
