// The results: their number, a sortable list or quicklooks, more as one scrolls; the details
// of an item with what the caller may do with it (download, copy for QGIS / GDAL, preview on
// the map, order a commandable scene), and why not when they may not.
import { useEffect, useRef, useState } from "preact/hooks";
import { url } from "./api.js";
import { config, formatCount, formatDateTime, t } from "./i18n.js";
import { coveredShare } from "./geometry.js";
import { PLATFORM_LABELS } from "./state.js";

const ACCESS = "dinamis:access";
export const itemKey = (f) => `${f.collection}/${f.id}`;
export const isCommandable = (f) => f.collection === config.commandable;
const platformLabel = (f) => PLATFORM_LABELS[f.properties.platform] || f.properties.platform || f.collection;
const cloud = (f) => (f.properties["eo:cloud_cover"] ?? null);
const angle = (f) => (f.properties["view:incidence_angle"] ?? null);
const number = (v, unit) => (v === null || v === undefined ? "—" : `${Math.round(v)}${unit}`);
export const thumbnail = (f) => (f.assets?.thumbnail || f.assets?.overview)?.href;
export const downloadable = (f) => f.properties[ACCESS] === "downloadable";

export function why(f) {
  const verdict = f.properties[ACCESS];
  if (isCommandable(f)) return t("Scène de l'archive Airbus : elle se commande, elle ne se télécharge pas.");
  return {
    "sign-in required": t("Connectez-vous pour télécharger."),
    "licence missing": t("Votre entité n'a pas accepté la licence de cette collection, ou vous ne l'avez pas certifiée."),
    "outside mission": t("Cette scène est hors de la mission de votre entité (capteurs, période, zone)."),
  }[verdict] || "";
}

const SORTS = [
  ["-datetime", t("Date ↓")],
  ["datetime", t("Date ↑")],
  ["eo:cloud_cover", t("Nuage % ↑")],
  ["view:incidence_angle", t("Angle ° ↑")],
];

function SortHeader({ field, label, sort, onSort }) {
  const current = sort.replace(/^-/, "") === field;
  const next = field === "datetime" && sort === "-datetime" ? "datetime" : field === "datetime" ? "-datetime" : field;
  return (
    <th scope="col" aria-sort={current ? (sort.startsWith("-") ? "descending" : "ascending") : "none"}>
      <button type="button" class="link" onClick={() => onSort(next)}>{label}{current ? (sort.startsWith("-") ? " ↓" : " ↑") : ""}</button>
    </th>
  );
}

export function Results({ page, loading, mode, sort, hovered, selected, zone, onMode, onSort, onHover, onOpen, onMore, onSelect }) {
  const sentinel = useRef(null);
  useEffect(() => {
    if (!sentinel.current) return;
    const observer = new IntersectionObserver((entries) => entries[0].isIntersecting && onMore());
    observer.observe(sentinel.current);
    return () => observer.disconnect();
  }, [sentinel.current, onMore]);
  const features = page?.features || [];
  return (
    <section class="results" aria-labelledby="results-title">
      <div class="results-head">
        <h2 id="results-title">
          {t("Résultats")} <span class="total" data-testid="total">{!page || page.numberMatched === undefined ? "…" : page.numberMatched === null ? "—" : formatCount(page.numberMatched)}</span>
        </h2>
        <label class="sort">
          <span class="sr-only">{t("Trier par")}</span>
          <select value={sort} onChange={(e) => onSort(e.currentTarget.value)} aria-label={t("Trier par")}>
            {SORTS.map(([key, label]) => <option key={key} value={key}>{label}</option>)}
          </select>
        </label>
        <div class="modes" role="group" aria-label={t("Affichage des résultats")}>
          <button type="button" aria-pressed={mode === "list"} onClick={() => onMode("list")}>{t("Liste")}</button>
          <button type="button" aria-pressed={mode === "thumbs"} onClick={() => onMode("thumbs")}>{t("Vignettes")}</button>
        </div>
      </div>
      {page?.archived > 0 && page.archived < page.numberMatched && (
        <p class="sources" data-testid="sources">
          {t("{held} scènes détenues ici · {archived} dans l'archive Airbus, à commander",
            { held: formatCount(page.numberMatched - page.archived), archived: formatCount(page.archived) })}
        </p>
      )}
      {page?.failed && !loading && <p class="empty">{t("Les résultats n'ont pas pu être lus : voir le message en haut de la page.")}</p>}
      {page && !page.failed && !features.length && !loading && <p class="empty">{t("Aucune scène ne correspond à ces filtres.")}</p>}
      {mode === "list" ? (
        <table class="list">
          <thead>
            <tr>
              <th scope="col"><span class="sr-only">{t("Sélection")}</span></th>
              <th scope="col">{t("Capteur")}</th>
              <SortHeader field="datetime" label={t("Date (UTC)")} sort={sort} onSort={onSort} />
              <SortHeader field="eo:cloud_cover" label={t("Nuage %")} sort={sort} onSort={onSort} />
              <SortHeader field="view:incidence_angle" label={t("Angle °")} sort={sort} onSort={onSort} />
              {zone && <th scope="col" title={t("Part de la zone couverte par la scène")}>{t("Zone %")}</th>}
            </tr>
          </thead>
          <tbody>
            {features.map((f) => {
              const key = itemKey(f);
              return (
                <tr key={key} class={`${hovered === f.id ? "hovered" : ""} ${isCommandable(f) ? "commandable" : ""}`}
                  onMouseEnter={() => onHover(f)} onMouseLeave={() => onHover(null)} data-id={f.id}>
                  <td>
                    <input type="checkbox" checked={selected.has(key)} aria-label={t("Sélectionner {id}", { id: f.id })}
                      onChange={() => onSelect(f)} />
                  </td>
                  <td>
                    <button type="button" class="link" onClick={() => onOpen(f)} onFocus={() => onHover(f)}>{platformLabel(f)}</button>
                    {isCommandable(f) && <span class="badge commandable">{t("commandable")}</span>}
                    {downloadable(f) && <span class="badge downloadable" title={t("téléchargeable")}><span aria-hidden="true">⬇</span><span class="sr-only">{t("téléchargeable")}</span></span>}
                  </td>
                  <td>{formatDateTime(f.properties.datetime)}</td>
                  <td data-label={t("Nuage")}>{number(cloud(f), " %")}</td>
                  <td data-label={t("Angle")}>{number(angle(f), "°")}</td>
                  {zone && <td data-label={t("Zone")}>{share(f, zone)}</td>}
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : (
        <ul class="thumbs">
          {features.map((f) => (
            <li key={itemKey(f)} class={hovered === f.id ? "hovered" : ""} onMouseEnter={() => onHover(f)} onMouseLeave={() => onHover(null)}>
              <button type="button" onClick={() => onOpen(f)} aria-label={`${platformLabel(f)} ${formatDateTime(f.properties.datetime)}`}>
                {thumbnail(f) ? <img src={thumbnail(f)} alt="" loading="lazy" /> : <span class="no-thumb">{t("pas de vignette")}</span>}
                <span class="caption">{platformLabel(f)} · {formatDateTime(f.properties.datetime).slice(0, 11)} · {number(cloud(f), " %")}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {loading && <p class="loading" role="status">{t("Chargement…")}</p>}
      {page?.next && !loading && (
        <div ref={sentinel} class="more">
          <button type="button" onClick={onMore}>{t("Plus de résultats")}</button>
        </div>
      )}
    </section>
  );
}

function share(f, zone) {
  const value = coveredShare(f.geometry, zone);
  return value === null ? "—" : `${Math.round(value * 100)} %`;
}

/** The scenes proposed to cover the zone, with what each adds. */
export function CoveragePanel({ proposal, onOpen, onBasket, onClose }) {
  if (!proposal) return null;
  const { scenes, covered, reachable, candidates } = proposal;
  return (
    <section class="coverage" aria-labelledby="coverage-title">
      <header>
        <h2 id="coverage-title">{t("Couverture de ma zone")}</h2>
        <button type="button" class="close" onClick={onClose} aria-label={t("Fermer")}>✕</button>
      </header>
      <p role="status">
        {scenes.length
          ? scenes.length === 1
            ? t("Une scène couvre {p} % de la zone.", { p: Math.round(covered * 1000) / 10 })
            : t("{n} scènes couvrent {p} % de la zone.", { n: scenes.length, p: Math.round(covered * 1000) / 10 })
          : t("Aucune scène de cette recherche ne touche la zone.")}
        {reachable > covered + 0.005 && <> {t("Toutes les scènes ensemble en couvrent {p} %.", { p: Math.round(reachable * 1000) / 10 })}</>}
        {candidates >= 3000 && <> {t("(parmi les 3 000 plus récentes)")}</>}
      </p>
      <ol>
        {scenes.map((s) => (
          <li key={`${s.collection}/${s.id}`}>
            <button type="button" class="link" onClick={() => onOpen(s)}>
              {PLATFORM_LABELS[s.platform] || s.platform} · {formatDateTime(s.datetime)}
            </button>{" "}
            <span class="muted">+{Math.round(s.adds * 100)} % → {Math.round(s.covered * 100)} %</span>
          </li>
        ))}
      </ol>
      {scenes.length > 0 && <button type="button" onClick={() => onBasket(scenes)}>{t("Tout mettre au panier")}</button>}
    </section>
  );
}

export function copyText(text) {
  return navigator.clipboard?.writeText(text).then(() => true, () => false) ?? Promise.resolve(false);
}

export function Details({ item, user, previewed, inBasket, comparing, onClose, onPreview, onQuicklook, onBasket, onOrder, onNotice, onCompare }) {
  const close = useRef(null);
  useEffect(() => close.current?.focus(), [item?.id]);
  if (!item) return null;
  const data = item.assets?.data;
  const gdal = data?.href ? `/vsicurl/${data.href}` : null;
  const self = item.links?.find((l) => l.rel === "self")?.href || url(`/collections/${item.collection}/items/${item.id}`);
  const props = Object.entries(item.properties).filter(([k]) => k !== ACCESS).sort(([a], [b]) => a.localeCompare(b));
  return (
    <aside class="details" aria-labelledby="details-title" role="dialog" aria-modal="false"
      onKeyDown={(e) => e.key === "Escape" && onClose()}>
      <header>
        <h2 id="details-title">{platformLabel(item)} · {formatDateTime(item.properties.datetime)}</h2>
        <button ref={close} type="button" class="close" onClick={onClose} aria-label={t("Fermer")}>✕</button>
      </header>
      {thumbnail(item) && (
        <button type="button" class="quicklook" onClick={() => onQuicklook(item)} aria-label={t("Voir l'aperçu en plein écran")}>
          <img src={item.assets?.overview?.href || thumbnail(item)} alt={t("Aperçu de la scène")} />
        </button>
      )}
      <div class="actions">
        {downloadable(item) && data?.href && (
          <>
            <a class="button primary" href={data.href} download>{t("Télécharger")}</a>
            <button type="button" onClick={async () => onNotice((await copyText(gdal)) ? t("Chemin GDAL / QGIS copié.") : gdal)}>
              {t("Copier pour QGIS / GDAL")}
            </button>
            <button type="button" aria-pressed={previewed} onClick={() => onPreview(item)}>{previewed ? t("Retirer l'aperçu") : t("Aperçu sur la carte")}</button>
            <button type="button" onClick={() => onCompare(item)}>
              {comparing && itemKey(comparing) !== itemKey(item) ? t("Comparer avec la scène de gauche") : t("Comparer (balayage)")}
            </button>
          </>
        )}
        {isCommandable(item) && config.links.archiveOrder && (
          <button type="button" class="primary" onClick={() => onOrder([item])}>{t("Commander la donnée")}</button>
        )}
        {(downloadable(item) || isCommandable(item)) && (
          <button type="button" aria-pressed={inBasket} onClick={() => onBasket(item)}>{inBasket ? t("Retirer du panier") : t("Ajouter au panier")}</button>
        )}
      </div>
      {!downloadable(item) && <p class="why" role="note">{why(item)}{!user && config.links.signIn && !isCommandable(item) && <> <a href={`${config.links.signIn}?suivant=${encodeURIComponent(location.pathname + location.search)}`}>{t("Connexion")}</a></>}</p>}
      {gdal && <p class="gdal"><code>{gdal}</code></p>}
      <h3>{t("Fichiers")}</h3>
      <ul class="assets">
        {Object.entries(item.assets || {}).map(([key, asset]) => (
          <li key={key}><strong>{asset.title || key}</strong> <span class="muted">{asset.type || ""}</span>
            {asset.href && (downloadable(item) || (asset.roles || []).some((r) => ["thumbnail", "overview", "metadata"].includes(r))) && <> · <a href={asset.href}>{t("ouvrir")}</a></>}
          </li>
        ))}
      </ul>
      <h3>{t("Propriétés")}</h3>
      <dl class="properties">
        {props.map(([k, v]) => (
          <div key={k}><dt>{k}</dt><dd>{typeof v === "object" ? JSON.stringify(v) : String(v)}</dd></div>
        ))}
      </dl>
      <p><a href={self} target="_blank" rel="noopener">{t("Notice STAC (JSON)")}</a></p>
    </aside>
  );
}

export function PickList({ pick, onOpen, onClose }) {
  if (!pick) return null;
  return (
    <div class="pick" role="dialog" aria-label={t("Scènes sous le clic")} style={{ left: `${pick.x}px`, top: `${pick.y}px` }}
      onKeyDown={(e) => e.key === "Escape" && onClose()}>
      <header><strong>{t("{n} scènes ici", { n: pick.features.length })}</strong>
        <button type="button" class="close" onClick={onClose} aria-label={t("Fermer")}>✕</button></header>
      <ul>
        {pick.features.slice(0, 12).map((f) => (
          <li key={`${f.properties.collection}/${f.properties.id}`}>
            <button type="button" class="link" onClick={() => onOpen(f.properties)}>
              {PLATFORM_LABELS[f.properties.platform] || f.properties.platform} · {formatDateTime(f.properties.datetime)} · {number(f.properties.cloud, " %")}
            </button>
          </li>
        ))}
      </ul>
      {pick.features.length > 12 && <p class="muted">{t("et {n} autres : zoomez pour les séparer.", { n: pick.features.length - 12 })}</p>}
    </div>
  );
}

export function Quicklook({ item, onClose }) {
  const close = useRef(null);
  useEffect(() => close.current?.focus(), [item]);
  if (!item) return null;
  return (
    <div class="lightbox" role="dialog" aria-modal="true" aria-label={t("Aperçu en plein écran")} onClick={onClose}
      onKeyDown={(e) => e.key === "Escape" && onClose()}>
      <img src={item.assets?.overview?.href || thumbnail(item)} alt={t("Aperçu de la scène {id}", { id: item.id })} />
      <button ref={close} type="button" class="close" onClick={onClose} aria-label={t("Fermer")}>✕</button>
    </div>
  );
}
