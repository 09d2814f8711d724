"""An archive request in headless Chromium against a live `dinamis serve` (with its built-in
Airbus simulator), as bruce.wayne would file it after `make run`, and the instructor's queue."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

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


SHOTS = Path(__file__).parent.parent / ".dinamis" / "screenshots"


def new_project(page: Page) -> str:
    page.goto("/commandes/projets/nouveau")
    page.locator("#f-title").fill("Trait de côte de Palavas")
    page.locator("#f-end_date").fill((datetime.now(UTC).date() + timedelta(days=200)).isoformat())
    page.get_by_label("Littoral").check()
    page.locator("#f-description").fill("Suivi du trait de côte.")
    click(page, "Créer le projet")
    expect(page.get_by_text("créé")).to_be_visible()
    return page.locator("dl.summary dd").first.inner_text()


def watch_csp(page: Page) -> list[str]:
    """The page's Content-Security-Policy violations, as Chromium reports them."""
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return violations


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1400, 390):
        page.set_viewport_size({"width": width, "height": 1000})
        page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_a_rectangle_drawn_on_the_tasking_map(browser: Browser, live_url: str) -> None:
    """Two clicks on the map fill the bbox fields and show the area, the free quota left and
    the price; the request sent records that area, in the browser's time zone (Guyane's)."""
    context = browser.new_context(
        base_url=live_url.rstrip("/"), locale="fr-FR", timezone_id="America/Cayenne"
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    violations = watch_csp(page)
    sign_in(page, BRUCE)
    project = new_project(page)
    page.goto("/commandes/programmation")
    page.locator("#f-project_id").select_option(project)
    expect(page.locator("#f-time_zone")).to_have_value("America/Cayenne")  # the browser's
    estimate = page.locator("#aoi-estimate")
    expect(estimate).to_contain_text("Dessinez la zone")
    page.locator("#f-west").fill("3.80")
    page.locator("#f-south").fill("43.50")
    page.locator("#f-east").fill("3.95")
    page.locator("#f-north").fill("43.60")
    expect(estimate).to_contain_text("Surface : 134,7 km²")  # typed: shown too
    for side in ("west", "south", "east", "north"):
        page.locator(f"#f-{side}").fill("")
    canvas = page.locator("#aoi-map canvas")
    for _ in range(3):  # from France to a département
        page.get_by_role("button", name="Zoom avant").click()
    expect(page.locator("#aoi-map")).to_have_attribute("data-idle", "true")
    box = canvas.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x - 30, y - 25)
    page.mouse.move(x + 30, y + 25)
    page.mouse.click(x + 30, y + 25)
    for side in ("west", "south", "east", "north"):
        expect(page.locator(f"#f-{side}")).not_to_have_value("")
    assert float(page.locator("#f-west").input_value()) < float(
        page.locator("#f-east").input_value()
    )
    expect(estimate).to_contain_text("Surface :")
    expect(estimate).to_contain_text("Quota de gratuité restant (SPOT")
    # Free within the quota; other tests of the session may have used it up.
    expect(estimate).to_contain_text(re.compile(r"Prix : (gratuit|hors quota de gratuité)"))
    area = float(estimate.get_attribute("data-area") or "nan")
    shoot(page, "programmation")

    start = datetime.now(UTC).date() + timedelta(days=10)
    page.locator("#f-start").fill(start.isoformat())
    page.locator("#f-end").fill((start + timedelta(days=30)).isoformat())
    click(page, "Envoyer la demande")
    expect(page.locator("#statut")).to_have_text("Reçue")
    # The request says the area the estimate showed, to the km² (349.6 shows as 350).
    surface = page.locator("dt", has_text="Surface").locator("+ dd")
    expect(surface).to_contain_text("km²")
    shown = surface.inner_text().split("km²")[0]
    assert abs(float(re.sub(r"[^\d,]", "", shown).replace(",", ".")) - area) <= 0.5, (shown, area)
    assert violations == []
    context.close()


def test_the_tasking_map_speaks_the_readers_language(browser: Browser, live_url: str) -> None:
    """The live estimate in English: its words and its numbers (134.7 km², not 134,7)."""
    context = browser.new_context(base_url=live_url.rstrip("/"), locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(20_000)
    sign_in(page, BRUCE)
    # The language switch's cookie (signing in set the account's, French), not stored.
    context.add_cookies([{"name": "dinamis_lang", "value": "en", "url": live_url}])
    page.goto("/commandes/programmation")
    estimate = page.locator("#aoi-estimate")
    expect(estimate).to_contain_text("Draw the area of interest")
    corners = {"west": "3.80", "south": "43.50", "east": "3.95", "north": "43.60"}
    for side, value in corners.items():
        page.locator(f"#f-{side}").fill(value)
    expect(estimate).to_contain_text("Area: 134.7 km²")
    expect(estimate).to_contain_text("Free quota left (SPOT")
    expect(page.get_by_role("button", name="Zoom in")).to_be_visible()
    context.close()


def test_the_archive_map_shows_the_scene(page: Page, live_url: str) -> None:
    violations = watch_csp(page)
    scene = commandable_pleiades(live_url)
    sign_in(page, BRUCE)
    page.goto(f"/commandes/archive?scene={scene}")
    expect(page.locator("#aoi-map")).to_have_attribute("data-idle", "true")
    footprint = page.evaluate(
        "JSON.parse(document.getElementById('aoi-scenes').textContent).features[0].properties.id"
    )
    assert footprint == scene
    expect(page.locator("#aoi-estimate")).to_contain_text("Surface :")
    expect(page.locator("#aoi-estimate")).to_contain_text("Quota de gratuité restant (PLEIADES")
    shoot(page, "archive")
    assert violations == []
