// SPDX-License-Identifier: MIT
// One captured file (#/file/<sha256>): hashes and type, every engine's results (latest first, history below),
// the YARA/ClamAV rules that matched, and the URLs, sessions, source addresses and sensors that delivered it.
// Labels, rule names and URLs are attacker-influenced: text only, and a URL is never a link.

import { getJSON, rowsOf } from '../api.js';
import { card, emptyBox, fmtInt, fmtTs, h, longText, replace } from '../dom.js';
import { table } from '../table.js';
import { grid, viewHead } from './common.js';

const STATUS_TEXT = {
  pending: 'pending: a sensor caught it; it is not in the central store yet',
  'not scanned': 'not scanned yet: in the central store, no engine has answered',
  scanned: 'scanned',
};

const SCAN_COLS = [
  { key: 'engine', label: 'Engine', kind: 'mono' },
  { key: 'latest', label: 'Answer', format: (v) => (v ? 'latest' : 'history') },
  { key: 'verdict', label: 'Verdict', kind: 'mono' },
  { key: 'label', label: 'Label', kind: 'mono' },
  { key: 'detections', label: 'Detections', format: (v, r) => (v === null || v === undefined ? '—' : `${fmtInt(v)} / ${r.total === null || r.total === undefined ? '?' : fmtInt(r.total)}`) },
  { key: 'rules', label: 'Rules', kind: 'mono', class: 'wrap', format: (v) => (Array.isArray(v) && v.length ? v.join(', ') : '—') },
  { key: 'engine_version', label: 'Version', kind: 'mono' },
  { key: 'scanned_at', label: 'Scanned', kind: 'ts' },
];
const RULE_COLS = [
  { key: 'engine', label: 'Engine', kind: 'mono' },
  { key: 'rule', label: 'Rule / signature', kind: 'mono', class: 'wide' },
];
const URL_COLS = [
  { key: 'url', label: 'URL', kind: 'mono', class: 'wide' },
  { key: 'downloads', label: 'Downloads', kind: 'int' },
  { key: 'unique_ips', label: 'IPs', kind: 'int' },
  { key: 'sessions', label: 'Sessions', kind: 'int' },
  { key: 'first_seen', label: 'First seen', kind: 'ts' },
  { key: 'last_seen', label: 'Last seen', kind: 'ts' },
];
const DELIVERY_COLS = [
  { key: 'first_seen', label: 'First seen', kind: 'ts' },
  { key: 'sensor', label: 'Sensor', kind: 'mono' },
  { key: 'session', label: 'Session', kind: 'mono', title: 'Click a row to open the session' },
  { key: 'src_ip', label: 'Source', kind: 'mono' },
  { key: 'country', label: 'Country', kind: 'plain' },
  { key: 'asn', label: 'ASN', kind: 'plain' },
  { key: 'as_org', label: 'AS organisation' },
  { key: 'url', label: 'URL', kind: 'mono', class: 'wide' },
  { key: 'trap', label: 'Trap', kind: 'mono' },
  { key: 'how', label: 'Found by', kind: 'mono' },
  { key: 'count', label: 'Count', kind: 'int' },
];
const SENSOR_COLS = [
  { key: 'sensor', label: 'Sensor', kind: 'mono' },
  { key: 'downloads', label: 'Downloads', kind: 'int' },
  { key: 'unique_ips', label: 'IPs', kind: 'int' },
  { key: 'sessions', label: 'Sessions', kind: 'int' },
  { key: 'first_seen', label: 'First seen', kind: 'ts' },
  { key: 'last_seen', label: 'Last seen', kind: 'ts' },
];

function fact(label, value, mono) {
  const shown = value === null || value === undefined || value === '' ? '—' : value;
  return h('div', null, h('dt', null, label), h('dd', { class: mono ? 'mono' : null }, longText(String(shown), 160)));
}

export default {
  title: 'File',
  mount(root, ctx0) {
    const [sha] = ctx0.args;
    const facts = h('div', { class: 'file-info' });
    const scansEl = h('div');
    const rulesEl = h('div');
    const urlsEl = h('div');
    const deliveriesEl = h('div');
    const sensorsEl = h('div');
    const back = h('button', { type: 'button', class: 'btn small ghost' }, '← Downloads');
    back.addEventListener('click', () => (history.length > 1 ? history.back() : ctx0.go('downloads')));
    root.append(
      viewHead('File', 'A captured file: never executed, only hashed, identified and scanned. Labels, rule names and URLs are shown as text.', back),
      facts,
      grid('cols-1', card('Engine results', scansEl, { sub: "each engine's latest answer first, earlier answers below" })),
      grid('cols-1-1', card('Rules matched', rulesEl, { sub: 'YARA rules and ClamAV signatures of the latest answers' }), card('Sensors that caught it', sensorsEl)),
      grid('cols-1', card('URLs', urlsEl, { sub: 'attacker-supplied: text only' })),
      grid('cols-1', card('Delivered by', deliveriesEl, { sub: 'sessions and source addresses; a row opens the session' })),
    );
    return {
      async load(ctx, signal) {
        if (!sha || !/^[0-9a-fA-F]{64}$/.test(sha)) throw new Error('no file given: #/file/<sha256>');
        const ans = await getJSON(`malware/files/${sha.toLowerCase()}`, null, signal);
        const f = ans.file || {};
        const s = ans.summary || {};
        const status = STATUS_TEXT[ans.status] || ans.status;
        replace(
          facts,
          h(
            'dl',
            { class: 'facts', 'data-file': ans.sha256 },
            fact('Status', status),
            fact('Verdict', s.verdict || (ans.status === 'scanned' ? null : ans.status), true),
            fact('Family', s.family, true),
            fact('Flagged by', s.flagged_by ? String(s.flagged_by).split(',').join(', ') : null),
            fact('SHA-256', ans.sha256, true),
            fact('SHA-1', f.sha1, true),
            fact('MD5', f.md5, true),
            fact('TLSH', f.tlsh, true),
            fact('Size', f.size === null || f.size === undefined ? null : `${fmtInt(f.size)} bytes`),
            fact('Type', [f.file_format, f.arch].filter(Boolean).join(' / ')),
            fact('Magic', f.magic),
            fact('MIME', f.mime, true),
            fact('Store key', f.store_key || (ans.status === 'pending' ? 'pending (not shipped yet)' : null), true),
            fact('Identified', f.identified_at ? fmtTs(f.identified_at) : null),
            fact('Error', f.error),
          ),
        );
        const scans = rowsOf(ans.scans);
        replace(scansEl, scans.length ? table('file-scans', SCAN_COLS, scans, { rowClass: (r) => (r.latest ? null : 'history') }) : emptyBox(status));
        replace(rulesEl, table('file-rules', RULE_COLS, rowsOf(ans.rules), { empty: 'No rule or signature matched.' }));
        replace(urlsEl, table('file-urls', URL_COLS, rowsOf(ans.urls), { empty: 'No URL: the file was uploaded.' }));
        replace(
          deliveriesEl,
          table('file-deliveries', DELIVERY_COLS, rowsOf(ans.deliveries), {
            empty: 'No event names this file.',
            onRow: (r) => ctx.go('session', [r.sensor, r.session]),
            canOpen: (r) => Boolean(r.session) && r.sensor !== null && r.sensor !== undefined,
          }),
        );
        replace(sensorsEl, table('file-sensors', SENSOR_COLS, rowsOf(ans.sensors), { empty: 'No sensor event names this file.' }));
      },
    };
  },
};
