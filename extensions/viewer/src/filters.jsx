// The search's filters, as in the seed: product type, missions with their live counts
// (include / exclude), places, the timeline, cloud cover and incidence angle, the area.
import { useEffect, useRef, useState } from "preact/hooks";
import { request } from "./api.js";
import { config, formatCompact, formatCount, formatMonth, t } from "./i18n.js";

export function ProductType({ value, onChange }) {
  const choices = [
    ["all", t("Tous")],
    ["downloadable", t("Téléchargeable")],
    ["commandable", t("Commandable")],
    ["pwh", "PWH"],
  ];
  return (
    <fieldset class="segmented">
      <legend>{t("Type de produits")}</legend>
      {choices.map(([key, label]) => (
        <label key={key} class={value === key ? "on" : ""}>
          <input type="radio" name="product_type" value={key} checked={value === key} onChange={() => onChange(key)} />
          {label}
        </label>
      ))}
    </fieldset>
  );
}

export function Missions({ include, exclude, counts, unknown, onChange }) {
  const toggle = (list, other, id) => {
    const next = list.includes(id) ? list.filter((p) => p !== id) : [...list, id];
    return [next, other.filter((p) => p !== id)];
  };
  return (
    <fieldset class="missions">
      <legend>{t("Missions satellitaires")}</legend>
      {config.missions.map((mission) => (
        <div class="mission" key={mission.id}>
          <div class="mission-name">{mission.label}</div>
          {mission.platforms.map((p) => {
            const n = counts?.[p.id] || 0;
            const inc = include.includes(p.id);
            const exc = exclude.includes(p.id);
            return (
              <div class={`platform ${exc ? "excluded" : ""}`} key={p.id}>
                <span class="label">{p.label}</span>
                <span class="count" title={unknown ? t("L'archive Airbus ne donne pas de comptes par satellite.") : formatCount(n)}>
                  {unknown ? "—" : counts ? formatCompact(n) : "…"}</span>
                <button type="button" class="tiny" aria-pressed={inc} aria-label={t("Inclure {name}", { name: p.label })}
                  onClick={() => { const [i, e] = toggle(include, exclude, p.id); onChange(i, e); }}>{t("inclure")}</button>
                <button type="button" class="tiny" aria-pressed={exc} aria-label={t("Exclure {name}", { name: p.label })}
                  onClick={() => { const [e, i] = toggle(exclude, include, p.id); onChange(i, e); }}>{t("exclure")}</button>
              </div>
            );
          })}
        </div>
      ))}
    </fieldset>
  );
}

export function PlaceSearch({ onPlace, onError }) {
  const [text, setText] = useState("");
  const [found, setFound] = useState({ q: "", places: [] });
  const [active, setActive] = useState(-1);
  const timer = useRef(null);
  const controller = useRef(null);
  const suggestions = found.places;
  const lookUp = async (q) => {
    controller.current?.abort();
    controller.current = new AbortController();
    const answer = await request(`/places?q=${encodeURIComponent(q)}&limit=8`, { signal: controller.current.signal });
    setFound({ q, places: answer.places });
    setActive(-1);
    return answer.places;
  };
  useEffect(() => {
    clearTimeout(timer.current);
    const q = text.trim();
    if (q.length < 2) return setFound({ q: "", places: [] });
    timer.current = setTimeout(() => lookUp(q).catch((e) => e.name !== "AbortError" && onError(e.message)), 150);
  }, [text]);
  const choose = (place) => {
    onPlace(place);
    setText("");
    setFound({ q: "", places: [] });
  };
  const submit = async (e) => {
    e.preventDefault();
    const q = text.trim();
    if (!q) return;
    clearTimeout(timer.current);
    try {
      const places = found.q === q ? suggestions : await lookUp(q);
      if (places.length) choose(places[Math.max(active, 0)]);
      else onError(t("Aucun lieu ne correspond à « {text} ».", { text: q }));
    } catch (error) {
      if (error.name !== "AbortError") onError(error.message);
    }
  };
  const kinds = { country: t("pays"), territory: t("territoire"), region: t("région"), departement: t("département"), commune: t("commune") };
  return (
    <form class="place-search" role="search" onSubmit={submit}>
      <label for="place">{t("Lieu : un pays, une région, un département, une ville")}</label>
      <input id="place" type="search" autocomplete="off" value={text} placeholder={t("ex. Montpellier, Hérault, Guyane…")}
        role="combobox" aria-expanded={suggestions.length > 0} aria-controls="place-list" aria-autocomplete="list"
        aria-activedescendant={active >= 0 ? `place-${active}` : undefined}
        onInput={(e) => setText(e.currentTarget.value)}
        onBlur={() => setTimeout(() => setFound((f) => ({ ...f, places: [] })), 150)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") (e.preventDefault(), setActive((a) => Math.min(a + 1, suggestions.length - 1)));
          if (e.key === "ArrowUp") (e.preventDefault(), setActive((a) => Math.max(a - 1, 0)));
          if (e.key === "Escape") setFound((f) => ({ ...f, places: [] }));
        }} />
      {suggestions.length > 0 && (
        <ul id="place-list" role="listbox" aria-label={t("Suggestions de lieux")}>
          {suggestions.map((p, i) => (
            <li id={`place-${i}`} key={p.id} role="option" aria-selected={i === active} class={i === active ? "active" : ""}
              onMouseDown={(e) => (e.preventDefault(), choose(p))}>
              <strong>{p.name}</strong> <span class="muted">{kinds[p.kind] || p.kind}{p.context ? ` · ${p.context}` : ""}</span>
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}

const monthKey = (iso) => iso.slice(0, 7);
function monthsBetween(first, last) {
  const out = [];
  let [y, m] = first.split("-").map(Number);
  const [ly, lm] = last.split("-").map(Number);
  while (y < ly || (y === ly && m <= lm)) {
    out.push(`${y}-${String(m).padStart(2, "0")}`);
    m === 12 ? ((y += 1), (m = 1)) : (m += 1);
  }
  return out;
}
const lastDay = (month) => {
  const [y, m] = month.split("-").map(Number);
  return `${month}-${String(new Date(Date.UTC(y, m, 0)).getUTCDate()).padStart(2, "0")}`;
};
const isoDay = (d) => d.toISOString().slice(0, 10);

/** The monthly histogram of the search (without its period), and the period's two bounds
 * dragged over it (two range inputs: the mouse and the keyboard move them). */
export function Timeline({ buckets, from, to, onChange }) {
  const counts = Object.fromEntries((buckets || []).map((b) => [monthKey(b.key), b.frequency]));
  const keys = Object.keys(counts).sort();
  const months = keys.length ? monthsBetween(keys[0], keys[keys.length - 1]) : [];
  const n = months.length;
  const [range, setRange] = useState(null); // while dragging
  const index = (day, fallback) => {
    if (!day) return fallback;
    const i = months.indexOf(day.slice(0, 7));
    if (i >= 0) return i;
    return day.slice(0, 7) < months[0] ? 0 : n - 1;
  };
  const low = range ? range[0] : index(from, 0);
  const high = range ? range[1] : index(to, n - 1);
  const max = Math.max(1, ...months.map((m) => counts[m] || 0));
  const commit = ([a, b]) => {
    setRange(null);
    onChange(a <= 0 && !from ? null : `${months[a]}-01`, b >= n - 1 && !to ? null : lastDay(months[b]));
  };
  const presets = [
    [t("7 derniers jours"), 7],
    [t("Dernier mois"), 31],
    [t("Dernière année"), 365],
  ];
  return (
    <fieldset class="timeline">
      <legend>{t("Période")}</legend>
      {n > 1 ? (
        <div class="histogram">
          <svg viewBox={`0 0 ${n} 100`} preserveAspectRatio="none" aria-hidden="true">
            {months.map((m, i) => {
              const h = ((counts[m] || 0) / max) * 100;
              return <rect key={m} x={i + 0.1} y={100 - h} width={0.8} height={h} class={i >= low && i <= high ? "in" : "out"} />;
            })}
          </svg>
          <input type="range" min={0} max={n - 1} value={low} aria-label={t("Début de la période")}
            aria-valuetext={formatMonth(`${months[low]}-01`)}
            onInput={(e) => setRange([Math.min(+e.currentTarget.value, high), high])}
            onChange={(e) => commit([Math.min(+e.currentTarget.value, high), high])} />
          <input type="range" min={0} max={n - 1} value={high} aria-label={t("Fin de la période")}
            aria-valuetext={formatMonth(`${months[high]}-01`)}
            onInput={(e) => setRange([low, Math.max(+e.currentTarget.value, low)])}
            onChange={(e) => commit([low, Math.max(+e.currentTarget.value, low)])} />
          <div class="bounds" aria-live="polite">
            <span>{formatMonth(`${months[low]}-01`)}</span>
            <span data-testid="timeline-total">{t("{n} scènes détenues", { n: formatCount(months.slice(low, high + 1).reduce((s, m) => s + (counts[m] || 0), 0)) })}</span>
            <span>{formatMonth(`${months[high]}-01`)}</span>
          </div>
        </div>
      ) : (
        <p class="muted">{buckets ? t("Pas assez de dates pour une frise.") : "…"}</p>
      )}
      <div class="dates">
        <label>{t("Du")} <input type="date" value={from || ""} max={to || undefined} onChange={(e) => onChange(e.currentTarget.value || null, to)} /></label>
        <label>{t("Au")} <input type="date" value={to || ""} min={from || undefined} onChange={(e) => onChange(from, e.currentTarget.value || null)} /></label>
      </div>
      <div class="presets">
        {presets.map(([label, days]) => (
          <button type="button" class="tiny" key={days}
            onClick={() => onChange(isoDay(new Date(Date.now() - days * 86400e3)), isoDay(new Date()))}>{label}</button>
        ))}
      </div>
    </fieldset>
  );
}

export function Bounds({ cloud, angle, onChange }) {
  const field = (key, label, value, max, unit) => (
    <label class="bound">
      <span>{label}</span>
      <input type="range" min={0} max={max} step={1} value={value ?? max}
        onChange={(e) => onChange(key, +e.currentTarget.value >= max ? null : +e.currentTarget.value)} />
      <output>{value === null ? t("tous") : `≤ ${value} ${unit}`}</output>
    </label>
  );
  return (
    <fieldset class="bounds-fields">
      <legend>{t("Qualité")}</legend>
      {field("cloud", t("Couverture nuageuse"), cloud, 100, "%")}
      {field("angle", t("Angle d'incidence"), angle, 60, "°")}
    </fieldset>
  );
}

export function AreaTools({ drawing, hasArea, hasZone, onDraw, onView, onImport, onClear, onCover }) {
  const file = useRef(null);
  return (
    <fieldset class="area-tools">
      <legend>{t("Zone")}</legend>
      <div class="buttons">
        <button type="button" aria-pressed={drawing === "rectangle"} onClick={() => onDraw("rectangle")}><span aria-hidden="true">▭</span> {t("Rectangle")}</button>
        <button type="button" aria-pressed={drawing === "polygon"} onClick={() => onDraw("polygon")}><span aria-hidden="true">⬠</span> {t("Polygone")}</button>
        <button type="button" onClick={onView}>{t("Vue de la carte")}</button>
        <button type="button" onClick={() => file.current.click()}><span aria-hidden="true">⇪</span> {t("Importer")}</button>
        <button type="button" disabled={!hasArea} onClick={onClear}><span aria-hidden="true">✕</span> {t("Effacer")}</button>
      </div>
      <button type="button" class="cover" disabled={!hasZone} onClick={onCover}
        title={hasZone ? "" : t("Choisissez d'abord une zone ou un lieu.")}>{t("Couvrir ma zone")}</button>
      {drawing && (
        <p class="hint" role="status">
          {drawing === "rectangle" ? t("Glissez sur la carte pour tracer le rectangle (Échap : annuler).")
            : t("Cliquez les sommets, double-cliquez ou Entrée pour finir (Échap : annuler).")}
        </p>
      )}
      <input ref={file} type="file" hidden accept=".geojson,.json,.kml,.zip" aria-label={t("Fichier de géométrie (GeoJSON, KML, shapefile zippé)")}
        onChange={(e) => { const f = e.currentTarget.files[0]; e.currentTarget.value = ""; if (f) onImport(f); }} />
    </fieldset>
  );
}
