// SPDX-License-Identifier: MIT
// Sources: top IPs (country, AS, internal badge; each links to its IP page), top ASNs, SSH client versions,
// HTTP user agents, HASSH fingerprints.

import { getJSON, rowsOf, withParams } from '../api.js';
import { bars, chartBox, countryName } from '../charts.js';
import { card, clip, emptyBox, h, replace } from '../dom.js';
import { pagedTable } from '../table.js';
import { grid, panel, viewHead } from './common.js';

export default {
  title: 'Sources',
  mount(root, ctx0) {
    let ctx = ctx0;
    let signal = null;
    const countriesEl = chartBox('top-countries', 'h-300');
    const asnEl = chartBox('top-asns', 'h-300');
    const clientsEl = chartBox('client-versions', 'h-300');
    const ips = pagedTable(
      'top-ips',
      [
        { key: 'ip', label: 'IP', kind: 'mono' },
        { key: 'events', label: 'Events', kind: 'int' },
        { key: 'sessions', label: 'Sessions', kind: 'int' },
        { key: 'country', label: 'Country', kind: 'country', nameKey: '_', pick: (r) => ctx.addFilter('country', r.country) },
        { key: 'asn', label: 'ASN', kind: 'plain' },
        { key: 'organisation', label: 'Organisation' },
        { key: 'first_seen', label: 'First seen', kind: 'ts' },
        { key: 'last_seen', label: 'Last seen', kind: 'ts' },
      ],
      (limit, offset) => panel(ctx, 'top-ips', { limit, offset }, signal),
      { limit: 20, onRow: (r) => ctx.setOption('ip', r.ip) },
    );
    const asns = pagedTable(
      'top-asns',
      [
        { key: 'asn', label: 'ASN', kind: 'plain' },
        { key: 'organisation', label: 'Organisation' },
        { key: 'events', label: 'Events', kind: 'int' },
        { key: 'unique_ips', label: 'IPs', kind: 'int' },
      ],
      (limit, offset) => panel(ctx, 'top-asns', { limit, offset }, signal),
      { limit: 15 },
    );
    const clients = pagedTable(
      'client-versions',
      [
        { key: 'client_version', label: 'Client version', kind: 'mono' },
        { key: 'sessions', label: 'Sessions', kind: 'int' },
        { key: 'unique_ips', label: 'IPs', kind: 'int' },
      ],
      (limit, offset) => panel(ctx, 'client-versions', { limit, offset }, signal),
      { limit: 15 },
    );
    const agents = pagedTable(
      'http-user-agents',
      [
        { key: 'user_agent', label: 'User agent', kind: 'mono' },
        { key: 'requests', label: 'Requests', kind: 'int' },
        { key: 'unique_ips', label: 'IPs', kind: 'int' },
        { key: 'honeypots', label: 'Honeypots' },
      ],
      (limit, offset) => panel(ctx, 'http-user-agents', { limit, offset }, signal),
      { limit: 15, empty: 'No HTTP user agents (web traps, Tanner, Suricata http) for these filters.' },
    );
    // A lake without web events (a Cowrie-only one) has no user agents: a line says so instead of an empty table.
    const agentsBody = h('div', null, agents.el);
    const noAgents = emptyBox('No HTTP user agents for these filters: they come from web events (web traps, Tanner, Suricata http).');
    const hassh = pagedTable(
      'hassh',
      [
        { key: 'hassh', label: 'HASSH', kind: 'mono' },
        { key: 'sessions', label: 'Sessions', kind: 'int' },
        { key: 'unique_ips', label: 'IPs', kind: 'int' },
        { key: 'client_version', label: 'Usual client', kind: 'mono' },
      ],
      (limit, offset) => panel(ctx, 'hassh', { limit, offset }, signal),
      { limit: 15 },
    );
    const ipTitle = h('span');
    const ipSessions = pagedTable(
      'ip-sessions',
      [
        { key: 'sensor', label: 'Sensor' },
        { key: 'session', label: 'Session', kind: 'mono' },
        { key: 'first_seen', label: 'First seen', kind: 'ts' },
        { key: 'last_seen', label: 'Last seen', kind: 'ts' },
        { key: 'events', label: 'Events', kind: 'int' },
        { key: 'commands', label: 'Commands', kind: 'int' },
      ],
      (limit, offset) => getJSON('sessions', withParams(ctx.api, { ip: ctx.option('ip', null), limit, offset }), signal),
      { limit: 10, onRow: (r) => ctx.go('session', [r.sensor, r.session]) },
    );
    const closeIp = h('button', { type: 'button', class: 'btn small ghost' }, 'Close');
    closeIp.addEventListener('click', () => ctx.setOption('ip', null));
    const ipCard = card(ipTitle, ipSessions.el, { tools: closeIp });
    root.append(
      viewHead('Sources', 'Where attacks come from: addresses, networks and the SSH and HTTP clients they use. Click an address for its page, a row to list its sessions.'),
      grid('cols-3', card('Top countries', countriesEl, { sub: 'click to filter' }), card('Top autonomous systems', asnEl), card('SSH client versions', clientsEl)),
      ipCard,
      grid('cols-1', card('Top source addresses', ips.el)),
      grid('cols-3', card('Autonomous systems', asns.el), card('SSH client versions', clients.el, { sub: 'banners of SSH events' }), card('HASSH fingerprints', hassh.el)),
      grid('cols-1', card('HTTP user agents', agentsBody, { sub: 'web traps, Tanner, Suricata http, Docker and Elasticsearch APIs' })),
    );
    return {
      async load(c, sig) {
        ctx = c;
        signal = sig;
        const ip = ctx.option('ip', null);
        ipCard.hidden = ip === null;
        if (ip !== null) replace(ipTitle, 'Sessions from ', h('code', null, clip(ip, 120)));
        // The AS and client charts show the top of their tables' first pages (one query each).
        const [tc, , ta, cv, , ua] = await Promise.all([
          panel(ctx, 'top-countries', { limit: 12 }, sig),
          ips.reset(),
          asns.reset(),
          clients.reset(),
          hassh.reset(),
          agents.reset(),
          ip !== null ? ipSessions.reset() : null,
        ]);
        replace(agentsBody, ua.length ? agents.el : noAgents);
        await Promise.all([
          bars(
            countriesEl,
            rowsOf(tc).map((r) => ({ label: `${r.country} ${countryName(r.country, r.name)}`, value: r.events, key: r.country, note: `${r.unique_ips} unique IPs` })),
            { onPick: (it) => ctx.addFilter('country', it.key) },
          ),
          bars(
            asnEl,
            ta.slice(0, 12).map((r) => ({ label: `AS${r.asn} ${r.organisation ?? ''}`.trim(), value: r.events, note: `${r.unique_ips} unique IPs` })),
            { color: '#a48cf0', labelWidth: 30 },
          ),
          bars(
            clientsEl,
            cv.slice(0, 12).map((r) => ({ label: r.client_version, value: r.sessions, note: `${r.unique_ips} unique IPs` })),
            { valueName: 'sessions', mono: true, color: '#e5d16a', labelWidth: 30 },
          ),
        ]);
      },
    };
  },
};
