# SPDX-License-Identifier: MIT
"""The markdown report of the shell differential test (``tests/shelldiff.py``).

Written for the people fixing the fake shell: the scores per engine, then every
command the trap answers implausibly, most frequent first, with bash's, the
trap's and Cowrie's answers side by side (each cut to ~200 characters).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

CELL = 200


def render(ans: dict[str, Any] | None) -> str:
    """One answer as a table cell: ``[status] stdout ⟂err: stderr``, newlines as ⏎."""
    if ans is None:
        return "—"
    if ans.get("timeout"):
        return "[hang]"
    if ans.get("error"):
        return f"[error] {ans['error']}"[:CELL]
    status = ans.get("status")
    text = f"[{'none' if status is None else status}] {ans['stdout']}"
    if ans["stderr"]:
        text += f" ⟂err: {ans['stderr']}"
    text = text.replace("\r", "").replace("\n", "⏎").replace("|", "\\|")
    return text if len(text) <= CELL else text[: CELL - 1] + "…"


def code(cmd: str) -> str:
    text = cmd.replace("\n", "⏎").replace("|", "\\|").replace("`", "'")
    return "`" + (text if len(text) <= CELL else text[: CELL - 1] + "…") + "`"


def write_report(result: dict[str, Any], path: Path) -> None:
    rows: list[dict[str, Any]] = result["rows"]
    engines = sorted({e for r in rows for e in r["verdicts"]}, key=lambda e: (e != "trap", e))
    out = [
        "# Shell differential test: trap vs Cowrie 3.1.4 vs real bash",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())} by `tests/shelldiff.py` "
        f"in {result.get('seconds', '?')} s. A command is answered *plausibly* when its exit status class, "
        "its streams (stdout/stderr empty or not) and its normalised text (similarity ≥ 0.6) match real "
        "bash's (Debian 12, bubblewrap sandbox, root SSH exec).",
        "",
        "Rerun (as root, ~30 s): `.venv/bin/python tests/shelldiff.py --report /tmp/shelldiff/report.md`; "
        "the trap of another source tree: `--src DIR/src`. Bash runs on the test host's kernel and CPU, so "
        "`uname -r` or `/proc/cpuinfo` differ from any persona by design (see tests/data/shelldiff_artifacts.txt).",
        "",
        "| commands | engine | distinct plausible | by events | lenient (streams merged): distinct, events |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind, per in result["scores"].items():
        for engine in engines:
            s = per.get(engine)
            if s:
                out.append(
                    f"| {kind} | {engine} | {s['plausible']}/{s['distinct']} = {s['pct_distinct']}% "
                    f"| {s['plausible_events']}/{s['events']} = {s['pct_events']}% "
                    f"| {s['pct_lenient']}%, {s['pct_lenient_events']}% |"
                )
    notes = result.get("notes", {})
    out += ["", "Engines: " + "; ".join(f"{k}: {v}" for k, v in notes.items()), ""]
    for kind in ("samples", "probes"):
        bad = [
            r
            for r in rows
            if r["kind"] == kind and r["mode"] != "skip" and not r["verdicts"].get("trap", {}).get("plausible", True)
        ]
        bad.sort(key=lambda r: (-r["events"], r["command"]))
        out += [
            f"## Trap implausible: {kind} ({len(bad)})",
            "",
            "| # | command | why | bash | trap | cowrie |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for r in bad:
            a = r["answers"]
            why = r["verdicts"]["trap"]["why"] + (f" [{r['mode']}]" if r["mode"] != "full" else "")
            cw = r["verdicts"].get("cowrie", {})
            cw_mark = " (plausible)" if cw.get("plausible") else ""
            out.append(
                f"| {r['events']} | {code(r['command'])} | {why} | {render(a.get('bash'))} "
                f"| {render(a.get('trap'))} | {render(a.get('cowrie'))}{cw_mark} |"
            )
        out.append("")
    skipped = [r for r in rows if r["mode"] == "skip"]
    out += [f"## Not judged: the sandbox cannot answer as a server ({len(skipped)})", ""]
    out += [f"- {code(r['command'])} ({r['kind']}, {r['events']}): {r['mode_reason']}" for r in skipped]
    out.append("")
    cw_only = [
        r
        for r in rows
        if r["mode"] != "skip"
        and r["verdicts"].get("cowrie", {}).get("plausible")
        and not r["verdicts"].get("trap", {}).get("plausible")
    ]
    out += [
        f"Commands Cowrie answers plausibly and the trap does not: {len(cw_only)} "
        f"({sum(r['events'] for r in cw_only if r['kind'] == 'samples')} sample events).",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(out), encoding="utf-8")
    tmp.replace(path)
