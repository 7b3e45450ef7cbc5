// SPDX-License-Identifier: MIT
// One source address across the fleet (#/ip/<addr>): where it is, whether it is internal, when it came,
// which sensors and eventids it touched, its sessions, credentials, commands, downloads and Suricata alerts.

import { getJSON, rowsOf, withParams } from '../api.js';
import { countryName } from '../charts.js';
import { card, fmtInt, fmtTs, h, longText, replace } from '../dom.js';
import { table } from '../table.js';
import { grid, viewHead } from './common.js';

const SECTIONS = [
  ['ip-sensors', 'by_sensor', 'Sensors', [
    { key: 'sensor', label: 'Sensor' },
    { key: 'events', label: 'Events', kind: 'int' },
    { key: 'sessions', label: 'Sessions', kind: 'int' },
    { key: 'first_seen', label: 'First seen', kind: 'ts' },
    { key: 'last_seen', label: 'Last seen', kind: 'ts' },
  ]],
  ['ip-eventids', 'by_eventid', 'Events by eventid', [
    { key: 'eventid', label: 'Eventid', kind: 'mono' },
    { key: 'honeypot', label: 'Honeypot' },
    { key: 'events', label: 'Events', kind: 'int' },
  ]],
  ['ip-sessions', 'sessions_list', 'Sessions', [
    { key: 'sensor', label: 'Sensor' },
    { key: 'session', label: 'Session', kind: 'mono' },
    { key: 'first_seen', label: 'First seen', kind: 'ts' },
    { key: 'last_seen', label: 'Last seen', kind: 'ts' },
    { key: 'events', label: 'Events', kind: 'int' },
    { key: 'logins', label: 'Logins', kind: 'int' },
    { key: 'successes', label: 'Successes', kind: 'int' },
    { key: 'client_version', label: 'Client', kind: 'mono' },
  ]],
  ['ip-credentials', 'credentials', 'Credentials tried', [
    { key: 'username', label: 'Username', kind: 'mono' },
    { key: 'password', label: 'Password', kind: 'mono' },
    { key: 'attempts', label: 'Attempts', kind: 'int' },
    { key: 'successes', label: 'Successes', kind: 'int' },
  ]],
  ['ip-commands', 'commands', 'Commands', [
    { key: 'command', label: 'Command', kind: 'mono', class: 'wide' },
    { key: 'count', label: 'Count', kind: 'int' },
    { key: 'sessions', label: 'Sessions', kind: 'int' },
  ]],
  ['ip-downloads', 'downloads', 'Downloads', [
    { key: 'url', label: 'URL', kind: 'mono', class: 'wide' },
    { key: 'sha256', label: 'SHA-256', kind: 'mono', class: 'hash' },
    { key: 'count', label: 'Count', kind: 'int' },
    { key: 'first_seen', label: 'First seen', kind: 'ts' },
  ]],
  ['ip-alerts', 'alerts', 'Suricata alerts', [
    { key: 'signature', label: 'Signature', kind: 'mono', class: 'wide' },
    { key: 'category', label: 'Category' },
    { key: 'severity', label: 'Severity', kind: 'plain' },
    { key: 'alerts', label: 'Alerts', kind: 'int' },
    { key: 'first_seen', label: 'First seen', kind: 'ts' },
    { key: 'last_seen', label: 'Last seen', kind: 'ts' },
  ]],
];

export default {
  title: 'IP address',
  mount(root, ctx0) {
    const addr = ctx0.args[0] || '';
    const info = h('div', { class: 'ip-info' });
    const boxes = new Map(SECTIONS.map(([name]) => [name, h('div', { class: 'ip-section' })]));
    const back = h('button', { type: 'button', class: 'btn small ghost' }, '← Back');
    back.addEventListener('click', () => (history.length > 1 ? history.back() : ctx0.go('sources')));
    root.append(
      viewHead('IP address', 'What one source address did, on every sensor (the time, sensor, country, honeypot and eventid filters apply).', back),
      info,
      grid('cols-1-1', ...SECTIONS.slice(0, 2).map(([name, , title]) => card(title, boxes.get(name)))),
      ...SECTIONS.slice(2).map(([name, , title]) => grid('cols-1', card(title, boxes.get(name)))),
    );
    return {
      async load(ctx, signal) {
        if (!addr) throw new Error('no address given: #/ip/<address>');
        const ans = await getJSON('ip', withParams(ctx.api, { ip: addr }), signal);
        const fact = (key, label, value, cls) => {
          const dd = h('dd', { class: cls || null }, value === undefined || value === null || value === '' ? '—' : value);
          return h('div', { 'data-fact': key }, h('dt', null, label), dd);
        };
        const as = [ans.asn ? `AS${ans.asn}` : null, ans.organisation].filter(Boolean).join(' · ');
        replace(
          info,
          h(
            'dl',
            { class: 'facts', 'data-ip': ans.ip },
            fact('ip', 'Address', longText(ans.ip, 64), 'mono'),
            fact('internal', 'Internal', ans.internal ? 'yes: loopback, private, link-local, CGNAT or ULA' : 'no'),
            fact('country', 'Country', ans.country ? `${ans.country} ${countryName(ans.country, ans.country_name || '')}` : null),
            fact('asn', 'AS', as ? longText(as, 120) : null),
            fact('first_seen', 'First seen', ans.first_seen ? fmtTs(ans.first_seen) : null),
            fact('last_seen', 'Last seen', ans.last_seen ? fmtTs(ans.last_seen) : null),
            fact('events', 'Events', fmtInt(ans.events)),
            fact('sessions', 'Sessions', fmtInt(ans.sessions)),
            fact('sensors', 'Sensors', fmtInt(ans.sensors)),
          ),
        );
        const opens = {
          'ip-sessions': { onRow: (r) => ctx.go('session', [r.sensor, r.session]), canOpen: (r) => r.sensor !== null && r.session !== null },
          'ip-commands': { onRow: (r) => ctx.go('commands', [], { command: r.command }), canOpen: (r) => String(r.command ?? '').length <= 2000 },
          'ip-downloads': { onRow: (r) => ctx.go('file', [String(r.sha256).toLowerCase()]), canOpen: (r) => Boolean(r.sha256) && ctx.hasView?.('file') !== false },
        };
        for (const [name, key, , cols] of SECTIONS) {
          const t = ans[key];
          const more = t && t.has_more ? h('p', { class: 'card-sub' }, `The first ${fmtInt(t.limit)} rows.`) : null;
          replace(boxes.get(name), table(name, cols, rowsOf(t), { empty: 'None for these filters.', ...(opens[name] || {}) }), more);
        }
      },
    };
  },
};
