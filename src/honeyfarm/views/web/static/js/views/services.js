// SPDX-License-Identifier: MIT
// Services: the Dionaea-class traps (SMB, FTP, TFTP, MSSQL, MySQL, SIP) and the catch-all listener, with
// Dionaea's own logs and MHN's Dionaea sessions by the protocol they spoke (source column) — events
// per service over time, then one section per protocol family: SMB dialects, pipes, shares and exploit probes;
// SQL commands and shell lines; SIP user agents and extensions; uploads and logins; catch-all ports and
// protocol guesses. Every value is attacker text: shown as text (table.js, charts.js), never linked; a
// SHA-256 opens the file page.

import { getJSON, rowsOf, withParams } from '../api.js';
import { bars, chartBox } from '../charts.js';
import { card, h, replace } from '../dom.js';
import { pagedTable } from '../table.js';
import { counters, grid, panel, timeChart, viewHead } from './common.js';

const SPAN = [
  { key: 'first_seen', label: 'First seen', kind: 'ts' },
  { key: 'last_seen', label: 'Last seen', kind: 'ts' },
];
const TRAPS = [
  ['smb', 'SMB events'],
  ['ftp', 'FTP events'],
  ['tftp', 'TFTP events'],
  ['mssql', 'MSSQL events'],
  ['mysql', 'MySQL events'],
  ['sip', 'SIP events'],
  ['catchall', 'Catch-all events'],
];
const IPS = { key: 'unique_ips', label: 'IPs', kind: 'int' };
const SOURCE = { key: 'source', label: 'Source', title: 'honeyfarm (the sensor\'s traps), dionaea, dionaea_sqlite or mhn' };
// Panels built on fields only honeyfarm's traps log: their empty state says so.
const OWN_ONLY = ' Dionaea and MHN do not log this: honeyfarm\'s traps only.';

function section(key, title, ...children) {
  return h('section', { class: 'svc-section', 'data-section': key }, h('h2', { class: 'section-title' }, title), ...children);
}

export default {
  title: 'Services',
  mount(root, ctx0) {
    let ctx = ctx0;
    let signal = null;
    const fetcher = (name) => (limit, offset) => panel(ctx, name, { limit, offset }, signal);
    const paged = (name, columns, limit, empty, extra) => pagedTable(name, columns, fetcher(name), { limit, empty, ...extra });
    const countersEl = h('div', { class: 'counters-slot' });
    const charts = {
      time: chartBox('service-events-time', 'h-260'),
      ports: chartBox('catchall-ports', 'h-260'),
      dialects: chartBox('smb-dialects', 'h-260'),
      agents: chartBox('sip-agents', 'h-260'),
    };
    // A Dionaea or MHN row filters on its honeypot (every such event is a dionaea.* one), a trap's row on the trap.
    const pickTrap = (r) => ctx.addFilter('honeypot', r.honeypot || (r.source && r.source !== 'honeyfarm' ? 'dionaea' : r.trap));
    const openFile = (r) => ctx.go('file', [String(r.sha256).toLowerCase()]);
    const t = {
      overview: paged(
        'service-overview',
        [
          { key: 'trap', label: 'Service', pick: pickTrap, pickTitle: 'Filter on this honeypot' },
          SOURCE,
          { key: 'events', label: 'Events', kind: 'int' },
          { key: 'sessions', label: 'Sessions', kind: 'int' },
          IPS,
          { key: 'logins', label: 'Logins', kind: 'int' },
          { key: 'uploads', label: 'Uploads', kind: 'int' },
          { key: 'downloads', label: 'Downloads', kind: 'int' },
          { key: 'ports', label: 'Ports', kind: 'int' },
          { key: 'port_list', label: 'Lowest ports', kind: 'mono' },
          ...SPAN,
        ],
        10,
        'No service trap, Dionaea or MHN events for these filters.',
      ),
      dialects: paged(
        'smb-dialects',
        [
          { key: 'smb_version', label: 'SMB', kind: 'plain' },
          { key: 'dialect', label: 'Dialect chosen', kind: 'mono' },
          { key: 'offered', label: 'Dialects offered', kind: 'mono', class: 'wide' },
          { key: 'negotiations', label: 'Negotiations', kind: 'int' },
          { key: 'sessions', label: 'Sessions', kind: 'int' },
          IPS,
          ...SPAN,
        ],
        10,
        `No SMB negotiation for these filters.${OWN_ONLY}`,
      ),
      pipes: paged(
        'smb-pipes',
        [
          { key: 'pipe', label: 'Pipe', kind: 'mono' },
          { key: 'interface', label: 'Interface', kind: 'mono' },
          { key: 'operation', label: 'Operation', kind: 'mono' },
          { key: 'opnum', label: 'Opnum', kind: 'plain' },
          { key: 'binds', label: 'Binds', kind: 'int' },
          { key: 'calls', label: 'Calls', kind: 'int' },
          { key: 'commands', label: 'Binary paths', kind: 'mono', class: 'wide' },
          IPS,
        ],
        15,
        `No DCE/RPC on named pipes for these filters.${OWN_ONLY}`,
      ),
      shares: paged(
        'smb-shares',
        [
          { key: 'share', label: 'Share', kind: 'mono', class: 'wide' },
          { key: 'tree_connects', label: 'Tree connects', kind: 'int' },
          { key: 'uploads', label: 'Uploads', kind: 'int' },
          { key: 'files', label: 'Files', kind: 'int' },
          IPS,
        ],
        15,
        `No tree connect for these filters.${OWN_ONLY}`,
      ),
      exploits: paged(
        'smb-exploits',
        [
          { key: 'day', label: 'Day', kind: 'plain' },
          { key: 'src_ip', label: 'Source', kind: 'mono' },
          { key: 'exploit', label: 'Probe' },
          { key: 'detail', label: 'Tool / subcommand', kind: 'mono' },
          { key: 'probes', label: 'Probes', kind: 'int' },
          { key: 'answers', label: 'Answered', kind: 'mono' },
        ],
        15,
        `No MS17-010 or DoublePulsar probe for these filters.${OWN_ONLY}`,
      ),
      sql: paged(
        'sql-commands',
        [
          { key: 'trap', label: 'Trap', pick: pickTrap, pickTitle: 'Filter on this honeypot' },
          { key: 'command', label: 'SQL', kind: 'mono', class: 'wide' },
          SOURCE,
          { key: 'count', label: 'Count', kind: 'int' },
          { key: 'sessions', label: 'Sessions', kind: 'int' },
          IPS,
          ...SPAN,
        ],
        15,
        'No SQL for these filters.',
      ),
      shell: paged(
        'sql-shell',
        [
          { key: 'trap', label: 'Trap' },
          { key: 'shell', label: 'Shell line', kind: 'mono', class: 'wide' },
          { key: 'urls', label: 'URLs', kind: 'mono' },
          { key: 'count', label: 'Count', kind: 'int' },
          IPS,
        ],
        15,
        `No xp_cmdshell line or payload URL for these filters.${OWN_ONLY}`,
      ),
      agents: paged(
        'sip-agents',
        [
          { key: 'user_agent', label: 'User-Agent', kind: 'mono', class: 'wide' },
          { key: 'scanner', label: 'Scanner', kind: 'mono' },
          { key: 'requests', label: 'Requests', kind: 'int' },
          { key: 'methods', label: 'Methods' },
          IPS,
          ...SPAN,
        ],
        15,
        `No SIP request for these filters.${OWN_ONLY}`,
      ),
      extensions: paged(
        'sip-extensions',
        [
          { key: 'extension', label: 'Extension', kind: 'mono', class: 'wide' },
          { key: 'registers', label: 'REGISTERs', kind: 'int' },
          { key: 'logins', label: 'Digest logins', kind: 'int' },
          { key: 'successes', label: 'Accepted', kind: 'int' },
          { key: 'realms', label: 'Realms', kind: 'mono' },
          IPS,
        ],
        15,
        `No SIP extension tried for these filters.${OWN_ONLY}`,
      ),
      uploads: paged(
        'service-uploads',
        [
          { key: 'sha256', label: 'SHA-256', kind: 'mono', class: 'sha', pick: openFile, pickTitle: 'Open the file page' },
          { key: 'trap', label: 'Trap' },
          { key: 'path', label: 'Path', kind: 'mono', class: 'wide' },
          { key: 'size', label: 'Size', kind: 'int' },
          { key: 'uploads', label: 'Uploads', kind: 'int' },
          IPS,
          ...SPAN,
        ],
        15,
        `No uploads for these filters.${OWN_ONLY}`,
      ),
      logins: paged(
        'service-logins',
        [
          { key: 'trap', label: 'Trap', pick: pickTrap, pickTitle: 'Filter on this honeypot' },
          { key: 'username', label: 'Username', kind: 'mono', class: 'wide' },
          { key: 'password', label: 'Password', kind: 'mono', title: '— : the protocol sends none (SMB NTLM, SIP digest, MySQL native auth: a hash)' },
          { key: 'attempts', label: 'Attempts', kind: 'int' },
          { key: 'successes', label: 'Accepted', kind: 'int' },
          SOURCE,
        ],
        15,
        'No logins for these filters.',
      ),
      ports: paged(
        'catchall-ports',
        [
          { key: 'port', label: 'Port', kind: 'plain' },
          { key: 'connections', label: 'Connections', kind: 'int' },
          { key: 'payloads', label: 'Payloads', kind: 'int' },
          { key: 'guesses', label: 'Protocols guessed', kind: 'mono' },
          IPS,
          ...SPAN,
        ],
        15,
        `No catch-all connections for these filters.${OWN_ONLY}`,
      ),
      guesses: paged(
        'catchall-guesses',
        [
          { key: 'guess', label: 'Guess', kind: 'mono' },
          { key: 'port', label: 'Port', kind: 'plain' },
          { key: 'ja4', label: 'JA4', kind: 'mono' },
          { key: 'ja3', label: 'JA3', kind: 'mono' },
          { key: 'payloads', label: 'Payloads', kind: 'int' },
          IPS,
          { key: 'sni', label: 'SNI', kind: 'mono' },
        ],
        15,
        `No catch-all payloads for these filters.${OWN_ONLY}`,
      ),
    };
    root.append(
      viewHead(
        'Services',
        'What the SMB, FTP, TFTP, MSSQL, MySQL and SIP traps and the catch-all listener caught, with Dionaea\'s logs and MHN\'s Dionaea sessions by the protocol they spoke (Source column). Shares, SQL, user agents, paths and usernames are attacker-supplied: shown as text only.',
      ),
      countersEl,
      grid('cols-2-1', card('Service events over time', charts.time, { sub: 'per service' }), card('Catch-all ports', charts.ports, { sub: 'connections' })),
      grid('cols-1', card('Services', t.overview.el, { sub: 'per service and source; click one to filter on its honeypot' })),
      section(
        'smb',
        'SMB',
        grid('cols-1-1', card('Dialects chosen', charts.dialects, { sub: 'negotiations' }), card('MS17-010 and DoublePulsar probes', t.exploits.el, { sub: 'per day and source' })),
        grid('cols-1', card('Dialects', t.dialects.el, { sub: 'chosen, and the set the client offered' })),
        grid('cols-1', card('Named pipes and DCE/RPC', t.pipes.el, { sub: 'binds and calls; service binary paths (svcctl)' })),
        grid('cols-1', card('Shares', t.shares.el, { sub: 'tree connects and files written' })),
      ),
      section('sql', 'SQL (MSSQL, MySQL)', grid('cols-1', card('SQL commands', t.sql.el)), grid('cols-1', card('Shell lines and URLs', t.shell.el, { sub: 'xp_cmdshell, sp_OACreate; URLs fetched' }))),
      section(
        'sip',
        'SIP',
        grid('cols-1-1', card('Top user agents', charts.agents), card('Extensions tried', t.extensions.el, { sub: 'REGISTER targets and digest usernames' })),
        grid('cols-1', card('User agents', t.agents.el)),
      ),
      section(
        'files',
        'FTP, TFTP and uploads',
        grid('cols-1', card('Uploads', t.uploads.el, { sub: 'SMB, FTP, TFTP, MySQL; a SHA-256 opens the file page' })),
        grid('cols-1', card('Logins', t.logins.el, { sub: 'every service trap; also in the Credentials view' })),
      ),
      section('catchall', 'Catch-all', grid('cols-1-1', card('Ports', t.ports.el), card('Protocol guesses', t.guesses.el, { sub: 'with TLS fingerprints' }))),
    );
    return {
      async load(c, sig) {
        ctx = c;
        signal = sig;
        const [tl, all, , dialects, agents, ports] = await Promise.all([
          getJSON('services/timeline', withParams(ctx.api, { bucket: 'auto' }), sig),
          // The counters add every row (the table shows a page): one row per service and source.
          panel(ctx, 'service-overview', { limit: 500 }, sig),
          t.overview.reset(),
          t.dialects.reset(),
          t.agents.reset(),
          t.ports.reset(),
          ...['exploits', 'pipes', 'shares', 'sql', 'shell', 'extensions', 'uploads', 'logins', 'guesses'].map((k) => t[k].reset()),
        ]);
        // A service's counter adds its rows of every source (honeyfarm's trap, Dionaea, MHN).
        const overview = rowsOf(all);
        const per = new Map();
        for (const r of overview) per.set(r.trap, (per.get(r.trap) || 0) + (Number(r.events) || 0));
        const sum = (key) => overview.reduce((n, r) => n + (Number(r[key]) || 0), 0);
        const known = new Set(TRAPS.map(([trap]) => trap));
        const others = [...per].filter(([trap]) => !known.has(trap)).reduce((n, [, v]) => n + v, 0);
        replace(
          countersEl,
          counters([
            ...TRAPS.map(([trap, label], i) => ({ key: trap, label, value: per.get(trap) || 0, class: i === 0 ? 'accent' : '' })),
            // Dionaea's other services (http, mongodb, ...) and closed ports: shown only when there are some.
            ...(others ? [{ key: 'other', label: 'Other services', value: others }] : []),
            { key: 'logins', label: 'Logins', value: sum('logins') },
            { key: 'uploads', label: 'Uploads', value: sum('uploads') },
          ]),
        );
        const byDialect = new Map();
        for (const r of dialects) {
          const k = r.dialect === null || r.dialect === undefined ? '(none)' : String(r.dialect);
          byDialect.set(k, (byDialect.get(k) || 0) + (Number(r.negotiations) || 0));
        }
        await Promise.all([
          // A series is a service; only a honeyfarm trap's name is also a honeypot to filter on.
          timeChart(charts.time, tl, { kind: 'bar', onSeries: (trap) => known.has(trap) && ctx.addFilter('honeypot', trap) }),
          bars(
            charts.ports,
            ports.slice(0, 12).map((r) => ({ label: String(r.port), value: r.connections, note: r.guesses ? `guessed: ${r.guesses}` : '' })),
            { valueName: 'connections', mono: true, color: '#5fd4b4' },
          ),
          bars(
            charts.dialects,
            [...byDialect].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([label, value]) => ({ label, value })),
            { valueName: 'negotiations', mono: true, color: '#a48cf0' },
          ),
          bars(
            charts.agents,
            agents.slice(0, 12).map((r) => ({ label: r.user_agent ?? '(none)', value: r.requests, note: `${r.methods || ''}${r.scanner ? `, ${r.scanner}` : ''}` })),
            { valueName: 'requests', mono: true, labelWidth: 34, color: '#ef7b6c' },
          ),
        ]);
      },
    };
  },
};
