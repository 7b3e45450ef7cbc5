// SPDX-License-Identifier: MIT
// Suricata: the IDS alerts of Suricata's EVE output — alerts over time (by severity, category or signature),
// rules, categories, severities and CVE ids, by source address, country, AS and sensor; the records and
// protocols it logged, flows and bytes; the files it saw in transfers and the HTTP URLs. Rule text comes from
// the rule set and URLs, user agents and file names from the wire (attacker text): all shown as text
// (table.js, charts.js), never as links or markup. An address opens the IP page, a sensor or a country
// filters on it.

import { getJSON, withParams } from '../api.js';
import { bars, chartBox } from '../charts.js';
import { card, h, replace, segmented } from '../dom.js';
import { pagedTable } from '../table.js';
import { counters, grid, panel, timeChart, viewHead } from './common.js';

const NONE = 'No Suricata events in this range.';
const NO_ALERTS = 'No Suricata alerts in this range.';
const SPAN = [
  { key: 'first_seen', label: 'First seen', kind: 'ts' },
  { key: 'last_seen', label: 'Last seen', kind: 'ts' },
];
const IPS = { key: 'unique_ips', label: 'IPs', kind: 'int' };
const ALERTS = { key: 'alerts', label: 'Alerts', kind: 'int' };
const SEVERITY = { 1: 'high', 2: 'medium', 3: 'low', 4: 'info' };
const BY = [
  ['severity', 'Severity'],
  ['category', 'Category'],
  ['signature', 'Signature'],
];

/** "1 high": Suricata's severity (1 is the most severe) with its name. */
function severity(v) {
  if (v === null || v === undefined) return '—';
  return SEVERITY[v] ? `${v} ${SEVERITY[v]}` : String(v);
}

function section(key, title, ...children) {
  return h('section', { class: 'svc-section', 'data-section': key }, h('h2', { class: 'section-title' }, title), ...children);
}

export default {
  title: 'Suricata',
  mount(root, ctx0) {
    let ctx = ctx0;
    let signal = null;
    const fetcher = (name) => (limit, offset) => panel(ctx, name, { limit, offset }, signal);
    const paged = (name, columns, limit, empty) => pagedTable(name, columns, fetcher(name), { limit, empty });
    const countersEl = h('div', { class: 'counters-slot' });
    const notice = h('div', { class: 'notice-slot' });
    const tools = h('div', { class: 'tools' });
    const charts = {
      time: chartBox('suricata-alerts-time', 'h-260'),
      categories: chartBox('suricata-categories', 'h-260'),
      protocols: chartBox('suricata-protocols', 'h-260'),
    };
    // (table.js links an `ip` column to the IP page)
    const ip = { key: 'ip', label: 'Source', kind: 'mono' };
    const country = { key: 'country', label: 'Country', kind: 'country', pick: (r) => ctx.addFilter('country', r.country), pickTitle: 'Filter on this country' };
    const t = {
      signatures: paged(
        'suricata-signatures',
        [
          { key: 'signature_id', label: 'SID', kind: 'plain' },
          { key: 'signature', label: 'Signature', kind: 'mono', class: 'wide' },
          { key: 'category', label: 'Category' },
          { key: 'severity', label: 'Severity', format: severity },
          ALERTS,
          IPS,
          ...SPAN,
        ],
        15,
        NO_ALERTS,
      ),
      categories: paged('suricata-categories', [{ key: 'category', label: 'Category', class: 'wide' }, ALERTS, { key: 'signatures', label: 'Rules', kind: 'int' }, IPS, ...SPAN], 10, NO_ALERTS),
      severities: paged('suricata-severities', [{ key: 'severity', label: 'Severity', format: severity }, ALERTS, { key: 'signatures', label: 'Rules', kind: 'int' }, IPS, ...SPAN], 10, NO_ALERTS),
      cves: paged(
        'suricata-cves',
        [
          { key: 'cve', label: 'CVE', kind: 'mono' },
          ALERTS,
          { key: 'signatures', label: 'Rules', kind: 'int' },
          { key: 'signatures_seen', label: 'Signatures', kind: 'mono', class: 'wide' },
          IPS,
          ...SPAN,
        ],
        10,
        'No alert of a rule naming a CVE in this range.',
      ),
      sources: paged(
        'suricata-sources',
        [
          ip,
          country,
          { key: 'asn', label: 'AS', kind: 'plain' },
          { key: 'organisation', label: 'Organisation' },
          ALERTS,
          { key: 'signatures', label: 'Rules', kind: 'int' },
          { key: 'events', label: 'Events', kind: 'int' },
          { key: 'flows', label: 'Flows', kind: 'int' },
          ...SPAN,
        ],
        15,
        NONE,
      ),
      countries: paged('suricata-countries', [country, ALERTS, { key: 'events', label: 'Events', kind: 'int' }, IPS], 10, 'No Suricata events from a located address in this range.'),
      asns: paged('suricata-asns', [{ key: 'asn', label: 'AS', kind: 'plain' }, { key: 'organisation', label: 'Organisation', class: 'wide' }, ALERTS, { key: 'events', label: 'Events', kind: 'int' }, IPS], 10, 'No Suricata events from an address with a known AS in this range.'),
      sensors: paged(
        'suricata-sensors',
        [
          { key: 'sensor', label: 'Sensor', pick: (r) => ctx.addFilter('sensor', r.sensor), pickTitle: 'Filter on this sensor', title: '(no sensor): the EVE records name no host' },
          { key: 'events', label: 'Events', kind: 'int' },
          ALERTS,
          { key: 'flows', label: 'Flows', kind: 'int' },
          IPS,
          ...SPAN,
        ],
        10,
        NONE,
      ),
      types: paged('suricata-event-types', [{ key: 'event_type', label: 'Record type', kind: 'mono' }, { key: 'events', label: 'Records', kind: 'int' }, { key: 'flows', label: 'Flows', kind: 'int' }, IPS, ...SPAN], 20, NONE),
      protocols: paged(
        'suricata-protocols',
        [
          { key: 'transport', label: 'Transport', kind: 'mono' },
          { key: 'protocol', label: 'App protocol', kind: 'mono' },
          { key: 'flows', label: 'Flows', kind: 'int' },
          { key: 'events', label: 'Records', kind: 'int' },
          ALERTS,
          { key: 'bytes', label: 'Bytes', kind: 'int', title: 'From flow records; — when the EVE output has none' },
          { key: 'packets', label: 'Packets', kind: 'int' },
          IPS,
        ],
        15,
        NONE,
      ),
      files: paged(
        'suricata-files',
        [
          { key: 'filename', label: 'File name', kind: 'mono', class: 'wide' },
          { key: 'sha256', label: 'SHA-256', kind: 'mono', class: 'sha' },
          { key: 'md5', label: 'MD5', kind: 'mono' },
          { key: 'size', label: 'Size', kind: 'int' },
          { key: 'magic', label: 'Type (magic)' },
          { key: 'url', label: 'URL', kind: 'mono' },
          { key: 'transfers', label: 'Transfers', kind: 'int' },
          IPS,
          ...SPAN,
        ],
        15,
        'No file seen by Suricata in this range.',
      ),
      urls: paged(
        'suricata-urls',
        [
          { key: 'url', label: 'URL', kind: 'mono', class: 'wide' },
          { key: 'requests', label: 'Requests', kind: 'int' },
          { key: 'methods', label: 'Methods', kind: 'mono' },
          { key: 'statuses', label: 'Statuses', kind: 'mono' },
          { key: 'user_agents', label: 'User agents', kind: 'int' },
          IPS,
          ...SPAN,
        ],
        15,
        'No HTTP request logged by Suricata in this range.',
      ),
    };
    root.append(
      viewHead(
        'Suricata',
        "Alerts, flows, files and HTTP requests from Suricata's EVE output. Signatures are rule text; URLs, user agents and file names come from the wire: all shown as text only. Files are in the Downloads view too.",
      ),
      notice,
      countersEl,
      grid('cols-2-1', card('Alerts over time', charts.time, { tools }), card('Alert categories', charts.categories, { sub: 'alerts' })),
      section(
        'alerts',
        'Alerts',
        grid('cols-1', card('Signatures', t.signatures.el, { sub: 'rules that fired' })),
        grid('cols-1-1', card('Categories', t.categories.el), card('Severities', t.severities.el, { sub: '1 is the most severe' })),
        grid('cols-1', card('CVE ids', t.cves.el, { sub: 'named in the signature or the rule metadata' })),
      ),
      section(
        'sources',
        'Sources and sensors',
        grid('cols-1', card('Source addresses', t.sources.el, { sub: 'most alerts first' })),
        grid('cols-1-1', card('Countries', t.countries.el, { sub: 'click a country to filter' }), card('Autonomous systems', t.asns.el)),
        grid('cols-1', card('Sensors', t.sensors.el, { sub: 'click a sensor to filter' })),
      ),
      section(
        'traffic',
        'Flows and protocols',
        grid('cols-1-1', card('Flows per protocol', charts.protocols, { sub: 'flow ids' }), card('Record types', t.types.el)),
        grid('cols-1', card('Protocols', t.protocols.el, { sub: 'flows, records, alerts, bytes' })),
      ),
      section(
        'files',
        'Files and URLs',
        grid('cols-1', card('Files', t.files.el, { sub: 'fileinfo records, newest first' })),
        grid('cols-1', card('HTTP URLs', t.urls.el)),
      ),
    );
    return {
      async load(c, sig) {
        ctx = c;
        signal = sig;
        const by = BY.some(([k]) => k === ctx.option('by', 'severity')) ? ctx.option('by', 'severity') : 'severity';
        replace(tools, h('span', { class: 'tool-label' }, 'Split by'), segmented(BY, by, (v) => ctx.setOption('by', v), 'Split alerts by'));
        const [tl, categories, severities, types, protocols] = await Promise.all([
          getJSON('suricata/timeline', withParams(ctx.api, { by, bucket: 'auto' }), sig),
          t.categories.reset(),
          t.severities.reset(),
          t.types.reset(),
          t.protocols.reset(),
          ...['signatures', 'cves', 'sources', 'countries', 'asns', 'sensors', 'files', 'urls'].map((k) => t[k].reset()),
        ]);
        const sum = (rows, key) => rows.reduce((n, r) => n + (Number(r[key]) || 0), 0);
        const records = sum(types, 'events');
        const of = (type) => Number(types.find((r) => r.event_type === type)?.events) || 0;
        const bySeverity = (s) => Number(severities.find((r) => r.severity === s)?.alerts) || 0;
        replace(notice, records ? null : h('div', { class: 'empty', 'data-empty': 'suricata' }, NONE));
        replace(
          countersEl,
          counters([
            { key: 'events', label: 'Suricata records', value: records, class: 'accent' },
            { key: 'alerts', label: 'Alerts', value: sum(severities, 'alerts') },
            { key: 'high', label: 'High severity', value: bySeverity(1) },
            { key: 'signatures', label: 'Rules fired', value: sum(severities, 'signatures') },
            { key: 'http', label: 'HTTP records', value: of('http') },
            { key: 'files', label: 'Files seen', value: of('fileinfo') },
          ]),
        );
        await Promise.all([
          timeChart(charts.time, tl, { kind: 'bar' }),
          bars(
            charts.categories,
            categories.slice(0, 10).map((r) => ({ label: r.category ?? '(none)', value: r.alerts, note: `${r.signatures} rule(s)` })),
            { valueName: 'alerts', labelWidth: 30, color: '#ef7b6c' },
          ),
          bars(
            charts.protocols,
            protocols.slice(0, 10).map((r) => ({ label: `${r.transport ?? '?'} / ${r.protocol ?? '—'}`, value: r.flows, note: `${r.events} records` })),
            { valueName: 'flows', mono: true, color: '#5fd4b4' },
          ),
        ]);
      },
    };
  },
};
