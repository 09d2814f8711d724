// Builds the viewer (src/) into static/ with esbuild: the catalogue viewer's script and
// stylesheet, and the ordering forms' map (aoi).
// Run by `make install` (npm run build) after `npm ci`.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const result = await build({
  entryPoints: { viewer: `${here}src/main.jsx`, aoi: `${here}src/aoi.js` },
  outdir: `${here}static`,
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "linked",
  logLevel: "warning",
  metafile: true,
});
const outputs = Object.entries(result.metafile.outputs).map(([f, o]) => `${f.split("/").pop()} ${(o.bytes / 1024).toFixed(0)} KB`);
console.log(`viewer and forms' map built: ${outputs.join(", ")}`);
