# SPDX-License-Identifier: MIT
"""Execution of parsed sed scripts (the parser and the command are in commands_sed).

Pattern and hold space, ``N``/``D``/``P``, labels and ``b``/``t``/``T`` branches are here so that
idioms like ``sed ':a;N;$!ba;s/\\n/ /g'`` work. A branch loop is bounded by a step budget and the
spaces by a size cap, so no script can spin or grow without end.
"""

from __future__ import annotations

from typing import Any

MAX_STEPS = 300_000
MAX_SPACE = 1 << 20


def _expand(repl: str, m: Any) -> str:
    out = []
    i = 0
    while i < len(repl):
        c = repl[i]
        if c == "\\" and i + 1 < len(repl):
            d = repl[i + 1]
            if d.isdigit():
                out.append(m.group(int(d)) or "" if int(d) <= len(m.groups()) else "")
            else:
                out.append({"n": "\n", "t": "\t", "&": "&", "\\": "\\"}.get(d, d))
            i += 2
            continue
        out.append(m.group() if c == "&" else c)
        i += 1
    return "".join(out)


def substitute(line: str, arg: Any) -> tuple[str, bool]:
    pat, repl, count, glob, _pr = arg
    seen = 0
    done = False
    last_end = -1

    def fn(m: Any) -> str:
        nonlocal seen, done, last_end
        if m.start() == m.end() == last_end:
            return ""  # POSIX: no empty match right after the previous match
        last_end = m.end()
        seen += 1
        if seen == count or (glob and seen > count):
            done = True
            return _expand(repl, m)
        return str(m.group())

    new, _n = pat.sub(fn, line, count=0 if glob or count > 1 else 1)
    return new, done


def run_script(cmds: list[Any], lines: list[str], quiet: bool, out: list[str]) -> int | None:
    """Run over ``lines``; returns an exit code if ``q``/``Q`` ended the input early, else None."""
    steps = MAX_STEPS
    labels = {c.arg: k for k, c in enumerate(cmds) if c.name == ":"}
    hold = ""
    n = 0
    total = len(lines)
    line = ""
    carry = False  # D: restart the cycle without reading a new line
    while n < total or carry:
        if not carry:
            line = lines[n]
            n += 1
        carry = False
        last = n == total
        append: list[str] = []
        deleted = False
        pc = 0
        quit_code: int | None = None
        print_line = not quiet
        replaced = False
        while pc < len(cmds):
            steps -= 1
            if steps < 0 or len(line) + len(hold) > MAX_SPACE:
                return 1
            c = cmds[pc]
            pc += 1
            if c.name in ("}", ":"):
                continue
            if _selected(c, n, last, line) == c.negate:
                if c.name == "{":
                    pc = c.block_end + 1
                continue
            name = c.name
            if name == "s":
                line, hit = substitute(line, c.arg)
                replaced = replaced or hit
                if hit and c.arg[4]:
                    out.append(line + "\n")
            elif name in "btT":
                if name == "b" or (name == "t") == replaced:
                    if name != "b":
                        replaced = False
                    if c.arg and c.arg not in labels:
                        return 1
                    pc = labels[c.arg] if c.arg else len(cmds)
            elif name in "pP":
                out.append((line if name == "p" else line.split("\n", 1)[0]) + "\n")
            elif name == "d":
                deleted = True
                break
            elif name == "D":
                if "\n" not in line:
                    deleted = True
                    break
                line = line.split("\n", 1)[1]
                deleted = carry = True
                break
            elif name == "=":
                out.append(f"{n}\n")
            elif name == "y":
                line = "".join(c.arg.get(ch, ch) for ch in line)
            elif name == "a":
                append.append(c.arg + "\n")
            elif name == "i":
                out.append(c.arg + "\n")
            elif name == "c":
                if c.addr2 is None or not c.active:
                    out.append(c.arg + "\n")
                deleted = True
                break
            elif name in "qQ":
                quit_code = c.arg
                print_line = print_line and name == "q"
                break
            elif name in "hHgGx":
                if name == "h":
                    hold = line
                elif name == "H":
                    hold += "\n" + line
                elif name == "g":
                    line = hold
                elif name == "G":
                    line += "\n" + hold
                else:
                    line, hold = hold, line
            elif name in "nN":
                if n >= total:
                    break  # GNU: at the last line, n/N print the pattern space and end
                if name == "n" and not quiet:
                    out.append(line + "\n")
                line = lines[n] if name == "n" else line + "\n" + lines[n]
                n += 1
                last = n == total
        if not deleted and print_line:
            out.append(line + "\n")
        out.extend(append)
        if quit_code is not None:
            return quit_code
    return None


def _match_one(addr: Any, n: int, last: bool, line: str) -> bool:
    if addr == "$":
        return last
    if isinstance(addr, int):
        return n == addr
    if isinstance(addr, tuple):
        first, step = int(addr[1]), int(addr[2])
        return n == first if step <= 0 else n >= first and (n - first) % step == 0
    return addr.search(line) is not None


def _selected(c: Any, n: int, last: bool, line: str) -> bool:
    if c.addr1 is None:
        return True
    if c.addr2 is None:
        return _match_one(c.addr1, n, last, line)
    if c.active:
        if isinstance(c.addr2, int) and not isinstance(c.addr2, bool):
            if n >= c.addr2:
                c.active = False
        elif _match_one(c.addr2, n, last, line):
            c.active = False
        return True
    if _match_one(c.addr1, n, last, line):
        c.active = not (isinstance(c.addr2, int) and c.addr2 <= n) and not (c.addr2 == "$" and last)
        return True
    return False
