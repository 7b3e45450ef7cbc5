# SPDX-License-Identifier: MIT
"""Emulated commands, part 4: what reveals the machine (uname, id, ps, free, lscpu, ip, df...).

All figures come from the :class:`~honeyfarm.sensor.shell.persona.Persona`, so ``nproc`` agrees with
``/proc/cpuinfo`` and ``free`` with ``/proc/meminfo``. Administrative commands answer as they do
for an unprivileged user, or with the lock/permission errors a busy Debian box gives root.
Commands a stock Debian 12 lacks (``ifconfig``, ``netstat``, ``python``) are not emulated:
bash reports them as not found.
"""

from __future__ import annotations

import ipaddress
import time
from typing import TYPE_CHECKING

from honeyfarm.sensor.shell.commands.base import IO, command, split_opts
from honeyfarm.sensor.shell.persona import CPU_FLAGS as _CPU_FLAGS

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.shell import Shell

_UNITS = {"ssh", "sshd", "cron", "rsyslog", "systemd-journald", "systemd-logind", "dbus", "getty@tty1",
          "serial-getty@ttyS0", "systemd-networkd", "systemd-udevd", "unattended-upgrades"}  # fmt: skip


@command("uname")
async def uname(sh: Shell, argv: list[str], io: IO) -> int:
    long_names = {"all": "a", "kernel-name": "s", "nodename": "n", "kernel-release": "r", "kernel-version": "v",
                  "machine": "m", "processor": "p", "hardware-platform": "i", "operating-system": "o"}  # fmt: skip
    flags = ""
    for a in argv[1:]:
        if a.startswith("--") and a[2:] in long_names:
            flags += long_names[a[2:]]
        elif a.startswith("-") and len(a) > 1 and all(c in "asnrvmpio" for c in a[1:]):
            flags += a[1:]
        else:
            bad = a if a.startswith("--") else f"-- '{a[1:2]}'" if a.startswith("-") else a
            msg = f"invalid option {bad}" if a.startswith("-") else f"extra operand {a!r}"
            io.err(f"uname: {msg}\nTry 'uname --help' for more information.\n")
            return 1
    io.out(sh.persona.uname(flags))
    return 0


@command("id")
async def id_(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, names = split_opts(argv[1:])
    acct = sh.account
    if names and names[0] != acct.name:
        users = {u.name: u for u in sh.persona.all_users(acct)}
        if names[0] not in users:
            io.err(f"id: ‘{names[0]}’: no such user\n")
            return 1
        u = users[names[0]]
        groups = [(u.gid, sh.group_name(u.gid))]
        uid, name = u.uid, u.name
    else:
        groups = sh.persona.groups_of(acct)
        uid, name = acct.uid, acct.name
    if "u" in flags:
        io.out((name if "n" in flags else str(uid)) + "\n")
    elif "g" in flags:
        io.out((groups[0][1] if "n" in flags else str(groups[0][0])) + "\n")
    elif "G" in flags:
        io.out(" ".join(g[1] if "n" in flags else str(g[0]) for g in groups) + "\n")
    else:
        gid, gname = groups[0]
        glist = ",".join(f"{g}({n})" for g, n in groups)
        io.out(f"uid={uid}({name}) gid={gid}({gname}) groups={glist}\n")
    return 0


@command("whoami", "logname")
async def whoami(sh: Shell, argv: list[str], io: IO) -> int:
    io.out(sh.account.name + "\n")
    return 0


@command("groups")
async def groups(sh: Shell, argv: list[str], io: IO) -> int:
    io.out(" ".join(n for _, n in sh.persona.groups_of(sh.account)) + "\n")
    return 0


@command("hostname")
async def hostname(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, rest = split_opts(argv[1:])
    if rest:
        if sh.account.uid != 0:
            io.err("hostname: you must be root to change the host name\n")
            return 1
        return 0
    if flags & {"I", "i"}:
        io.out(sh.persona.ip_address + " \n" if "I" in flags else "127.0.1.1\n")
    else:
        name = sh.persona.hostname
        io.out((name.split(".")[0] if "s" in flags else name) + "\n")
    return 0


@command("ps")
async def ps(sh: Shell, argv: list[str], io: IO) -> int:
    opts = [a for a in argv[1:] if not a.startswith("--")]
    unix = "".join(a[1:] for a in opts if a.startswith("-"))
    bsd = "".join(a for a in opts if not a.startswith("-"))
    letters = unix + bsd
    everyone = bool(set(letters) & {"e", "A"}) or ("a" in bsd and "x" in bsd) or ("a" in bsd and "u" in bsd)
    if "f" in unix and set(unix) & {"e", "A"}:
        style = "ef"
    elif "u" in bsd or ("u" in unix and not set(unix) - {"u", "a", "x"}):
        style = "aux"
    elif "x" in letters or "a" in bsd:
        style = "x"  # `ps x`, `ps -x`, `ps ax`: BSD columns without the user ones
        everyone = everyone or "a" in letters
    elif set(unix) & {"e", "A"}:
        style = "e"
    else:
        style = ""
    cmd = " ".join(argv) if style else "ps"
    io.out(sh.persona.ps(sh.account, sh.tty, style, cmd, sh.new_pid(), everyone or style in ("", "ef", "e")))
    return 0


@command("free")
async def free(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, _ = split_opts(argv[1:])
    unit = "h" if "h" in flags or "human" in flags else "m" if "m" in flags else "g" if "g" in flags else "k"
    io.out(sh.persona.free(unit))
    return 0


@command("uptime")
async def uptime(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, _ = split_opts(argv[1:])
    if "p" in flags:
        up = int(sh.persona.uptime_seconds())
        weeks, rest = divmod(up, 7 * 86400)
        days, rest = divmod(rest, 86400)
        hours, mins = divmod(rest // 60, 60)
        parts = [f"{v} {n}{'s' if v != 1 else ''}" for v, n in ((weeks, "week"), (days, "day"), (hours, "hour"),
                                                               (mins, "minute")) if v]  # fmt: skip
        io.out("up " + ", ".join(parts) + "\n")
    elif "s" in flags:
        io.out(time.strftime("%Y-%m-%d %H:%M:%S\n", time.gmtime(sh.persona.boot_time)))
    else:
        io.out(sh.persona.uptime_line())
    return 0


@command("w")
async def w(sh: Shell, argv: list[str], io: IO) -> int:
    io.out(sh.persona.w(sh.account, sh.tty, sh.ctx.src_ip, sh.login_time))
    return 0


@command("who", "users")
async def who(sh: Shell, argv: list[str], io: IO) -> int:
    if argv[0].endswith("users"):
        io.out(sh.account.name + "\n")
        return 0
    login = time.strftime("%Y-%m-%d %H:%M", time.gmtime(sh.login_time))
    io.out(f"{sh.account.name:<8} {sh.tty:<12} {login} ({sh.ctx.src_ip})\n")
    return 0


@command("nproc")
async def nproc(sh: Shell, argv: list[str], io: IO) -> int:
    io.out(f"{sh.persona.cpu_count}\n")
    return 0


_VULNS = (
    ("Gather data sampling", "Unknown: Dependent on hypervisor status"),
    ("Itlb multihit", "KVM: Mitigation: VMX unavailable"),
    ("L1tf", "Mitigation; PTE Inversion"),
    ("Mds", "Vulnerable: Clear CPU buffers attempted, no microcode; SMT Host state unknown"),
    ("Meltdown", "Mitigation; PTI"),
    ("Mmio stale data", "Vulnerable: Clear CPU buffers attempted, no microcode; SMT Host state unknown"),
    ("Reg file data sampling", "Not affected"),
    ("Retbleed", "Vulnerable"),
    ("Spec rstack overflow", "Not affected"),
    ("Spec store bypass", "Vulnerable"),
    ("Spectre v1", "Mitigation; usercopy/swapgs barriers and __user pointer sanitization"),
    ("Spectre v2", "Mitigation; Retpolines; STIBP disabled; RSB filling; PBRSB-eIBRS Not affected; BHI Retpoline"),
    ("Srbds", "Not affected"),
    ("Tsx async abort", "Not affected"),
)  # what Linux 6.1 reports for the persona's CPU bugs (/proc/cpuinfo) under KVM


@command("lscpu")
async def lscpu(sh: Shell, argv: list[str], io: IO) -> int:
    """util-linux 2.38's flat layout (what lscpu prints when its output is not a terminal)."""
    p = sh.persona
    n = p.cpu_count
    cores = max(1, n // 2)
    cpus = ",".join(str(i) for i in range(n)) if n <= 2 else f"0-{n - 1}"
    bogomips = (2499.998 + (p.seed % 7) / 1000) * 2
    inst = f"{cores} instance{'s' if cores > 1 else ''}"
    rows = [
        ("Architecture", p.arch), ("CPU op-mode(s)", "32-bit, 64-bit"),
        ("Address sizes", "46 bits physical, 48 bits virtual"), ("Byte Order", "Little Endian"), ("CPU(s)", str(n)),
        ("On-line CPU(s) list", cpus), ("Vendor ID", "GenuineIntel"), ("Model name", p.cfg.cpu_model),
        ("CPU family", "6"), ("Model", "85"), ("Thread(s) per core", "2" if n > 1 else "1"),
        ("Core(s) per socket", str(cores)), ("Socket(s)", "1"), ("Stepping", "7"), ("BogoMIPS", f"{bogomips:.2f}"),
        ("Flags", _CPU_FLAGS), ("Hypervisor vendor", "KVM"), ("Virtualization type", "full"),
        ("L1d cache", f"{32 * cores} KiB ({inst})"), ("L1i cache", f"{32 * cores} KiB ({inst})"),
        ("L2 cache", f"{cores} MiB ({inst})"), ("L3 cache", "35.8 MiB (1 instance)"), ("NUMA node(s)", "1"),
        ("NUMA node0 CPU(s)", cpus), *((f"Vulnerability {k}", v) for k, v in _VULNS),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows) + 2
    io.out("".join(f"{k + ':':<{width}}{v}\n" for k, v in rows))
    return 0


@command("date")
async def date(sh: Shell, argv: list[str], io: IO) -> int:
    now = sh.persona.now()
    fmt = next((a[1:] for a in argv[1:] if a.startswith("+")), "%a %b %e %H:%M:%S UTC %Y")
    fmt = fmt[:512].replace("%s", str(int(now))).replace("%N", f"{int(now % 1 * 1e9):09d}")
    try:
        io.out(time.strftime(fmt, time.gmtime(now)) + "\n")
    except ValueError:
        io.out(fmt + "\n")
    return 0


@command("df")
async def df(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, _ = split_opts(argv[1:])
    mem = sh.persona.mem_kb
    used = 1_912_000 + sh.persona.seed % 300_000
    rows = [("udev", mem // 2 - 1000, 0, "/dev"), ("tmpfs", mem // 10, 496, "/run"),
            ("/dev/nvme0n1p1", 8_056_736, used, "/"), ("tmpfs", mem // 2, 0, "/dev/shm"),
            ("tmpfs", 5120, 0, "/run/lock"), ("/dev/nvme0n1p15", 126_678, 11_840, "/boot/efi"),
            ("tmpfs", mem // 10, 0, f"/run/user/{sh.account.uid}")]  # fmt: skip

    def size(kb: int) -> str:
        if "h" not in flags:
            return str(kb)
        if kb == 0:
            return "0"
        v, unit = float(kb), "K"
        for u in "MGT":
            if v < 1024:
                break
            v, unit = v / 1024, u
        return f"{v:.1f}{unit}" if v < 10 else f"{v:.0f}{unit}"

    head = "Size  Used Avail" if "h" in flags else "1K-blocks    Used Available"
    out = [f"Filesystem      {head} Use% Mounted on\n"]
    for fs, total, u, mnt in rows:
        avail = int(total * 0.95) - u if mnt == "/" else total - u
        pct = f"{-(-u * 100 // (u + avail)) if u else 0}%"
        if "h" in flags:
            out.append(f"{fs:<15} {size(total):>4} {size(u):>5} {size(avail):>5} {pct:>4} {mnt}\n")
        else:
            out.append(f"{fs:<15} {total:>9} {u:>7} {avail:>9} {pct:>4} {mnt}\n")
    io.out("".join(out))
    return 0


@command("dmesg")
async def dmesg(sh: Shell, argv: list[str], io: IO) -> int:
    if sh.account.uid != 0:
        io.err("dmesg: read kernel buffer failed: Operation not permitted\n")
        return 1
    p = sh.persona
    io.out(
        f"[    0.000000] Linux version {p.kernel_release} (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) "
        f"12.2.0, GNU ld (GNU Binutils for Debian) 2.40) {p.kernel_version}\n"
        f"[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-{p.kernel_release} root=PARTUUID=5ce1c3d2-01 ro "
        "console=tty0 console=ttyS0,115200\n[    0.000000] BIOS-provided physical RAM map:\n"
        "[    0.000000] Hypervisor detected: KVM\n[    0.004000] DMI: Amazon EC2 t3.micro/, BIOS 1.0 10/16/2017\n"
        f"[    0.112233] smpboot: Allowing {p.cpu_count} CPUs, 0 hotplug CPUs\n"
        "[    1.204711] nvme nvme0: 2/0/0 default/read/poll queues\n"
        "[    1.912305] EXT4-fs (nvme0n1p1): mounted filesystem with ordered data mode. Quota mode: none.\n"
        "[    3.101245] ena 0000:00:05.0 ens5: renamed from eth0\n"
    )
    return 0


@command("crontab")
async def crontab(sh: Shell, argv: list[str], io: IO) -> int:
    flags, values, rest = split_opts(argv[1:], with_value="u")
    user = values.get("u", sh.account.name)
    if "u" in values and sh.account.uid != 0 and user != sh.account.name:
        io.err("must be privileged to use -u\n")
        return 1
    if flags & {"l", "r"}:
        io.err(f"no crontab for {user}\n")
        return 1
    if "e" in flags:
        io.err(f"no crontab for {user} - using an empty one\ncrontab: installing new crontab\n")
        return 0
    if not rest:
        io.err("crontab: usage error: file name must be specified for replace\n")
        return 1
    return 0


@command("passwd", "chpasswd")
async def passwd(sh: Shell, argv: list[str], io: IO) -> int:
    if argv[0].endswith("chpasswd"):
        if sh.account.uid != 0:
            io.err("chpasswd: (user root) pam_chauthtok() failed, error:\nAuthentication token manipulation error\n")
            return 1
        return 0
    io.err("passwd: Authentication token manipulation error\npasswd: password unchanged\n")
    return 10


@command("apt", "apt-get", "apt-cache", "dpkg")
async def apt(sh: Shell, argv: list[str], io: IO) -> int:
    prog = argv[0].rsplit("/", 1)[-1]
    args = [a for a in argv[1:] if not a.startswith("-")]
    if "--version" in argv or "-v" in argv:
        io.out("apt 2.6.1 (amd64)\n")
        return 0
    if not args:
        io.out(f"apt 2.6.1 (amd64)\nUsage: {prog} [options] command\n")
        return 1 if prog != "apt" else 0
    if prog == "apt-cache" or args[0] in ("list", "search", "show", "policy", "-l"):
        return 0
    lock = "/var/lib/apt/lists/lock" if args[0] == "update" else "/var/lib/dpkg/lock-frontend"
    if sh.account.uid != 0:
        what = "directory /var/lib/apt/lists/" if args[0] == "update" else "the dpkg frontend lock (" + lock + ")"
        io.err(
            f"E: Could not open lock file {lock} - open (13: Permission denied)\n"
            f"E: Unable to lock {what}, are you root?\n"
            if args[0] == "update"
            else f"E: Could not open lock file {lock} - open (13: Permission denied)\n"
            f"E: Unable to acquire {what}, are you root?\n"
        )
        return 100
    holder = 1200 + sh.persona.seed % 400
    io.err(
        f"E: Could not get lock {lock}. It is held by process {holder} (unattended-upgr)\n"
        "N: Be aware that removing the lock file is not a solution and may break your system.\n"
        f"E: Unable to lock directory {lock.rsplit('/', 1)[0]}/\n"
        if args[0] == "update"
        else f"E: Could not get lock {lock}. It is held by process {holder} (unattended-upgr)\n"
        "N: Be aware that removing the lock file is not a solution and may break your system.\n"
        f"E: Unable to acquire the dpkg frontend lock ({lock}), is another process using it?\n"
    )
    return 100


@command("ip")
async def ip(sh: Shell, argv: list[str], io: IO) -> int:
    p = sh.persona
    net = ipaddress.ip_interface(f"{p.ip_address}/20").network
    gw = net.network_address + 1
    args = [a for a in argv[1:] if not a.startswith("-")]
    obj = args[0] if args else ""
    if not obj:
        io.err("Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n")
        return 255
    mac = bytes.fromhex(p.mac_address.replace(":", ""))
    eui = bytes([mac[0] ^ 2]) + mac[1:3] + b"\xff\xfe" + mac[3:]
    ll = ipaddress.IPv6Address(b"\xfe\x80" + b"\0" * 6 + eui)
    if "route".startswith(obj) or obj == "r":
        io.out(f"default via {gw} dev ens5 proto dhcp src {p.ip_address} metric 100 \n"
               f"{net.network_address + 2} via {gw} dev ens5 proto dhcp src {p.ip_address} metric 100 \n"
               f"{net} dev ens5 proto kernel scope link src {p.ip_address} metric 100 \n")  # fmt: skip
        return 0
    lo = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\n"
    lo += "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
    eth = "2: ens5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 9001 qdisc mq state UP mode DEFAULT group default qlen 1000\n"
    eth += f"    link/ether {p.mac_address} brd ff:ff:ff:ff:ff:ff\n    altname enp0s5\n"
    if obj in ("l", "link"):
        io.out(lo + eth)
        return 0
    if obj in ("a", "addr", "address"):
        lo = lo.replace(" mode DEFAULT", "") + (
            "    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n"
            "    inet6 ::1/128 scope host noprefixroute \n       valid_lft forever preferred_lft forever\n"
        )
        eth = eth.replace(" mode DEFAULT", "") + (
            f"    inet {p.ip_address}/20 metric 100 brd {net.broadcast_address} scope global dynamic ens5\n"
            "       valid_lft 3203sec preferred_lft 3203sec\n"
            f"    inet6 {ll}/64 scope link \n       valid_lft forever preferred_lft forever\n"
        )
        io.out(lo + eth)
        return 0
    io.err(f'Object "{obj}" is unknown, try "ip help".\n')
    return 1


@command("ss")
async def ss(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, _ = split_opts(argv[1:])
    p = sh.persona
    out = ["Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process\n"]
    if "l" in flags or "a" in flags:
        out.append("tcp   LISTEN 0      128          0.0.0.0:22         0.0.0.0:*          \n")
        out.append("tcp   LISTEN 0      128             [::]:22            [::]:*          \n")
    if "l" not in flags:
        port = 40000 + p.seed % 20000
        out.append(f"tcp   ESTAB  0      0      {p.ip_address}:22 {sh.ctx.src_ip}:{port}          \n")
    if "t" in flags:
        out = [o.replace("Netid ", "").replace("tcp   ", "") for o in out]
    io.out("".join(out))
    return 0


@command("systemctl", "service")
async def systemctl(sh: Shell, argv: list[str], io: IO) -> int:
    args = [a for a in argv[1:] if not a.startswith("-")]
    if argv[0].endswith("service"):
        if "--status-all" in argv:
            io.out("".join(f" [ + ]  {u}\n" for u in ("cron", "dbus", "procps", "rsyslog", "ssh", "udev")))
            return 0
        args = args[1:2] + args[:1]
    if not args:
        io.out("  UNIT                      LOAD   ACTIVE SUB     DESCRIPTION\n"
               "  cron.service              loaded active running Regular background program processing daemon\n"
               "  ssh.service               loaded active running OpenBSD Secure Shell server\n"
               "  rsyslog.service           loaded active running System Logging Service\n")  # fmt: skip
        return 0
    verb, units = args[0], [u.removesuffix(".service") for u in args[1:]]
    if argv[0].endswith("service") and units and units[0] not in _UNITS:
        io.err(f"{units[0]}: unrecognized service\n")
        return 1
    if verb in ("status", "is-active"):
        unit = units[0] if units else ""
        if unit not in _UNITS:
            io.err(f"Unit {unit}.service could not be found.\n")
            return 4
        io.out("active\n" if verb == "is-active" else f"● {unit}.service\n     Loaded: loaded\n"
               "     Active: active (running)\n")  # fmt: skip
        return 0
    if verb in ("start", "stop", "restart", "enable", "disable", "reload", "daemon-reload", "mask"):
        if sh.account.uid != 0:
            io.err(f"Failed to {verb} {units[0] if units else ''}.service: Access denied\n"
                   if units else "Failed to reload daemon: Access denied\n")  # fmt: skip
            return 1
        for u in units:
            if u not in _UNITS:
                io.err(f"Failed to {verb} {u}.service: Unit {u}.service not found.\n")
                return 5
        return 0
    return 0


@command("chattr")
async def chattr(sh: Shell, argv: list[str], io: IO) -> int:
    files = [a for a in argv[1:] if a[:1] not in "+-="]
    for f in files:
        if not sh.fs.exists(f, sh.cwd):
            io.err(f"chattr: No such file or directory while trying to stat {f}\n")
            return 1
        if sh.account.uid != 0:
            io.err(f"chattr: Operation not permitted while setting flags on {f}\n")
            return 1
    return 0
