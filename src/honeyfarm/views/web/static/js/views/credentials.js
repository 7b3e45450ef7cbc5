// SPDX-License-Identifier: MIT
// Credentials: top usernames, passwords and pairs (charts + paginated tables).

import { bars, chartBox } from '../charts.js';
import { card } from '../dom.js';
import { pagedTable } from '../table.js';
import { grid, panel, viewHead } from './common.js';

const NUMS = [
  { key: 'attempts', label: 'Attempts', kind: 'int' },
  { key: 'successes', label: 'Successes', kind: 'int' },
];

export default {
  title: 'Credentials',
  mount(root, ctx0) {
    let ctx = ctx0;
    let signal = null;
    const charts = {
      users: chartBox('top-usernames', 'h-300'),
      passwords: chartBox('top-passwords', 'h-300'),
      pairs: chartBox('top-credentials', 'h-300'),
    };
    const fetcher = (name) => (limit, offset) => panel(ctx, name, { limit, offset }, signal);
    const tables = {
      users: pagedTable('usernames', [{ key: 'username', label: 'Username', kind: 'mono' }, ...NUMS], fetcher('top-usernames'), { limit: 20 }),
      passwords: pagedTable('passwords', [{ key: 'password', label: 'Password', kind: 'mono' }, ...NUMS], fetcher('top-passwords'), { limit: 20 }),
      pairs: pagedTable(
        'credentials',
        [{ key: 'username', label: 'Username', kind: 'mono' }, { key: 'password', label: 'Password', kind: 'mono' }, ...NUMS],
        fetcher('top-credentials'),
        { limit: 20 },
      ),
    };
    root.append(
      viewHead('Credentials', 'Login names and passwords tried against the traps, most frequent first.'),
      grid('cols-3', card('Top usernames', charts.users), card('Top passwords', charts.passwords), card('Top username / password pairs', charts.pairs)),
      grid('cols-3', card('Usernames', tables.users.el), card('Passwords', tables.passwords.el), card('Pairs', tables.pairs.el)),
    );
    const items = (rows, label) => rows.slice(0, 15).map((r) => ({ label: label(r), value: r.attempts, note: `${r.successes} successful` }));
    return {
      async load(c, sig) {
        ctx = c;
        signal = sig;
        // The charts show the top of each table's first page: one query per panel, not two.
        const [u, p, cr] = await Promise.all([tables.users.reset(), tables.passwords.reset(), tables.pairs.reset()]);
        const fmt = (v) => (v === null || v === undefined ? '∅' : v === '' ? '(empty)' : String(v));
        await Promise.all([
          bars(charts.users, items(u, (r) => fmt(r.username)), { valueName: 'attempts', mono: true }),
          bars(charts.passwords, items(p, (r) => fmt(r.password)), { valueName: 'attempts', mono: true, color: '#f0a35e' }),
          bars(charts.pairs, items(cr, (r) => `${fmt(r.username)} / ${fmt(r.password)}`), { valueName: 'attempts', mono: true, color: '#7bc96f', labelWidth: 30 }),
        ]);
      },
    };
  },
};
