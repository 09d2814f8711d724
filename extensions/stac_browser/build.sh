#!/usr/bin/env bash
# Builds Radiant Earth's STAC Browser (the pinned npm package) into extensions/stac_browser/static/,
# served by the API under /browser/ (`npm run build:browser`, run by `make install`). Its
# sources expect their own node_modules/ beside them: they are built from a copy whose
# node_modules/ is the project's.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=build/stac-browser
rm -rf "$work"
mkdir -p build
cp -r node_modules/@radiantearth/stac-browser "$work"
rm -rf "$work/node_modules"
ln -s ../../node_modules "$work/node_modules"
cd "$work"
../../node_modules/.bin/vue-cli-service build --dest ../../extensions/stac_browser/static \
    --CONFIG="$PWD/../../extensions/stac_browser/stac-browser.config.js"
