// SPDX-License-Identifier: MIT
// Copies the dashboard's third-party browser assets from node_modules/ into
// src/honeyfarm/views/web/static/vendor/ (no bundler): ECharts, a world map as
// GeoJSON keyed by ISO 3166-1 alpha-2 code, the Inter font and every licence.
// Run by scripts/build-web.sh after `npm ci`; writes vendor/.built last.

import { createRequire } from 'node:module';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

import { feature, merge } from 'topojson-client';
import { geoArea, geoCentroid } from 'd3-geo';
import countries from 'i18n-iso-countries';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, 'node_modules');
const out = resolve(here, '..', 'src', 'honeyfarm', 'views', 'web', 'static', 'vendor');

function pkgDir(name) {
  const dir = join(modules, ...name.split('/'));
  if (!existsSync(join(dir, 'package.json'))) die(`${name} is not installed in web/node_modules: run \`npm ci\``);
  return dir;
}

function pkgVersion(name) {
  return JSON.parse(readFileSync(join(pkgDir(name), 'package.json'), 'utf8')).version;
}

function die(msg) {
  console.error(`build.mjs: ${msg}`);
  process.exit(1);
}

if (!existsSync(modules)) die('web/node_modules is missing: run `npm ci` in web/ first');

rmSync(join(out, '.built'), { force: true });
mkdirSync(join(out, 'fonts'), { recursive: true });
mkdirSync(join(out, 'licenses'), { recursive: true });

// ------------------------------------------------------------------ ECharts
// Attacker text (usernames, commands, sensor names, ...) becomes label text,
// series and data names, and ECharts/zrender key some dictionaries by those
// strings in plain objects: a label "__proto__" or "constructor" then reads
// Object.prototype itself out of zrender's text-width LRU cache, and the cache
// writes its list links (next/prev/key) onto it, which breaks every later chart
// ("i.step is not a function"). The built file is patched here, each patch an
// exact string that must occur exactly as often as stated: a new ECharts
// version without it fails the build instead of silently dropping the fix.
const ECHARTS_PATCHES = [
  // zrender core/LRU.js (text width per font, colours, images): the key map
  ['zrender LRU map', 'this._map={},this._maxSize=t}', 'this._map=Object.create(null),this._maxSize=t}', 1],
  ['zrender LRU clear', 'this._map={}},t.prototype.len=', 'this._map=Object.create(null)},t.prototype.len=', 1],
  // echarts model/mixin/palette.ts: colour picked per series / data name
  ['palette name map', 's.paletteNameMap=s.paletteNameMap||{};', 's.paletteNameMap=s.paletteNameMap||Object.create(null);', 1],
  ['palette name map reset', 'e(t).paletteNameMap={}', 'e(t).paletteNameMap=Object.create(null)', 1],
  // echarts data/SeriesData.ts: ids made from repeated data names
  ['series data name counts', 'this._nameRepeatCount={}', 'this._nameRepeatCount=Object.create(null)', 1],
  // echarts component/legend/LegendModel.ts: legend toggles keyed by series name
  [
    'legend selected map',
    'this.mergeDefaultAndTheme(t,n),t.selected=t.selected||{}',
    'this.mergeDefaultAndTheme(t,n),t.selected=Object.assign(Object.create(null),t.selected)',
    1,
  ],
];
// `x.hasOwnProperty(k)` calls the dictionary's own method, which a key named
// "hasOwnProperty" replaces and a prototype-less map does not have: every such
// call on a plain identifier path becomes Object.prototype.hasOwnProperty.call.
const OWN_CALL = /(?<![\w$.])([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\.hasOwnProperty\(/g;
const OWN_CALLS_MIN = 40;

function patchEcharts(code) {
  let s = code;
  for (const [name, from, to, count] of ECHARTS_PATCHES) {
    const found = s.split(from).length - 1;
    if (found !== count) die(`echarts.min.js patch "${name}": expected ${count} occurrence(s) of ${JSON.stringify(from)}, found ${found} (ECharts changed: review the patch)`);
    s = s.split(from).join(to);
  }
  let calls = 0;
  s = s.replace(OWN_CALL, (_, obj) => {
    calls++;
    return `Object.prototype.hasOwnProperty.call(${obj},`;
  });
  if (calls < OWN_CALLS_MIN) die(`echarts.min.js patch "own property calls": only ${calls} rewritten (expected at least ${OWN_CALLS_MIN})`);
  try {
    new vm.Script(s, { filename: 'echarts.min.js' });
  } catch (err) {
    die(`echarts.min.js no longer parses after patching: ${err.message}`);
  }
  return { code: s, calls };
}

const echartsPatched = patchEcharts(readFileSync(join(pkgDir('echarts'), 'dist', 'echarts.min.js'), 'utf8'));
writeFileSync(join(out, 'echarts.min.js'), echartsPatched.code);

// ------------------------------------------------------------------ world map
// Natural Earth 1:110m countries, plus the countries that only the 1:50m file
// has (Singapore, Hong Kong, Bahrain, Malta, ...: small but busy attack sources).
// Features without an ISO numeric id: Kosovo becomes XK (the code GeoIP
// databases use); Northern Cyprus and Somaliland are merged into CY and SO,
// which is where GeoIP places their addresses. Antarctica is left out.
countries.registerLocale(require('i18n-iso-countries/langs/en.json'));

const NO_ID = { Kosovo: 'XK', 'N. Cyprus': 'CY', 'Northern Cyprus': 'CY', Somaliland: 'SO' };
// Short common names where the ISO name is long or formal.
const NAME_OVERRIDE = {
  XK: 'Kosovo', TW: 'Taiwan', CN: 'China', RU: 'Russia', IR: 'Iran', KR: 'South Korea', KP: 'North Korea',
  LA: 'Laos', MD: 'Moldova', MK: 'North Macedonia', SY: 'Syria', TZ: 'Tanzania', US: 'United States',
  VE: 'Venezuela', BO: 'Bolivia', VN: 'Vietnam', FM: 'Micronesia', GM: 'Gambia', CZ: 'Czechia',
  CD: 'DR Congo', CG: 'Congo', PS: 'Palestine', VA: 'Vatican City', FK: 'Falkland Islands',
  VG: 'British Virgin Islands', VI: 'US Virgin Islands', MF: 'Saint Martin', SX: 'Sint Maarten', BN: 'Brunei',
};
const DROP = new Set(['AQ']);

function iso2Of(geom) {
  if (geom.id !== undefined && geom.id !== null && geom.id !== '') {
    const a2 = countries.numericToAlpha2(String(geom.id).padStart(3, '0'));
    if (a2) return a2;
  }
  const name = geom.properties && geom.properties.name;
  return NO_ID[name] || null;
}

function groups(topo) {
  const key = Object.keys(topo.objects).find((k) => k === 'countries');
  if (!key) die('world-atlas file without a "countries" object');
  const byIso = new Map();
  const unknown = [];
  for (const geom of topo.objects[key].geometries) {
    const iso2 = iso2Of(geom);
    if (!iso2) {
      unknown.push(geom.properties && geom.properties.name);
      continue;
    }
    if (DROP.has(iso2)) continue;
    if (!byIso.has(iso2)) byIso.set(iso2, []);
    byIso.get(iso2).push(geom);
  }
  return { byIso, unknown };
}

function round(coords) {
  if (typeof coords[0] === 'number') return [Math.round(coords[0] * 1000) / 1000, Math.round(coords[1] * 1000) / 1000];
  return coords.map(round);
}

// Centroid of the largest polygon: France's is in France, not in the Atlantic
// between it and French Guiana; the USA's is in the contiguous states.
function mainCentroid(geometry) {
  const polys = geometry.type === 'MultiPolygon' ? geometry.coordinates : [geometry.coordinates];
  let best = null;
  let bestArea = -1;
  for (const coordinates of polys) {
    const poly = { type: 'Polygon', coordinates };
    const area = geoArea(poly);
    if (area > bestArea) {
      bestArea = area;
      best = poly;
    }
  }
  const [lon, lat] = geoCentroid(best);
  return [Math.round(lon * 100) / 100, Math.round(lat * 100) / 100];
}

// ECharts draws GeoJSON on a plane: a ring that crosses the antimeridian
// (Russia's Chukotka, Fiji, the Aleutians) would be drawn as a band across the
// whole map. Such rings are unwrapped and cut at +-180 into two polygons.
function clipRing(ring, keep) {
  const out = [];
  for (let i = 0; i < ring.length; i++) {
    const a = ring[i];
    const b = ring[(i + 1) % ring.length];
    const ina = keep.inside(a);
    const inb = keep.inside(b);
    if (ina) out.push(a);
    if (ina !== inb) {
      const t = (keep.x - a[0]) / (b[0] - a[0]);
      out.push([keep.x, a[1] + t * (b[1] - a[1])]);
    }
  }
  if (out.length < 3) return null;
  const [x0, y0] = out[0];
  const [xl, yl] = out[out.length - 1];
  if (x0 !== xl || y0 !== yl) out.push([x0, y0]);
  return out.length >= 4 ? out : null;
}

function unwrap(ring) {
  const out = [ring[0].slice()];
  for (let i = 1; i < ring.length; i++) {
    let lon = ring[i][0];
    const prev = out[i - 1][0];
    while (lon - prev > 180) lon -= 360;
    while (lon - prev < -180) lon += 360;
    out.push([lon, ring[i][1]]);
  }
  return out;
}

function crosses(ring) {
  for (let i = 1; i < ring.length; i++) if (Math.abs(ring[i][0] - ring[i - 1][0]) > 180) return true;
  return false;
}

/** A polygon (rings) as one or two polygons that do not cross the antimeridian. */
function cutPolygon(rings) {
  if (!crosses(rings[0])) return [rings];
  const outer = unwrap(rings[0]);
  if (Math.abs(outer[outer.length - 1][0] - outer[0][0]) > 1) return [rings]; // goes round a pole: leave it
  const lons = outer.map((p) => p[0]);
  const edge = Math.max(...lons) > 180 ? 180 : -180;
  const shift = edge === 180 ? -360 : 360;
  const sides = [
    { x: edge, inside: (p) => (edge === 180 ? p[0] <= 180 : p[0] >= -180), move: 0 },
    { x: edge, inside: (p) => (edge === 180 ? p[0] >= 180 : p[0] <= -180), move: shift },
  ];
  const pieces = [];
  for (const side of sides) {
    const r = clipRing(outer, side);
    if (r) pieces.push([r.map(([x, y]) => [x + side.move, y])]);
  }
  return pieces.length ? pieces : [rings];
}

function cutGeometry(geometry) {
  const polys = geometry.type === 'MultiPolygon' ? geometry.coordinates : [geometry.coordinates];
  const out = polys.flatMap(cutPolygon);
  return out.length === 1 ? { type: 'Polygon', coordinates: out[0] } : { type: 'MultiPolygon', coordinates: out };
}

function featuresOf(topo, only) {
  const { byIso, unknown } = groups(topo);
  const feats = [];
  for (const [iso2, geoms] of byIso) {
    if (only && !only(iso2)) continue;
    const sphere = geoms.length === 1 ? feature(topo, geoms[0]).geometry : merge(topo, geoms);
    if (!sphere) continue;
    const geometry = cutGeometry(sphere);
    const atlasName = geoms.map((g) => g.properties && g.properties.name).find(Boolean);
    const name = NAME_OVERRIDE[iso2] || countries.getName(iso2, 'en') || atlasName || iso2;
    feats.push({
      type: 'Feature',
      id: iso2,
      properties: { iso2, name, centroid: mainCentroid(sphere) },
      geometry: { type: geometry.type, coordinates: round(geometry.coordinates) },
    });
  }
  return { feats, unknown };
}

const atlas = pkgDir('world-atlas');
const t110 = JSON.parse(readFileSync(join(atlas, 'countries-110m.json'), 'utf8'));
const t50 = JSON.parse(readFileSync(join(atlas, 'countries-50m.json'), 'utf8'));
const base = featuresOf(t110);
const have = new Set(base.feats.map((f) => f.properties.iso2));
const extra = featuresOf(t50, (iso2) => !have.has(iso2));
const all = [...base.feats, ...extra.feats].sort((a, b) => a.id.localeCompare(b.id));
if (all.length < 170) die(`only ${all.length} countries in the world map`);
if (base.unknown.length) console.warn(`world map: 1:110m features without a code, skipped: ${base.unknown.join(', ')}`);
writeFileSync(
  join(out, 'world.geo.json'),
  JSON.stringify({
    type: 'FeatureCollection',
    source: `Natural Earth via world-atlas ${pkgVersion('world-atlas')} (1:110m, small countries from 1:50m)`,
    features: all,
  }),
);

// ------------------------------------------------------------------ Inter
const inter = pkgDir('@fontsource/inter');
for (const weight of [400, 600]) {
  const file = `inter-latin-${weight}-normal.woff2`;
  copyFileSync(join(inter, 'files', file), join(out, 'fonts', file));
}

// ------------------------------------------------------------------ licences
const LICENSED = [
  ['echarts', ['LICENSE', 'NOTICE']],
  ['zrender', ['LICENSE']], // bundled in echarts.min.js
  ['tslib', ['LICENSE.txt', 'CopyrightNotice.txt']], // bundled in echarts.min.js
  ['world-atlas', ['LICENSE']],
  ['topojson-client', ['LICENSE']],
  ['d3-geo', ['LICENSE']],
  ['i18n-iso-countries', ['LICENSE']],
  ['@fontsource/inter', ['LICENSE']],
];
const versions = {};
for (const [name, files] of LICENSED) {
  const dir = pkgDir(name);
  versions[name] = pkgVersion(name);
  const safe = name.replace('@', '').replace('/', '-');
  for (const f of files) {
    const src = join(dir, f);
    if (!existsSync(src)) die(`${name}: licence file ${f} not found`);
    copyFileSync(src, join(out, 'licenses', `${safe}-${f.replace(/\.txt$/, '')}.txt`));
  }
}
writeFileSync(
  join(out, 'licenses', 'README.txt'),
  [
    'Third-party files in this directory (copied from the npm registry by web/build.mjs):',
    '',
    `  echarts.min.js              Apache ECharts ${versions.echarts} (Apache-2.0; bundles zrender ${versions.zrender}, BSD-3-Clause, and tslib ${versions.tslib}, 0BSD),`,
    '                              patched by web/build.mjs: dictionaries keyed by data names have no prototype',
    `  world.geo.json              Natural Earth country shapes (public domain) from world-atlas ${versions['world-atlas']} (ISC),`,
    `                              converted with topojson-client ${versions['topojson-client']} (ISC) and d3-geo ${versions['d3-geo']} (ISC),`,
    `                              codes and names from i18n-iso-countries ${versions['i18n-iso-countries']} (MIT)`,
    `  fonts/inter-latin-*.woff2   Inter from @fontsource/inter ${versions['@fontsource/inter']} (SIL Open Font License 1.1)`,
    '',
  ].join('\n'),
);

// ------------------------------------------------------------------ stamp (last)
writeFileSync(
  join(out, '.built'),
  JSON.stringify(
    {
      built: new Date().toISOString(),
      countries: all.length,
      packages: versions,
      echarts_patches: [...ECHARTS_PATCHES.map(([name]) => name), `own property calls (${echartsPatched.calls})`],
    },
    null,
    2,
  ) + '\n',
);
console.log(`web assets: ${out} (${all.length} countries; echarts ${versions.echarts})`);
