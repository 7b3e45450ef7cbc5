// SPDX-License-Identifier: MIT
// JSON API client (same origin only; see docs/dashboard.md).

export class ApiError extends Error {
  constructor(status, detail) {
    super(status ? `${status}: ${detail}` : detail);
    this.status = status;
    this.detail = detail;
  }
}

/** GET /api/<path> with query parameters (URLSearchParams or object; arrays repeat). */
export async function getJSON(path, params, signal) {
  const qs = toParams(params).toString();
  const url = `/api/${path.replace(/^\/+/, '')}${qs ? `?${qs}` : ''}`;
  let resp;
  try {
    resp = await fetch(url, { signal, headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'the server did not answer');
  }
  if (!resp.ok) {
    let detail = resp.statusText || 'error';
    try {
      const body = await resp.json();
      if (body && body.detail !== undefined) detail = typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail);
    } catch {
      /* not JSON */
    }
    throw new ApiError(resp.status, detail);
  }
  return resp.json();
}

export function toParams(params) {
  if (!params) return new URLSearchParams();
  if (params instanceof URLSearchParams) return new URLSearchParams(params);
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') continue;
    if (Array.isArray(v)) for (const x of v) out.append(k, String(x));
    else out.append(k, String(v));
  }
  return out;
}

/** Merge extra parameters into a copy of base (URLSearchParams). */
export function withParams(base, extra) {
  const out = new URLSearchParams(base);
  for (const [k, v] of Object.entries(extra || {})) {
    out.delete(k);
    if (v === null || v === undefined || v === '') continue;
    if (Array.isArray(v)) for (const x of v) out.append(k, String(x));
    else out.append(k, String(v));
  }
  return out;
}

/** Rows of a table answer as objects keyed by column name. */
export function rowsOf(table) {
  if (!table || !Array.isArray(table.rows)) return [];
  const cols = table.columns || [];
  return table.rows.map((r) => {
    const o = {}; // keyed by the server's column names, never by data (rows go into ECharts options)
    cols.forEach((c, i) => {
      o[c] = r[i];
    });
    return o;
  });
}
