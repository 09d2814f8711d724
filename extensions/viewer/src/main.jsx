// The catalogue viewer: filters → one search, whose counts, timeline, first page and
// footprint tiles follow every change; the whole state in the URL.
import "maplibre-gl/dist/maplibre-gl.css";
import "./viewer.css";
import { render } from "preact";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { request } from "./api.js";
import { AreaTools, Bounds, Missions, PlaceSearch, ProductType, Timeline } from "./filters.jsx";
import { config, formatCount, formatDay, lang, t } from "./i18n.js";
import { CatalogueMap, Swipe } from "./map.js";
import { CoveragePanel, Details, PickList, Quicklook, Results, isCommandable, itemKey } from "./results.jsx";
import { Basket, loadBasket, saveBasket } from "./basket.jsx";
import { EMPTY, PAGE_SIZE, PLATFORM_LABELS, platforms as platformFilter, readUrl, searchBody, searchParams, sortby, writeUrl } from "./state.js";

const csrf = JSON.parse(document.getElementById("viewer-csrf").textContent);

function Header({ user }) {
  const other = lang === "fr" ? "en" : "fr";
  const switchTo = () => {
    const q = new URLSearchParams(location.search);
    q.set("lang", other);
    return `${location.pathname}?${q}`;
  };
  const links = config.links;
  return (
    <header class="bar">
      <a class="brand" href="/catalogue"><strong>DINAMIS</strong> <span>{t("Catalogue")}</span></a>
      <nav aria-label={t("Navigation principale")}>
        {links.portal && <a href={links.portal}>{t("Portail")}</a>}
        {links.orders && user && <a href={links.orders}>{t("Demandes d'imagerie")}</a>}
        <a href={links.api}>API</a>
        <a href={switchTo()} hreflang={other} lang={other} aria-label={other === "en" ? "EN, English version" : "FR, version française"}>{other.toUpperCase()}</a>
        {user ? (
          <>
            <a class="who" href={links.account || "#"} title={user.entity || ""}>{user.name}</a>
            {links.signOut && (
              <form method="post" action={links.signOut} class="inline">
                <input type="hidden" name={csrf.field} value={csrf.token} />
                <button type="submit" class="link">{t("Déconnexion")}</button>
              </form>
            )}
          </>
        ) : (
          links.signIn && <a class="who" href={`${links.signIn}?suivant=${encodeURIComponent(location.pathname + location.search)}`}>{t("Connexion")}</a>
        )}
      </nav>
    </header>
  );
}

function Chips({ state, placeName, onChange, onClear }) {
  const chips = [];
  const types = { downloadable: t("Téléchargeable"), commandable: t("Commandable"), pwh: "PWH" };
  if (state.type !== "all") chips.push([t("Type : {v}", { v: types[state.type] }), { type: "all" }]);
  for (const p of state.include) chips.push([`+ ${PLATFORM_LABELS[p]}`, { include: state.include.filter((x) => x !== p) }]);
  for (const p of state.exclude) chips.push([`− ${PLATFORM_LABELS[p]}`, { exclude: state.exclude.filter((x) => x !== p) }]);
  // An address naming the place by its id only: its name once read.
  const place = state.place && state.place.name === state.place.id ? placeName || state.place.id : state.place?.name;
  if (state.place) chips.push([t("Lieu : {v}", { v: place }), { place: null }]);
  const drawn = t("dessinée");
  if (state.area) chips.push([t("Zone : {v}", { v: state.area.name || drawn }), { area: null }]);
  if (state.from || state.to)
    chips.push([`${state.from ? formatDay(state.from) : "…"} → ${state.to ? formatDay(state.to) : "…"}`, { from: null, to: null }]);
  if (state.cloud !== null) chips.push([t("Nuage ≤ {v} %", { v: state.cloud }), { cloud: null }]);
  if (state.angle !== null) chips.push([t("Angle ≤ {v}°", { v: state.angle }), { angle: null }]);
  return (
    <nav class="chips" aria-label={t("Fil d'Ariane de la recherche")}>
      {chips.length === 0 && <span class="muted">{t("Aucun filtre : tout le catalogue.")}</span>}
      <ul>
        {chips.map(([label, change]) => (
          <li key={label} class="chip">
            <span>{label}</span>
            <button type="button" aria-label={t("Retirer le filtre {v}", { v: label })} onClick={() => onChange(change)}>×</button>
          </li>
        ))}
      </ul>
      {chips.length > 0 && <button type="button" class="link clear" onClick={onClear}>{t("Tout effacer")}</button>}
    </nav>
  );
}

// The counts made without one of the filters (the missions', the timeline's) do not change
// when only that filter does: dragging the period asks for the timeline once.
const aggregates = new Map();
function remembered(body) {
  const key = JSON.stringify(body);
  if (!aggregates.has(key)) {
    const answer = request("/aggregate", { body });
    aggregates.set(key, answer);
    answer.catch(() => aggregates.delete(key));
    if (aggregates.size > 20) aggregates.delete(aggregates.keys().next().value);
  }
  return aggregates.get(key);
}

function SwipeView({ left, right, camera, onClose, onError }) {
  const leftBox = useRef(null);
  const rightBox = useRef(null);
  const swipe = useRef(null);
  const [position, setPosition] = useState(50);
  useEffect(() => {
    swipe.current = new Swipe(left, right, leftBox.current, rightBox.current, camera);
    swipe.current.ready.catch((error) => onError(error.message));
    return () => swipe.current.remove();
  }, [left, right]);
  useEffect(() => swipe.current?.at(position / 100), [position]);
  const label = (f) => `${PLATFORM_LABELS[f.properties.platform] || f.collection} · ${formatDay(f.properties.datetime)}`;
  return (
    <div class="swipe" role="region" aria-label={t("Comparaison de deux scènes")}>
      <div ref={leftBox} class="swipe-map" />
      <div ref={rightBox} class="swipe-map" />
      <div class="swipe-line" style={{ left: `${position}%` }} aria-hidden="true" />
      <div class="swipe-labels"><span>{label(left)}</span><span>{label(right)}</span></div>
      <div class="swipe-bar">
        <input type="range" min={0} max={100} value={position} aria-label={t("Position du balayage")}
          onInput={(e) => setPosition(+e.currentTarget.value)} />
        <button type="button" class="primary" onClick={onClose}>{t("Fermer la comparaison")}</button>
      </div>
    </div>
  );
}

function App() {
  const initial = useMemo(() => readUrl(location.search), []);
  const [state, setState] = useState(initial.state);
  const [notices, setNotices] = useState(
    initial.problems.length ? [{ kind: "error", text: t("Une partie de l'adresse n'a pas pu être lue ({fields}) : ces filtres sont ignorés.", { fields: initial.problems.join(", ") }) }] : [],
  );
  const [page, setPage] = useState(null);
  const [loading, setLoading] = useState(false);
  const [platformCounts, setPlatformCounts] = useState(null);
  const [timeline, setTimeline] = useState(null);
  const [mode, setMode] = useState(new URLSearchParams(location.search).get("view") === "thumbs" ? "thumbs" : "list");
  const [hovered, setHovered] = useState(null);
  const [open, setOpen] = useState(null);
  const [pick, setPick] = useState(null);
  const [quicklook, setQuicklook] = useState(null);
  const [drawing, setDrawing] = useState(null);
  const [previewed, setPreviewed] = useState(null);
  const [basemap, setBasemap] = useState("offline");
  const [selected, setSelected] = useState(new Map());
  const [basket, setBasket] = useState(loadBasket);
  const [filtersOpen, setFiltersOpen] = useState(false);
  const [placeOutline, setPlaceOutline] = useState(null);
  const [proposal, setProposal] = useState(null);
  const [compare, setCompare] = useState({ left: null, right: null });
  const [zoom, setZoom] = useState(null);
  const mapBox = useRef(null);
  const map = useRef(null);
  const controller = useRef(null);
  const stopDrawing = useRef(null);
  const pageRef = useRef(null);
  pageRef.current = page;

  const notice = useCallback((text, kind = "info") => {
    const entry = { kind, text };
    setNotices((n) => [...n.slice(-2), entry]);
    // Information fades after a while; errors stay until closed.
    if (kind !== "error") setTimeout(() => setNotices((n) => n.filter((x) => x !== entry)), 8000);
  }, []);
  const fail = useCallback((text) => notice(text, "error"), [notice]);

  // The state is the URL: a change is a new history entry; Back restores the previous search.
  const change = useCallback((patch) => {
    setState((current) => {
      const next = { ...current, ...patch };
      if ("place" in patch && patch.place) next.area = null;
      if ("area" in patch && patch.area) next.place = null;
      return next;
    });
  }, []);
  const written = useRef(false);
  useEffect(() => {
    const view = map.current?.view() || new URLSearchParams(location.search).get("map");
    const query = writeUrl(state, { view: mode === "thumbs" ? "thumbs" : null, map: view });
    // The address as opened is tidied, not added to the history; each change is.
    const first = !written.current;
    written.current = true;
    if (query !== location.search.slice(1))
      history[first ? "replaceState" : "pushState"](null, "", `${location.pathname}?${query}`);
  }, [state, mode]);
  useEffect(() => {
    const back = () => {
      const read = readUrl(location.search);
      setState(read.state);
      map.current?.setView(new URLSearchParams(location.search).get("map"));
    };
    window.addEventListener("popstate", back);
    return () => window.removeEventListener("popstate", back);
  }, []);

  useEffect(() => {
    map.current = new CatalogueMap(mapBox.current, {
      onHover: (id) => setHovered(id),
      onClick: (features, lngLat) => {
        if (!features.length) return setPick(null);
        if (features.length === 1) return openFeature(features[0].properties);
        const point = map.current.map.project(lngLat);
        setPick({ features, x: Math.min(point.x, mapBox.current.clientWidth - 300), y: point.y });
      },
      onMove: (view) => {
        setZoom(Number(view.split("/")[0]));
        const q = new URLSearchParams(location.search);
        q.set("map", view);
        history.replaceState(null, "", `${location.pathname}?${q}`);
      },
    });
    map.current.onTileError = (message) => fail(t("Les emprises n'ont pas pu être dessinées : {m}", { m: message }));
    map.current.setView(new URLSearchParams(location.search).get("map"));
    return () => map.current.map.remove();
  }, []);

  // Every change: the first page, the missions' counts (without the missions filter), the
  // timeline (without the period) and the footprint tiles, side by side.
  useEffect(() => {
    controller.current?.abort();
    const abort = (controller.current = new AbortController());
    const signal = abort.signal;
    setLoading(true);
    setPick(null);
    setProposal(null);
    map.current.setProposal(null);
    if (!state.place) setPlaceOutline(null);
    map.current.setSearch(searchParams(state));
    map.current.setArea(state.area?.geometry || null);
    // One count of the whole search gives the number of results, and the missions' counts
    // and the timeline when the search has no mission or period of its own; otherwise those
    // are counted without them, beside it. The page itself is not counted again.
    const full = searchBody(state);
    // By collection too: the Airbus archive's part of the number, which the missions' counts
    // and the timeline (the scenes held here) leave out.
    const aggregations = ["total_count", "collection_frequency"];
    if (!platformFilter(state)) aggregations.push("platform_frequency");
    if (!full.datetime) aggregations.push("datetime_frequency");
    let first = null; // the first page, and the number of results, as they come
    let matched;
    let archived = null;
    const publish = () => first && !signal.aborted && setPage({ ...first, numberMatched: matched, archived });
    const frequencies = (r, name) => r.aggregations.find((a) => a.name === name)?.buckets || [];
    const byPlatform = (buckets) => Object.fromEntries(buckets.map((b) => [b.key, b.frequency]));
    const pageRequest = request("/search", { body: { ...full, sortby: sortby(state), limit: PAGE_SIZE, conf: { context: "off" } }, signal })
      .then((result) => {
        first = { ...result, next: result.links?.find((l) => l.rel === "next") };
        publish();
        map.current.setPage(result.features);
      });
    // The timeline first: while the server counts it, it counts the search with its period
    // from the same rows.
    const timeline = full.datetime ? remembered({ ...searchBody(state, "datetime"), aggregations: ["datetime_frequency"] }) : null;
    const total = request("/aggregate", { body: { ...full, aggregations }, signal }).catch((error) => {
      matched = null; // not counted: said as such, not left spinning
      publish();
      throw error;
    }).then((r) => {
      matched = r.aggregations.find((a) => a.name === "total_count")?.value ?? 0;
      archived = frequencies(r, "collection_frequency").find((b) => b.key === config.commandable)?.frequency ?? 0;
      publish();
      if (aggregations.includes("platform_frequency")) setPlatformCounts(byPlatform(frequencies(r, "platform_frequency")));
      if (aggregations.includes("datetime_frequency")) setTimeline(frequencies(r, "datetime_frequency"));
    });
    const counts = platformFilter(state)
      ? remembered({ ...searchBody(state, "platform"), aggregations: ["platform_frequency"] })
        .then((r) => signal.aborted || setPlatformCounts(byPlatform(frequencies(r, "platform_frequency"))))
      : total;
    const months = timeline
      ? timeline.then((r) => signal.aborted || setTimeline(frequencies(r, "datetime_frequency")))
      : total;
    Promise.allSettled([pageRequest, total, counts, months]).then((outcomes) => {
      if (signal.aborted) return;
      setLoading(false);
      const messages = new Set(outcomes.filter((o) => o.status === "rejected" && o.reason.name !== "AbortError").map((o) => o.reason.message));
      for (const m of messages) fail(m);
      // The results could not be read: say nothing rather than "no results".
      if (outcomes[0].status === "rejected") setPage({ features: [], numberMatched: null, failed: true });
    });
    if (state.place) {
      request(`/places/${encodeURIComponent(state.place.id)}`, { signal })
        .then((place) => {
          setPlaceOutline({ geometry: place.geometry, name: place.properties?.name });
          map.current.setArea(place.geometry);
          map.current.fitTo(place.bbox);
        })
        .catch((e) => e.name !== "AbortError" && fail(e.message));
    }
  }, [state]);

  const more = useCallback(async () => {
    const current = pageRef.current;
    if (!current?.next || loading) return;
    setLoading(true);
    try {
      const next = current.next;
      const path = next.href.replace(config.api, "");
      const result = await request(path, next.method === "POST" ? { body: next.body } : {});
      const features = [...current.features, ...result.features];
      setPage({ ...current, features, next: result.links?.find((l) => l.rel === "next") });
      map.current.setPage(features);
    } catch (error) {
      fail(error.message);
    } finally {
      setLoading(false);
    }
  }, [loading]);

  async function openFeature(props) {
    setPick(null);
    const loaded = pageRef.current?.features.find((f) => f.id === props.id && f.collection === props.collection);
    if (loaded) return setOpen(loaded);
    try {
      setOpen(await request(`/collections/${encodeURIComponent(props.collection)}/items/${encodeURIComponent(props.id)}`));
    } catch (error) {
      fail(error.message);
    }
  }

  // An item opened: its footprint in sight on the map, above the panel (a bottom sheet on a
  // phone, where the map is first scrolled back into the window); closed: back where it
  // was opened from, in the results.
  const openedFrom = useRef(null);
  useEffect(() => {
    if (!open) {
      map.current.showOpened(null);
      const from = openedFrom.current;
      openedFrom.current = null;
      if (from) {
        window.scrollTo(0, from.scroll);
        from.element?.focus({ preventScroll: true });
      }
      return;
    }
    openedFrom.current ||= { scroll: window.scrollY, element: document.activeElement };
    const box = mapBox.current;
    if (box.getBoundingClientRect().top < 0) box.parentElement.scrollIntoView({ block: "start" });
    const canvas = box.getBoundingClientRect();
    const panel = document.querySelector(".details")?.getBoundingClientRect();
    // What hides the map: the window's edges and a panel across its whole width below it.
    const sheet = panel && panel.left <= canvas.left + 1 && panel.right >= canvas.right - 1 ? panel.top : Infinity;
    const bottom = Math.min(window.innerHeight, sheet);
    const margin = 24;
    map.current.showOpened(open, {
      top: Math.max(0, -canvas.top) + margin,
      bottom: Math.max(0, canvas.bottom - bottom) + margin,
      left: margin,
      right: margin + 40, // the zoom buttons
    });
  }, [open]);

  // A row or a footprint hovered: both are highlighted, here, whichever was hovered.
  const hover = (f) => setHovered(f?.id || null);
  useEffect(() => {
    const f = pageRef.current?.features.find((x) => x.id === hovered);
    map.current.highlight(hovered ? { id: hovered, key: f ? itemKey(f) : hovered } : null);
  }, [hovered]);

  const draw = (kind) => {
    if (stopDrawing.current) stopDrawing.current();
    if (drawing === kind) return;
    setDrawing(kind);
    stopDrawing.current = map.current.draw(kind, (geometry) => {
      stopDrawing.current = null;
      setDrawing(null);
      if (geometry) change({ area: { geometry, name: kind === "rectangle" ? t("rectangle") : t("polygone") } });
    });
  };
  const importFile = async (file) => {
    const form = new FormData();
    form.append("file", file);
    try {
      const imported = await request("/geometries", { form });
      change({ area: { geometry: imported.intersects, name: imported.name } });
      map.current.fitTo(imported.bbox);
      if (imported.simplified) notice(t("Géométrie simplifiée (tolérance {m} m) pour la recherche.", { m: imported.tolerance_m }));
    } catch (error) {
      fail(t("Fichier « {name} » refusé : {m}", { name: file.name, m: error.message }));
    }
  };

  const order = (items) => {
    const scenes = items.filter(isCommandable).map((f) => `scene=${encodeURIComponent(f.id)}`);
    if (!scenes.length) return;
    if (!config.user && config.links.signIn) {
      location.href = `${config.links.signIn}?suivant=${encodeURIComponent(`${config.links.archiveOrder}?${scenes.join("&")}`)}`;
      return;
    }
    location.href = `${config.links.archiveOrder}?${scenes.join("&")}`;
  };
  const toggleSelected = (f) => setSelected((s) => {
    const next = new Map(s);
    next.has(itemKey(f)) ? next.delete(itemKey(f)) : next.set(itemKey(f), f);
    return next;
  });
  const toggleBasket = (f) => setBasket((b) => {
    const next = b.some((x) => itemKey(x) === itemKey(f)) ? b.filter((x) => itemKey(x) !== itemKey(f)) : [...b, f];
    saveBasket(next);
    return next;
  });
  const preview = (item) => {
    const same = previewed && itemKey(previewed) === itemKey(item);
    map.current.preview(same ? null : item).catch((error) => fail(error.message));
    setPreviewed(same ? null : item);
  };
  const compareWith = (item) => {
    if (!compare.left || itemKey(compare.left) === itemKey(item)) {
      setCompare({ left: item, right: null });
      notice(t("Scène de gauche choisie : ouvrez une autre scène téléchargeable et choisissez « Comparer »."));
    } else {
      setCompare({ left: compare.left, right: item });
      setOpen(null);
    }
  };
  const chosenBasemap = (id) => {
    setBasemap(id);
    map.current.setBasemap(id);
  };
  const zone = state.area?.geometry || (state.place ? placeOutline?.geometry : null);
  const cover = async () => {
    try {
      const found = await request("/coverage", { body: searchBody(state) });
      setProposal(found);
      map.current.setProposal(found.scenes);
    } catch (error) {
      fail(error.message);
    }
  };
  const basketAll = (scenes) => {
    const known = new Set(basket.map(itemKey));
    const added = scenes.filter((s) => !known.has(itemKey(s))).map((s) => ({
      id: s.id, collection: s.collection, properties: { platform: s.platform, datetime: s.datetime, "dinamis:access": null },
    }));
    const next = [...basket, ...added];
    saveBasket(next);
    setBasket(next);
  };
  const selectedItems = [...selected.values()];
  const commandableSelected = selectedItems.filter(isCommandable);

  return (
    <div class={`layout ${filtersOpen ? "filters-open" : ""}`}>
      <a class="skip" href="#results-title">{t("Aller aux résultats")}</a>
      <Header user={config.user} />
      <div class="notices">
        {notices.map((n, i) => (
          <p key={i} class={`notice ${n.kind}`} role={n.kind === "error" ? "alert" : "status"}>{n.text}
            <button type="button" class="close" aria-label={t("Fermer le message")} onClick={() => setNotices((all) => all.filter((_, j) => j !== i))}>✕</button>
          </p>
        ))}
      </div>
      <button type="button" class="filters-toggle" aria-expanded={filtersOpen} aria-controls="filters" onClick={() => setFiltersOpen(!filtersOpen)}>
        {filtersOpen ? t("Masquer les filtres") : t("Filtres")}
      </button>
      <aside id="filters" class="filters" aria-label={t("Filtres de recherche")}>
        <PlaceSearch onPlace={(place) => change({ place: { id: place.id, name: place.name } })} onError={fail} />
        <ProductType value={state.type} onChange={(type) => change({ type })} />
        <Missions include={state.include} exclude={state.exclude} counts={platformCounts} unknown={state.type === "commandable"} onChange={(include, exclude) => change({ include, exclude })} />
        <Timeline buckets={timeline} from={state.from} to={state.to} onChange={(from, to) => change({ from, to })} />
        <Bounds cloud={state.cloud} angle={state.angle} onChange={(key, value) => change({ [key]: value })} />
        <AreaTools drawing={drawing} hasArea={!!state.area} hasZone={!!zone} onDraw={draw} onImport={importFile} onCover={cover}
          onView={() => change({ area: { geometry: map.current.viewPolygon(), name: t("vue de la carte") } })}
          onClear={() => change({ area: null, place: null })} />
      </aside>
      <main class="main">
        <Chips state={state} placeName={placeOutline?.name} onChange={change} onClear={() => change({ ...EMPTY })} />
        <div class="map-wrap">
          <div ref={mapBox} class="map" role="region" aria-label={t("Carte des emprises")} />
          <div class="basemaps">
            <label for="basemap">{t("Fond de carte")}</label>
            <select id="basemap" value={basemap} onChange={(e) => chosenBasemap(e.currentTarget.value)}>
              <option value="offline">{t("Contours (hors ligne)")}</option>
              {config.basemaps.map((b) => <option key={b.id} value={b.id}>{lang === "en" && b.name_en ? b.name_en : b.name}</option>)}
            </select>
          </div>
          {page?.numberMatched > config.footprintsPerTile && zoom !== null && zoom < 8 && (
            <p class="map-note" role="note">
              {t("À cette échelle, une tuile montre au plus {n} emprises : zoomez pour les voir toutes.", { n: formatCount(config.footprintsPerTile) })}
            </p>
          )}
          <PickList pick={pick} onOpen={openFeature} onClose={() => setPick(null)} />
          {compare.left && compare.right && (
            <SwipeView left={compare.left} right={compare.right} camera={map.current.camera()} onError={fail}
              onClose={() => setCompare({ left: null, right: null })} />
          )}
        </div>
      </main>
      <div class="side">
        {commandableSelected.length > 0 && config.links.archiveOrder && (
          <div class="selection" role="region" aria-label={t("Sélection")}>
            <span>{t("{n} scène(s) commandable(s) sélectionnée(s)", { n: commandableSelected.length })}</span>
            <button type="button" class="primary" onClick={() => order(commandableSelected)}>{t("Commander la sélection")}</button>
            <button type="button" class="link" onClick={() => setSelected(new Map())}>{t("Désélectionner")}</button>
          </div>
        )}
        {selectedItems.length > 0 && (
          <button type="button" class="link" onClick={() => { selectedItems.forEach((f) => basket.some((b) => itemKey(b) === itemKey(f)) || toggleBasket(f)); setSelected(new Map()); }}>
            {t("Mettre la sélection au panier")}
          </button>
        )}
        <CoveragePanel proposal={proposal} onOpen={openFeature} onBasket={basketAll}
          onClose={() => { setProposal(null); map.current.setProposal(null); }} />
        <Basket items={basket} onRemove={toggleBasket} onClear={() => { saveBasket([]); setBasket([]); }} onOrder={order} onNotice={notice} />
        <Results page={page} loading={loading} mode={mode} sort={state.sort} hovered={hovered} selected={selected} zone={zone}
          onMode={setMode} onSort={(sort) => change({ sort })} onHover={hover} onOpen={setOpen} onMore={more} onSelect={toggleSelected} />
      </div>
      <Details item={open} user={config.user} previewed={previewed && open && itemKey(previewed) === itemKey(open)}
        inBasket={open && basket.some((b) => itemKey(b) === itemKey(open))}
        comparing={compare.left} onCompare={compareWith}
        onClose={() => setOpen(null)} onPreview={preview} onQuicklook={setQuicklook} onBasket={toggleBasket} onOrder={order} onNotice={notice} />
      <Quicklook item={quicklook} onClose={() => setQuicklook(null)} />
    </div>
  );
}

render(<App />, document.getElementById("app"));
