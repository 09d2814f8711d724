"""An archive request in headless Chromium against a live `dinamis serve` (with its built-in
Airbus simulator), as bruce.wayne would file it after `make run`, and the instructor's queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import Page, expect

from tests.registry import INSTRUCTOR
from tests.test_registry_browser import browser, click, page, sign_in, sign_out

__all__ = ["browser", "page"]  # the fixtures, shared with the registry's browser tests
BRUCE = "bruce.wayne@formation.example"


def commandable_pleiades(live_url: str) -> str:
    found = httpx.post(
        f"{live_url.rstrip('/')}/search",
        json={"collections": ["airbus-archive"], "bbox": [3.0, 43.0, 4.5, 44.0], "limit": 100},
        timeout=30,
    ).json()
    return next(
        f["id"] for f in found["features"] if f["properties"]["constellation"] == "pleiades"
    )


def test_an_archive_request_in_the_browser(page: Page, live_url: str) -> None:
    scene = commandable_pleiades(live_url)
    sign_in(page, BRUCE)
    page.get_by_role("link", name="Demandes d'imagerie").click()
    page.get_by_role("link", name="Nouveau projet").click()
    page.locator("#f-title").fill("Herbiers de l'étang de Thau")
    page.locator("#f-end_date").fill((datetime.now(UTC).date() + timedelta(days=200)).isoformat())
    page.get_by_label("Littoral").check()
    page.locator("#f-description").fill("Cartographie des herbiers de zostères.")
    click(page, "Créer le projet")
    expect(page.get_by_text("créé")).to_be_visible()
    project = page.locator("dl.summary dd").first.inner_text()

    page.goto(f"/commandes/archive?scene={scene}&produit=airbus-archive-pleiades")
    expect(page.get_by_role("heading", name="Demande d'archive")).to_be_visible()
    page.locator("#f-project_id").select_option(project)
    page.get_by_label("Traitement radiométrique").select_option("display")  # 12 bits: refused
    click(page, "Envoyer la demande")
    expect(page.locator("#e-pixel_coding")).to_contain_text("12 bits")  # beside its field
    page.get_by_label("Codage des pixels").select_option("8bits")
    click(page, "Envoyer la demande")
    expect(page.locator("#statut")).to_have_text("Reçue")
    request_id = page.url.rsplit("/", 1)[1]
    assert request_id.startswith(project) and request_id.endswith("-PLEIADES")
    page.get_by_placeholder("Écrivez votre message...").fill("Marée basse de préférence.")
    click(page, "Envoyer")
    expect(page.get_by_text("Marée basse de préférence.")).to_be_visible()
    sign_out(page)

    sign_in(page, INSTRUCTOR)
    page.goto("/commandes/instruction")
    expect(page.get_by_role("link", name=request_id)).to_be_visible()
    page.get_by_role("link", name=request_id).click()
    click(page, "Accepter")
    expect(page.get_by_text("Demande acceptée")).to_be_visible()
    expect(page.locator("#statut")).to_have_text("Acceptée")
