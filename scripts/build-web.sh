#!/usr/bin/env bash
# Build the dashboard's third-party browser assets (ECharts, world map, Inter font)
# from the npm registry into src/honeyfarm/views/web/static/vendor/ (`make web`):
# exact versions from web/package-lock.json, then web/build.mjs copies and converts.
set -euo pipefail
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "build-web.sh: node and npm are needed to build the web dashboard's assets (Node 18 or newer)" >&2
    echo "  Debian: apt-get install nodejs npm" >&2
    exit 1
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../web"
npm ci --no-audit --no-fund
node build.mjs
