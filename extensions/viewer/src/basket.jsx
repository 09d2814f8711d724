// The basket: scenes picked across searches. Downloadable ones give one manifest (JSON, with
// freshly signed links) and a resumable download script; commandable ones one archive request.
import { request } from "./api.js";
import { formatDateTime, t } from "./i18n.js";
import { downloadable, isCommandable, itemKey } from "./results.jsx";

const KEY = "dinamis-basket";

export function loadBasket() {
  try {
    const items = JSON.parse(localStorage.getItem(KEY) || "[]");
    return Array.isArray(items) ? items : [];
  } catch {
    return [];
  }
}

export function saveBasket(items) {
  const light = items.map(({ id, collection, bbox, properties }) => ({
    id, collection, bbox,
    properties: { platform: properties.platform, datetime: properties.datetime, "dinamis:access": properties["dinamis:access"] },
  }));
  localStorage.setItem(KEY, JSON.stringify(light));
}

function save(name, text, type) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type }));
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

const quote = (s) => `'${String(s).replaceAll("'", "'\\''")}'`;

/** The basket's downloadable items read again in one search, so that their links are
 * freshly signed. */
async function signed(items) {
  const held = items.filter((f) => !isCommandable(f));
  if (!held.length) return [];
  const wanted = new Set(held.map(itemKey));
  const body = {
    ids: [...new Set(held.map((f) => f.id))],
    collections: [...new Set(held.map((f) => f.collection))],
    limit: held.length,
    conf: { context: "off" },
  };
  const found = await request("/search", { body });
  return found.features.filter((f) => wanted.has(itemKey(f)) && downloadable(f) && f.assets?.data?.href);
}

async function signedOrSaid(items, onNotice) {
  try {
    return await signed(items);
  } catch (error) {
    onNotice(error.message, "error");
    return null;
  }
}

export function Basket({ items, onRemove, onClear, onOrder, onNotice }) {
  if (!items.length) return null;
  const commandable = items.filter(isCommandable);
  const manifest = async () => {
    const ready = await signedOrSaid(items, onNotice);
    if (!ready) return;
    if (!ready.length) return onNotice(t("Aucune scène du panier n'est téléchargeable pour vous."), "error");
    const body = { type: "FeatureCollection", generated: new Date().toISOString(), features: ready };
    save("dinamis-panier.json", JSON.stringify(body, null, 2), "application/geo+json");
  };
  const script = async () => {
    const ready = await signedOrSaid(items, onNotice);
    if (!ready) return;
    if (!ready.length) return onNotice(t("Aucune scène du panier n'est téléchargeable pour vous."), "error");
    const lines = [
      "#!/bin/sh",
      "# DINAMIS: " + t("téléchargement du panier ; relancez le script pour reprendre (curl -C -)."),
      "# " + t("Les liens sont signés pour une durée limitée : regénérez le script s'ils ont expiré."),
      "set -e",
      ...ready.map((f) => {
        const name = `${f.collection}_${f.id}.tif`;
        return `curl -fL --retry 3 -C - -o ${quote(name)} ${quote(f.assets.data.href)}`;
      }),
    ];
    save("dinamis-panier.sh", lines.join("\n") + "\n", "text/x-shellscript");
  };
  return (
    <section class="basket" aria-labelledby="basket-title">
      <h2 id="basket-title">{t("Panier")} ({items.length})</h2>
      <ul>
        {items.map((f) => (
          <li key={itemKey(f)}>
            <span>{f.properties.platform} · {formatDateTime(f.properties.datetime)} {isCommandable(f) && <span class="badge commandable">{t("commandable")}</span>}</span>
            <button type="button" class="close" aria-label={t("Retirer {id} du panier", { id: f.id })} onClick={() => onRemove(f)}>✕</button>
          </li>
        ))}
      </ul>
      <div class="actions">
        <button type="button" onClick={script}>{t("Script de téléchargement")}</button>
        <button type="button" onClick={manifest}>{t("Manifeste (JSON)")}</button>
        {commandable.length > 0 && <button type="button" class="primary" onClick={() => onOrder(commandable)}>{t("Commander les {n} scènes commandables", { n: commandable.length })}</button>}
        <button type="button" class="link" onClick={onClear}>{t("Vider")}</button>
      </div>
    </section>
  );
}
