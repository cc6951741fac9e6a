#!/bin/sh
# Rebuild the studio's shipped assets (src/itinera/web/static/studio/) from package-lock.json:
# `npm ci` installs exactly the locked versions, then Vite bundles. Run it after changing
# anything under frontend/studio/ and commit the result; installing Itinera never needs Node.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npx vite build
node licenses.mjs
