# SPDX-License-Identifier: MIT
"""History expansion (``!!``, ``!$``, ``!n``, ``!str``) of an interactive bash.

A login shell expands ``!`` before it parses a typed line, so ``echo "pass!word" | chpasswd``
answers ``-bash: !word: event not found`` on a real server and runs nothing. Bots that paste such
lines into a pty see that error; a trap without it would run them. Only the prompt does this
(``bash -c`` and scripts do not), and BusyBox ash has no history expansion at all. The rules
follow bash 5.2's ``hist_expand`` for the common forms; the line is scanned once.
"""

from __future__ import annotations

__all__ = ["expand_history"]

_NO_EXPAND_AFTER = " \t\n\r="  # `!` followed by these (or nothing) stays a `!`
_EVENT_END = " \t\n;&()|<>:'\""


def _inhibited(line: str, i: int) -> bool:
    """bash's ``bash_history_inhibit_expansion``: ``$!``, ``${!name}``, ``[!...]`` are not history."""
    if i > 0 and line[i - 1] == "$":
        return True
    if i > 1 and line[i - 1] == "{" and line[i - 2] == "$" and "}" in line[i + 1 :]:
        return True
    return i > 0 and line[i - 1] == "[" and "]" in line[i + 1 :]


def _words(command: str) -> list[str]:
    return command.split()


def _designate(words: list[str], spec: str) -> str | None:
    """A word designator (``$``, ``^``, ``*``, ``N``, ``N-M``) applied to an event's words."""
    if spec == "$":
        return words[-1] if words else ""
    if spec == "^":
        return words[1] if len(words) > 1 else None
    if spec == "*":
        return " ".join(words[1:])
    lo, dash, hi = spec.partition("-")
    if not lo.isdigit() or (hi and not hi.isdigit()):
        return None
    a = int(lo)
    b = (int(hi) if hi else len(words) - 1) if dash else a
    if a >= len(words) or b >= len(words) or a > b:
        return None
    return " ".join(words[a : b + 1])


def expand_history(line: str, history: list[str]) -> tuple[str, bool, str | None]:
    """``line`` with its history references replaced, whether anything was, and the error text
    (``!word: event not found``) when a reference matches nothing."""
    out: list[str] = []
    i, n = 0, len(line)
    in_sq = in_dq = changed = False
    while i < n:
        c = line[i]
        if c == "\\" and not in_sq and i + 1 < n:
            out.append(line[i : i + 2])
            i += 2
            continue
        if c == "'" and not in_dq:
            in_sq = not in_sq
        elif c == '"' and not in_sq:
            in_dq = not in_dq
        elif c == "!" and not in_sq and not _inhibited(line, i):
            nxt = line[i + 1 : i + 2]
            if nxt and nxt not in _NO_EXPAND_AFTER and not (in_dq and nxt == '"'):
                event, j, spec = _event(line, i, history)
                if event is None:
                    return line, False, f"{spec}: event not found"
                words, word_spec = _words(event), ""
                if j < n and line[j] == ":" and j + 1 < n and (line[j + 1] in "$^*" or line[j + 1].isdigit()):
                    k = j + 2
                    while k < n and (line[k].isdigit() or line[k] == "-"):
                        k += 1
                    word_spec, j = line[j + 1 : k], k
                elif spec in ("!$", "!^", "!*"):
                    word_spec = spec[1]
                if word_spec:
                    picked = _designate(words, word_spec)
                    if picked is None:
                        return line, False, f"{line[i:j]}: bad word specifier"
                    event = picked
                out.append(event)
                changed = True
                i = j
                continue
        out.append(c)
        i += 1
    return "".join(out), changed, None


def _event(line: str, i: int, history: list[str]) -> tuple[str | None, int, str]:
    """The event at ``line[i] == "!"``: its text (``None`` if not found), where it ends, its spelling."""
    nxt = line[i + 1]
    if nxt == "!":
        return (history[-1] if history else None), i + 2, "!!"
    if nxt in "$^*":
        return (history[-1] if history else None), i + 2, "!" + nxt
    j = i + 1
    if nxt == "-" or nxt.isdigit():
        j += 1
        while j < len(line) and line[j].isdigit():
            j += 1
        spec = line[i + 1 : j]
        if spec == "-":
            return None, j, "!-"
        k = int(spec[:9])
        idx = len(history) + k if k < 0 else k - 1
        return (history[idx] if 0 <= idx < len(history) else None), j, "!" + spec
    if nxt == "?":
        end = line.find("?", i + 2)
        stop = len(line) if end < 0 else end
        needle = line[i + 2 : stop]
        found = next((h for h in reversed(history) if needle and needle in h), None)
        return found, (stop + 1 if end >= 0 else stop), line[i:stop]
    while j < len(line) and line[j] not in _EVENT_END:
        j += 1
    prefix = line[i + 1 : j]
    found = next((h for h in reversed(history) if prefix and h.startswith(prefix)), None)
    return found, j, "!" + prefix
