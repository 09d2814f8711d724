// The share of a zone that a footprint covers, computed in the browser for the listed
// results: the zone's rings clipped by the footprint's convex hull (Sutherland–Hodgman), in
// metres on a plane tangent at the zone (shares of areas a few hundred km wide).
const R = 6371008.8;

function polygons(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Polygon") return [geometry.coordinates];
  if (geometry.type === "MultiPolygon") return geometry.coordinates;
  if (geometry.type === "GeometryCollection") return geometry.geometries.flatMap(polygons);
  return [];
}

function ringArea(ring) {
  let sum = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) sum += (ring[j][0] + ring[i][0]) * (ring[j][1] - ring[i][1]);
  return Math.abs(sum) / 2;
}

function hull(points) {
  const p = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower = [];
  for (const q of p) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], q) <= 0) lower.pop();
    lower.push(q);
  }
  const upper = [];
  for (const q of p.reverse()) {
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], q) <= 0) upper.pop();
    upper.push(q);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1)); // counter-clockwise
}

function clip(ring, convex) {
  let output = ring;
  for (let i = 0; i < convex.length && output.length; i++) {
    const a = convex[i], b = convex[(i + 1) % convex.length];
    const inside = (p) => (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) >= 0;
    const cut = (p, q) => {
      const [x1, y1, x2, y2] = [p[0], p[1], q[0], q[1]];
      const [x3, y3, x4, y4] = [a[0], a[1], b[0], b[1]];
      const d = (x1 - x2) * (y3 - y4) - (y1 - y2) * (x3 - x4);
      const t = ((x1 - x3) * (y3 - y4) - (y1 - y3) * (x3 - x4)) / d;
      return [x1 + t * (x2 - x1), y1 + t * (y2 - y1)];
    };
    const input = output;
    output = [];
    for (let j = 0; j < input.length; j++) {
      const p = input[j], q = input[(j + 1) % input.length];
      if (inside(q)) {
        if (!inside(p)) output.push(cut(p, q));
        output.push(q);
      } else if (inside(p)) output.push(cut(p, q));
    }
  }
  return output;
}

/** The share (0-1) of `zone` that `footprint` covers, or null when either has no area. */
export function coveredShare(footprint, zone) {
  const zones = polygons(zone);
  if (!zones.length || !footprint) return null;
  const lat0 = (zones[0][0][0][1] * Math.PI) / 180;
  const plane = ([lon, lat]) => [(lon * Math.PI / 180) * R * Math.cos(lat0), (lat * Math.PI / 180) * R];
  const zoneRings = zones.map((rings) => rings.map((ring) => ring.slice(0, -1).map(plane)));
  const total = zoneRings.reduce((s, rings) => s + ringArea(rings[0]) - rings.slice(1).reduce((h, r) => h + ringArea(r), 0), 0);
  if (!total) return null;
  let covered = 0;
  for (const part of polygons(footprint)) {
    const convex = hull(part[0].slice(0, -1).map(plane));
    if (convex.length < 3) continue;
    for (const rings of zoneRings) {
      covered += ringArea(clip(rings[0], convex));
      for (const hole of rings.slice(1)) covered -= ringArea(clip(hole, convex));
    }
  }
  return Math.max(0, Math.min(1, covered / total));
}
