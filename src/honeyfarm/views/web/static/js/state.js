// SPDX-License-Identifier: MIT
// The URL hash is the state: "#/<view>/<arg>...?<filters and view options>".
// Filters are the API's own query parameters, so a link reproduces a view.

export const FILTER_KEYS = ['sensor', 'region', 'exposure', 'honeypot', 'country', 'eventid'];
export const TIME_KEYS = ['range', 'since', 'until'];
// "exclude internal" is on unless the hash says internal=include: the views leave out loopback, private,
// link-local, CGNAT and ULA sources by default (the API's own default is include: the UI always says which).
export const INTERNAL_KEY = 'internal';

/** Whether the hash's filters leave out internal source addresses. */
export function internalExcluded(params) {
  return params.get(INTERNAL_KEY) !== 'include';
}
export const RANGES = [
  ['all', 'All'],
  ['24h', '24h'],
  ['7d', '7d'],
  ['30d', '30d'],
];
const RANGE_HOURS = new Map([
  ['24h', 24],
  ['7d', 24 * 7],
  ['30d', 24 * 30],
]);

/** Parse location.hash into {view, args: [...], params: URLSearchParams}. */
export function parseHash(hash) {
  let s = hash || '';
  if (s.startsWith('#')) s = s.slice(1);
  const q = s.indexOf('?');
  const path = q >= 0 ? s.slice(0, q) : s;
  const query = q >= 0 ? s.slice(q + 1) : '';
  const parts = path.split('/').filter((p) => p !== '').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { view: parts[0] || 'overview', args: parts.slice(1), params: new URLSearchParams(query) };
}

export function buildHash(view, args, params) {
  const path = [view, ...(args || [])].map((p) => encodeURIComponent(p)).join('/');
  const qs = params ? params.toString() : '';
  return `#/${path}${qs ? `?${qs}` : ''}`;
}

/** Only the global filter parameters of a URLSearchParams (kept when moving between views). */
export function filterParams(params) {
  const out = new URLSearchParams();
  for (const k of [...TIME_KEYS, ...FILTER_KEYS, INTERNAL_KEY]) for (const v of params.getAll(k)) out.append(k, v);
  return out;
}

/** Hour-aligned [since, until) for a preset range, ending with the newest hour of data (or now). */
export function rangeBounds(range, lastSeen) {
  const hours = RANGE_HOURS.get(range); // a Map: the range comes from the URL
  if (!hours) return null;
  // /api/meta's last_seen is already the (exclusive) end of the newest hour
  const anchor = lastSeen || new Date();
  const until = new Date(anchor.getTime());
  until.setUTCMinutes(0, 0, 0);
  if (until.getTime() < anchor.getTime()) until.setUTCHours(until.getUTCHours() + 1);
  const since = new Date(until.getTime() - hours * 3600 * 1000);
  return { since, until };
}
