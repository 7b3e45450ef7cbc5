# SPDX-License-Identifier: MIT
"""The fake shell's grammar against a real bash 5.2, script by script.

Each case is a fixed, harmless script (builtins, ``echo``, ``cat``, ``printf`` on no real file)
run twice: by the host's ``/bin/bash -c`` in an empty temporary directory with an empty
environment, and by :meth:`Shell.run_exec` (an SSH exec request). stdout, stderr and the exit
status must be equal once host-specific values (timings) are normalised. The attacker's text is
never what runs here: these scripts are ours. Interactive prefixes (``-bash:``), job lines and
the BusyBox flavour have unit tests below, checked against the wording bash and ash print.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from test_shell import FakeCtx

from honeyfarm.sensor.config import PersonaConfig
from honeyfarm.sensor.model import Account
from honeyfarm.sensor.shell.fs.vfs import SessionFS
from honeyfarm.sensor.shell.persona import Persona
from honeyfarm.sensor.shell.shell import Result, Shell

ROOT = Account("root", 0, 0, "/root")
BASH = shutil.which("bash")

CASES: dict[str, str] = {
    # case ... esac
    "case_glob": "case abc in a*) echo A;; *) echo other;; esac",
    "case_alternatives": "x=foo.tar.gz; case $x in *.zip|*.gz) echo archive;; *) echo no;; esac",
    "case_class": "case x in [a-z]) echo lower;; [0-9]) echo digit;; esac",
    "case_quoted": 'case "*" in "*") echo star;; esac; case abc in "*") echo bad;; *) echo ok;; esac',
    "case_fallthrough": "case a in a) echo 1;& b) echo 2;; c) echo 3;; esac",
    "case_paren_and_none": "case a in (a) echo paren;; esac; case a in b) echo no;; esac; echo $?",
    "case_multiline": "case $1 in\n  start) echo s ;;\n  '') echo empty ;;\nesac\necho done",
    "case_var_pattern": "p='a*'; case abc in $p) echo unquoted;; esac; case abc in \"$p\") echo q;; *) echo lit;; esac",
    # functions
    "func_args": 'f() { echo "$1-$2" $#; }; f a b; f',
    "func_keyword_return": "function g { echo in g; return 3; }; g; echo $?",
    "func_local": "function h() { local v=inner; echo $v; }; v=outer; h; echo $v",
    "func_at": 'f() { echo "$@"; for a in "$@"; do echo "[$a]"; done; }; f "a b" c',
    "func_return_status": "f() { false; return; }; f; echo $?",
    "func_calls_later_defined": "f() { g; }; g() { echo g; }; f",
    "func_recursion": "f() { if [ $1 -gt 0 ]; then echo $1; f $(($1-1)); fi; }; f 3",
    "func_multiline": "f()\n{\n  echo one\n  echo two\n}\nf",
    "func_error_inside": "f() { nosuchcmd; }; f",
    # here-documents and here-strings
    "heredoc_expand": "X=1; cat <<EOF\nhello $X $((1+2)) $(echo sub)\nEOF",
    "heredoc_quoted": "X=1; cat <<'EOF'\n$X `literal` \\n\nEOF",
    "heredoc_strip_tabs": "cat <<-EOF\n\tindented\n\t\tdeeper\n\tEOF\necho after",
    "heredoc_two": "cat <<A; cat <<B\n1\nA\n2\nB",
    "heredoc_then_error": "cat <<EOF\na\nEOF\nnosuchcmd",
    "heredoc_loop": 'while read a b; do echo "$b"; done <<EOF\n1 2 3\n4 5\nEOF',
    "heredoc_unterminated": "echo x\ncat <<EOF\nabc",
    "herestring": 'read a b <<< "x y z"; echo $a; echo $b; cat <<< $((2+3))',
    # special parameters
    "random": "case $RANDOM in *[!0-9]*) echo bad;; *) echo ok;; esac; [ $RANDOM -lt 32768 ] && echo range",
    "pids": "[ $$ -gt 1 ] && echo pid; [ $PPID -gt 0 ] && echo ppid",
    "positional": 'set -- a "b c" d; echo $#; for x in "$@"; do echo "<$x>"; done; for x in $@; do echo "[$x]"; done; '
    'echo "$*"; shift; echo $1',
    "status": "false; echo $?; true; echo $?; (exit 7); echo $?; ! true; echo $?",
    "status_of_substitution": "x=$(false); echo $?; true $(exit 3); echo $?; $(exit 4); echo $?",
    "default_and_length": "echo ${#} ${1:-none}; s=hello; echo ${#s} ${s:-x} ${u:-d} ${u-e}",
    "brace_expansion": 'echo {a,b}c {1..3} x{1..2}{a,b} "{a,b}" {a} {01..03} {c..a} {1..10..3} a{b,"c d"}e; '
    "for i in {1..3}; do echo $i; done; v={x,y}; echo $v",
    "parameter_operations": "p=/usr/local/bin; echo ${p##*/} ${p#*/} ${p%/*} ${p%%/l*} ${p/local/LOC} ${p//\\//:} "
    "${p:1:3} ${p: -3} ${p:4} ${p^^} ${#p} ${p/#\\/usr/U} ${p/%bin/B}; o=local; echo ${p/$o/X} ${u:=set} $u; "
    "f=archive.tar.gz; echo ${f%.*} ${f%%.*} ${f#*.} ${f^} ${F,,}",
    "ifs_and_prefix_assignments": 'IFS=: read a b <<< "x:y z"; echo "$a|$b"; for p in /a:/b::c; do echo "[$p]"; done; '
    'x=" a  b "; for w in $x; do echo "<$w>"; done; Z=1 true; echo "${Z-unset}"; IFS=, read -r a b c <<< "1,2,3,4"; '
    'echo "$a $b $c"; read x y <<< "  lead  trail  "; echo "[$x][$y]"; P=a:b::c; IFS=:; set -- $P; echo $# "$3"',
    # arithmetic
    "arith_ops": "echo $((2**10)) $((7>3)) $((1?5:6)) $((x=4)) $x $((0x10)) $((010)) $((2#101)) $((-7/2)) "
    "$((-7%3)) $(( (1+2)*3 )) $((y)) $((1<<4)) $((!0)) $((~0)) $[3+4]",
    "arith_loop": "i=0; while [ $i -lt 3 ]; do echo $i; i=$((i+1)); done",
    "arith_command": "((x=3+4)); echo $x; ((0)); echo $?; let y=x*2; echo $y",
    "arith_for": "for ((i=0;i<3;i++)); do echo $i; done; for ((;;)); do echo x; break; done",
    "arith_div_zero": "echo $((1/0)); echo after",
    # time
    "time_keyword": "time true; time -p echo hi",
    # groups, subshells, loops, negation
    "group_pipe": "{ echo a; echo b; } | cat",
    "group_redirect": "{ echo out; echo err >&2; } 2>/dev/null",
    "subshell_isolation": '(x=1; echo $x); echo "[$x]"; (exit 3); echo $?',
    "for_loop": "for i in a b c; do echo $i; done; for j in; do echo no; done",
    "until_loop": "i=0; until [ $i -ge 2 ]; do echo $i; i=$((i+1)); done",
    "break_continue": "for i in 1 2 3; do [ $i = 2 ] && continue; echo $i; done; while true; do echo once; break; done",
    "continue_nested": "for i in 1 2 3; do for j in a b; do echo $i$j; continue 2; done; done",
    "negation": "! false; echo $?; ! true || echo neg",
    "pipe_while_read": 'printf "1\\n2\\n" | while read l; do echo "<$l>"; done',
    "loop_redirect": "for i in 1 2; do echo $i; done > /dev/null; echo quiet",
    # arrays, [[ ]], builtins list
    "arrays": 'a=(1 2 3); echo ${#a[@]} ${a[1]} $a ${a[@]}; a[5]=x; echo ${#a[@]} "${a[@]}" ${!a[@]}; '
    'for i in "${a[@]}"; do echo "<$i>"; done; b=(); echo ${#b[@]} ${a[-1]}',
    "double_bracket": '[[ -d / && abc == a* ]] && echo y; [[ "a b" = "a b" ]]; echo $?; [[ ! -f /nope ]] && echo nf; '
    "[[ x =~ ^x$ ]] && echo re; [[ 1 -lt 2 || 0 ]]; echo $?; e=; [[ $e == '' ]] && echo empty",
    "enable_list": "enable",
    "shell_variables": 'echo "[$PS1][$PS2][$HISTFILE][$HISTSIZE][$SHLVL][$BASH]"; bash -c "echo \\$SHLVL"; '
    'sh -c "echo \\$SHLVL"; echo $BASH_VERSINFO ${BASH_VERSINFO[@]} $OPTIND $OPTERR "${#BASH_VERSION}"',
    "kill_and_set_lists": "kill -l; kill -l 9 TERM sigint 137; set -o; set +o | head -3",
    "special_names": "echo $0 $LINENO; f() { echo $0 $1; }; f a; bash -c 'echo $0'; echo \"$-\" | grep -c c",
    "source_errors": ". ; . ./missing.sh; echo $?; eval 'nosuchcmd'; command nosuchcmd",
    "source_file": "printf 'echo in $1\\nnosuchcmd\\n' > s.sh; . ./s.sh arg; bash s.sh; sh s.sh; echo $?",
    # shell options
    "set_errexit": "set -e; false || true; if false; then :; fi; ! true; false && true; echo reached; "
    "f() { false; echo f-after; }; (false); echo no",
    "set_errexit_off": "set -e; set +e; false; echo on; set -o errexit; false; echo off",
    "set_xtrace": 'set -x; x=1; y="a b"; echo "a b" $x c; f() { echo in; }; f; [ 1 = 1 ] && echo y; set +x; echo quiet',
    "set_nounset": "echo $-; set -eu; echo $-; echo ${undefined:-default}; echo $undefined; echo after",
    # errors and exits, non-interactive wording
    "not_found": "nosuchcmd",
    "not_found_line2": "echo a\nnosuchcmd\necho b",
    "no_such_file": "./nope",
    "cd_missing": "cd /nonexistent-dir",
    "syntax_paren": "echo (",
    "syntax_later_line": "echo a\necho (\necho b",
    "syntax_eof": "if true; then",
    "syntax_token": "echo ) ; echo",
    "unterminated_quote": "echo 'a",
    "exit_status": "exit 3",
    "exit_nonnumeric": "exit foo",
    "exit_wraps": "exit 300",
    "exit_extra_args": "exit 1 2; echo still here; logout; exit -1",
    "return_outside": "return 3; echo x",
    "break_outside": "break; echo $?",
    "local_outside": "local x=1; echo $?",
    "background_silent": "true & wait; echo $?",
    "history_noninteractive": "history; history -n; echo $?",
    "sh_c_dash": "sh -c nosuchcmd; echo $?",
    "bash_c": "bash -c nosuchcmd; echo $?",
    "sh_stdin": "echo 'echo hi; nosuchcmd' | sh",
    "bash_stdin": "echo 'echo hi; nosuchcmd' | bash",
    "stdin_with_args": "echo 'echo \"$0 $1 $#\"; nosuchcmd' | bash -s a b; echo 'echo \"$0 $1 $#\"' | sh -s a b",
}


def _normalise(text: str) -> str:
    """Timings differ between hosts: ``real\\t0m0.003s`` / ``real 0.01`` lose their digits."""
    return re.sub(r"(real|user|sys)([ \t])(0m)?[0-9.]+s?", r"\1\2T", text)


def _real_bash(script: str, stdin: str, cwd: Path) -> tuple[str, str, int]:
    assert BASH is not None
    proc = subprocess.run(
        ["bash", "-c", script],
        executable=BASH,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin"},
        timeout=20,
        check=False,
    )
    return proc.stdout, proc.stderr, proc.returncode


def _make(flavor: str = "debian") -> Shell:
    persona = Persona.from_config(PersonaConfig(flavor=flavor), time.time())
    return Shell(FakeCtx(ROOT), persona, SessionFS(persona, ROOT, max_bytes=1 << 22), max_line_bytes=16 * 1024)


def _fake(script: str, stdin: str = "") -> tuple[str, str, int]:
    res = asyncio.run(_make().run_exec(script, stdin))
    return (*_split(res), res.status)


def _split(res: Result) -> tuple[str, str]:
    return "".join(t for fd, t in res.chunks if fd == 1), "".join(t for fd, t in res.chunks if fd == 2)


@pytest.mark.skipif(BASH is None, reason="needs bash")
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_real_bash(name: str, tmp_path: Path) -> None:
    script = CASES[name]
    want = _real_bash(script, "", tmp_path)
    got = _fake(script)
    assert (_normalise(got[0]), _normalise(got[1]), got[2]) == (_normalise(want[0]), _normalise(want[1]), want[2])


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_exec_stdin_feeds_commands(tmp_path: Path) -> None:
    script = "read first; cat; echo end"
    data = "line one\nline two\nline three\n"
    want = _real_bash(script, data, tmp_path)
    assert _fake(script, data) == want == ("line two\nline three\nend\n", "", 0)


def test_incomplete_input_asks_for_more() -> None:
    for text in ("if true; then", "echo 'a", "ls |", "cat <<EOF", "for i in 1; do", "f() {", "a &&", "echo \\"):
        assert Shell.incomplete(text), text
    for text in ("echo a", "echo (", "fi", "cat <<EOF\nx\nEOF"):
        assert not Shell.incomplete(text), text


def test_run_script_reads_commands_from_input() -> None:
    sh = _make()
    res = asyncio.run(sh.run_script("echo hi\nnosuchcmd\n", "", "bash"))
    assert _split(res) == ("hi\n", "bash: line 2: nosuchcmd: command not found\n") and res.status == 127
    res = asyncio.run(sh.run_script("echo hi\nnosuchcmd\n", "", "sh"))
    assert _split(res) == ("hi\n", "sh: 2: nosuchcmd: not found\n") and res.status == 127


SCRIPTS = {
    "compound_over_lines": "echo a\nif true; then\necho b\nfi\nnosuchcmd\necho (\necho after\n",
    "heredoc_and_exit": "echo a\ncat <<EOF\nx $((1+2))\nEOF\nexit 4\necho no\n",
    "open_at_end": "echo a\nwhile true; do\necho never\n",
    "eval_error_goes_on": "eval 'echo ('\necho after\n",
}


@pytest.mark.skipif(BASH is None, reason="needs bash")
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_piped_script_matches_bash(name: str, tmp_path: Path) -> None:
    """A shell channel without a pty feeds the script line by line, as bash reads a pipe."""
    assert BASH is not None
    script = SCRIPTS[name]
    proc = subprocess.run(
        ["bash"], executable=BASH, input=script, capture_output=True, text=True, cwd=tmp_path,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin"}, timeout=20, check=False,
    )  # fmt: skip
    sh = _make()

    async def feed() -> tuple[str, str, int]:
        out, err, status = "", "", 0
        for line in script.splitlines(keepends=True):
            res = await sh.run_script_line(line)
            out, err, status = out + _split(res)[0], err + _split(res)[1], res.status
            if res.exit:
                return out, err, status
        res = await sh.end_script()
        return out + _split(res)[0], err + _split(res)[1], res.status if res.chunks or res.exit else status

    assert asyncio.run(feed()) == (proc.stdout, proc.stderr, proc.returncode)


def _line(sh: Shell, line: str) -> Result:
    return asyncio.run(sh.run_line(line))


def test_interactive_prefixes_are_login_shell() -> None:
    sh = _make()
    assert _line(sh, "nosuchcmd").chunks == [(2, "-bash: nosuchcmd: command not found\n")]
    assert _line(sh, "./nope").chunks == [(2, "-bash: ./nope: No such file or directory\n")]
    assert _line(sh, "cd /nope").chunks == [(2, "-bash: cd: /nope: No such file or directory\n")]
    res = _line(sh, "echo (")
    assert res.chunks == [(2, "-bash: syntax error near unexpected token `newline'\n")] and res.status == 2
    assert _line(sh, "echo 'a").output == "-bash: unexpected EOF while looking for matching `''\n"
    assert _line(sh, "echo $((1/0)); echo after").output == '-bash: 1/0: division by 0 (error token is "0")\n'


def test_interactive_jobs_history_and_logout() -> None:
    sh = _make()
    res = _line(sh, "sleep 0 &")
    assert re.fullmatch(r"\[1\] \d+\n", res.output) and res.chunks[0][0] == 2
    assert _line(sh, "true").output == "[1]+  Done                    sleep 0\n"
    _line(sh, "false &")
    # as bash 5.2 in a pty: job 1 is reaped after the line that follows it, so the next ones are 2 and 3
    res = _line(sh, "sleep 0 & sleep 0 &")
    assert re.fullmatch(r"\[2\] \d+\n\[3\] \d+\n\[1\]   Exit 1                  false\n", res.output)
    assert (
        _line(sh, "echo x").output
        == "x\n[2]-  Done                    sleep 0\n[3]+  Done                    sleep 0\n"
    )
    assert _line(sh, "history -n").output == ""
    assert _line(sh, "history 2").output == "    6  history -n\n    7  history 2\n"
    assert _line(sh, "history -c; history").output == ""
    res = _line(sh, "exit 5")
    assert res.chunks == [(2, "logout\n")] and res.status == 5 and res.exit


def test_interactive_history_expansion() -> None:
    # as bash 5.2 at a prompt (checked through `script`): `!` is expanded before the line is parsed
    sh = _make()
    res = _line(sh, 'echo "pass!word" | chpasswd')
    assert res.chunks == [(2, "-bash: !word: event not found\n")]
    assert _line(sh, "echo hi there").output == "hi there\n"
    assert _line(sh, "!!").output == "echo hi there\nhi there\n"
    assert _line(sh, "echo !$").output == "echo there\nthere\n"
    assert _line(sh, "echo 'x!y' a! \"b!\" !=x ${!x} $! [!a]").output == "x!y a! b! !=x [!a]\n"
    assert _line(sh, 'echo -e "p!1"').output == 'echo -e "pecho hi there"\npecho hi there\n'  # !1: entry 1
    assert asyncio.run(sh.run_exec('echo "pass!word"')).output == "pass!word\n"  # bash -c: no expansion
    assert _line(_make("busybox"), 'echo "a!b"').output == "a!b\n"


def test_exec_has_no_logout_and_no_job_line() -> None:
    sh = _make()
    started = time.monotonic()
    res = asyncio.run(sh.run_exec("sleep 1 & echo $!; exit 3"))
    assert re.fullmatch(r"\d+\n", res.output) and res.status == 3
    assert time.monotonic() - started < 0.9  # the background sleep is not waited for


def test_environment_has_no_fixed_ssh_connection() -> None:
    sh = _make()
    assert "SSH_CONNECTION" not in sh.env and "SSH_CLIENT" not in sh.env


def test_busybox_flavour_answers_like_ash() -> None:
    sh = _make("busybox")
    assert _line(sh, "nosuchcmd").chunks == [(2, "-sh: nosuchcmd: not found\n")]
    assert _line(sh, "./nope").chunks == [(2, "-sh: ./nope: not found\n")]
    res = asyncio.run(sh.run_exec("nosuchcmd"))
    assert res.chunks == [(2, "sh: nosuchcmd: not found\n")] and res.status == 127
    assert sh.prompt() == "# "


ASH_CASES = {
    "not_found": "nosuchcmd",
    "no_such_file": "./nope",
    "cd_missing": "cd /nonexistent-dir",
    "function_error": "f() { nosuchcmd; }; f",
    "divide_by_zero": "echo $((1/0)); echo after",
    "unterminated_quote": "echo 'a",
    "exit_status": "exit 3",
    "case_heredoc": "case ab in a*) cat <<EOF\nyes $((1+1))\nEOF\n;; esac",
    "background_silent": "true & wait; echo $?",
}


def _busybox() -> str | None:
    """A real BusyBox: ``$HONEYFARM_BUSYBOX``, or Debian's busybox-static unpacked (never installed) by
    ``telnetprobe.busybox_binary`` as the Telnet differential test does."""
    for path in (os.environ.get("HONEYFARM_BUSYBOX", ""), shutil.which("busybox")):
        if path and os.access(path, os.X_OK):
            return path
    from telnetprobe import busybox_binary

    try:
        return str(busybox_binary())
    except (OSError, subprocess.SubprocessError, StopIteration):
        return None  # no apt here: the test says so when it skips


@pytest.mark.parametrize("name", sorted(ASH_CASES))
def test_busybox_flavour_matches_real_ash(name: str, tmp_path: Path) -> None:
    busybox = _busybox()
    if busybox is None:
        pytest.skip("needs a BusyBox binary: `apt-get download busybox-static` failed; set HONEYFARM_BUSYBOX")
    script = ASH_CASES[name]
    proc = subprocess.run(
        [busybox, "sh", "-c", script], capture_output=True, text=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"},
        timeout=20, check=False,
    )  # fmt: skip
    res = asyncio.run(_make("busybox").run_exec(script))
    assert (*_split(res), res.status) == (proc.stdout, proc.stderr, proc.returncode)


def test_grammar_is_bounded() -> None:
    sh = _make()
    started = time.monotonic()
    res = asyncio.run(sh.run_exec("f() { f; }; f; echo survived"))
    assert res.output == "" and res.status == 139  # real bash overflows its stack and dies
    res = asyncio.run(sh.run_exec("while true; do case a in a) :;; esac; done; echo end"))
    res = asyncio.run(sh.run_exec("cat <<EOF\n" + "$((1+1))" * 20000 + "\nEOF"))
    assert len(res.output) < 1 << 21
    assert time.monotonic() - started < 30
