// STAC Browser's build options (`npm run build:browser`), on top of its own config.js:
// served by the API under /browser/, hash routes (no server-side routing), the catalogue's
// address given at run time by /browser/config.js (window.STAC_BROWSER_CONFIG).
const defaults = require("@radiantearth/stac-browser/config.js");

module.exports = {
  ...defaults,
  catalogTitle: "DINAMIS STAC",
  allowExternalAccess: false,
  pathPrefix: "/browser/",
  historyMode: "hash",
  locale: "fr",
  fallbackLocale: "en",
  supportedLocales: ["fr", "en"],
  detectLocaleFromBrowser: true,
  storeLocale: false,
  socialSharing: [],
  noSourceMaps: true,
};
