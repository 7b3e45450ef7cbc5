// SPDX-License-Identifier: MIT
// Exploit traps: the web, Redis, Docker Engine API and Elasticsearch traps, and SNARE/Tanner's requests
// (trap "tanner") — attacks over time, attack classes and CVEs, top paths and user agents, Redis and Docker
// commands, Elasticsearch queries and the URLs found in payloads. Every value is attacker text: shown as
// text (table.js, charts.js), never linked.

import { getJSON, rowsOf, withParams } from '../api.js';
import { bars, chartBox } from '../charts.js';
import { card, h, replace, segmented } from '../dom.js';
import { pagedTable } from '../table.js';
import { counters, grid, panel, timeChart, viewHead } from './common.js';

const SPAN = [
  { key: 'first_seen', label: 'First seen', kind: 'ts' },
  { key: 'last_seen', label: 'Last seen', kind: 'ts' },
];
// The web trap's honeypot (eventid prefix) is "http"; "web" would be counted with it.
const TRAP_NAMES = new Map([
  ['http', 'Web requests'],
  ['redis', 'Redis events'],
  ['docker', 'Docker API events'],
  ['elasticsearch', 'Elasticsearch events'],
]);

export default {
  title: 'Exploit traps',
  mount(root, ctx0) {
    let ctx = ctx0;
    let signal = null;
    const fetcher = (name) => (limit, offset) => panel(ctx, name, { limit, offset }, signal);
    const countersEl = h('div', { class: 'counters-slot' });
    const charts = {
      time: chartBox('trap-attacks-time', 'h-260'),
      attacks: chartBox('web-attacks', 'h-260'),
      paths: chartBox('web-paths', 'h-300'),
      agents: chartBox('user-agents', 'h-300'),
    };
    const pickTrap = (r) => ctx.addFilter('honeypot', r.trap);
    const tables = {
      traps: pagedTable(
        'traps',
        [
          { key: 'trap', label: 'Trap', pick: pickTrap, pickTitle: 'Filter on this honeypot' },
          { key: 'events', label: 'Events', kind: 'int' },
          { key: 'sessions', label: 'Sessions', kind: 'int' },
          { key: 'unique_ips', label: 'IPs', kind: 'int' },
          { key: 'attacks', label: 'Flagged', kind: 'int', title: 'Events with an attack class or a CVE id' },
          ...SPAN,
        ],
        fetcher('traps'),
        { limit: 10, empty: 'No exploit trap events for these filters.' },
      ),
      paths: pagedTable(
        'web-paths',
        [
          { key: 'path', label: 'Path', kind: 'mono', class: 'wide' },
          { key: 'requests', label: 'Requests', kind: 'int' },
          { key: 'unique_ips', label: 'IPs', kind: 'int' },
          { key: 'methods', label: 'Methods' },
          { key: 'attacks', label: 'Attacks' },
          { key: 'traps', label: 'Traps', title: 'http: honeyfarm\'s web trap; tanner: SNARE/Tanner' },
          ...SPAN,
        ],
        fetcher('web-paths'),
        { limit: 20, empty: 'No web requests for these filters.' },
      ),
      attacks: pagedTable(
        'web-attacks',
        [
          { key: 'kind', label: 'Kind' },
          { key: 'name', label: 'Class / CVE', kind: 'mono' },
          { key: 'requests', label: 'Requests', kind: 'int' },
          { key: 'unique_ips', label: 'IPs', kind: 'int' },
          { key: 'traps', label: 'Traps' },
        ],
        fetcher('web-attacks'),
        { limit: 15, empty: 'No attack recognised for these filters.' },
      ),
      agents: pagedTable(
        'user-agents',
        [
          { key: 'user_agent', label: 'User agent', kind: 'mono', class: 'wide' },
          { key: 'requests', label: 'Requests', kind: 'int' },
          { key: 'unique_ips', label: 'IPs', kind: 'int' },
          { key: 'traps', label: 'Traps' },
        ],
        fetcher('user-agents'),
        { limit: 15 },
      ),
      redis: pagedTable(
        'redis-commands',
        [
          { key: 'command', label: 'Command', kind: 'mono', class: 'wide' },
          { key: 'count', label: 'Count', kind: 'int' },
          { key: 'sessions', label: 'Sessions', kind: 'int' },
          { key: 'unique_ips', label: 'IPs', kind: 'int' },
        ],
        fetcher('redis-commands'),
        { limit: 15, empty: 'No Redis commands for these filters.' },
      ),
      docker: pagedTable(
        'docker-commands',
        [
          { key: 'action', label: 'Action' },
          { key: 'image', label: 'Image', kind: 'mono' },
          { key: 'command', label: 'Command', kind: 'mono', class: 'wide' },
          { key: 'privileged', label: 'Privileged', kind: 'bool' },
          { key: 'binds', label: 'Binds', kind: 'mono' },
          { key: 'count', label: 'Count', kind: 'int' },
          { key: 'unique_ips', label: 'IPs', kind: 'int' },
        ],
        fetcher('docker-commands'),
        { limit: 15, empty: 'No Docker Engine API actions for these filters.' },
      ),
      es: pagedTable(
        'elasticsearch-queries',
        [
          { key: 'kind', label: 'Kind' },
          { key: 'method', label: 'Method' },
          { key: 'url', label: 'Path', kind: 'mono' },
          { key: 'query', label: 'Query', kind: 'mono', class: 'wide' },
          { key: 'command', label: 'Command in scripts', kind: 'mono' },
          { key: 'count', label: 'Count', kind: 'int' },
          { key: 'cves', label: 'CVEs', kind: 'mono' },
          { key: 'unique_ips', label: 'IPs', kind: 'int' },
        ],
        fetcher('elasticsearch-queries'),
        { limit: 15, empty: 'No Elasticsearch requests for these filters.' },
      ),
      urls: pagedTable(
        'payload-urls',
        [
          { key: 'trap', label: 'Trap' },
          { key: 'url', label: 'URL', kind: 'mono', class: 'wide' },
          { key: 'fetched', label: 'Fetched', kind: 'int' },
          { key: 'failed', label: 'Failed', kind: 'int' },
          { key: 'failures', label: 'Why failed', kind: 'mono' },
          { key: 'how', label: 'Found by', kind: 'mono' },
          { key: 'sha256', label: 'SHA-256', kind: 'mono', class: 'sha' },
          { key: 'unique_ips', label: 'IPs', kind: 'int' },
          ...SPAN,
        ],
        fetcher('payload-urls'),
        { limit: 20, empty: 'No payload URLs for these filters.' },
      ),
    };
    const tools = h('div', { class: 'toolbar' });
    root.append(
      viewHead(
        'Exploit traps',
        'What the web, Redis, Docker Engine API and Elasticsearch traps caught, and the requests SNARE/Tanner logged (trap tanner; its lfi and cmd_exec detections are named traversal and cmd_injection). Paths, agents, commands and URLs are attacker-supplied: shown as text only.',
      ),
      countersEl,
      grid('cols-2-1', card('Attacks over time', charts.time, { tools }), card('Attack classes and CVEs', charts.attacks, { sub: 'requests' })),
      grid('cols-1', card('Traps', tables.traps.el, { sub: 'click a trap to filter' })),
      grid('cols-1-1', card('Top web paths', charts.paths, { sub: 'query string cut' }), card('Top user agents', charts.agents)),
      grid('cols-1', card('Web paths', tables.paths.el)),
      grid('cols-1-1', card('Attack classes and CVE ids', tables.attacks.el), card('User agents', tables.agents.el)),
      grid('cols-1', card('Redis commands', tables.redis.el)),
      grid('cols-1', card('Docker Engine API', tables.docker.el, { sub: 'images, commands, privileged, binds' })),
      grid('cols-1', card('Elasticsearch requests and queries', tables.es.el)),
      grid('cols-1', card('Payload URLs', tables.urls.el, { sub: 'found in payloads, per trap; fetched or failed' })),
    );
    return {
      async load(c, sig) {
        ctx = c;
        signal = sig;
        const by = ctx.option('attacks', 'class');
        replace(
          tools,
          h('span', { class: 'tool-label' }, 'Split by'),
          segmented(
            [
              ['class', 'Class'],
              ['cve', 'CVE'],
              ['trap', 'Trap'],
            ],
            by,
            (v) => ctx.setOption('attacks', v),
            'Split attacks by',
          ),
        );
        const [tl, traps, paths, attacks, agents, urls] = await Promise.all([
          getJSON('traps/timeline', withParams(ctx.api, { by, bucket: 'auto' }), sig),
          tables.traps.reset(),
          tables.paths.reset(),
          tables.attacks.reset(),
          tables.agents.reset(),
          panel(ctx, 'payload-urls', { limit: 500 }, sig),
          tables.redis.reset(),
          tables.docker.reset(),
          tables.es.reset(),
          tables.urls.reset(),
        ]);
        const per = new Map(traps.map((r) => [r.trap, Number(r.events) || 0]));
        const events = (trap) => (per.get(trap) || 0) + (trap === 'http' ? per.get('web') || 0 : 0);
        const fetched = rowsOf(urls).reduce((n, r) => n + (Number(r.fetched) || 0), 0);
        const failed = rowsOf(urls).reduce((n, r) => n + (Number(r.failed) || 0), 0);
        replace(
          countersEl,
          counters([
            ...[...TRAP_NAMES].map(([trap, label], i) => ({ key: trap, label, value: events(trap), class: i === 0 ? 'accent' : '' })),
            // Tanner's requests, when the lake has some (a lake of honeyfarm sensors only shows no such counter).
            ...(events('tanner') ? [{ key: 'tanner', label: 'Tanner requests', value: events('tanner') }] : []),
            { key: 'fetched', label: 'Payloads fetched', value: fetched, sub: urls.has_more ? 'of the top 500 URLs' : null },
            { key: 'failed', label: 'Payload fetches failed', value: failed },
          ]),
        );
        await Promise.all([
          timeChart(charts.time, tl, { kind: 'bar' }),
          bars(
            charts.attacks,
            attacks.slice(0, 12).map((r) => ({ label: r.name, value: r.requests, note: `${r.kind}, ${r.unique_ips} IPs, ${r.traps}` })),
            { valueName: 'requests', mono: true, color: '#ef7b6c' },
          ),
          bars(
            charts.paths,
            paths.slice(0, 12).map((r) => ({ label: r.path, value: r.requests, note: r.attacks ? `attacks: ${r.attacks}` : '' })),
            { valueName: 'requests', mono: true, labelWidth: 34, color: '#5fd4b4' },
          ),
          bars(
            charts.agents,
            agents.slice(0, 12).map((r) => ({ label: r.user_agent, value: r.requests, note: `${r.unique_ips} IPs, ${r.traps}` })),
            { valueName: 'requests', mono: true, labelWidth: 34, color: '#a48cf0' },
          ),
        ]);
      },
    };
  },
};
