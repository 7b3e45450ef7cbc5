// SPDX-License-Identifier: MIT
// Downloads: files fetched or uploaded by attackers (URLs shown as text, never as links), each with its
// source (the honeypots that logged it; Suricata's fileinfo records are listed too), its origin: the traps
// that fetched it, how its URL was found, and the first session (a row opens it), and its verdict, family,
// size and type from the scanners (a SHA-256 opens the file page, views/file.js).

import { getJSON, rowsOf, withParams } from '../api.js';
import { bars, chartBox } from '../charts.js';
import { card, fmtInt } from '../dom.js';
import { pagedTable } from '../table.js';
import { grid, panel, timeChart, viewHead } from './common.js';

/** "ELF / x86-64 · 1,000 B": the file's type, architecture and size (one column keeps the table narrow). */
function fileType(v, r) {
  const kind = [v, r.arch].filter(Boolean).join(' / ');
  const size = r.size === null || r.size === undefined ? '' : `${fmtInt(r.size)} B`;
  return [kind, size].filter(Boolean).join(' · ') || '—';
}

export default {
  title: 'Downloads',
  mount(root, ctx0) {
    let ctx = ctx0;
    let signal = null;
    const topEl = chartBox('top-files', 'h-260');
    const whenEl = chartBox('downloads-first-seen', 'h-260');
    const list = pagedTable(
      'downloads',
      [
        { key: 'sha256', label: 'SHA-256', kind: 'mono', class: 'sha', pick: (r) => ctx.go('file', [String(r.sha256).toLowerCase()]), pickTitle: 'Open the file page' },
        { key: 'verdict', label: 'Verdict', title: 'Worst latest engine verdict; pending = not in the central store yet', format: (v, r) => v || r.status || '—' },
        { key: 'family', label: 'Family', kind: 'mono' },
        { key: 'file_format', label: 'Type · size', format: fileType },
        { key: 'url', label: 'URL', kind: 'mono', class: 'wide' },
        { key: 'count', label: 'Count', kind: 'int' },
        { key: 'unique_ips', label: 'IPs', kind: 'int' },
        { key: 'first_seen', label: 'First seen', kind: 'ts' },
        { key: 'last_seen', label: 'Last seen', kind: 'ts' },
        { key: 'sensors', label: 'Sensors', class: 'wrap', format: (v) => (v ? String(v).split(',').join(', ') : '—') },
        // One column for both (a separate one made the table wider than the card): the traps that fetched it,
        // else the honeypots that logged it (suricata: a file Suricata saw in a transfer, from fileinfo).
        { key: 'sources', label: 'Source', class: 'wrap', title: 'The traps that fetched it, else the honeypots that logged it (suricata: a file seen in a transfer)', format: (v, row) => { const t = (row && row.traps) || v; return t ? String(t).split(',').join(', ') : '—'; } },
        { key: 'how', label: 'Found by', kind: 'mono' },
        { key: 'first_session', label: 'First session', kind: 'mono', title: 'Click a row to open the session' },
      ],
      (limit, offset) => getJSON('malware/downloads', withParams(ctx.api, { limit, offset }), signal),
      {
        limit: 25,
        empty: 'No downloads for these filters.',
        onRow: (r) => ctx.go('session', [r.first_sensor, r.first_session]),
        canOpen: (r) => Boolean(r.first_session) && r.first_sensor !== null && r.first_sensor !== undefined,
      },
    );
    root.append(
      viewHead('Downloads', 'Files attackers fetched (wget, curl, tftp …), the traps fetched from exploit payloads, or attackers uploaded, and files Suricata saw in transfers (source suricata). URLs are attacker-supplied: shown as text only. Click a SHA-256 to open the file page (hashes, engine results, who delivered it), elsewhere in a row to open the first session that fetched it.'),
      grid('cols-1-1', card('Most fetched files', topEl, { sub: 'by SHA-256, among the first 500 files seen' }), card('New files over time', whenEl, { sub: 'by first sighting, per day' })),
      grid('cols-1', card('Files', list.el, { sub: 'newest first, with verdicts' })),
    );
    return {
      async load(c, sig) {
        ctx = c;
        signal = sig;
        const [sample] = await Promise.all([panel(ctx, 'downloads', { limit: 500 }, sig), list.reset()]);
        const rows = rowsOf(sample);
        const bySha = new Map();
        const byDay = new Map();
        for (const r of rows) {
          const key = r.sha256 || r.url || '?';
          const e = bySha.get(key) || { label: r.sha256 ? String(r.sha256).slice(0, 16) : String(r.url), value: 0, note: r.url ? `e.g. ${r.url}` : '' };
          e.value += Number(r.count) || 0;
          bySha.set(key, e);
          const day = String(r.first_seen || '').slice(0, 10);
          if (day) byDay.set(day, (byDay.get(day) || 0) + 1);
        }
        const top = [...bySha.values()].sort((a, b) => b.value - a.value).slice(0, 12);
        const days = [...byDay.entries()].sort().map(([d, n]) => [`${d}T00:00:00`, n]);
        await Promise.all([
          bars(topEl, top, { valueName: 'downloads', mono: true, color: '#ef7b6c' }),
          timeChart(whenEl, { columns: ['bucket', 'events'], rows: days }, { kind: 'bar' }),
        ]);
      },
    };
  },
};
