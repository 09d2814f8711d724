// Messages are written in French; the page carries the catalogue of the chosen language.
const config = JSON.parse(document.getElementById("viewer-config").textContent);
const messages = config.messages || {};

export const lang = config.lang;

/** The message in the page's language, with {name} placeholders filled. */
export function t(french, values) {
  let text = messages[french] || french;
  if (values) for (const [k, v] of Object.entries(values)) text = text.replaceAll(`{${k}}`, v);
  return text;
}

const locale = lang === "en" ? "en-GB" : "fr-FR";
const integer = new Intl.NumberFormat(locale);
const compact = new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 2 });
const dateTime = new Intl.DateTimeFormat(locale, {
  day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit",
  timeZone: "UTC",
});
const day = new Intl.DateTimeFormat(locale, { day: "2-digit", month: "2-digit", year: "numeric", timeZone: "UTC" });
const month = new Intl.DateTimeFormat(locale, { month: "short", year: "numeric", timeZone: "UTC" });

export const formatCount = (n) => integer.format(n);
export const formatCompact = (n) => compact.format(n);
export const formatDateTime = (iso) => (iso ? dateTime.format(new Date(iso)).replace(",", "") : "");
export const formatDay = (iso) => (iso ? day.format(new Date(iso)) : "");
export const formatMonth = (iso) => (iso ? month.format(new Date(iso)) : "");
export { config };
