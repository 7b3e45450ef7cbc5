# SPDX-License-Identifier: MIT
"""The fake shell's text tools and machine probes, compared with the real programs on this host.

This host runs Debian 12, the system the persona claims, so for deterministic commands (awk is
mawk there, GNU sed/grep/coreutils) the test runs the real command on a fixed input file and the
same command line through the trap (``Shell.run_exec``, as an SSH exec), and wants the same
stdout, stderr and exit status. The real programs only ever see the test's own fixed command
lines, never attacker input. Probes with no deterministic answer (``top``, ``mount``, ``/proc``)
are checked for format and for agreement with the persona instead.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from test_shell import FakeCtx

from honeyfarm.sensor.config import PersonaConfig
from honeyfarm.sensor.model import Account
from honeyfarm.sensor.shell.fs import tree as vfs_tree
from honeyfarm.sensor.shell.fs.vfs import SessionFS
from honeyfarm.sensor.shell.persona import Persona
from honeyfarm.sensor.shell.shell import Result, Shell

ROOT = Account("root", 0, 0, "/root")
PERSONA = Persona.from_config(PersonaConfig(), time.time())
INPUT = (
    "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n  alpha  beta gamma \n"
    "foo bar 42\nmodel name\t: Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz\nHello World hello\n\nlast line 7.5\n"
)
ENV = {"LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin", "HOME": "/root"}

AWK = [
    "awk '{print $1}' @IN@",
    "awk -F: '{print $1, $NF}' @IN@",
    "awk 'END{print NR}' @IN@",
    "cat @IN@ | grep name | head -n 1 | awk '{print $4,$5,$6,$7,$8,$9;}'",
    "awk '{print NF, $NF}' @IN@",
    "awk '/hello/ {print NR\": \"$0}' @IN@",
    "awk '$3 > 10 {print $3}' @IN@",
    "awk 'NR==2' @IN@",
    "awk -v x=5 'BEGIN{print x*2, x \"y\"}'",
    'awk \'BEGIN{print substr("hello",2,3), length("abc"), 0.1+0.2, 1e20, 3/2, -3%2, 2^10, int(-3.7)}\'',
    'awk \'BEGIN{printf "%5.2f|%-4s|%c|%c|%x|%d|%e\\n", 3.14159, "ab", 65, "hello", 255, "12abc", 1234.5}\'',
    'awk \'BEGIN{print substr("hello",0), substr("hello",-1,3), substr("hello",2), substr("hello",1.5,2.3)}\'',
    'awk \'BEGIN{print toupper("abc") tolower("XyZ"), index("abc","c"), split("a:b:c",a,":"), a[3]}\'',
    "awk 'BEGIN{print match(\"foobar\",/o+/), RSTART, RLENGTH}'",
    'awk \'{ n=gsub(/o/,"[&]"); print n, $0; sub("a","\\\\&"); print}\' @IN@',
    "awk '{s+=NF} END {print s, s/NR}' @IN@",
    "awk 'BEGIN{for(i=0;i<5;i++) s = s i; print s; while (j<3) {j++; if (j==2) continue; print j}}'",
    "awk '{$2=\"X\"; print; print NF}' @IN@",
    "awk 'length > 20' @IN@",
    "awk 'NR%2==0{next} {print NR}' @IN@",
    "awk -F'[: ]' '{print $2}' @IN@",
    "awk 'function f(a,b){return a+b} BEGIN{print f(2,3)}'",
    "awk 'BEGIN{OFS=\"-\"} {$1=$1; print}' @IN@",
    "awk '!seen[$0]++' @IN@",
    "awk 'BEGIN{exit 3} END{print \"end\"}'",
    "awk '{print $1' @IN@",
    "awk 'BEGIN{while ((getline line < \"@IN@\") > 0) n++; print n, line}'",
    "awk 'BEGIN{print (getline x < \"/nonexist\")}'",
    "echo '2 10' | awk '{print ($1<$2), (\"2\"<\"10\")}'",
    "echo 'a b c' | awk '{NF=2; print}'",
    "echo 'a,b,,c' | awk -F, '{print NF, $3, $4}'",
    "free_m=$(echo 'Mem: 1 2 3'); echo \"$free_m\" | awk '{print $2 ,$3, $4}'",
]
SED = [
    "sed 's/o/0/' @IN@",
    "sed 's/o/0/g' @IN@",
    "sed -n '2p' @IN@",
    "sed '/hello/d' @IN@",
    "sed 's/\\(a\\)\\(l\\)/\\2\\1/g' @IN@",
    "sed -E 's/([a-z]+) ([a-z]+)/\\2 \\1/' @IN@",
    "sed 's/HELLO/bye/I' @IN@",
    "sed 's/o/O/2' @IN@",
    "sed '3q' @IN@",
    "sed -n '$p' @IN@",
    "sed '2,4d' @IN@",
    "sed 's#/#|#g' @IN@",
    "sed -e 's/a/A/' -e 's/b/B/' @IN@",
    "sed '1!d' @IN@",
    "sed 'y/abc/xyz/' @IN@",
    "sed = @IN@",
    "sed 's/[0-9]\\+/N/g' @IN@",
    "sed -n '/root/,/foo/p' @IN@",
    "sed 's/a/b' @IN@",
    "sed 'k' @IN@",
    "echo hello | sed 's/l*/X/g'",
    "printf 'no newline' | sed 's/no/yes/'",
    "sed ':a;N;$!ba;s/\\n/ /g' @IN@",
    "sed -n 'h;n;G;p' @IN@",
    "sed '$!N;s/\\n/-/' @IN@",
    "sed 'N;P;D' @IN@",
    "sed -n '/root/{p;q}' @IN@",
    "sed 's/o/0/;t;s/a/A/' @IN@",
    "sed '1~2d' @IN@",
    "sed 'x;$!d' @IN@",
    "sed G @IN@",
]
TR_CUT = [
    "echo a:b | cut -d: -f1",
    "echo a:b:c:d | cut -d: -f2-3",
    "echo a:b:c:d | cut -d: -f-2,4",
    "cut -c1-5 @IN@",
    "cut -d' ' -f2 @IN@",
    "cut -s -d: -f1,7 @IN@",
    "echo a:b | cut -d:",
    "echo x | cut -f0",
    "echo a:b:c | cut -d: -f2 --complement",
    "echo hello | tr -s l",
    "echo hello | tr a-y b-z",
    "echo hello | tr -cd 'l\\n'",
    "echo hello | tr '[:lower:]' '[:upper:]'",
    "echo x | tr -d a b",
    "tr -d '\\n' < @IN@",
    "echo 'Hello World' | tr -s ' ' '\\n'",
    "tr a",
    "echo 'abc123' | tr -dc '0-9'",
]
SEQ_EXPR = [
    "seq 5",
    "seq 2 5",
    "seq 10 -3 1",
    "seq 1 0.5 3",
    "seq -w 8 10",
    "seq -s, 3",
    "seq 1.5",
    "seq a",
    "seq",
    "expr 1 + 2",
    "expr 5 \\* 3",
    "expr 7 / 2",
    "expr length abcd",
    "expr abc : 'a\\(.\\)'",
    "expr 3 \\> 2",
    "expr 0",
    "expr a + 1",
    "expr 1 / 0",
    "expr 1 +",
    "expr substr hello 2 3",
    "expr \\( 1 + 2 \\) \\* 3",
]
OD = [
    "printf 'ab\\0c\\n' | od -c",
    "printf 'abcdefghijklmnopqrstu' | od -A d -t x1",
    "printf 'ab' | od",
    "printf 'abcdefghijklmnopqrstuvwxyz' | od -An -tx1 -N4",
    "printf 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' | od -c",
    "printf 'abcdefgh' | od -x",
    "printf 'abcdefgh' | od -t d4",
    "printf 'abcdefgh' | od -t u2 -A x",
    "printf 'abcdefgh' | od -j 2 -N 3 -c",
    "od -c @IN@ | head -3",
]
GREP = [
    "grep -c o @IN@",
    "grep -v o @IN@",
    "grep -i hello @IN@",
    "grep -o 'o[a-z]' @IN@",
    "grep -E 'root|foo' @IN@",
    "grep -F '.' @IN@",
    "grep -w hello @IN@",
    "grep -n a @IN@",
    "grep -q root @IN@; echo $?",
    "grep -l root @IN@ @IN@",
    "grep root @IN@ @IN@",
    "grep -e root -e foo @IN@",
    "grep 'o\\{2\\}' @IN@",
    "grep -x 'foo bar 42' @IN@",
    "grep nothing @IN@",
    "grep root /nonexist",
    "grep -vc '^$' @IN@",
    "grep -oE '[0-9]+' @IN@",
    "echo hello | grep -c l",
    "cat --help | head -n 3",
    "ls --version | head -n 1",
]


def make() -> Shell:
    return Shell(FakeCtx(ROOT), PERSONA, SessionFS(PERSONA, ROOT, max_bytes=4 << 20), max_line_bytes=16 * 1024)


def trap(sh: Shell, line: str) -> Result:
    return asyncio.run(asyncio.wait_for(sh.run_exec(line), 30))


def streams(res: Result) -> tuple[str, str]:
    return "".join(t for fd, t in res.chunks if fd == 1), "".join(t for fd, t in res.chunks if fd == 2)


@pytest.fixture(scope="module")
def infile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("mawk") is None or not Path("/etc/debian_version").exists():
        pytest.skip("needs Debian's mawk, sed, grep and coreutils on the host to compare with")
    path = tmp_path_factory.mktemp("cmds") / "in.txt"
    path.write_text(INPUT)
    # `awk` is Debian's alternative, which installing gawk (a dependency of mariadb-server, a test peer)
    # moves to gawk: the real side runs mawk by name, the awk of a stock Debian 12 the trap imitates.
    (path.parent / "bin").mkdir()
    (path.parent / "bin" / "awk").symlink_to(str(shutil.which("mawk")))
    return path


def compare(line: str, infile: Path) -> None:
    cmd = line.replace("@IN@", str(infile))
    env = {**ENV, "PATH": f"{infile.parent / 'bin'}:{ENV['PATH']}"}
    real = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=20, env=env, check=False)
    sh = make()
    sh.fs.mkdir(str(infile.parent), parents=True)
    sh.fs.write(str(infile), "/", INPUT.encode())
    res = trap(sh, cmd)
    out, err = streams(res)
    assert (out, err, res.status) == (real.stdout, real.stderr, real.returncode), cmd


@pytest.mark.parametrize("line", AWK)
def test_awk_matches_mawk(line: str, infile: Path) -> None:
    compare(line, infile)


@pytest.mark.parametrize("line", SED)
def test_sed_matches_gnu_sed(line: str, infile: Path) -> None:
    compare(line, infile)


@pytest.mark.parametrize("line", TR_CUT + SEQ_EXPR + OD)
def test_coreutils_filters_match(line: str, infile: Path) -> None:
    compare(line, infile)


@pytest.mark.parametrize("line", GREP)
def test_grep_and_help_texts_match(line: str, infile: Path) -> None:
    compare(line, infile)


def test_hostile_programs_end_quickly() -> None:
    sh = make()
    start = time.monotonic()
    res = trap(sh, "awk 'BEGIN{while(1) x = x \"a\"}'; echo $?")
    assert streams(res)[0].endswith("2\n")
    trap(sh, "awk 'BEGIN{for(;;);}'")
    trap(sh, "printf 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\\n' | grep -E '(a|aa)*(a|aa)*c'")
    trap(sh, "seq 1 100000000 | wc -l")
    trap(sh, "echo x | sed ':a;s/x/xx/;ba'")
    for deep in ("$" * 3000 + "1", "-" * 3000 + "1", "!" * 3000 + "1", "x=" * 3000 + "1", "(" * 500 + "1" + ")" * 500,
                 "1+" * 5000 + "1", "a[" * 2000 + "1" + "]" * 2000):  # fmt: skip
        res = trap(sh, f"echo 1 | awk '{{print {deep}}}'")  # nesting deeper than Python's stack: a clean error
        assert res.status == 2, deep[:10]
    assert time.monotonic() - start < 30


def test_programs_without_emulation_do_not_echo_their_input() -> None:
    copies = {"cat", "tee", "head", "tail", "sort", "uniq", "dd", "xargs", "nl", "tac", "bash", "dash", "rbash"}
    for name in (*vfs_tree.USR_BIN, *vfs_tree.USR_SBIN):
        if name in copies:
            continue
        out = trap(make(), f"echo secret-token | {name}").output
        assert "secret-token" not in out, name


def test_dpkg_lists_a_debian_server() -> None:
    sh = make()
    count = int(streams(trap(sh, "dpkg -l | wc -l"))[0])
    assert 400 < count < 1200
    assert int(streams(trap(sh, "apt list --installed 2>/dev/null | wc -l"))[0]) == count - 4
    lines = streams(trap(sh, "dpkg -l openssh-server bash"))[0].splitlines()
    assert lines[0] == "Desired=Unknown/Install/Remove/Purge/Hold"
    assert lines[-1].startswith("ii  openssh-server 1:9.2p1-2+deb12u10 amd64 ")
    out = streams(trap(sh, "dpkg -s linux-image-6.1.0-28-cloud-amd64"))[0]
    assert "Status: install ok installed" in out and "Version: 6.1.119-1" in out
    res = trap(sh, "dpkg -l nosuchpkg")
    assert (streams(res), res.status) == (("", "dpkg-query: no packages found matching nosuchpkg\n"), 1)


def test_proc_and_machine_probes() -> None:
    sh = make()
    assert streams(trap(sh, "cat /proc/1/cgroup"))[0] == "0::/init.scope\n"
    assert streams(trap(sh, "cat /proc/self/comm; readlink /proc/self/exe"))[0] == "cat\n/usr/bin/readlink\n"
    assert streams(trap(sh, "cat /proc/$$/comm; readlink /proc/$$/exe"))[0] == "bash\n/usr/bin/bash\n"
    status = streams(trap(sh, "head -n 1 /proc/self/status"))[0]
    assert status == "Name:\thead\n"
    assert "[stack]" in streams(trap(sh, "cat /proc/self/maps"))[0]
    mounts = streams(trap(sh, "mount"))[0].splitlines()
    assert "/dev/nvme0n1p1 on / type ext4 (rw,relatime,discard,errors=remount-ro)" in mounts
    assert len(streams(trap(sh, "cat /proc/mounts"))[0].splitlines()) == len(mounts)
    assert streams(trap(sh, "getconf LONG_BIT; getconf PAGESIZE; getconf _NPROCESSORS_ONLN; nproc"))[0] == (
        f"64\n4096\n{PERSONA.cpu_count}\n{PERSONA.cpu_count}\n"
    )
    res = trap(sh, "getconf NOPE")
    assert (streams(res)[1], res.status) == ("getconf: Unrecognized variable `NOPE'\n", 1)
    res = trap(sh, "tty")
    assert (streams(res)[0], res.status) == ("not a tty\n", 1)
    assert asyncio.run(sh.run_line("tty")).output == "/dev/pts/0\n"
    top = streams(trap(sh, "top -bn1"))[0].splitlines()
    assert top[0].startswith("top - ") and "load average:" in top[0]
    assert top[6].split() == ["PID", "USER", "PR", "NI", "VIRT", "RES", "SHR", "S", "%CPU", "%MEM", "TIME+", "COMMAND"]
    assert streams(trap(sh, "ps -x | head -n 1"))[0] == "    PID TTY      STAT   TIME COMMAND\n"
    assert streams(trap(sh, "ls / | head -n 2"))[0] == "bin\nboot\n"  # one name per line without a terminal
    assert streams(trap(sh, "ls -ld /var/run"))[0].endswith("/var/run -> /run\n")


def test_dd_stat_and_interpreters() -> None:
    sh = make()
    res = trap(sh, "dd if=/dev/zero of=/dev/null count=0")
    assert streams(res)[1].startswith("0+0 records in\n0+0 records out\n0 bytes copied, ")
    res = trap(sh, "dd if=.s bs=52 count=1")
    assert (streams(res)[1], res.status) == ("dd: failed to open '.s': No such file or directory\n", 1)
    assert streams(trap(sh, "stat -c '%U %a %F' /root /etc/passwd"))[0] == "root 700 directory\nroot 644 regular file\n"
    assert streams(trap(sh, "stat /")).__getitem__(0).startswith("  File: /\n  Size: 4096")
    assert streams(trap(sh, "python3 -c 'print(1+1)'; perl -e 'print \"ok\\n\"'"))[0] == "2\nok\n"
    res = trap(sh, "python3 -c 'import nosuchmod'")
    assert streams(res)[1].endswith("ModuleNotFoundError: No module named 'nosuchmod'\n") and res.status == 1
    res = trap(sh, "perl n3; echo $?")
    assert streams(res) == ("2\n", 'Can\'t open perl script "n3": No such file or directory\n')


def test_symlink_to_sshd_runs() -> None:
    sh = make()
    res = trap(sh, "ln -sf /usr/sbin/sshd /tmp/su; readlink /tmp/su; ls -l /tmp/su")
    out = streams(res)[0]
    assert out.startswith("/usr/sbin/sshd\nlrwxrwxrwx 1 root root 14 ")
    assert out.endswith(" /tmp/su -> /usr/sbin/sshd\n")
    assert "No such file" not in trap(sh, "/tmp/su -oPort=1987").output


def test_small_programs_do_the_real_thing() -> None:
    sh = make()
    assert streams(trap(sh, "find /etc -maxdepth 1 -name 'pass*'"))[0] == "/etc/passwd\n/etc/passwd-\n"
    assert streams(trap(sh, "echo a b | xargs -n1 echo x"))[0] == "x a\nx b\n"
    name = streams(trap(sh, "mktemp"))[0].strip()
    assert name.startswith("/tmp/tmp.") and len(name) == len("/tmp/tmp.") + 10
    assert streams(trap(sh, f"ls {name}"))[0] == name + "\n"
    assert streams(trap(sh, "printf 'a\\nb\\n' | tac; echo abc | rev"))[0] == "b\na\ncba\n"
    assert streams(trap(sh, "pgrep sshd"))[0].split()[0] == str(PERSONA.sshd_pid)
    res = trap(sh, "ping -c 2 8.8.8.8")
    lines = streams(res)[0].splitlines()
    assert lines[0] == "PING 8.8.8.8 (8.8.8.8) 56(84) bytes of data." and lines[1].startswith("64 bytes from 8.8.8.8: ")
    assert "2 packets transmitted, 2 received, 0% packet loss" in lines[-2] and res.status == 0
    assert trap(sh, "ping -c 1 10.1.2.3").status == 1  # private addresses stay silent
    res = trap(sh, "tar")
    assert res.status == 2 and streams(res)[1].startswith("tar: You must specify one of the '-Acdtrux'")
    assert streams(trap(sh, "cat /bin/echo | wc -c"))[0] == streams(trap(sh, "stat -c %s /bin/echo"))[0]
    assert streams(trap(sh, "dd bs=52 count=1 if=/bin/echo 2>/dev/null | wc -c"))[0] == "52\n"
    assert trap(sh, "curl -V").output.startswith("curl 7.88.1 (x86_64-pc-linux-gnu)")


def test_heavy_awk_and_sed_leave_the_event_loop_free() -> None:
    async def go() -> float:
        sh = make()
        worst = 0.0
        done = False

        async def ticker() -> None:
            nonlocal worst
            while not done:
                t = time.monotonic()
                await asyncio.sleep(0.005)
                worst = max(worst, time.monotonic() - t - 0.005)

        tick = asyncio.create_task(ticker())
        await sh.run_exec("awk 'BEGIN{for(;;) x = x + 1}'")
        await sh.run_exec("seq 1 100000 | awk '{s+=$1} END{print s}'")
        await sh.run_exec("echo x | sed ':a;s/x/x/;ta'")
        done = True
        await tick
        return worst

    assert asyncio.run(go()) < 0.25  # the interpreters run in a worker thread (GIL switch: 5 ms)
