// SPDX-License-Identifier: MIT
// Commands: top command lines; pick one to list the sessions that ran it; pick a session to open it.

import { getJSON, withParams } from '../api.js';
import { bars, chartBox } from '../charts.js';
import { card, clip, h, replace } from '../dom.js';
import { pagedTable } from '../table.js';
import { grid, panel, viewHead } from './common.js';

const MAX_PICK = 8000; // characters of a command line that can be picked to list its sessions

export default {
  title: 'Commands',
  mount(root, ctx0) {
    let ctx = ctx0;
    let signal = null;
    const chartEl = chartBox('top-commands', 'h-360');
    const cmds = pagedTable(
      'commands',
      [
        { key: 'command', label: 'Command', kind: 'mono', class: 'wide' },
        { key: 'count', label: 'Count', kind: 'int' },
        { key: 'sessions', label: 'Sessions', kind: 'int' },
        { key: 'unique_ips', label: 'Unique IPs', kind: 'int' },
      ],
      (limit, offset) => panel(ctx, 'top-commands', { limit, offset }, signal),
      {
        limit: 25,
        onRow: (r) => ctx.setOption('command', r.command),
        // the command goes into the URL and the query string: a longer one cannot list its sessions
        canOpen: (r) => String(r.command ?? '').length <= MAX_PICK,
        rowClass: (r) => (r.command === ctx.option('command', null) ? 'selected' : null),
      },
    );
    const sessTitle = h('span');
    const sessions = pagedTable(
      'sessions',
      [
        { key: 'sensor', label: 'Sensor' },
        { key: 'session', label: 'Session', kind: 'mono' },
        { key: 'src_ip', label: 'Source IP', kind: 'mono' },
        { key: 'country', label: 'Country', kind: 'country', nameKey: '_' },
        { key: 'first_seen', label: 'First seen', kind: 'ts' },
        { key: 'last_seen', label: 'Last seen', kind: 'ts' },
        { key: 'events', label: 'Events', kind: 'int' },
        { key: 'commands', label: 'Commands', kind: 'int' },
      ],
      (limit, offset) => {
        const command = ctx.option('command', null);
        return getJSON('sessions', withParams(ctx.api, { command, limit, offset }), signal);
      },
      { limit: 15, onRow: (r) => ctx.go('session', [r.sensor, r.session]), empty: 'No sessions ran this command (for these filters).' },
    );
    const clearBtn = h('button', { type: 'button', class: 'btn small ghost' }, 'Show busiest sessions');
    clearBtn.addEventListener('click', () => ctx.setOption('command', null));
    const sessCard = card(sessTitle, sessions.el, { tools: clearBtn, class: 'sessions-card' });
    root.append(
      viewHead('Commands', 'Command lines attackers typed. Click a command to see the sessions that ran it, then a session to replay it.'),
      grid('cols-1-1', card('Top commands', chartEl), card('Command lines', cmds.el)),
      grid('cols-1', sessCard),
    );
    return {
      async load(c, sig) {
        ctx = c;
        signal = sig;
        const command = ctx.option('command', null);
        clearBtn.hidden = command === null;
        if (command === null) {
          replace(sessTitle, 'Busiest sessions');
        } else {
          replace(sessTitle, 'Sessions that ran ', h('code', { class: 'cmd', title: command }, clip(command, 120)));
        }
        // The chart shows the top of the table's first page: one top-commands query, not two.
        const [top] = await Promise.all([cmds.reset(), sessions.reset()]);
        await bars(
          chartEl,
          top.slice(0, 15).map((r) => ({ label: r.command, value: r.count, key: r.command, note: `${r.sessions} sessions, ${r.unique_ips} IPs` })),
          { valueName: 'times', mono: true, labelWidth: 34, color: '#5fd4b4', onPick: (it) => String(it.key ?? '').length <= MAX_PICK && ctx.setOption('command', it.key) },
        );
        if (command !== null) sessCard.scrollIntoView({ block: 'nearest' });
      },
    };
  },
};
