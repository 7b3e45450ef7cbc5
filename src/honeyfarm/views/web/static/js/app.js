// SPDX-License-Identifier: MIT
// honeyfarm dashboard: hash router, global filter bar, view lifecycle.

import './tt.js';
import { getJSON } from './api.js';
import { disposeWithin, loadWorld } from './charts.js';
import { clear, errorBox, fmtInt, fmtTs, h, isoZ, parseTs, spinner } from './dom.js';
import { FilterBar } from './filters.js';
import { FILTER_KEYS, buildHash, filterParams, internalExcluded, parseHash, rangeBounds } from './state.js';

import commands from './views/commands.js';
import credentials from './views/credentials.js';
import downloads from './views/downloads.js';
import file from './views/file.js';
import ip from './views/ip.js';
import live from './views/live.js';
import mapView from './views/map.js';
import network from './views/network.js';
import overview from './views/overview.js';
import sensors from './views/sensors.js';
import services from './views/services.js';
import session from './views/session.js';
import sources from './views/sources.js';
import suricata from './views/suricata.js';
import timeline from './views/timeline.js';
import traps from './views/traps.js';

export const VIEWS = {
  overview,
  map: mapView,
  timeline,
  credentials,
  commands,
  downloads,
  traps,
  services,
  suricata,
  sources,
  network,
  sensors,
  live,
  session,
  file,
  ip,
};
const NAV = ['overview', 'map', 'timeline', 'credentials', 'commands', 'downloads', 'traps', 'services', 'suricata', 'sources', 'network', 'sensors', 'live'];

const app = {
  meta: null,
  current: null, // {name, root, instance, key}
  loadSeq: 0,
  abort: null,
  filterBar: null,
};

// ------------------------------------------------------------------ context
function apiParams(params) {
  const out = new URLSearchParams();
  const range = params.get('range');
  const since = params.get('since');
  const until = params.get('until');
  if (range && range !== 'all' && range !== 'custom') {
    const b = rangeBounds(range, app.meta ? parseTs(app.meta.last_seen) : null);
    if (b) {
      out.set('since', isoZ(b.since));
      out.set('until', isoZ(b.until));
    }
  } else {
    if (since) out.set('since', since);
    if (until) out.set('until', until);
  }
  for (const k of FILTER_KEYS) for (const v of params.getAll(k)) out.append(k, v);
  out.set('internal', internalExcluded(params) ? 'exclude' : 'include'); // always said: API links match the view
  return out;
}

function makeCtx(route) {
  return {
    meta: app.meta,
    view: route.view,
    args: route.args,
    params: route.params, // everything in the hash (filters + view options)
    api: apiParams(route.params), // the filters as API query parameters
    /** Go to another view, keeping the global filters. */
    go(view, args, extra) {
      const p = filterParams(route.params);
      for (const [k, v] of Object.entries(extra || {})) if (v !== null && v !== undefined) p.set(k, v);
      location.hash = buildHash(view, args || [], p);
    },
    /** Add a filter value (country, sensor, region, exposure, honeypot); no-op when present. */
    addFilter(key, value) {
      if (value === null || value === undefined || value === '') return;
      const p = new URLSearchParams(route.params);
      if (p.getAll(key).includes(String(value))) return;
      p.append(key, String(value));
      location.hash = buildHash(route.view, route.args, p);
    },
    /** Set a view option in the hash (null removes it). */
    setOption(key, value) {
      const p = new URLSearchParams(route.params);
      if (value === null || value === undefined || value === '') p.delete(key);
      else p.set(key, String(value));
      location.hash = buildHash(route.view, route.args, p);
    },
    option(key, fallback) {
      const v = route.params.get(key);
      return v === null || v === '' ? fallback : v;
    },
  };
}

// ------------------------------------------------------------------ router
function viewKey(route) {
  // A view is re-mounted when its path changes; filters and options only reload it.
  return [route.view, ...route.args].join('\u0000');
}

async function route() {
  const r = parseHash(location.hash);
  if (!Object.hasOwn(VIEWS, r.view)) { // the view name comes from the URL: #/constructor is no view
    location.replace(buildHash('overview', [], filterParams(r.params)));
    return;
  }
  const ctx = makeCtx(r);
  app.filterBar.update(ctx);
  for (const a of document.querySelectorAll('nav.views a')) {
    const on = a.dataset.nav === r.view || (r.view === 'session' && a.dataset.nav === 'commands') || (r.view === 'file' && a.dataset.nav === 'downloads') || (r.view === 'ip' && a.dataset.nav === 'sources');
    a.classList.toggle('on', on);
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const main = document.getElementById('view');
  const key = viewKey(r);
  const def = VIEWS[r.view];
  if (!app.current || app.current.key !== key) {
    if (app.current) unmount();
    const root = h('section', { class: `view view-${r.view}`, 'data-view': r.view });
    clear(main).appendChild(root);
    const instance = def.mount(root, ctx);
    app.current = { name: r.view, root, instance, key };
    document.title = `${def.title || r.view} · honeyfarm`;
  }
  await load(ctx);
}

function unmount() {
  const cur = app.current;
  if (!cur) return;
  if (app.abort) app.abort.abort();
  try {
    if (cur.instance.unmount) cur.instance.unmount();
  } finally {
    disposeWithin(cur.root);
    app.current = null;
  }
}

async function load(ctx) {
  const cur = app.current;
  if (app.abort) app.abort.abort();
  const ac = new AbortController();
  app.abort = ac;
  const seq = ++app.loadSeq;
  cur.root.removeAttribute('data-ready');
  cur.root.removeAttribute('data-error');
  for (const box of cur.root.querySelectorAll(':scope > [data-view-error]')) box.remove(); // the last load's
  cur.root.classList.add('loading-view');
  try {
    await cur.instance.load(ctx, ac.signal);
    if (seq !== app.loadSeq || ac.signal.aborted) return;
    cur.root.dataset.ready = '1';
  } catch (err) {
    if (ac.signal.aborted || (err && err.name === 'AbortError')) return;
    cur.root.dataset.error = String(err && err.message ? err.message : err);
    const box = errorBox(err);
    box.dataset.viewError = '1';
    cur.root.prepend(box);
    console.warn('view failed:', err);
  } finally {
    if (seq === app.loadSeq) cur.root.classList.remove('loading-view');
  }
}

// ------------------------------------------------------------------ shell
// The views where a group of the navigation starts (what was caught; Cowrie's sessions; the other traps;
// the fleet). A group wraps as one piece, so at narrow widths the nav takes a second row instead of
// cutting or hiding links; a view added to NAV joins the group before it.
const NAV_GROUP_STARTS = new Set(['credentials', 'traps', 'sources']);

function buildNav() {
  const nav = document.querySelector('nav.views');
  clear(nav);
  let group = null;
  for (const name of NAV) {
    if (!group || NAV_GROUP_STARTS.has(name)) group = nav.appendChild(h('span', { class: 'nav-group' }));
    const a = h('a', { class: 'nav-link' }, VIEWS[name].title || name);
    a.dataset.nav = name;
    // Static, code-defined targets only: the filters follow from the current hash.
    a.setAttribute('href', `#/${name}`);
    a.addEventListener('click', (ev) => {
      if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) return;
      ev.preventDefault();
      const r = parseHash(location.hash);
      location.hash = buildHash(name, [], filterParams(r.params));
    });
    group.appendChild(a);
  }
}

function showStatus() {
  const el = document.getElementById('lake-status');
  if (!el || !app.meta) return;
  clear(el);
  // two short lines (count and version, then the span) instead of one long one: the nav keeps the width
  const top = h('div', { class: 'stat-line' }, h('span', { class: 'stat' }, h('b', null, fmtInt(app.meta.events)), ' events'));
  if (app.meta.version) top.appendChild(h('span', { class: 'stat ver' }, `v${app.meta.version}`));
  el.appendChild(top);
  if (app.meta.first_seen && app.meta.last_seen) {
    const span = `${fmtTs(app.meta.first_seen).slice(0, 10)} → ${fmtTs(app.meta.last_seen).slice(0, 16)}`;
    el.appendChild(h('div', { class: 'stat-line' }, h('span', { class: 'stat', title: 'Hours covered by the lake (UTC)' }, span)));
  }
}

async function start() {
  buildNav();
  const main = document.getElementById('view');
  main.appendChild(spinner('Loading the lake…'));
  try {
    const [meta] = await Promise.all([getJSON('meta'), loadWorld().catch(() => null)]);
    app.meta = meta;
  } catch (err) {
    clear(main).appendChild(errorBox(err));
    return;
  }
  showStatus();
  app.filterBar = new FilterBar(document.getElementById('filters'), app.meta);
  window.addEventListener('hashchange', () => {
    route().catch((err) => console.warn(err));
  });
  if (!location.hash || location.hash === '#' || location.hash === '#/') location.replace(buildHash('overview', [], null));
  await route();
}

start().catch((err) => console.warn(err));
