// The offline basemap: vector tiles of the gazetteer's outlines (countries, regions,
// départements, communes) served by this site, shared by the viewer and the ordering forms.

/** The basemap's source, served from `api` (the site's root, without the trailing slash). */
export const offlineSource = (api) => ({
  type: "vector", tiles: [`${api}/basemap/{z}/{x}/{y}`], maxzoom: 12, attribution: "IGN ADMIN EXPRESS, Natural Earth",
});

/** The sea and the land, drawn below everything. */
export const groundLayers = () => [
  { id: "sea", type: "background", paint: { "background-color": "#dfe9f2" } },
  { id: "land", type: "fill", source: "offline", "source-layer": "places", filter: ["in", ["get", "kind"], ["literal", ["country", "territory"]]], paint: { "fill-color": "#f7f5ef" } },
];

/** The outlines, finer as one zooms in, drawn above the ground (and any raster basemap). */
export function outlineLayers() {
  const outline = (id, kinds, color, width, minzoom, dash) => ({
    id, type: "line", source: "offline", "source-layer": "places", minzoom,
    filter: ["in", ["get", "kind"], ["literal", kinds]],
    paint: { "line-color": color, "line-width": width, ...(dash ? { "line-dasharray": dash } : {}) },
  });
  return [
    outline("communes", ["commune"], "#c9c4b8", 0.5, 9),
    outline("departements", ["departement"], "#a39e92", 0.8, 6, [3, 2]),
    outline("regions", ["region"], "#8a8578", 1.1, 4),
    outline("countries", ["country", "territory"], "#6b675e", 1),
  ];
}
