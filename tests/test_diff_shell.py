# SPDX-License-Identifier: MIT
"""Issue 11, Deliver 6 and 9: the trap's shell answers what bots run at least as plausibly as Cowrie 3.1.4.

Differential test (``tests/shelldiff.py``): every distinct ``cowrie.command.input``
of ``../shared/samples/cowrie_json`` and the probes of
``tests/data/shell_probes.txt`` run as root SSH execs against the trap
(``honeyfarm sensor``), real Cowrie 3.1.4 (PyPI, started as
``../shared/peers/start-cowrie.sh`` does) and real Debian 12 bash; each answer
is judged against bash's (exit status class, stdout/stderr, normalised text).

SAFETY: the commands are real attackers' commands. Real bash runs them ONLY in
a throw-away bubblewrap sandbox (``tests/shelldiff_sandbox.py``): no network
(a network namespace of its own with only ``lo``), overlays on a 128 MiB tmpfs
that vanish with the command, no capabilities, 64 MiB per file, an 8 s
timeout after which the sandbox is killed, 64 KiB of output kept. The whole
run, trap and Cowrie included, happens in a network namespace of the test's
own, so no download any engine attempts can leave the machine.

The full run takes ~30-70 s (Cowrie's install on a cold cache excluded) and
writes ``report.md`` (scores and every command the trap answers implausibly)
next to the JSON of every answer in the test's temporary directory, and to
``/tmp/shelldiff/report.md`` when that directory exists.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cowrieutil import cowrie_unavailable, ensure_cowrie_venv
from shelldiff import CACHE, SAMPLES, load_probes, load_samples
from shelldiff_sandbox import Answer, build_template, run_in_sandbox, sandbox_unavailable
from shelldiff_score import judge

SCRIPT = Path(__file__).resolve().parent / "shelldiff.py"
SHARED_REPORT = Path("/tmp/shelldiff")


@pytest.fixture(scope="module")
def sandbox_ok() -> None:
    why = sandbox_unavailable()
    if why:
        pytest.skip(why)


@pytest.fixture(scope="module")
def result(sandbox_ok: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of tests/shelldiff.py over the samples and the probes (all three engines)."""
    if not SAMPLES.is_dir():
        pytest.skip(f"{SAMPLES} is absent (the shared samples are not checked out)")
    why = cowrie_unavailable()
    if why:
        pytest.skip(why)
    try:
        ensure_cowrie_venv(CACHE)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"Cowrie 3.1.4 could not be installed from PyPI: {exc}")
    out = tmp_path_factory.mktemp("shelldiff")
    r = subprocess.run(
        [sys.executable, str(SCRIPT), "--json", str(out / "result.json"), "--report", str(out / "report.md")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(r.stdout[-3000:], r.stderr[-3000:])
    assert r.returncode == 0, r.stderr[-3000:]
    if SHARED_REPORT.is_dir():
        shutil.copy(out / "report.md", SHARED_REPORT / "report.md")
    print(f"report: {out / 'report.md'}")
    data: dict[str, Any] = json.loads((out / "result.json").read_text())
    return data


def worst(data: dict[str, Any], kind: str, n: int = 15) -> str:
    bad = [r for r in data["rows"] if r["kind"] == kind and r["mode"] != "skip"]
    bad = [r for r in bad if not r["verdicts"]["trap"]["plausible"]]
    bad.sort(key=lambda r: -r["events"])
    return "\n".join(f"  {r['events']:3} {r['command'][:70]!r}: {r['verdicts']['trap']['why']}" for r in bad[:n])


def test_commands_are_extracted_from_the_samples() -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"{SAMPLES} is absent (the shared samples are not checked out)")
    seen = load_samples()
    assert len(seen) >= 50, "the samples hold ~70 distinct commands"
    assert seen["ps -x"] >= 1 and all(c.strip() for c in seen)
    probes = load_probes()
    assert 90 <= len(probes) <= 200
    assert any("\n" in p for p in probes), "here-doc probes keep their newlines"


def test_judge_tells_implausible_answers_apart() -> None:
    bash = Answer(b"", b"bash: line 1: foo: command not found\n", 127)
    assert judge(bash, Answer(b"", b"bash: line 1: foo: command not found\n", 127), ()).plausible
    on_stdout = judge(bash, Answer(b"bash: foo: command not found\n", b"", 127), ())
    assert not on_stdout.plausible and "streams" in on_stdout.why and on_stdout.lenient
    assert not judge(bash, Answer(b"", b"", 0), ()).plausible
    uname = Answer(b"Linux svr04 6.1.0-28-cloud-amd64 #1 SMP x86_64 GNU/Linux\n", b"", 0)
    assert judge(
        uname, Answer(b"Linux web-01 6.1.0-21-amd64 #1 SMP x86_64 GNU/Linux\n", b"", 0), ("web-01", "svr04")
    ).plausible


def test_sandbox_has_no_network_and_forgets_everything(sandbox_ok: None) -> None:
    async def run(cmds: list[str], timeout: float = 8.0, cap: int = 65536) -> list[Answer]:
        with tempfile.TemporaryDirectory(prefix="shelldiff-t-") as d:
            tmpl = build_template(Path(d) / "tmpl")
            return list(await asyncio.gather(*(run_in_sandbox(c, Path(d), tmpl, timeout, cap) for c in cmds)))

    net, write, hang, flood = asyncio.run(
        run(
            [
                "exec 3<>/dev/tcp/192.0.2.1/80",
                "echo planted > /etc/planted; echo x > /usr/bin/planted; cat /etc/planted",
                "sleep 60",
                "yes | head -c 200000",
            ],
            timeout=3.0,
            cap=1000,
        )
    )
    assert net.status != 0 and b"Network is unreachable" in net.stderr
    assert write.stdout == b"planted\n" and write.status == 0
    assert not Path("/etc/planted").exists() and not Path("/usr/bin/planted").exists()
    (again,) = asyncio.run(run(["cat /etc/planted; hostname; id -u; cat /etc/shadow | head -n 1"]))
    assert b"No such file" in again.stderr and again.stdout.startswith(b"svr04\n0\nroot:*:")
    assert hang.timeout and len(flood.stdout) == 1000


def test_trap_is_at_least_as_plausible_as_cowrie_on_real_attackers_commands(result: dict[str, Any]) -> None:
    s = result["scores"]["samples"]
    trap, cowrie = s["trap"], s["cowrie"]
    print(json.dumps(result["scores"], indent=1))
    msg = (
        f"trap {trap['pct_distinct']}% of {trap['distinct']} distinct / {trap['pct_events']}% of events, "
        f"Cowrie {cowrie['pct_distinct']}% / {cowrie['pct_events']}%; worst:\n{worst(result, 'samples')}"
    )
    assert trap["pct_distinct"] >= cowrie["pct_distinct"], msg
    assert trap["pct_events"] >= cowrie["pct_events"], msg


def test_trap_is_at_least_as_plausible_as_cowrie_on_bot_probes(result: dict[str, Any]) -> None:
    s = result["scores"]["probes"]
    trap, cowrie = s["trap"], s["cowrie"]
    msg = f"trap {trap['pct_distinct']}%, Cowrie {cowrie['pct_distinct']}%; worst:\n{worst(result, 'probes')}"
    assert trap["pct_distinct"] >= cowrie["pct_distinct"], msg


def test_every_engine_answered(result: dict[str, Any]) -> None:
    """A connection that fails is the harness's problem, not the shell's: it must not pass for a verdict."""
    for engine in ("bash", "trap", "cowrie"):
        errors = [(r["command"][:60], r["answers"][engine]["error"]) for r in result["rows"]]
        errors = [e for e in errors if e[1]]
        assert len(errors) <= len(result["rows"]) // 20, f"{engine}: {len(errors)} errors, e.g. {errors[:3]}"
