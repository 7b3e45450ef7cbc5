# SPDX-License-Identifier: MIT
"""Pure helpers of the fake shell's word expansion: ``${...}`` forms, brace expansion, arithmetic.

Kept out of :mod:`honeyfarm.sensor.shell.shell` so they can be read (and tested) on their own. Scripts
that bots run lean on ``${0##*/}``, ``${PATH//:/ }``, ``${x:0:3}`` and ``{1..10}``; each form here
follows bash 5.2. Everything is bounded: values are cut before pattern operations (globs become
regular expressions through :func:`fnmatch.translate`, which has no catastrophic backtracking),
brace expansion stops at ``MAX_BRACE`` words, and arithmetic (:mod:`honeyfarm.sensor.shell.arith`)
has its own limits.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from collections.abc import Mapping

from honeyfarm.sensor.shell.arith import evaluate

__all__ = ["DEFAULT_IFS", "DOLLAR", "MAX_BRACE", "arith_full", "braces", "ifs_split", "param_name", "parameter"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")
DOLLAR = re.compile(r"(\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\$[?#$!0-9])")
MAX_BRACE = 4096
_MAX_PATTERN_VALUE = 4096
_SEQ = re.compile(r"(-?\d{1,9})\.\.(-?\d{1,9})(?:\.\.(-?\d{1,9}))?|([A-Za-z])\.\.([A-Za-z])(?:\.\.(-?\d{1,9}))?")


DEFAULT_IFS = " \t\n"


def ifs_split(value: str, ifs: str = DEFAULT_IFS, maxsplit: int = 0) -> list[str]:
    """Field splitting as bash does it: runs of IFS whitespace separate fields and are trimmed at
    both ends; each other IFS character ends a field (``a::b`` with ``IFS=:`` is ``a``, ``""``, ``b``).
    With ``maxsplit`` (``read a b``), the last field keeps the rest of the line, trailing IFS
    whitespace removed."""
    if not ifs:
        return [value] if value else []
    ws = "".join(c for c in ifs if c in " \t\n")
    other = "".join(c for c in ifs if c not in " \t\n")
    ws_rx = f"[{re.escape(ws)}]" if ws else ""
    parts = []
    if other:
        around = f"{ws_rx}*" if ws else ""
        parts.append(f"{around}[{re.escape(other)}]{around}")
    if ws:
        parts.append(f"{ws_rx}+")
    sep = re.compile("|".join(parts))
    text = value.strip(ws) if ws else value
    if not text:
        return []
    fields: list[str] = []
    pos = 0
    for m in sep.finditer(text):
        if maxsplit and len(fields) == maxsplit - 1:
            break
        fields.append(text[pos : m.start()])
        pos = m.end()
    last = text[pos:]
    if maxsplit and len(fields) == maxsplit - 1:
        if other and last and last[-1] in other and not any(c in other for c in last[:-1]):
            last = last[:-1]  # `IFS=, read a b <<< "1,2,"`: one trailing delimiter is dropped
        fields.append(last)
    elif last or pos < len(text):
        fields.append(last)
    return fields


def param_name(spec: str) -> str:
    """The parameter a ``${spec}`` reads (``#NAME`` → ``NAME``, ``1`` → ``1``, ``?`` → ``?``)."""
    if spec.startswith("#") and len(spec) > 1:
        spec = spec[1:]
    m = _NAME.match(spec)
    return m.group() if m else spec[:1]


def arith_full(expr: str, env: Mapping[str, str]) -> tuple[str, dict[str, str], str | None]:
    """``$((expr))``: its value, the variables it assigned, and bash's error text (or ``None``)."""
    return evaluate(expr, env)


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern[:256]))


def _trim(value: str, op: str, pattern: str) -> str:
    """``#``/``##`` (prefix) and ``%``/``%%`` (suffix) removal, shortest or longest match."""
    rx = _glob(pattern)
    n = len(value)
    if op.startswith("#"):
        ends = range(n, -1, -1) if op == "##" else range(n + 1)
        return next((value[i:] for i in ends if rx.match(value[:i])), value)
    starts = range(n + 1) if op == "%%" else range(n, -1, -1)
    return next((value[:i] for i in starts if rx.match(value[i:])), value)


def _replace(value: str, op: str, rest: str) -> str:
    """``/pat/rep`` (first), ``//pat/rep`` (all), ``/#pat/rep`` (prefix), ``/%pat/rep`` (suffix)."""
    m = re.match(r"((?:\\.|[^/\\])*)(?:/(.*))?\Z", rest, re.S)
    pattern, rep = (m.group(1), m.group(2) or "") if m else (rest, "")
    pattern = re.sub(r"\\(.)", lambda e: f"[{e.group(1)}]" if e.group(1) in "*?[" else e.group(1), pattern)
    rep = re.sub(r"\\(.)", r"\1", rep)
    if not pattern:
        return value
    core = fnmatch.translate(pattern[:256])
    core = core[4:-3] if core.startswith("(?s:") and core.endswith(")\\Z") else core  # drop the anchors
    anchor = {"/#": "^", "/%": ""}.get(op, "")
    tail = "\\Z" if op == "/%" else ""
    rx = re.compile(f"(?s){anchor}(?:{core}){tail}")
    return rx.sub(lambda _m: rep, value, count=0 if op == "//" else 1)


def _substring(value: str, rest: str, env: Mapping[str, str]) -> str:
    off_s, colon, len_s = rest.partition(":")
    off = int(evaluate(off_s, env)[0] or "0")
    if off < 0:
        off = max(len(value) + off, 0)
    if not colon:
        return value[off:]
    length = int(evaluate(len_s, env)[0] or "0")
    end = off + length if length >= 0 else len(value) + length
    return value[off:end] if end >= off else ""


def parameter(spec: str, env: Mapping[str, str], special: Mapping[str, str]) -> tuple[str, tuple[str, str] | None]:
    """Value of ``${spec}``: ``NAME``, ``#NAME``, ``NAME:-x``/``-x``/``:=x``/``:+x``/``:?x``,
    ``#pat``/``##pat``/``%pat``/``%%pat``, ``/pat/rep`` and its ``//``, ``/#``, ``/%`` forms,
    ``:offset:length``, ``^^``/``,,``/``^``/``,``. Returns the value and, for ``:=``, the assignment."""
    if spec.startswith("#") and len(spec) > 1:
        return str(len(parameter(spec[1:], env, special)[0])), None
    m = _NAME.match(spec)
    name = m.group() if m else spec[:1]
    rest = spec[len(name) :]
    value = special.get(name, "himBHs" if name == "-" else env.get(name, ""))
    present = name in env or name in special
    if not rest:
        return value, None
    op2, op1 = rest[:2], rest[:1]
    if op2 in (":-", ":=", ":+", ":?") or op1 in ("-", "=", "+", "?"):
        colon = op1 == ":"
        word = rest[2:] if colon else rest[1:]
        is_set = bool(value) if colon else present
        kind = rest[1] if colon else op1
        if kind == "-":
            return (value if is_set else word), None
        if kind == "=":
            return (value, None) if is_set else (word, (name, word))
        if kind == "+":
            return (word if is_set else ""), None
        return value, None
    value = value[:_MAX_PATTERN_VALUE]
    if op2 in ("##", "%%") or op1 in ("#", "%"):
        op = op2 if op2 in ("##", "%%") else op1
        return _trim(value, op, rest[len(op) :]), None
    if op1 == "/":
        op = op2 if op2 in ("//", "/#", "/%") else "/"
        return _replace(value, op, rest[len(op) :]), None
    if op1 == ":":
        return _substring(value, rest[1:], env), None
    if op2 in ("^^", ",,"):
        return (value.upper() if op2 == "^^" else value.lower()), None
    if op1 in ("^", ","):
        return ((value[:1].upper() if op1 == "^" else value[:1].lower()) + value[1:]), None
    return value, None


def braces(text: str) -> list[str] | None:
    """Brace expansion of one unquoted run of text (``a{b,c}d``, ``{1..5}``, ``{a..e..2}``), or ``None``
    when it has no brace group. Nested groups are expanded; the result is cut at ``MAX_BRACE`` words."""
    start = text.find("{")
    while start >= 0:
        depth, i, commas = 0, start, []
        while i < len(text):
            c = text[i]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    break
            elif c == "," and depth == 1:
                commas.append(i)
            i += 1
        if i >= len(text):
            return None
        inner = text[start + 1 : i]
        head, tail = text[:start], text[i + 1 :]
        if commas:
            bounds = [start, *commas, i]
            alts = [text[a + 1 : b] for a, b in itertools.pairwise(bounds)]
        else:
            seq = _sequence(inner)
            if seq is None:
                start = text.find("{", start + 1)
                continue
            alts = seq
        out: list[str] = []
        for alt in alts:
            for word in braces(head + alt + tail) or [head + alt + tail]:
                out.append(word)
                if len(out) >= MAX_BRACE:
                    return out
        return out
    return None


def _sequence(inner: str) -> list[str] | None:
    m = _SEQ.fullmatch(inner)
    if m is None:
        return None
    if m.group(1) is not None:
        a, b = int(m.group(1)), int(m.group(2))
        step = abs(int(m.group(3) or "1")) or 1
        width = max(len(m.group(1)), len(m.group(2))) if m.group(1).lstrip("-").startswith("0") else 0
        nums = range(a, b + 1, step) if a <= b else range(a, b - 1, -step)
        return [str(n).zfill(width) for n in nums[:MAX_BRACE]]
    x, y = ord(m.group(4)), ord(m.group(5))
    step = abs(int(m.group(6) or "1")) or 1
    chars = range(x, y + 1, step) if x <= y else range(x, y - 1, -step)
    return [chr(c) for c in chars]
