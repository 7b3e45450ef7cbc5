# SPDX-License-Identifier: MIT
"""Shell differential test: the trap, Cowrie 3.1.4 and a real Debian 12 bash answer the same commands.

    .venv/bin/python tests/shelldiff.py --report /tmp/shelldiff/report.md [--json out.json]
    .venv/bin/python tests/shelldiff.py --src /path/to/other/src   # the trap from another source tree

Commands: every distinct ``cowrie.command.input`` of ``../shared/samples/cowrie_json/*.json``
(weighted by how often it was typed; blank lines, i.e. Enter presses, are not
commands) and the probes of ``tests/data/shell_probes.txt`` (what botnets and
honeypot-detection scripts run, sources cited there).

Engines, each answering every command as a root SSH exec (``ssh host 'cmd'``,
stdin at EOF): the trap (``honeyfarm sensor``, persona host name ``svr04``),
Cowrie 3.1.4 (``tests/cowrieutil.py``, as ``../shared/peers/start-cowrie.sh``
starts it, host name ``svr04``) and real bash (``tests/shelldiff_sandbox.py``:
``bash -c`` in a bubblewrap sandbox with a throw-away filesystem). Each command
opens its own connection from its own loopback address (127.1.x.y), so no
state leaks from one command to the next, even where a trap keeps files per
client address; connections run 8 at a time.

Safety: the commands are real attackers' commands. The whole run happens in a
network namespace of its own with only ``lo`` (``unshare -n``; the script
re-executes itself there after Cowrie's venv is installed), so nothing any
engine does (``wget``, ``curl``, Cowrie's or the trap's downloader) can reach
another host: connections fail with "Network is unreachable". Real bash runs
them only inside the sandbox (no network, throw-away filesystem, time and
output capped, killed after the timeout).

Scoring (``tests/shelldiff_score.py``): an answer is *plausible* when its exit
status class (0 / non-zero / hang) and its streams (stdout, stderr empty or
not) match bash's and each stream's normalised text (host names, addresses,
digits, blanks normalised) has a ``difflib`` similarity ≥ 0.6 to bash's. Each
engine gets the share of distinct commands answered plausibly and the share
weighted by events; the issue's requirement is trap ≥ Cowrie on both, for the
real attackers' commands.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore", message=".*DSA.*")  # asyncssh still imports DSA support
import asyncssh  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cowrieutil import COWRIE_VERSION, cowrie_unavailable, ensure_cowrie_venv, run_cowrie  # noqa: E402
from sensorutil import run_sensor  # noqa: E402
from shelldiff_report import write_report  # noqa: E402
from shelldiff_sandbox import HOSTNAME, Answer, build_template, run_in_sandbox, sandbox_unavailable  # noqa: E402
from shelldiff_score import judge, load_artifacts, mode_for  # noqa: E402

ROOT = HERE.parent
SAMPLES = ROOT.parent / "shared" / "samples" / "cowrie_json"
PROBES = HERE / "data" / "shell_probes.txt"
ARTIFACTS = HERE / "data" / "shelldiff_artifacts.txt"
CACHE = ROOT / ".cache" / "cowrie"
PASSWORD = "Sup3r-S3cret-9"
USERDB = ["root:x:!root", "root:x:!123456", f"root:x:{PASSWORD}", "admin:x:admin2024"]
TIMEOUT = 8.0  # per command, every engine
CAP = 64 * 1024  # bytes kept per stream
MAX_COMMAND = 4096  # longer sample commands are left out (none are, today)
ISOLATED_ENV = "SHELLDIFF_NETNS"


def load_samples(folder: Path = SAMPLES) -> Counter[str]:
    """Distinct ``cowrie.command.input`` commands of the samples, with how often each was typed."""
    seen: Counter[str] = Counter()
    for path in sorted(folder.glob("*.json")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if '"cowrie.command.input"' not in line:
                continue
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                cmd = event.get("input")
                typed = event.get("eventid") == "cowrie.command.input" and isinstance(cmd, str)
                if typed and cmd.strip() and len(cmd) <= MAX_COMMAND:
                    seen[cmd] += 1
    return seen


def load_probes(path: Path = PROBES) -> list[str]:
    """The probe list: one command a line, two-space indented lines continue it after a newline."""
    out: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("  ") and out:
            out[-1] += "\n" + line[2:]
        elif line.strip() and not line.startswith("#"):
            out.append(line)
    return list(dict.fromkeys(out))


# --- engines ----------------------------------------------------------------------------------


def source_ip(i: int) -> str:
    return f"127.1.{(i // 250) % 250 + 1}.{i % 250 + 1}"


async def ssh_exec(port: int, command: str, src: str) -> Answer:
    """One connection from ``src``, one exec channel, stdin at EOF; bytes of each stream capped."""
    try:
        async with asyncio.timeout(TIMEOUT + 10):
            conn = await asyncssh.connect(
                "127.0.0.1",
                port,
                local_addr=(src, 0),
                username="root",
                password=PASSWORD,
                known_hosts=None,
                client_keys=(),
                agent_path=None,
                preferred_auth="password",
                config=(),
            )
    except (OSError, asyncssh.Error, TimeoutError) as exc:
        return Answer(b"", b"", None, error=f"connect: {type(exc).__name__}: {exc}")
    async with conn:
        try:
            async with asyncio.timeout(TIMEOUT):
                # stdin at EOF, as `ssh host cmd </dev/null` (conn.run(input=b"") would never send EOF).
                proc = await conn.create_process(command, encoding=None)
                proc.stdin.write_eof()
                r = await proc.wait(check=False)
        except TimeoutError:
            return Answer(b"", b"", None, timeout=True)
        except AttributeError:
            # asyncssh's client fails so when the server closes the channel right after opening it
            # (Cowrie does, for `exit` and a few others): no output and no exit status.
            return Answer(b"", b"", None)
        except (OSError, asyncssh.Error) as exc:
            return Answer(b"", b"", None, error=f"exec: {type(exc).__name__}: {exc}")
    out = r.stdout if isinstance(r.stdout, bytes) else b""
    err = r.stderr if isinstance(r.stderr, bytes) else b""
    return Answer(out[:CAP], err[:CAP], r.exit_status)


async def run_ssh_engine(port: int, commands: list[str], concurrency: int = 8) -> list[Answer]:
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int, cmd: str) -> Answer:
        async with sem:
            return await ssh_exec(port, cmd, source_ip(i))

    return list(await asyncio.gather(*(one(i, c) for i, c in enumerate(commands))))


async def run_bash_engine(commands: list[str], work: Path, concurrency: int = 4) -> list[Answer]:
    tmpl = build_template(work / "tmpl")
    sem = asyncio.Semaphore(concurrency)

    async def one(cmd: str) -> Answer:
        async with sem:
            return await run_in_sandbox(cmd, work, tmpl, TIMEOUT, CAP)

    return list(await asyncio.gather(*(one(c) for c in commands)))


@contextlib.contextmanager
def trap_port(work: Path, src: Path | None) -> Iterator[int]:
    """The trap as a real ``honeyfarm sensor`` subprocess (optionally from another source tree)."""
    overrides: dict[str, dict[str, Any]] = {
        "sensor.persona": {"hostname": HOSTNAME},
        "sensor.credentials": {"userdb": USERDB},
        "sensor.ssh": {"auth_fail_delay": 0.05},
        "sensor.telnet": {"enabled": False},
        # Each command is judged alone: no files left behind for the next one from the same address.
        "sensor.persistence": {"enabled": False},
        "sensor.downloads": {"timeout": 3.0, "allow_loopback": False},
    }
    old = os.environ.get("PYTHONPATH")
    if src is not None:
        os.environ["PYTHONPATH"] = str(src)
    try:
        with run_sensor(work, overrides) as sp:
            yield sp.ssh_port
    finally:
        if src is not None:
            if old is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = old


def run_all(
    commands: list[str], args: argparse.Namespace, work: Path
) -> tuple[dict[str, list[Answer]], dict[str, Any]]:
    """Every command on every available engine; returns the answers and per-engine notes."""
    answers: dict[str, list[Answer]] = {}
    notes: dict[str, Any] = {}
    t0 = time.monotonic()
    answers["bash"] = asyncio.run(run_bash_engine(commands, work))
    notes["bash"] = {"seconds": round(time.monotonic() - t0, 1)}
    t0 = time.monotonic()
    (work / "trap").mkdir()
    with trap_port(work / "trap", args.src) as port:
        answers["trap"] = asyncio.run(run_ssh_engine(port, commands))
    notes["trap"] = {"seconds": round(time.monotonic() - t0, 1), "src": str(args.src or "work tree")}
    why = "--skip-cowrie" if args.skip_cowrie else cowrie_unavailable()
    if why:
        notes["cowrie"] = {"skipped": why}
        return answers, notes
    t0 = time.monotonic()
    state = Path(tempfile.mkdtemp(prefix="shelldiff-cowrie-"))
    state.chmod(0o755)
    try:
        with run_cowrie(args.cache, state, 4096, USERDB, HOSTNAME) as cw:
            answers["cowrie"] = asyncio.run(run_ssh_engine(cw.port, commands))
    finally:
        shutil.rmtree(state, ignore_errors=True)
    notes["cowrie"] = {"seconds": round(time.monotonic() - t0, 1), "version": COWRIE_VERSION}
    return answers, notes


def score(
    commands: list[str], weights: list[int], kinds: list[str], answers: dict[str, list[Answer]]
) -> dict[str, Any]:
    """Per-command verdicts and per-engine, per-kind scores (see tests/shelldiff_score.py)."""
    hostnames = (HOSTNAME, "web-01")
    artifacts = load_artifacts(ARTIFACTS)
    rows: list[dict[str, Any]] = []
    for i, cmd in enumerate(commands):
        mode, reason = mode_for(cmd, artifacts)
        row: dict[str, Any] = {"command": cmd, "kind": kinds[i], "events": weights[i], "answers": {}, "verdicts": {}}
        row.update(mode=mode, mode_reason=reason)
        for engine, engine_answers in answers.items():
            ans = engine_answers[i]
            row["answers"][engine] = {**asdict(ans), "stdout": ans.stdout.decode(errors="replace")}
            row["answers"][engine]["stderr"] = ans.stderr.decode(errors="replace")
            if engine != "bash":
                row["verdicts"][engine] = asdict(judge(answers["bash"][i], ans, hostnames, mode))
        rows.append(row)
    scores: dict[str, Any] = {}
    for kind in sorted(set(kinds)):
        mine = [r for r in rows if r["kind"] == kind and r["mode"] != "skip"]
        events = sum(r["events"] for r in mine)
        for engine in answers:
            if engine == "bash":
                continue
            ok = [r for r in mine if r["verdicts"][engine]["plausible"]]
            lenient = [r for r in mine if r["verdicts"][engine]["lenient"]]
            scores.setdefault(kind, {})[engine] = {
                "distinct": len(mine),
                "plausible": len(ok),
                "pct_distinct": round(100 * len(ok) / max(1, len(mine)), 1),
                "events": events,
                "plausible_events": sum(r["events"] for r in ok),
                "pct_events": round(100 * sum(r["events"] for r in ok) / max(1, events), 1),
                "pct_lenient": round(100 * len(lenient) / max(1, len(mine)), 1),
                "pct_lenient_events": round(100 * sum(r["events"] for r in lenient) / max(1, events), 1),
            }
    return {"rows": rows, "scores": scores}


def isolate(argv: list[str]) -> int:
    """Run this script again in a network namespace of its own (only ``lo``, brought up)."""
    env = {**os.environ, ISOLATED_ENV: "1"}
    script = 'ip link set lo up && exec "$@"'
    cmd = ["unshare", "-n", "--", "/bin/sh", "-c", script, "sh", sys.executable, str(Path(__file__).resolve()), *argv]
    return subprocess.run(cmd, env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--report", type=Path, default=Path("/tmp/shelldiff/report.md"), help="markdown report")
    ap.add_argument("--json", type=Path, default=None, help="write every answer and verdict as JSON here")
    ap.add_argument("--samples", type=Path, default=SAMPLES, help="folder of Cowrie JSON logs")
    ap.add_argument("--src", type=Path, default=None, help="run the trap from this source tree (PYTHONPATH)")
    ap.add_argument("--cache", type=Path, default=CACHE, help="where Cowrie's venv is cached")
    ap.add_argument("--skip-cowrie", action="store_true")
    ap.add_argument("--no-probes", action="store_true", help="only the samples' commands")
    args = ap.parse_args(argv)
    raw = sys.argv[1:] if argv is None else argv
    if os.environ.get(ISOLATED_ENV) != "1":
        why = sandbox_unavailable()
        if why:
            print(f"cannot run: {why}", file=sys.stderr)
            return 2
        if not args.skip_cowrie and cowrie_unavailable() is None:
            ensure_cowrie_venv(args.cache)  # needs the package registry: before leaving the network
        return isolate(raw)
    t_start = time.monotonic()
    samples = load_samples(args.samples) if args.samples.is_dir() else Counter()
    commands, weights, kinds = [], [], []
    for cmd, n in samples.most_common():
        commands.append(cmd)
        weights.append(n)
        kinds.append("samples")
    if not args.no_probes:
        for cmd in load_probes():
            if cmd not in samples:
                commands.append(cmd)
                weights.append(1)
                kinds.append("probes")
    with tempfile.TemporaryDirectory(prefix="shelldiff-") as d:
        work = Path(d)
        work.chmod(0o755)
        answers, notes = run_all(commands, args, work)
    result = score(commands, weights, kinds, answers)
    result["notes"] = notes
    result["seconds"] = round(time.monotonic() - t_start, 1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    write_report(result, args.report)
    for kind, per in result["scores"].items():
        for engine, s in per.items():
            print(f"{kind:8} {engine:7} {s['pct_distinct']:5.1f}% of {s['distinct']} distinct, "
                  f"{s['pct_events']:5.1f}% of {s['events']} events")  # fmt: skip
    print(f"report: {args.report} ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
