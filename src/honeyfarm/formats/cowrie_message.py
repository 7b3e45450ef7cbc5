# SPDX-License-Identifier: MIT
"""Cowrie's ``message``: dropped at ingest where a fixed template rebuilds it byte for byte, rebuilt by readers.

Cowrie writes a human ``message`` on every event; for most eventids it is a fixed template over
other fields of the same record (``CMD: uname -a``, ``login attempt [root/123456] failed``, ...).
Stored as it is, it was the largest part of ``extra``. Here every template seen in real logs
(``../shared/samples/cowrie_json``, releases 2017-2026, and Cowrie's source) is written once, as SQL
over the *stored* values: the event columns and the ``extra`` keys the template reads. At ingest the
same SQL runs over the parsed record (the stored values computed the same way as the columns), and
the message leaves ``extra`` only when it equals the template's output exactly (byte-exact string
equality). A reader puts it back with :func:`message_in_extra_sql`. Anything else (a message of a
release not known here, an IPv4-mapped address, a ``b'...'`` repr, an upper-case hash, a list
``[]``, a hostile value that breaks the pattern) stays in ``extra`` as it was: the rule costs
space when it misses, never text.

How to integrate (formats/cowrie.py, lake views)
------------------------------------------------
1. Parse :data:`FIELDS` too: ``message``, ``ttylog``, ``outfile``, ``data``, ``id``, ``name``, ``value``,
   ``width``, ``height``, ``type``, ``fingerprint``, ``filename``, ``uuid``, ``system``, each as its
   text (a VARCHAR read of the key: a string unquoted, a number or structure as JSON text); none is
   mapped, they stay in ``extra``.
2. Compute the template once per line: ``derived_message_sql(<struct of those fields>, exprs)``, where
   ``exprs`` is the dict of column expressions given to ``project()`` (so it reads exactly what the
   columns will hold), as a column of the parse CTE (say ``p._tmpl``). In ``extra``, merge with
   ``json_merge_patch(line, message_patch_sql(<keys>, "p._tmpl"))`` and wrap the ``::VARCHAR`` text
   (inside ``nullif(..., '{}')``) in ``mark_absent_sql(<text>, "p._tmpl")``; or build ``extra`` another
   way that drops ``message`` exactly when :func:`drop_message_sql` holds and adds ``"message": null``
   exactly where :func:`mark_absent_sql` does (tests/test_cowrie_message.py checks the result).
3. Readers: ``message_in_extra_sql()`` over the ``events`` columns gives ``extra`` with the message
   back (e.g. ``SELECT * REPLACE (<it> AS extra) FROM events``); it costs ~0.7 us of CPU per Cowrie
   row, so a query that needs other keys of ``extra`` over many rows is faster on the stored column.
   ``rebuilt_message_sql()`` alone gives the message text of rows whose message was dropped (the
   template's text on the others).

The value is byte-exact; ``extra``'s *key order* is not: the rebuilt ``message`` comes first. A Cowrie
record without ``message`` whose template would apply gets ``"message": null`` in ``extra`` (so a
reader does not invent one) and reads back without the key; a record with ``"message": null`` reads
back without the key too, when a template applies (Cowrie never writes either). Duplicate keys in a
record (undefined in JSON) are not kept apart: the first one is what the template and readers see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from honeyfarm.formats.base import IPV4_MAPPED, null_patch
from honeyfarm.sql import sql_str

#: Fields of the raw record the derivation reads, beyond cowrie.py's ``_FIELDS`` (name -> DuckDB type).
FIELDS: dict[str, str] = {
    "message": "VARCHAR",
    "ttylog": "VARCHAR",
    "outfile": "VARCHAR",
    "data": "VARCHAR",
    "id": "VARCHAR",
    "name": "VARCHAR",
    "value": "VARCHAR",
    "width": "VARCHAR",
    "height": "VARCHAR",
    "type": "VARCHAR",
    "fingerprint": "VARCHAR",
    "filename": "VARCHAR",
    "uuid": "VARCHAR",
    "system": "VARCHAR",
}

#: Event columns the templates read.
COLUMNS = (
    "eventid", "session", "src_ip", "src_port", "dst_ip", "dst_port", "username", "password", "command", "url",
    "sha256", "client_version", "hassh", "duration",
)  # fmt: skip

_FILE_EVENTS = "('cowrie.session.file_download', 'cowrie.session.file_upload', 'cowrie.virustotal.scanfile')"


def _ingest_columns(raw: str) -> dict[str, str]:
    """Today's cowrie.py column expressions for :data:`COLUMNS` (used when the caller passes none)."""
    # Imported here: cowrie.py imports this module once integrated.
    from honeyfarm.formats.cowrie import decode_bytes_repr

    return {
        "eventid": f"{raw}.eventid",
        "session": f"{raw}.session",
        "src_ip": IPV4_MAPPED.format(e=f"{raw}.src_ip"),
        "src_port": f"TRY_CAST({raw}.src_port AS INTEGER)",
        "dst_ip": IPV4_MAPPED.format(e=f"{raw}.dst_ip"),
        "dst_port": f"TRY_CAST({raw}.dst_port AS INTEGER)",
        "username": f"{raw}.username",
        "password": f"{raw}.password",
        "command": f"{raw}.input",
        "url": f"{raw}.url",
        "sha256": f"CASE WHEN {raw}.eventid IN {_FILE_EVENTS} THEN lower({raw}.shasum) END",
        "client_version": decode_bytes_repr(f"{raw}.version"),
        # The stored hassh may be computed from old logs' kex lists; a template over r.hassh alone
        # yields NULL there (message kept) and equals the column wherever r.hassh is present.
        "hassh": f"{raw}.hassh",
        "duration": f"coalesce(TRY_CAST({raw}.duration AS DOUBLE), TRY_CAST({raw}.duration_ms AS DOUBLE) / 1000.0)",
    }


class _Lit(str):
    """A fixed part of a message (SQL-quoted by :func:`_cat`)."""


class _Val(str):
    """A value part whose NULL test is ``guard`` (cheaper than testing the whole expression)."""

    guard: str

    def __new__(cls, sql: str, guard: str) -> _Val:
        v = super().__new__(cls, sql)
        v.guard = guard
        return v


def _cat(*parts: str) -> str:
    """SQL: the parts concatenated, NULL when a value part is NULL.

    ``concat()`` behind an ``IS NOT NULL`` test is ~3x faster in DuckDB than a chain of ``||`` (one
    intermediate string per operator), and a reader pays it on every row it reads ``extra`` of.
    """
    guards = [p.guard if isinstance(p, _Val) else p for p in parts if not isinstance(p, _Lit)]
    args = ", ".join(sql_str(p) if isinstance(p, _Lit) else p for p in parts)
    test = " AND ".join(f"({g}) IS NOT NULL" for g in guards)
    return f"CASE WHEN {test} THEN concat({args}) END"


def _duration_text(d: str) -> _Val:
    """How Cowrie printed a duration, chosen from the stored DOUBLE alone (NULL only when ``d`` is).

    2.6+ writes ``f"{d:.1f}"`` seconds; 3.x writes integer ``duration_ms`` milliseconds; 1.x/2.x
    writes ``%(duration)d`` seconds of a full-precision float (truncated). A value that prints back
    with one decimal is taken as 2.6+, one that is whole milliseconds as 3.x, anything else as
    1.x. A 3.x duration of whole tenths (1 in 100) is printed the 2.6+ way, misses, and keeps its message.
    """
    tenths = f"printf('%.1f', {d})"
    ms = f"TRY_CAST(round({d} * 1000) AS BIGINT)"
    sql = (
        f"CASE WHEN TRY_CAST({tenths} AS DOUBLE) = {d} THEN {tenths} || ' seconds' "
        f"WHEN {ms} / 1000.0 = {d} THEN {ms}::VARCHAR || ' milliseconds' "
        f"ELSE coalesce(TRY_CAST(trunc({d}) AS BIGINT)::VARCHAR, {tenths}) || ' seconds' END"
    )
    return _Val(sql, d)


def _template(c: Callable[[str], str]) -> str:
    """The message of every known template; ``c(name)`` is the SQL of a stored value.

    ``name`` is a column of :data:`COLUMNS` or ``x.<key>`` for a key of ``extra``. A NULL value makes the
    message NULL, so a template whose field is missing never matches.
    """
    L = _Lit  # reads as a literal marker in the templates below

    def port(p: str) -> str:
        return f"({c(p)})::VARCHAR"

    user, pw, url = c("username"), c("password"), c("url")
    login_ok, login_bad = (
        f"CASE WHEN {pw} IS NULL THEN {_cat(L('public key login attempt for ['), user, L('] ' + what))} "
        f"ELSE {_cat(L('login attempt ['), user, L('/'), pw, L('] ' + what))} END"
        for what in ("succeeded", "failed")
    )
    download = (
        f"CASE WHEN {url} LIKE '%://%' THEN "
        f"{_cat(L('Downloaded URL ('), url, L(') with SHA-256 '), c('sha256'), L(' to '), c('x.outfile'))} "
        f"ELSE {_cat(L('Saved redir contents with SHA-256 '), c('sha256'), L(' to '), c('x.outfile'))} END"
    )
    # The originator a direct-tcpip client claims is not in the record; only 0.0.0.0:0 (bots that leave it
    # unset) is guessed, other requests keep their message.
    tcpip_request = (
        f"CASE WHEN {c('src_port')} = 0 THEN "
        + _cat(L("direct-tcp connection request to "), c("dst_ip"), L(":"), port("dst_port"), L(" from 0.0.0.0:0"))
        + " END"
    )
    tcpip_data = _cat(
        L("discarded direct-tcp forward request "), _Val(f"coalesce({c('x.id')} || ' ', '')", "''"), L("to "),
        c("dst_ip"), L(":"), port("dst_port"), L(" with data "), c("x.data"),
    )  # fmt: skip
    # Cowrie 2.0-2.1 (Python 3, before events carried `uuid`; 1.x had Twisted's `system`) wrote the banner as
    # a bytes repr, b'SSH-2.0-Go'; the column holds the decoded text. Only a plain banner (printable ASCII
    # without quote or backslash) is re-quoted; any other repr keeps its message.
    v = c("client_version")
    plain = _cat(L("Remote SSH version: "), v)
    quoted = _cat(L("Remote SSH version: b'"), v, L("'"))
    version = (
        f"CASE WHEN {c('x.uuid')} IS NOT NULL OR {c('x.system')} IS NOT NULL THEN {plain} "
        f"WHEN regexp_full_match({v}, '[ -&(-\\[\\]-~]*') THEN {quoted} END"
    )
    branches = {
        "cowrie.login.failed": login_bad,
        "cowrie.session.connect": _cat(
            L("New connection: "),
            c("src_ip"),
            L(":"),
            port("src_port"),
            L(" ("),
            c("dst_ip"),
            L(":"),
            port("dst_port"),
            L(") [session: "),
            c("session"),
            L("]"),
        ),
        "cowrie.session.closed": _cat(L("Connection lost after "), _duration_text(c("duration"))),
        "cowrie.client.version": version,
        "cowrie.client.kex": _cat(L("SSH client hassh fingerprint: "), c("hassh")),
        "cowrie.command.input": _cat(L("CMD: "), c("command")),
        "cowrie.login.success": login_ok,
        "cowrie.direct-tcpip.request": tcpip_request,
        "cowrie.direct-tcpip.data": tcpip_data,
        "cowrie.log.closed": _cat(L("Closing TTY Log: "), c("x.ttylog"), L(" after "), _duration_text(c("duration"))),
        "cowrie.client.size": _cat(L("Terminal Size: "), c("x.width"), L(" "), c("x.height")),
        "cowrie.client.var": _cat(L("request_env: "), c("x.name"), L("="), c("x.value")),
        "cowrie.session.params": "''",
        "cowrie.session.file_download": download,
        "cowrie.command.success": _cat(L("Command found: "), c("command")),
        "cowrie.command.failed": _cat(L("Command not found: "), c("command")),
        "cowrie.log.open": _cat(L("Opening TTY Log: "), c("x.ttylog")),
        "cowrie.client.fingerprint": _cat(
            L("public key attempt for user "),
            user,
            L(" of type "),
            c("x.type"),
            L(" with fingerprint "),
            c("x.fingerprint"),
        ),
        "cowrie.session.file_download.failed": _cat(L("Attempt to download file(s) from URL ("), url, L(") failed")),
        "cowrie.session.file_upload": _cat(L('SFTP Uploaded file "'), c("x.filename"), L('" to '), c("x.outfile")),
    }
    # Most frequent eventids first: CASE tests the WHENs in order.
    whens = " ".join(f"WHEN '{e}' THEN {sql}" for e, sql in branches.items())
    return f"(CASE {c('eventid')} {whens} END)"


#: Eventids that have a template.
TEMPLATE_EVENTIDS = frozenset(
    {
        "cowrie.session.connect", "cowrie.session.closed", "cowrie.client.version", "cowrie.client.kex",
        "cowrie.client.fingerprint", "cowrie.client.size", "cowrie.client.var", "cowrie.login.success",
        "cowrie.login.failed", "cowrie.command.input", "cowrie.command.success", "cowrie.command.failed",
        "cowrie.log.open", "cowrie.log.closed", "cowrie.session.file_download",
        "cowrie.session.file_download.failed", "cowrie.session.file_upload", "cowrie.session.params",
        "cowrie.direct-tcpip.request", "cowrie.direct-tcpip.data",
    }
)  # fmt: skip


def derived_message_sql(raw: str = "r", columns: Mapping[str, str] | None = None) -> str:
    """SQL: the message Cowrie would have written for the parsed record ``raw``, or NULL when no template applies.

    ``columns`` maps column names to the ingest expressions of the columns (the dict given to
    ``project()``); where one is missing, a copy of today's cowrie.py mapping is used. Extra keys are
    read from ``raw`` (:data:`FIELDS`), which holds what ``extra`` will hold.
    """
    own = _ingest_columns(raw)
    cols = {k: (columns or {}).get(k, own[k]) for k in COLUMNS}

    def c(name: str) -> str:
        return f"{raw}.{name[2:]}" if name.startswith("x.") else f"({cols[name]})"

    return _template(c)


def drop_message_sql(template: str, raw: str = "r") -> str:
    """SQL boolean: the record's ``message`` equals ``template`` (:func:`derived_message_sql`, byte-exact)."""
    return f"coalesce({raw}.message = {template}, false)"


def message_patch_sql(keys: Iterable[str], template: str, raw: str = "r") -> str:
    """SQL: the merge patch deleting ``keys``, plus ``message`` when :func:`drop_message_sql` holds.

    Use as ``json_merge_patch(line, message_patch_sql(keys, t))``: one merge, no second pass over ``extra``.
    ``template`` is best a column computed once per line (the template is a long CASE).
    """
    keys = list(keys)
    return (
        f"CASE WHEN {drop_message_sql(template, raw)} THEN {null_patch([*keys, 'message'])} ELSE {null_patch(keys)} END"
    )


def mark_absent_sql(extra_text: str, template: str, raw: str = "r") -> str:
    """SQL: ``extra_text`` (a JSON object as VARCHAR) with ``"message": null`` added when the record has no message.

    Only where a template applies (else a reader rebuilds nothing anyway): it tells the reader that
    the message was absent, not dropped. ``json_merge_patch`` cannot add a null, hence the text edit.
    ``r.message`` is NULL for ``"message": null`` too: the JSON check (run on those rare rows only, as
    CASE evaluates a branch for its rows alone) keeps that key from being written twice.
    """
    # Nested CASEs, not AND: DuckDB may reorder a conjunction's terms, CASE branches run for their rows only.
    return (
        f"CASE WHEN {raw}.message IS NULL AND {template} IS NOT NULL THEN "
        f"CASE WHEN json_exists({extra_text}, '$.message') THEN {extra_text} "
        f"WHEN {extra_text} = '{{}}' THEN '{{\"message\":null}}' "
        f"ELSE left({extra_text}, -1) || ',\"message\":null}}' END ELSE {extra_text} END"
    )


def _extra_value(extra: str, key: str) -> str:
    return f"json_extract_string({extra}, '$.\"{key}\"')"


def rebuilt_message_sql(extra: str = "extra") -> str:
    """SQL over the stored event columns: the message of a Cowrie row whose message was dropped.

    NULL when no template applies. On a row whose ``extra`` still holds its message, the result is
    what the template gives, not the message: use :func:`message_in_extra_sql` to read messages.
    """

    def c(name: str) -> str:
        return _extra_value(extra, name[2:]) if name.startswith("x.") else name

    return _template(c)


def message_in_extra_sql(extra: str = "extra") -> str:
    """SQL over the stored event columns: ``extra`` with Cowrie's ``message`` put back where it was dropped.

    The message's value is byte-exact; the key order of ``extra`` differs (``message`` comes first).
    A ``"message": null`` marker (the record had none) is removed.
    """
    rebuilt = rebuilt_message_sql(extra)
    msg = f"to_json({rebuilt})::VARCHAR"
    # Text edits, not json_merge_patch (3x slower over a scan): `extra` is yyjson's compact object text, so
    # its first character is `{` and a top-level key "message" appears as `"message":` (a string value
    # cannot hold that sequence unescaped); contains() settles most rows, json_exists() only the rest (a
    # nested "message" key). Where no template applies, `msg` is NULL and `extra` stays as it was.
    put = f"coalesce('{{\"message\":' || {msg} || ',' || substr({extra}, 2), {extra})"
    return (
        f"CASE WHEN source_format IS DISTINCT FROM 'cowrie' THEN {extra} "
        f"WHEN {extra} IS NULL OR {extra} = '{{}}' THEN coalesce('{{\"message\":' || {msg} || '}}', {extra}) "
        f"WHEN NOT contains({extra}, '\"message\":') THEN {put} "
        f"WHEN NOT json_exists({extra}, '$.message') THEN {put} "
        f"WHEN json_type({extra}, '$.message') = 'NULL' AND {rebuilt} IS NOT NULL "
        f"THEN nullif(json_merge_patch({extra}, '{{\"message\":null}}')::VARCHAR, '{{}}') "
        f"ELSE {extra} END"
    )
