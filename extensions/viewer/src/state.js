// The viewer's state: the filters of the search, held in the page's URL (copy it, reload it,
// press Back: the same search), and what each API request is made of.
import { config } from "./i18n.js";

export const PRODUCT_TYPES = ["all", "downloadable", "commandable", "pwh"];
export const SORTS = ["-datetime", "datetime", "eo:cloud_cover", "view:incidence_angle"];
export const PAGE_SIZE = 50;

export const EMPTY = {
  type: "all",
  include: [], // platforms asked for
  exclude: [], // platforms left out
  place: null, // {id, name}
  area: null, // {geometry, name}
  from: null, // YYYY-MM-DD
  to: null,
  cloud: null, // maximum %
  angle: null, // maximum °
  sort: "-datetime",
};

export const ALL_PLATFORMS = config.missions.flatMap((m) => m.platforms.map((p) => p.id));
export const PLATFORM_LABELS = Object.fromEntries(
  config.missions.flatMap((m) => m.platforms.map((p) => [p.id, p.label])),
);

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The state a URL says, and what in it could not be read (shown to the user). */
export function readUrl(search) {
  const q = new URLSearchParams(search);
  const state = { ...EMPTY };
  const problems = [];
  const type = q.get("type");
  if (type) PRODUCT_TYPES.includes(type) ? (state.type = type) : problems.push("type");
  for (const key of ["include", "exclude"]) {
    const values = (q.get(key) || "").split(",").filter(Boolean);
    const known = values.filter((v) => ALL_PLATFORMS.includes(v));
    if (known.length !== values.length) problems.push(key);
    state[key] = known;
  }
  if (q.get("place")) state.place = { id: q.get("place"), name: q.get("placeName") || q.get("place") };
  if (q.get("area")) {
    try {
      const geometry = JSON.parse(q.get("area"));
      if (!geometry || typeof geometry.type !== "string") throw new Error("not a geometry");
      state.area = { geometry, name: q.get("areaName") || "" };
    } catch {
      problems.push("area");
    }
  }
  for (const key of ["from", "to"]) {
    const v = q.get(key);
    if (v) DAY.test(v) && !isNaN(Date.parse(v)) ? (state[key] = v) : problems.push(key);
  }
  if (state.from && state.to && state.from > state.to) {
    problems.push("to");
    state.to = null;
  }
  for (const [key, max] of [["cloud", 100], ["angle", 90]]) {
    const v = q.get(key);
    if (v !== null) {
      const n = Number(v);
      Number.isFinite(n) && n >= 0 && n <= max ? (state[key] = n) : problems.push(key);
    }
  }
  const sort = q.get("sort");
  if (sort) SORTS.includes(sort) ? (state.sort = sort) : problems.push("sort");
  return { state, problems };
}

/** The URL query of a state (the map's view and the open item are added by the caller). */
export function writeUrl(state, extra = {}) {
  const q = new URLSearchParams();
  if (state.type !== EMPTY.type) q.set("type", state.type);
  if (state.include.length) q.set("include", state.include.join(","));
  if (state.exclude.length) q.set("exclude", state.exclude.join(","));
  if (state.place) q.set("place", state.place.id), q.set("placeName", state.place.name);
  if (state.area) {
    q.set("area", JSON.stringify(state.area.geometry));
    if (state.area.name) q.set("areaName", state.area.name);
  }
  if (state.from) q.set("from", state.from);
  if (state.to) q.set("to", state.to);
  if (state.cloud !== null) q.set("cloud", String(state.cloud));
  if (state.angle !== null) q.set("angle", String(state.angle));
  if (state.sort !== EMPTY.sort) q.set("sort", state.sort);
  for (const [k, v] of Object.entries(extra)) if (v) q.set(k, v);
  return q.toString();
}

/** The platforms searched: those included, or all but those excluded; null: no restriction. */
export function platforms(state) {
  if (state.include.length) return state.include;
  if (state.exclude.length) return ALL_PLATFORMS.filter((p) => !state.exclude.includes(p));
  return null;
}

function datetime(state) {
  if (!state.from && !state.to) return null;
  const start = state.from ? `${state.from}T00:00:00Z` : "..";
  const end = state.to ? `${state.to}T23:59:59.999Z` : "..";
  return `${start}/${end}`;
}

/** The CQL2-JSON filter of the state's property terms; `without` leaves one term out. */
function filter(state, without) {
  const args = [];
  const wanted = without === "platform" ? null : platforms(state);
  if (wanted) args.push({ op: "in", args: [{ property: "platform" }, wanted] });
  if (state.cloud !== null) args.push({ op: "<=", args: [{ property: "eo:cloud_cover" }, state.cloud] });
  if (state.angle !== null)
    args.push({ op: "<=", args: [{ property: "view:incidence_angle" }, state.angle] });
  if (!args.length) return null;
  return args.length === 1 ? args[0] : { op: "and", args };
}

/** The search body (POST /search, /aggregate); `without`: "platform" or "datetime". */
export function searchBody(state, without) {
  const body = { product_type: state.type };
  const when = without === "datetime" ? null : datetime(state);
  if (when) body.datetime = when;
  const cql2 = filter(state, without);
  if (cql2) (body.filter = cql2), (body["filter-lang"] = "cql2-json");
  if (state.place) body.place = state.place.id;
  else if (state.area) body.intersects = state.area.geometry;
  return body;
}

/** The same search as GET parameters (the footprint tiles). */
export function searchParams(state) {
  const body = searchBody(state);
  const q = new URLSearchParams({ product_type: body.product_type });
  if (body.datetime) q.set("datetime", body.datetime);
  if (body.filter) q.set("filter", JSON.stringify(body.filter)), q.set("filter-lang", "cql2-json");
  if (body.place) q.set("place", body.place);
  if (body.intersects) q.set("intersects", JSON.stringify(body.intersects));
  return q;
}

export function sortby(state) {
  const field = state.sort.replace(/^-/, "");
  return [{ field: field === "datetime" ? "datetime" : `properties.${field}`, direction: state.sort.startsWith("-") ? "desc" : "asc" }];
}
