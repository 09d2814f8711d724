// The map: the offline basemap (vector tiles of the gazetteer's outlines) or an online one,
// the footprints of the whole result set (vector tiles made by PostGIS for the search), the
// loaded page (with the commandable scenes, which are not held here), the searched area and
// the preview of a downloadable scene through the gated tiles.
import maplibregl from "maplibre-gl";
import { request } from "./api.js";
import { groundLayers, offlineSource, outlineLayers } from "./basemap.js";
import { config, t } from "./i18n.js";

const api = (path) => `${config.api}${path}`;
const EMPTY = { type: "FeatureCollection", features: [] };
const BLUE = "#1f5fa8";
const COMMANDABLE = "#c2571a";
const HIGHLIGHT = "#f2b400";

function style() {
  const sources = { offline: offlineSource(config.api) };
  const layers = groundLayers();
  for (const basemap of config.basemaps) {
    sources[basemap.id] = { type: "raster", tiles: [basemap.tiles], tileSize: 256, maxzoom: basemap.max_zoom, attribution: basemap.attribution };
    layers.push({ id: `basemap-${basemap.id}`, type: "raster", source: basemap.id, layout: { visibility: "none" } });
  }
  layers.push(...outlineLayers());
  return { version: 8, sources, layers };
}

/** A downloadable scene's image through the gated tiles (titiler), as layer `id` of `map`:
 * natural colours when it has red, green and blue bands, else near-infrared false colours.
 * Returns the image's bounds (null: no image). */
async function showImage(map, id, item, before) {
  if (map.getLayer(id)) map.removeLayer(id);
  if (map.getSource(id)) map.removeSource(id);
  if (!item) return null;
  // The item's render as the server gives it to a caller who may see its tiles (its bands,
  // natural or false colours, and their scaling by the mission's radiometric depth).
  const render = Object.values(item.properties?.renders || {})[0];
  if (!render) return null;
  const q = new URLSearchParams();
  for (const asset of render.assets) q.append("assets", asset);
  for (const band of render.bidx || []) q.append("bidx", String(band));
  for (const range of render.rescale) q.append("rescale", range.join(","));
  const path = `/collections/${encodeURIComponent(item.collection)}/items/${encodeURIComponent(item.id)}/WebMercatorQuad/tilejson.json`;
  const tilejson = await request(`${path}?${q}`);
  map.addSource(id, { type: "raster", tiles: tilejson.tiles, tileSize: 256, bounds: tilejson.bounds, minzoom: tilejson.minzoom, maxzoom: tilejson.maxzoom });
  map.addLayer({ id, type: "raster", source: id }, before && map.getLayer(before) ? before : undefined);
  return tilejson.bounds;
}

/** Two scenes side by side: two maps kept on the same view, the second one cut at the
 * swipe's position (a range input: the mouse and the keyboard move it). */
export class Swipe {
  constructor(left, right, leftBox, rightBox, view) {
    const options = (container) => ({ container, style: style(), center: view.center, zoom: view.zoom, bearing: view.bearing, attributionControl: false });
    this.left = new maplibregl.Map(options(leftBox));
    this.right = new maplibregl.Map(options(rightBox));
    this.right.addControl(new maplibregl.NavigationControl({ visualizePitch: false }), "top-right");
    this.rightBox = rightBox;
    let syncing = false;
    const follow = (from, to) => () => {
      if (syncing) return;
      syncing = true;
      to.jumpTo({ center: from.getCenter(), zoom: from.getZoom(), bearing: from.getBearing(), pitch: from.getPitch() });
      syncing = false;
    };
    for (const map of [this.left, this.right]) {
      map.on("dataloading", () => (map.getContainer().dataset.idle = "false"));
      map.on("idle", () => (map.getContainer().dataset.idle = "true"));
    }
    this.left.on("move", follow(this.left, this.right));
    this.right.on("move", follow(this.right, this.left));
    this.ready = Promise.all([
      new Promise((r) => this.left.on("load", r)).then(() => showImage(this.left, "image", left)),
      new Promise((r) => this.right.on("load", r)).then(() => showImage(this.right, "image", right)),
    ]).then(([a]) => a && this.right.fitBounds([[a[0], a[1]], [a[2], a[3]]], { padding: 30, duration: 0 }));
    this.at(0.5);
  }

  at(fraction) {
    this.rightBox.style.clipPath = `inset(0 0 0 ${fraction * 100}%)`;
  }

  remove() {
    this.left.remove();
    this.right.remove();
  }
}

export class CatalogueMap {
  constructor(container, { onHover, onClick, onMove }) {
    this.map = new maplibregl.Map({
      container,
      style: style(),
      center: [2.5, 46.6],
      zoom: 4.6,
      attributionControl: { compact: true },
      dragRotate: true,
      locale: {
        "NavigationControl.ZoomIn": t("Zoom avant"),
        "NavigationControl.ZoomOut": t("Zoom arrière"),
        "NavigationControl.ResetBearing": t("Réorienter vers le nord"),
        "ScaleControl.Meters": "m",
        "ScaleControl.Kilometers": "km",
      },
    });
    this.map.addControl(new maplibregl.NavigationControl({ visualizePitch: false }), "top-right");
    this.map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
    this.hovered = null;
    this.ready = new Promise((resolve) => this.map.on("load", resolve));
    this.ready.then(() => this.addLayers());
    this.map.on("mousemove", (e) => {
      if (this.drawing) return;
      const features = this.pick(e.point);
      this.map.getCanvas().style.cursor = features.length ? "pointer" : "";
      onHover(features[0]?.properties.id || null);
    });
    this.map.on("mouseout", () => onHover(null));
    this.map.on("click", (e) => {
      if (this.drawing) return;
      onClick(this.pick(e.point), e.lngLat);
    });
    this.map.on("moveend", () => onMove(this.view()));
    // Whether every tile asked for is drawn (what a script waits for before reading the map).
    this.map.on("dataloading", () => (container.dataset.idle = "false"));
    this.map.on("idle", () => (container.dataset.idle = "true"));
  }

  addLayers() {
    const map = this.map;
    map.addSource("footprints", { type: "vector", tiles: [api("/footprints/{z}/{x}/{y}?product_type=none")], promoteId: "id", maxzoom: 14 });
    map.addSource("page", { type: "geojson", data: EMPTY, promoteId: "key" });
    map.addSource("area", { type: "geojson", data: EMPTY });
    map.addSource("proposal", { type: "geojson", data: EMPTY });
    map.addSource("draft", { type: "geojson", data: EMPTY });
    map.addSource("opened", { type: "geojson", data: EMPTY });
    const hover = ["boolean", ["feature-state", "hover"], false];
    map.addLayer({ id: "footprints-fill", type: "fill", source: "footprints", "source-layer": "footprints",
      paint: { "fill-color": ["case", hover, HIGHLIGHT, BLUE],
        "fill-opacity": ["case", hover, 0.4, 0] } });
    map.addLayer({ id: "footprints-line", type: "line", source: "footprints", "source-layer": "footprints",
      paint: { "line-color": ["case", hover, HIGHLIGHT, BLUE], "line-width": ["case", hover, 2.5, 0.6],
        "line-opacity": ["interpolate", ["linear"], ["zoom"], 4, ["case", hover, 1, 0.12], 9, ["case", hover, 1, 0.8]] } });
    map.addLayer({ id: "page-fill", type: "fill", source: "page",
      paint: { "fill-color": HIGHLIGHT, "fill-opacity": ["case", hover, 0.4, 0] } });
    map.addLayer({ id: "page-line", type: "line", source: "page",
      paint: { "line-color": ["case", hover, HIGHLIGHT, ["get", "color"]], "line-width": ["case", hover, 2.5, 1.2], "line-dasharray": [2, 1] } });
    map.addLayer({ id: "opened-fill", type: "fill", source: "opened", paint: { "fill-color": HIGHLIGHT, "fill-opacity": 0.2 } });
    map.addLayer({ id: "opened-line", type: "line", source: "opened", paint: { "line-color": HIGHLIGHT, "line-width": 3 } });
    map.addLayer({ id: "proposal-line", type: "line", source: "proposal", paint: { "line-color": "#1d6b3a", "line-width": 2.5 } });
    map.addLayer({ id: "area-line", type: "line", source: "area", paint: { "line-color": "#111", "line-width": 2 } });
    map.addLayer({ id: "draft-line", type: "line", source: "draft", paint: { "line-color": "#d0021b", "line-width": 2, "line-dasharray": [1, 1] } });
    map.addLayer({ id: "draft-points", type: "circle", source: "draft", filter: ["==", ["geometry-type"], "Point"], paint: { "circle-radius": 4, "circle-color": "#d0021b" } });
    map.on("error", (e) => {
      // A tile the server refused is reported once, not for every tile of the view.
      if (e.sourceId === "footprints" && !this.tileError) {
        this.tileError = true;
        this.onTileError?.(e.error?.message || "");
      }
    });
  }

  camera() {
    return { center: this.map.getCenter(), zoom: this.map.getZoom(), bearing: this.map.getBearing() };
  }

  view() {
    const c = this.map.getCenter();
    return `${this.map.getZoom().toFixed(2)}/${c.lat.toFixed(4)}/${c.lng.toFixed(4)}`;
  }

  setView(view) {
    const [z, lat, lng] = (view || "").split("/").map(Number);
    if ([z, lat, lng].every(Number.isFinite)) this.map.jumpTo({ zoom: z, center: [lng, lat] });
  }

  pick(point) {
    const box = [[point.x - 3, point.y - 3], [point.x + 3, point.y + 3]];
    const layers = ["page-fill", "footprints-fill"].filter((id) => this.map.getLayer(id));
    const seen = new Set();
    return this.map.queryRenderedFeatures(box, { layers }).filter((f) => {
      const key = `${f.properties.collection}/${f.properties.id}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  async setBasemap(id) {
    await this.ready;
    for (const basemap of config.basemaps)
      this.map.setLayoutProperty(`basemap-${basemap.id}`, "visibility", basemap.id === id ? "visible" : "none");
  }

  async setSearch(params) {
    await this.ready;
    this.tileError = false;
    this.map.getSource("footprints").setTiles([api(`/footprints/{z}/{x}/{y}?${params}`)]);
  }

  async setPage(features) {
    await this.ready;
    const data = {
      type: "FeatureCollection",
      features: features.filter((f) => f.geometry).map((f) => ({
        type: "Feature",
        geometry: f.geometry,
        properties: {
          key: `${f.collection}/${f.id}`, id: f.id, collection: f.collection,
          platform: f.properties.platform, datetime: f.properties.datetime,
          cloud: f.properties["eo:cloud_cover"], angle: f.properties["view:incidence_angle"],
          color: f.collection === config.commandable ? COMMANDABLE : BLUE,
        },
      })),
    };
    this.map.getSource("page").setData(data);
  }

  async setProposal(scenes) {
    await this.ready;
    const features = (scenes || []).map((s) => ({ type: "Feature", geometry: s.geometry, properties: { id: s.id } }));
    this.map.getSource("proposal").setData({ type: "FeatureCollection", features });
  }

  async setArea(geometry) {
    await this.ready;
    this.map.getSource("area").setData(geometry ? { type: "Feature", geometry, properties: {} } : EMPTY);
  }

  async highlight(feature) {
    await this.ready;
    if (this.hovered) {
      for (const [source, layer] of [["footprints", "footprints"], ["page", undefined]])
        this.map.setFeatureState({ source, sourceLayer: layer, id: source === "page" ? this.hovered.key : this.hovered.id }, { hover: false });
    }
    this.hovered = feature;
    if (feature) {
      this.map.setFeatureState({ source: "footprints", sourceLayer: "footprints", id: feature.id }, { hover: true });
      this.map.setFeatureState({ source: "page", id: feature.key }, { hover: true });
    }
  }

  fitTo(bbox) {
    if (bbox && bbox.length === 4 && bbox.every(Number.isFinite))
      this.map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: 40, maxZoom: 13, duration: 600 });
  }

  /** The footprint of the scene whose details are open (none: null), brought into the part
   * of the map `visible` leaves in sight (MapLibre's padding: what a panel or the window's
   * edge hides) when it is not all there already, or too small there to be seen. */
  async showOpened(item, visible) {
    await this.ready;
    const geometry = item?.geometry;
    this.map.getSource("opened").setData(geometry ? { type: "Feature", geometry, properties: {} } : EMPTY);
    const bbox = item?.bbox;
    if (!geometry || !bbox || bbox.length !== 4 || !visible) return;
    const canvas = this.map.getContainer().getBoundingClientRect();
    const seen = { left: visible.left, top: visible.top, right: canvas.width - visible.right, bottom: canvas.height - visible.bottom };
    if (seen.right - seen.left < 80 || seen.bottom - seen.top < 80) return;
    const corners = [[bbox[0], bbox[1]], [bbox[2], bbox[3]]].map((c) => this.map.project(c));
    const inside = corners.every((p) => p.x >= seen.left && p.x <= seen.right && p.y >= seen.top && p.y <= seen.bottom);
    const small = Math.abs(corners[1].x - corners[0].x) < (seen.right - seen.left) / 6
      && Math.abs(corners[1].y - corners[0].y) < (seen.bottom - seen.top) / 6;
    if (!inside || small) this.map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: visible, maxZoom: 13, duration: 400 });
  }

  /** Show a downloadable scene's image on the map, or none. */
  async preview(item) {
    await this.ready;
    const bounds = await showImage(this.map, "preview", item, "footprints-fill");
    if (bounds) this.fitTo(bounds);
  }

  /** Draw a rectangle or a polygon; `done(geometry)` when finished, null when cancelled. */
  draw(kind, done) {
    const map = this.map;
    const points = [];
    let start = null;
    this.drawing = true;
    map.getCanvas().style.cursor = "crosshair";
    map.doubleClickZoom.disable();
    if (kind === "rectangle") map.dragPan.disable();
    const draft = (coordinates, closed) =>
      map.getSource("draft").setData({
        type: "FeatureCollection",
        features: [
          ...(coordinates.length > 1 ? [{ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: closed ? [...coordinates, coordinates[0]] : coordinates } }] : []),
          ...coordinates.map((c) => ({ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: c } })),
        ],
      });
    const box = (a, b) => [[a.lng, a.lat], [b.lng, a.lat], [b.lng, b.lat], [a.lng, b.lat]];
    const finish = (geometry) => {
      this.drawing = false;
      map.getCanvas().style.cursor = "";
      map.dragPan.enable();
      map.doubleClickZoom.enable();
      map.off("mousedown", down), map.off("mousemove", move), map.off("mouseup", up);
      map.off("click", click), map.off("dblclick", dblclick);
      window.removeEventListener("keydown", key);
      map.getSource("draft").setData(EMPTY);
      done(geometry);
    };
    const down = (e) => kind === "rectangle" && (start = e.lngLat);
    const move = (e) => {
      if (kind === "rectangle" && start) draft(box(start, e.lngLat), true);
      if (kind === "polygon" && points.length) draft([...points, [e.lngLat.lng, e.lngLat.lat]], false);
    };
    const up = (e) => {
      if (kind !== "rectangle" || !start) return;
      const ring = box(start, e.lngLat);
      start = null;
      const tiny = Math.abs(ring[0][0] - ring[1][0]) < 1e-6 || Math.abs(ring[0][1] - ring[2][1]) < 1e-6;
      finish(tiny ? null : { type: "Polygon", coordinates: [[...ring, ring[0]]] });
    };
    const click = (e) => {
      if (kind !== "polygon") return;
      points.push([e.lngLat.lng, e.lngLat.lat]);
      draft(points, false);
    };
    const dblclick = (e) => {
      if (kind !== "polygon") return;
      e.preventDefault();
      const ring = points.filter((p, i) => i === 0 || p[0] !== points[i - 1][0] || p[1] !== points[i - 1][1]);
      finish(ring.length >= 3 ? { type: "Polygon", coordinates: [[...ring, ring[0]]] } : null);
    };
    const key = (e) => {
      if (e.key === "Escape") finish(null);
      if (e.key === "Enter" && kind === "polygon" && points.length >= 3) finish({ type: "Polygon", coordinates: [[...points, points[0]]] });
    };
    map.on("mousedown", down), map.on("mousemove", move), map.on("mouseup", up);
    map.on("click", click), map.on("dblclick", dblclick);
    window.addEventListener("keydown", key);
    return () => finish(null);
  }

  /** The map's current view as a rectangle (the keyboard's way to set an area). */
  viewPolygon() {
    const b = this.map.getBounds();
    const [w, s, e, n] = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => Math.round(v * 1e5) / 1e5);
    return { type: "Polygon", coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] };
  }
}
