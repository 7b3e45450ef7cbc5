// SPDX-License-Identifier: MIT
// Credentials: top usernames, passwords and pairs (charts + paginated tables), a search box, and the
// drill-down a T-Pot user expects: pick a username, password or pair → the addresses that tried it (each a
// link to its IP page) and the sessions (each opens the session page).
//
// The search and the pick live in the hash (q, qf; cu, cp, cnp), so a drill-down is a link that survives a reload.

import { getJSON, rowsOf, withParams } from '../api.js';
import { bars, chartBox } from '../charts.js';
import { card, clip, emptyBox, h, replace } from '../dom.js';
import { pagedTable, table } from '../table.js';
import { grid, panel, viewHead } from './common.js';

const NUMS = [
  { key: 'attempts', label: 'Attempts', kind: 'int' },
  { key: 'successes', label: 'Successes', kind: 'int' },
];
const MAX_SEARCH = 200; // the API's cap (honeyfarm.analysis.overview.MAX_SEARCH)
const MAX_CREDENTIAL = 4096; // the drill-down's cap (explore_api.MAX_CREDENTIAL)

const show = (v) => (v === null || v === undefined ? '∅' : v === '' ? '(empty)' : String(v));

/** The picked credential from the hash: {username, password, nopassword} or null. */
function picked(ctx) {
  const p = ctx.params;
  const username = p.has('cu') ? p.get('cu') : null;
  const password = p.has('cp') ? p.get('cp') : null;
  const nopassword = p.get('cnp') === '1';
  return username === null && password === null && !nopassword ? null : { username, password, nopassword };
}

function describe(sel) {
  const parts = [];
  if (sel.username !== null) parts.push(`username ${show(sel.username)}`);
  if (sel.nopassword) parts.push('no password');
  else if (sel.password !== null) parts.push(`password ${show(sel.password)}`);
  return parts.join(' / ');
}

export default {
  title: 'Credentials',
  mount(root, ctx0) {
    let ctx = ctx0;
    let signal = null;
    /** Open the drill-down for a row: a username, a password, or a pair (a NULL password: "no password"). */
    const pick = (username, password, nopassword) => {
      const extra = { q: ctx.params.get('q'), qf: ctx.params.get('qf') };
      if (username !== null && username !== undefined) extra.cu = String(username);
      if (nopassword) extra.cnp = '1';
      else if (password !== null && password !== undefined) extra.cp = String(password);
      ctx.go('credentials', [], extra);
    };
    const charts = {
      users: chartBox('top-usernames', 'h-300'),
      passwords: chartBox('top-passwords', 'h-300'),
      pairs: chartBox('top-credentials', 'h-300'),
    };
    const fetcher = (name) => (limit, offset) => panel(ctx, name, { limit, offset }, signal);
    const tables = {
      users: pagedTable('usernames', [{ key: 'username', label: 'Username', kind: 'mono' }, ...NUMS], fetcher('top-usernames'), {
        limit: 20,
        onRow: (r) => pick(r.username, null, false),
      }),
      passwords: pagedTable('passwords', [{ key: 'password', label: 'Password', kind: 'mono' }, ...NUMS], fetcher('top-passwords'), {
        limit: 20,
        onRow: (r) => pick(null, r.password, false),
      }),
      pairs: pagedTable(
        'credentials',
        [{ key: 'username', label: 'Username', kind: 'mono' }, { key: 'password', label: 'Password', kind: 'mono' }, ...NUMS],
        fetcher('top-credentials'),
        { limit: 20, onRow: (r) => pick(r.username, r.password, r.password === null) },
      ),
    };

    // ---- search: username/password substring, case-insensitive, literal (% and _ are characters)
    const input = h('input', {
      class: 'text-input cred-search', type: 'text', placeholder: 'part of a username or password', 'aria-label': 'Search credentials',
      autocomplete: 'off', spellcheck: 'false', 'data-cred-search': '1',
    });
    input.maxLength = MAX_SEARCH;
    const field = h('select', { 'aria-label': 'Search in', 'data-cred-field': '1' },
      h('option', { value: 'both' }, 'username or password'), h('option', { value: 'username' }, 'username'),
      h('option', { value: 'password' }, 'password'));
    const go = h('button', { type: 'button', class: 'btn primary small', 'data-cred-go': '1' }, 'Search');
    const submit = () => {
      const q = input.value.slice(0, MAX_SEARCH);
      const p = { q: q || null, qf: field.value === 'both' ? null : field.value };
      for (const k of ['cu', 'cp', 'cnp']) if (ctx.params.has(k)) p[k] = ctx.params.get(k);
      ctx.go('credentials', [], p);
    };
    go.addEventListener('click', submit);
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') submit();
    });
    const searchBody = h('div');
    const searchTable = pagedTable(
      'credential-search',
      [{ key: 'username', label: 'Username', kind: 'mono' }, { key: 'password', label: 'Password', kind: 'mono' }, ...NUMS],
      (limit, offset) =>
        getJSON('credentials/search', withParams(ctx.api, { q: ctx.params.get('q'), field: ctx.option('qf', 'both'), limit, offset }), signal),
      { limit: 20, onRow: (r) => pick(r.username, r.password, r.password === null), empty: 'No username or password holds this text.' },
    );

    // ---- drill-down
    const drillHead = h('div', { class: 'toolbar' });
    const ipsEl = h('div');
    const sessionsEl = h('div');
    const drill = h('div', { 'data-drill': '1' }, drillHead, grid('cols-2', card('Source addresses', ipsEl, { sub: 'an address opens its page' }), card('Sessions', sessionsEl, { sub: 'a row opens the session' })));

    root.append(
      viewHead('Credentials', 'Login names and passwords tried against the traps, most frequent first; pick a row to see who tried it.'),
      grid('cols-1', card('Search', h('div', null, h('div', { class: 'toolbar' }, input, field, go), searchBody), { sub: 'case-insensitive, part of the text' })),
      grid('cols-1', card('Who tried it', drill)),
      grid('cols-3', card('Top usernames', charts.users), card('Top passwords', charts.passwords), card('Top username / password pairs', charts.pairs)),
      grid('cols-3', card('Usernames', tables.users.el), card('Passwords', tables.passwords.el), card('Pairs', tables.pairs.el)),
    );
    const items = (rows, label, key) => rows.slice(0, 15).map((r) => ({ label: label(r), value: r.attempts, note: `${r.successes} successful`, key: key(r) }));

    async function loadSearch() {
      const q = ctx.params.get('q') || '';
      input.value = q;
      field.value = ctx.option('qf', 'both');
      if (!q) return replace(searchBody, emptyBox('Type part of a username or password (case-insensitive; % and _ are plain characters).'));
      if (q.length > MAX_SEARCH) return replace(searchBody, emptyBox(`Search at most ${MAX_SEARCH} characters.`));
      replace(searchBody, searchTable.el);
      return searchTable.reset();
    }

    async function loadDrill() {
      const sel = picked(ctx);
      if (!sel) {
        replace(drillHead, emptyBox('Pick a username, password or pair below (a row or a bar) to list the addresses and sessions that tried it.'));
        replace(ipsEl);
        replace(sessionsEl);
        drill.dataset.state = 'none';
        return;
      }
      const clear = h('button', { type: 'button', class: 'btn small ghost', 'data-drill-clear': '1' }, 'Clear');
      clear.addEventListener('click', () => ctx.go('credentials', [], { q: ctx.params.get('q'), qf: ctx.params.get('qf') }));
      replace(drillHead, h('span', { class: 'tool-label' }, 'Tried'), h('span', { class: 'mono', 'data-drill-what': '1' }, clip(describe(sel), 300)), clear);
      if ((sel.username || '').length > MAX_CREDENTIAL || (sel.password || '').length > MAX_CREDENTIAL) {
        replace(ipsEl, emptyBox(`Too long to look up (over ${MAX_CREDENTIAL} characters).`));
        replace(sessionsEl);
        return;
      }
      // Built by hand, not withParams: an empty username or password is a value to match, not "any".
      const p = new URLSearchParams(ctx.api);
      if (sel.username !== null) p.set('username', sel.username);
      if (sel.nopassword) p.set('nopassword', 'true');
      else if (sel.password !== null) p.set('password', sel.password);
      const ans = await getJSON('credentials/detail', p, signal);
      replace(
        ipsEl,
        table(
          'credential-ips',
          [
            { key: 'ip', label: 'Address', kind: 'mono', pick: (r) => ctx.go('ip', [String(r.ip)]), pickTitle: 'What this address did, on every sensor' },
            { key: 'country', label: 'Country', kind: 'country' },
            { key: 'asn', label: 'AS', kind: 'plain' },
            { key: 'organisation', label: 'Organisation' },
            ...NUMS,
            { key: 'sessions', label: 'Sessions', kind: 'int' },
            { key: 'first_seen', label: 'First', kind: 'ts' },
            { key: 'last_seen', label: 'Last', kind: 'ts' },
          ],
          rowsOf(ans.ips),
        ),
      );
      replace(
        sessionsEl,
        table(
          'credential-sessions',
          [
            { key: 'sensor', label: 'Sensor', format: (v) => v ?? '(no sensor)' },
            { key: 'session', label: 'Session', kind: 'mono' },
            { key: 'src_ip', label: 'Source', kind: 'mono' },
            { key: 'country', label: 'Country', kind: 'country' },
            ...NUMS,
            { key: 'first_seen', label: 'Started', kind: 'ts' },
          ],
          rowsOf(ans.sessions),
          { onRow: (r) => ctx.go('session', [r.sensor ?? '(no sensor)', String(r.session)]) },
        ),
      );
      drill.dataset.state = 'shown';
    }

    return {
      async load(c, sig) {
        ctx = c;
        signal = sig;
        // The charts show the top of each table's first page: one query per panel, not two.
        const [u, p, cr] = await Promise.all([tables.users.reset(), tables.passwords.reset(), tables.pairs.reset(), loadSearch(), loadDrill()]);
        await Promise.all([
          bars(charts.users, items(u, (r) => show(r.username), (r) => [r.username, null]), {
            valueName: 'attempts', mono: true, onPick: (it) => pick(it.key[0], null, false),
          }),
          bars(charts.passwords, items(p, (r) => show(r.password), (r) => [null, r.password]), {
            valueName: 'attempts', mono: true, color: '#f0a35e', onPick: (it) => pick(null, it.key[1], false),
          }),
          bars(charts.pairs, items(cr, (r) => `${show(r.username)} / ${show(r.password)}`, (r) => [r.username, r.password]), {
            valueName: 'attempts', mono: true, color: '#7bc96f', labelWidth: 30, onPick: (it) => pick(it.key[0], it.key[1], it.key[1] === null),
          }),
        ]);
      },
    };
  },
};
