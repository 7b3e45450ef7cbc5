# SPDX-License-Identifier: MIT
"""The ``busybox`` persona: a small ARMv7 router (Qualcomm IPQ40xx class, Linux 4.4, BusyBox 1.35).

IoT botnets (Mirai and its descendants) log in over Telnet and check where they landed with
``/bin/busybox``, ``cat /proc/cpuinfo``, ``uname -a`` and ``/etc/passwd`` before they pick a
binary for the CPU. A Debian answer to those on a BusyBox telnetd is a tell, so this persona
has its own figures. Everything here is data and pure functions: the config fills the
persona's defaults from ``CONFIG_DEFAULTS`` (``PersonaConfig`` with ``flavor = "busybox"``),
and the shell's commands and file tree call the functions below where the flavour is
``busybox`` (see each function's docstring). Nothing here imports the config (no cycle).
"""

from __future__ import annotations

import hashlib
import struct

#: ``PersonaConfig`` fields a ``busybox`` persona starts from (what the config file sets wins).
CONFIG_DEFAULTS: dict[str, object] = {
    "hostname": "router",
    "kernel_release": "4.4.60",
    "kernel_version": "#1 SMP PREEMPT Mon Mar 4 10:18:27 CST 2019",
    "arch": "armv7l",
    "cpu_model": "ARMv7 Processor rev 5 (v7l)",
    "cpu_count": 4,
    "mem_kb": 238_112,
    "users": [],
}

VERSION = "1.35.0"
BUILD = "2022-11-08 09:41:27 UTC"

# A router build's applets (sorted as BusyBox lists them), and where each one's link lives.
_BIN = (
    "ash cat chgrp chmod chown cp date dd df dmesg echo egrep false fgrep grep gunzip gzip hostname kill "
    "ln lock login ls mkdir mknod mktemp mount mv netstat nice pidof ping ping6 ps pwd rm rmdir sed sh "
    "sleep sync tar touch true umount uname usleep vi zcat"
)
_SBIN = (
    "halt hwclock ifconfig init insmod ip klogd logread lsmod modprobe pivot_root poweroff reboot rmmod route "
    "sysctl syslogd udhcpc"
)
_USR_BIN = (
    "[ [[ awk basename bunzip2 bzcat clear cmp crontab cut dirname du env expr find free head hexdump id "
    "killall less logger md5sum mkfifo nc nslookup passwd pgrep printf reset seq sha256sum sort strings "
    "tail tee test tftp time top tr traceroute uniq uptime watch wc wget which xargs yes"
)
_USR_SBIN = "brctl chroot crond ntpd start-stop-daemon switch_root telnetd"
APPLET_DIRS: dict[str, tuple[str, ...]] = {
    "/bin": tuple(_BIN.split()),
    "/sbin": tuple(_SBIN.split()),
    "/usr/bin": tuple(_USR_BIN.split()),
    "/usr/sbin": tuple(_USR_SBIN.split()),
}
APPLETS: tuple[str, ...] = tuple(sorted(["busybox", *(a for names in APPLET_DIRS.values() for a in names)]))

PASSWD = """root:x:0:0:root:/root:/bin/ash
daemon:*:1:1:daemon:/var:/bin/false
ftp:*:55:55:ftp:/home/ftp:/bin/false
network:*:101:101:network:/var:/bin/false
nobody:*:65534:65534:nobody:/var:/bin/false
admin:x:1000:1000:admin:/tmp:/bin/ash
"""
GROUP = """root:x:0:
daemon:x:1:
adm:x:4:
tty:x:5:
dialout:x:20:
ftp:x:55:
users:x:100:
network:x:101:
nogroup:x:65534:
admin:x:1000:
"""
SHADOW = """root:$1$Ew8z2.Ds$N2XvVrEfU7bKZ3M1RoDhx/:18700:0:99999:7:::
daemon:*:0:0:99999:7:::
ftp:*:0:0:99999:7:::
network:*:0:0:99999:7:::
nobody:*:0:0:99999:7:::
admin:$1$hS9n3kqP$pV7oGx4wA1cY2mQ0TzLr5.:18700:0:99999:7:::
"""


def busybox_path(name: str) -> str | None:
    """Where the link of applet ``name`` lives (``/bin/busybox`` itself for ``busybox``)."""
    if name == "busybox":
        return "/bin/busybox"
    for d, names in APPLET_DIRS.items():
        if name in names:
            return f"{d}/{name}"
    return None


def format_applets(names: tuple[str, ...], width: int = 80) -> str:
    """The list as ``busybox`` with no arguments prints it (BusyBox's own wrapping rule)."""
    out: list[str] = []
    col = 0
    width -= 1  # BusyBox keeps the last comma off the last column
    for name in names:
        len2 = len(name) + 2
        if col >= width - len2:
            out.append(",\n")
            col = 0
        if col == 0:
            col = 6
            out.append("\t")
        else:
            out.append(", ")
        out.append(name)
        col += len2
    out.append("\n")
    return "".join(out)


def usage(version_line: str | None = None, names: tuple[str, ...] = APPLETS) -> str:
    """``busybox`` run with no arguments (or ``--help``): the banner and the applet list."""
    head = version_line or f"BusyBox v{VERSION} ({BUILD}) multi-call binary."
    return (
        f"{head}\n"
        "BusyBox is copyrighted by many authors between 1998-2015.\n"
        "Licensed under GPLv2. See source distribution for detailed\n"
        "copyright notices.\n\n"
        "Usage: busybox [function [arguments]...]\n"
        "   or: busybox --list[-full]\n"
        "   or: busybox --install [-s] [DIR]\n"
        "   or: function [arguments]...\n\n"
        "\tBusyBox is a multi-call binary that combines many common Unix\n"
        "\tutilities into a single executable.  The shell in this build\n"
        "\tis configured to run built-in utilities without $PATH search.\n"
        "\tYou don't need to install a link to busybox for each utility.\n"
        "\tTo run external program, use full path (/sbin/ip instead of ip).\n\n"
        "Currently defined functions:\n" + format_applets(names)
    )


def applet_not_found(name: str) -> str:
    """``busybox NAME`` for a name that is no applet (Mirai's ``/bin/busybox MIRAI`` check): stderr, exit 127."""
    return f"{name}: applet not found\n"


def busybox_list(full: bool = False) -> str:
    """``busybox --list`` / ``--list-full``."""
    if not full:
        return "".join(f"{n}\n" for n in APPLETS)
    return "".join(f"{p[1:]}\n" for n in APPLETS if (p := busybox_path(n)))


def cpuinfo(cpu_count: int, cpu_model: str = str(CONFIG_DEFAULTS["cpu_model"])) -> str:
    """/proc/cpuinfo of a quad Cortex-A7 (IPQ4019): ARM's format, no ``model name`` per x86."""
    core = (
        "processor\t: {n}\n"
        f"model name\t: {cpu_model}\n"
        "BogoMIPS\t: 96.00\n"
        "Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm \n"
        "CPU implementer\t: 0x41\n"
        "CPU architecture: 7\n"
        "CPU variant\t: 0x0\n"
        "CPU part\t: 0xc07\n"
        "CPU revision\t: 5\n\n"
    )
    body = "".join(core.format(n=n) for n in range(cpu_count))
    return body + "Hardware\t: Generic DT based system\nRevision\t: 0000\nSerial\t\t: 0000000000000000\n"


def proc_version(kernel_release: str, kernel_version: str) -> str:
    """/proc/version of a vendor SDK kernel built with an OpenWrt toolchain."""
    return (
        f"Linux version {kernel_release} (builder@buildhost) (gcc version 5.2.0 (OpenWrt GCC 5.2.0 r49389) ) "
        f"{kernel_version}\n"
    )


def uname_a(hostname: str, kernel_release: str, kernel_version: str, arch: str) -> str:
    """BusyBox ``uname -a``: no processor/platform fields, ``GNU/Linux`` as the OS name."""
    return f"Linux {hostname} {kernel_release} {kernel_version} {arch} GNU/Linux\n"


#: Programs a Debian host has and this router does not (``sh: X: not found``).
ABSENT = ("bash", "apt", "apt-get", "dpkg", "systemctl", "sudo", "python3", "perl", "curl", "ssh", "scp")

#: Bash builtins that BusyBox ash lacks: a router answers ``-sh: enable: not found`` (Mirai types ``enable``).
BASH_ONLY = frozenset({"enable", "shopt", "declare", "typeset", "disown", "caller", "builtin", "logout"})

#: /proc/mounts of a flash router: squashfs root, RAM for /tmp and /dev (``mount`` shows the same).
MOUNTS: tuple[tuple[str, str, str, str], ...] = (
    ("rootfs", "/", "rootfs", "rw"),
    ("/dev/root", "/", "squashfs", "ro,relatime"),
    ("proc", "/proc", "proc", "rw,nosuid,nodev,noexec,noatime"),
    ("sysfs", "/sys", "sysfs", "rw,nosuid,nodev,noexec,noatime"),
    ("tmpfs", "/tmp", "tmpfs", "rw,nosuid,nodev,noatime"),
    ("tmpfs", "/dev", "tmpfs", "rw,nosuid,relatime,size=512k,mode=755"),
    ("devpts", "/dev/pts", "devpts", "rw,nosuid,noexec,relatime,mode=600"),
    ("/dev/mtdblock11", "/overlay", "jffs2", "rw,noatime"),
    ("debugfs", "/sys/kernel/debug", "debugfs", "rw,noatime"),
)


def proc_mounts() -> str:
    """/proc/mounts of the router."""
    return "".join(f"{d} {m} {t} {o} 0 0\n" for d, m, t, o in MOUNTS)


def free_table(cols: list[int], div: int = 1) -> str:
    """BusyBox ``free`` from (total, used, free, shared, buff/cache, available) in kB; ``div`` 1024 for
    ``-m``. Its own column widths, not procps'."""
    head = " " * 7 + "".join(f"{h:>12}" for h in ("total", "used", "free", "shared", "buff/cache", "available"))
    mem = "Mem:   " + "".join(f"{v // div:>12}" for v in cols)
    return f"{head}\n{mem}\nSwap:  {0:>12}{0:>12}{0:>12}\n"


def ps_table(user: str, shell_pid: int, ps_pid: int, cmd: str) -> str:
    """BusyBox ``ps`` (no ``DESKTOP`` options: every process, whatever the arguments)."""
    rows = [
        (1, "root", 1552, "S", "init"),
        (2, "root", 0, "SW", "[kthreadd]"),
        (3, "root", 0, "SW", "[ksoftirqd/0]"),
        (5, "root", 0, "SW<", "[kworker/0:0H]"),
        (7, "root", 0, "SW", "[rcu_preempt]"),
        (10, "root", 0, "SW", "[migration/0]"),
        (14, "root", 0, "SW", "[ksoftirqd/1]"),
        (19, "root", 0, "SW", "[ksoftirqd/2]"),
        (24, "root", 0, "SW", "[ksoftirqd/3]"),
        (81, "root", 0, "SW", "[kswapd0]"),
        (212, "root", 1544, "S", "/sbin/syslogd -n"),
        (214, "root", 1540, "S", "/sbin/klogd -n"),
        (402, "root", 1548, "S", "/usr/sbin/crond -f -c /etc/crontabs"),
        (455, "root", 1552, "S", "udhcpc -i eth0 -p /var/run/udhcpc.pid -S"),
        (530, "root", 1544, "S", "/usr/sbin/telnetd -F -l /bin/login"),
        (shell_pid, user, 1560, "S", "-sh"),
        (ps_pid, user, 1556, "R", cmd),
    ]
    out = ["  PID USER       VSZ STAT COMMAND\n"]
    out.extend(f"{p:>5} {u[:8]:<8} {v:>5} {s:<3}  {c}\n" for p, u, v, s, c in rows)
    return "".join(out)


def elf_header(name: str) -> bytes:
    """The first bytes of an ARM EABI5 (hard-float) executable: bots read /bin/busybox or /bin/echo's
    ELF header (class, endianness, ``e_machine``) to choose which build of themselves to fetch."""
    h = hashlib.sha256(name.encode()).digest()
    entry = 0x10000 + int.from_bytes(h[4:6], "little") % 0x8000 * 4
    return (
        b"\x7fELF\x01\x01\x01\x00" + b"\x00" * 8
        + struct.pack("<HHIIIIIHHHHHH", 2, 0x28, 1, entry, 52, 0, 0x5000400, 52, 32, 4, 40, 0, 0)
        + struct.pack("<IIIIIIII", 1, 0, 0x10000, 0x10000, 0xE8000, 0xE8000, 5, 0x10000)
    )  # fmt: skip
