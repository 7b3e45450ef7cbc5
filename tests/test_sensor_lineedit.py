# SPDX-License-Identifier: MIT
"""The pty line editor and the exec stdin heuristic, key by key (no network).

The bytes a real bash writes for the same keys are pinned by ``test_sensor_channels.py`` against
a real sshd; these cover the edges that test cannot reach cheaply: keys split across reads, a
paste that never ends, caps, history, and which exec commands wait for their input.
"""

from __future__ import annotations

import pytest

from honeyfarm.sensor.shell.lineedit import MAX_PENDING, Event, LineEditor, column_listing
from honeyfarm.sensor.traps.ssh.execchan import reads_stdin


def editor(cands: list[str] | None = None, **kw: int) -> LineEditor:
    ed = LineEditor(lambda word, cmd: [c for c in (cands or []) if c.startswith(word)], **kw)
    ed.new_prompt("$ ")
    return ed


def run(ed: LineEditor, data: str) -> tuple[str, list[Event]]:
    ed.feed(data)
    out, events = "", []
    while True:
        text, ev = ed.step()
        out += text
        if ev is None:
            return out, events
        events.append(ev)


def test_escape_sequence_split_across_reads_is_one_key() -> None:
    ed = editor()
    run(ed, "ab\x1b")
    out, _ = run(ed, "[D")  # left arrow, in two reads
    assert out == "\b" and ed.pos == 1
    out, evs = run(ed, "X\r")
    assert evs == [Event("line", "aXb")]


def test_paste_keeps_newlines_and_ends_only_at_its_marker() -> None:
    ed = editor()
    out, evs = run(ed, "\x1b[200~echo a\recho b")
    assert evs == [] and out == ""  # the paste is not over yet
    out, evs = run(ed, "\x1b[201~\r")
    assert evs == [Event("line", "echo a\necho b")]
    assert out.startswith("\x1b[7mecho a\x1b[27m\r\n\r\x1b[7mecho b\x1b[27m")


def test_pending_input_and_line_are_capped() -> None:
    ed = editor(max_line=10)
    ed.feed("x" * (MAX_PENDING * 2))
    assert len(ed.pending) == MAX_PENDING
    out, evs = run(ed, "")
    assert len(ed.line) == 10 and out.count("\x07") >= 1 and evs == []
    ed2 = editor()
    ed2.feed("\x1b[200~" + "y" * MAX_PENDING)  # a paste that never ends is taken as it is
    run(ed2, "")
    assert ed2.pending == ""


def test_ctrl_c_ctrl_d_and_history() -> None:
    ed = editor()
    assert run(ed, "ls\x03") == ("ls^C", [Event("intr")])
    assert run(ed, "pwd\r")[1] == [Event("line", "pwd")]
    ed.new_prompt("$ ")
    out, _ = run(ed, "\x1b[A")
    assert ed.line == "pwd" and out.endswith("pwd\x1b[K")
    ed.new_prompt("$ ")
    assert run(ed, "\x04") == ("", [Event("eof")])


def test_tab_completion_rules() -> None:
    ed = editor(["alpha1", "alpha2", "beta/", "gamma.txt"])
    assert run(ed, "be\t")[0] == "be" + "ta/"
    ed.new_prompt("$ ")
    assert run(ed, "ga\t")[0] == "ga" + "mma.txt "
    ed.new_prompt("$ ")
    assert run(ed, "al\t")[0] == "al" + "\x07pha"
    assert run(ed, "\t")[0] == "\x07"
    assert run(ed, "\t")[0] == "\r\nalpha1  alpha2  \r\n$ alpha"
    assert column_listing(["a", "bb", "ccc"], 10) == "a    ccc  \r\nbb   "  # filled top to bottom


@pytest.mark.parametrize(
    ("command", "waits"),
    [
        ("sh", True),
        ("bash -s", True),
        ("cat > /tmp/x", True),
        ("cat >> ~/.ssh/authorized_keys", True),
        ("cd /tmp; tee -a f", True),
        ("base64 -d > f; chmod +x f", True),
        ("busybox sh", True),
        ("dd of=/tmp/x bs=1", True),
        ("sudo -S true", False),
        ("uname -a", False),
        ("cat /etc/passwd", False),
        ("sh -c 'id'", False),
        ("bash script.sh", False),
        ("python3 -c 'print(1)'", False),
        ("grep root /etc/passwd", False),
        ("dd if=/dev/zero of=/tmp/x count=1", False),
    ],
)
def test_which_exec_commands_wait_for_stdin(command: str, waits: bool) -> None:
    assert reads_stdin(command) is waits
