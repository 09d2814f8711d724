// The ordering forms' map (progressive enhancement: without it the bbox fields and the file
// upload still work). It shows the archive scenes' footprints and the rectangle of the bbox
// fields, draws one in two clicks to fill them, shows the live area, free quota left and
// price from /ordering/products/{id}/estimate (the numbers filing applies), and fills the
// tasking form's time zone from the browser.
import maplibregl from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import "./aoi.css";
import { groundLayers, offlineSource, outlineLayers } from "./basemap.js";
import { lang, t } from "./i18n.js";

// The site's root, also under a sub-path: this script is its /static/viewer/aoi.js.
const site = new URL("../../", import.meta.url).href.replace(/\/$/, "");

const EMPTY = { type: "FeatureCollection", features: [] };
const SIDES = ["west", "south", "east", "north"];
const field = (name) => document.getElementById(`f-${name}`);
// The numbers as the page's reader writes them (134,7 km² in French, 134.7 km² in English).
const locale = lang === "en" ? "en-GB" : "fr-FR";
const km2 = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
const euros = new Intl.NumberFormat(locale, { style: "currency", currency: "EUR" });

function box(corners) {
  const [w, s, e, n] = corners;
  return { type: "Feature", properties: {}, geometry: { type: "Polygon", coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] } };
}

/** The rectangle the fields hold (west, south, east, north), or null. */
function typed() {
  const values = SIDES.map((side) => Number.parseFloat((field(side)?.value || "").replace(",", ".")));
  const [w, s, e, n] = values;
  return values.every(Number.isFinite) && w < e && s < n ? values : null;
}

function fill(corners) {
  SIDES.forEach((side, i) => (field(side).value = corners[i].toFixed(5)));
  field("west").closest("details")?.setAttribute("open", "");
}

function bounds(geojson) {
  const b = new maplibregl.LngLatBounds();
  const walk = (c) => (typeof c[0] === "number" ? b.extend(c) : c.forEach(walk));
  for (const f of geojson.features) walk(f.geometry.coordinates);
  return b;
}

function describe(found) {
  const lines = [t("Surface : {area} km²", { area: km2.format(found.area_km2) })];
  const q = found.quota;
  lines.push(t("Quota de gratuité restant ({family}, {year}) : {available} km² sur {allowed} km²", {
    family: q.family, year: q.period.slice(0, 4), available: km2.format(q.available_km2), allowed: km2.format(q.allowed_km2),
  }));
  if (!found.price) lines.push(t("Prix : hors quota de gratuité, la demande risque d'être rejetée"));
  else if (found.price.amount === 0) lines.push(t("Prix : gratuit (dans le quota de gratuité)"));
  else lines.push(t("Prix : {price}", { price: euros.format(found.price.amount) }));
  const warnings = [];
  if (found.area_km2 < found.minimum_km2) warnings.push(t("La zone est sous le minimum de {minimum} km² de ce produit.", { minimum: km2.format(found.minimum_km2) }));
  if (found.area_km2 > found.maximum_km2) warnings.push(t("La zone dépasse les {maximum} km² qu'une demande peut couvrir.", { maximum: km2.format(found.maximum_km2) }));
  return { lines, warnings };
}

function start(container) {
  const form = container.closest("form");
  const scenes = JSON.parse(document.getElementById("aoi-scenes")?.textContent || "null") || EMPTY;
  const output = document.getElementById("aoi-estimate");
  const map = new maplibregl.Map({
    container,
    style: { version: 8, sources: { offline: offlineSource(site) }, layers: [...groundLayers(), ...outlineLayers()] },
    center: [2.5, 46.6],
    zoom: 4.3,
    attributionControl: { compact: true },
    boxZoom: false,
    doubleClickZoom: false,
    dragRotate: false,
    locale: { "NavigationControl.ZoomIn": t("Zoom avant"), "NavigationControl.ZoomOut": t("Zoom arrière") },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
  map.on("dataloading", () => (container.dataset.idle = "false"));
  map.on("idle", () => (container.dataset.idle = "true"));

  let corner = null; // the first click of a rectangle being drawn
  let asked = 0;
  let timer;
  const product = () => container.dataset.product || field("product_id")?.value;

  async function estimate() {
    const corners = typed();
    const params = new URLSearchParams();
    if (corners) params.set("bbox", corners.join(","));
    if (container.dataset.scenes) params.set("item_ids", container.dataset.scenes);
    if (field("project_id")?.value) params.set("project_id", field("project_id").value);
    if (!corners && !container.dataset.scenes) {
      output.replaceChildren(t("Dessinez la zone d'intérêt sur la carte ou saisissez son emprise."));
      return;
    }
    const mine = ++asked;
    const response = await fetch(`${site}/ordering/products/${encodeURIComponent(product())}/estimate?${params}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (mine !== asked) return; // a later change answered already
    if (!response.ok) {
      output.replaceChildren(t("Estimation impossible : {reason}", { reason: body.description || response.statusText }));
      output.dataset.state = "error";
      return;
    }
    const { lines, warnings } = describe(body);
    output.replaceChildren(...lines.map((text) => Object.assign(document.createElement("span"), { textContent: text })),
      ...warnings.map((text) => Object.assign(document.createElement("strong"), { textContent: text })));
    output.dataset.state = warnings.length || body.over_quota ? "warning" : "ok";
    output.dataset.area = String(body.area_km2);
  }

  function changed() {
    const corners = typed();
    map.getSource("aoi")?.setData(corners ? { type: "FeatureCollection", features: [box(corners)] } : EMPTY);
    clearTimeout(timer);
    timer = setTimeout(estimate, 250);
  }

  map.on("load", () => {
    map.addSource("scenes", { type: "geojson", data: scenes });
    map.addSource("aoi", { type: "geojson", data: EMPTY });
    map.addSource("draft", { type: "geojson", data: EMPTY });
    map.addLayer({ id: "scenes-fill", type: "fill", source: "scenes", paint: { "fill-color": "#c2571a", "fill-opacity": 0.12 } });
    map.addLayer({ id: "scenes-line", type: "line", source: "scenes", paint: { "line-color": "#c2571a", "line-width": 1.5 } });
    map.addLayer({ id: "aoi-fill", type: "fill", source: "aoi", paint: { "fill-color": "#1f5fa8", "fill-opacity": 0.15 } });
    map.addLayer({ id: "aoi-line", type: "line", source: "aoi", paint: { "line-color": "#1f5fa8", "line-width": 2 } });
    map.addLayer({ id: "draft-line", type: "line", source: "draft", paint: { "line-color": "#d0021b", "line-width": 2, "line-dasharray": [1, 1] } });
    const corners = typed();
    const shown = { type: "FeatureCollection", features: [...scenes.features, ...(corners ? [box(corners)] : [])] };
    if (shown.features.length) map.fitBounds(bounds(shown), { padding: 30, duration: 0, maxZoom: 12 });
    changed();
  });

  map.on("click", (e) => {
    const { lng, lat } = e.lngLat;
    if (!corner) {
      corner = [lng, lat];
      container.dataset.drawing = "true";
      return;
    }
    const corners = [Math.min(corner[0], lng), Math.min(corner[1], lat), Math.max(corner[0], lng), Math.max(corner[1], lat)];
    corner = null;
    container.dataset.drawing = "false";
    map.getSource("draft").setData(EMPTY);
    if (corners[0] < corners[2] && corners[1] < corners[3]) fill(corners);
    changed();
  });
  map.on("mousemove", (e) => {
    if (!corner) return;
    const { lng, lat } = e.lngLat;
    map.getSource("draft").setData(box([Math.min(corner[0], lng), Math.min(corner[1], lat), Math.max(corner[0], lng), Math.max(corner[1], lat)]));
  });
  container.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && corner) {
      corner = null;
      map.getSource("draft").setData(EMPTY);
    }
  });
  for (const name of [...SIDES, "product_id", "project_id"]) field(name)?.addEventListener("input", changed);
  form?.addEventListener("change", (e) => ["f-product_id", "f-project_id"].includes(e.target.id) && changed());
}

const zone = document.getElementById("f-time_zone");
if (zone) zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || zone.value;
const container = document.getElementById("aoi-map");
if (container) {
  container.hidden = false;
  document.getElementById("aoi-estimate").hidden = false;
  start(container);
}
