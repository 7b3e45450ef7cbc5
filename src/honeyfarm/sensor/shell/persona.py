# SPDX-License-Identifier: MIT
"""The emulated machine behind the fake shell: one Debian 12 cloud VM described by ``PersonaConfig``.

Every answer that reveals the machine (``/proc`` files, ``uname``, ``ps``, ``free``, ``w``,
``/etc/passwd``...) is generated here from the same few numbers, so that two commands never
contradict each other and two sessions on the same sensor see the same machine. Nothing is
random: values that vary between personas are derived from a hash of the hostname, and only
the clock (uptime, load, process times) moves. A ``busybox`` persona (an ARM router) takes its
accounts, /proc texts, ``ps`` and ``free`` from :mod:`honeyfarm.sensor.shell.persona_busybox` instead.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from honeyfarm.sensor.config import PersonaConfig
from honeyfarm.sensor.model import Account
from honeyfarm.sensor.shell import persona_busybox as bb

_NOLOGIN = "/usr/sbin/nologin"

# name, uid, gid, gecos, home, shell: the system accounts of a Debian 12 cloud image.
_SYSTEM_USERS: tuple[tuple[str, int, int, str, str, str], ...] = (
    ("root", 0, 0, "root", "/root", "/bin/bash"),
    ("daemon", 1, 1, "daemon", "/usr/sbin", _NOLOGIN),
    ("bin", 2, 2, "bin", "/bin", _NOLOGIN),
    ("sys", 3, 3, "sys", "/dev", _NOLOGIN),
    ("sync", 4, 65534, "sync", "/bin", "/bin/sync"),
    ("games", 5, 60, "games", "/usr/games", _NOLOGIN),
    ("man", 6, 12, "man", "/var/cache/man", _NOLOGIN),
    ("lp", 7, 7, "lp", "/var/spool/lpd", _NOLOGIN),
    ("mail", 8, 8, "mail", "/var/mail", _NOLOGIN),
    ("news", 9, 9, "news", "/var/spool/news", _NOLOGIN),
    ("uucp", 10, 10, "uucp", "/var/spool/uucp", _NOLOGIN),
    ("proxy", 13, 13, "proxy", "/bin", _NOLOGIN),
    ("www-data", 33, 33, "www-data", "/var/www", _NOLOGIN),
    ("backup", 34, 34, "backup", "/var/backups", _NOLOGIN),
    ("list", 38, 38, "Mailing List Manager", "/var/list", _NOLOGIN),
    ("irc", 39, 39, "ircd", "/run/ircd", _NOLOGIN),
    ("_apt", 42, 65534, "", "/nonexistent", _NOLOGIN),
    ("nobody", 65534, 65534, "nobody", "/nonexistent", _NOLOGIN),
    ("systemd-network", 998, 998, "systemd Network Management", "/", _NOLOGIN),
    ("messagebus", 100, 107, "", "/nonexistent", _NOLOGIN),
    ("sshd", 101, 65534, "", "/run/sshd", _NOLOGIN),
)

_SYSTEM_GROUPS: tuple[tuple[str, int], ...] = (
    ("root", 0), ("daemon", 1), ("bin", 2), ("sys", 3), ("adm", 4), ("tty", 5), ("disk", 6), ("lp", 7),
    ("mail", 8), ("news", 9), ("uucp", 10), ("man", 12), ("proxy", 13), ("kmem", 15), ("dialout", 20),
    ("fax", 21), ("voice", 22), ("cdrom", 24), ("floppy", 25), ("tape", 26), ("sudo", 27), ("audio", 29),
    ("dip", 30), ("www-data", 33), ("backup", 34), ("operator", 37), ("list", 38), ("irc", 39), ("src", 40),
    ("shadow", 42), ("utmp", 43), ("video", 44), ("sasl", 45), ("plugdev", 46), ("staff", 50), ("games", 60),
    ("users", 100), ("nogroup", 65534), ("systemd-journal", 999), ("systemd-network", 998),
    ("messagebus", 107), ("netdev", 106), ("ssh", 105),
)  # fmt: skip

# Supplementary groups of the image's default user (the first persona user), as cloud-init sets them.
_CLOUD_USER_GROUPS = ("adm", "dialout", "cdrom", "floppy", "sudo", "audio", "dip", "video", "plugdev", "netdev")

CPU_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht "
    "syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid tsc_known_freq pni "
    "pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c "
    "rdrand hypervisor lahf_lm abm 3dnowprefetch invpcid_single pti fsgsbase tsc_adjust bmi1 avx2 smep bmi2 "
    "erms invpcid mpx avx512f avx512dq rdseed adx smap clflushopt clwb avx512cd avx512bw avx512vl xsaveopt "
    "xsavec xgetbv1 xsaves ida arat pku ospke"
)
_CPU_BUGS = (
    "cpu_meltdown spectre_v1 spectre_v2 spec_store_bypass l1tf mds swapgs itlb_multihit mmio_stale_data retbleed gds"
)

OS_RELEASE = """PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"""


@dataclass(frozen=True)
class User:
    """One line of the emulated /etc/passwd."""

    name: str
    uid: int
    gid: int
    gecos: str
    home: str
    shell: str


@dataclass(frozen=True)
class Proc:
    """One row of the emulated process table."""

    user: str
    pid: int
    ppid: int
    vsz: int
    rss: int
    tty: str
    stat: str
    start: float  # epoch seconds
    cpu_seconds: int
    cmd: str


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\0".join(parts).encode()).digest()[:8], "big")


def _hhmm(seconds: float) -> str:
    t = time.gmtime(seconds)
    return f"{t.tm_hour:02d}:{t.tm_min:02d}"


class Persona:
    """The machine: static facts from the config plus a clock. Shared by all sessions of a sensor."""

    def __init__(self, cfg: PersonaConfig, started: float) -> None:
        self.cfg = cfg
        self.busybox = cfg.flavor == "busybox"  # a router: its own /proc, accounts and tools
        self.hostname = cfg.hostname
        self.kernel_release = cfg.kernel_release
        self.kernel_version = cfg.kernel_version
        self.arch = cfg.arch
        self.cpu_count = cfg.cpu_count
        self.mem_kb = cfg.mem_kb
        self.started = started
        self.boot_time = started - cfg.uptime_days * 86400.0
        self.seed = _seed(cfg.hostname)
        users: list[User] = []
        for entry in cfg.users:
            name, _, uid_text = entry.partition(":")
            uid = int(uid_text) if uid_text.isdigit() else 1000 + len(users)
            if name and all(u.name != name for u in users):
                users.append(User(name, uid, uid, "Debian" if not users else name, f"/home/{name}", "/bin/bash"))
        self.users: tuple[User, ...] = tuple(users)
        self.machine_id = hashlib.sha256(f"machine-id:{cfg.hostname}".encode()).hexdigest()[:32]
        octets = (self.seed >> 8) & 0xFF, (self.seed >> 16) & 0xFF, 10 + (self.seed >> 24) % 240
        self.ip_address = f"172.31.{octets[0] % 64 + 16}.{octets[2]}"
        self.mac_address = "0a:" + ":".join(f"{(self.seed >> (8 * i)) & 0xFF:02x}" for i in range(5))

    @classmethod
    def from_config(cls, cfg: PersonaConfig, started: float) -> Persona:
        return cls(cfg, started)

    # --- clock ---------------------------------------------------------------------------------------------------

    def now(self) -> float:
        return time.time()

    def uptime_seconds(self) -> float:
        return max(0.0, self.now() - self.boot_time)

    def loadavg_values(self) -> tuple[float, float, float]:
        phase = self.now() / 900.0 + (self.seed % 1000)
        base = 0.02 + 0.05 * (1 + math.sin(phase)) / 2
        return round(base * 1.4, 2), round(base, 2), round(base * 0.8, 2)

    # --- accounts ------------------------------------------------------------------------------------------------

    def all_users(self, account: Account | None = None) -> list[User]:
        system = [tuple(ln.split(":")) for ln in bb.PASSWD.splitlines()] if self.busybox else _SYSTEM_USERS
        users = [User(n, int(u), int(g), c, h, sh) for n, *_p, u, g, c, h, sh in system] + list(self.users)
        if account is not None and all(u.name != account.name for u in users):
            shell = "/bin/ash" if self.busybox else account.shell
            users.append(User(account.name, account.uid, account.gid, "", account.home, shell))
        return users

    def groups_of(self, account: Account) -> list[tuple[int, str]]:
        """(gid, name) of the account's primary then supplementary groups, as ``id`` prints them."""
        if account.uid == 0:
            return [(0, "root")]
        out = [(account.gid, account.name)]
        if self.users and self.users[0].name == account.name:
            gids = dict(_SYSTEM_GROUPS)
            out.extend((gids[g], g) for g in _CLOUD_USER_GROUPS)
        return out

    def passwd(self, account: Account | None = None) -> str:
        if self.busybox:  # the router's file as shipped, plus a login the sensor let in
            extra = self.all_users(account)[len(bb.PASSWD.splitlines()) :]
            return bb.PASSWD + "".join(f"{u.name}:x:{u.uid}:{u.gid}:{u.gecos}:{u.home}:{u.shell}\n" for u in extra)
        return "".join(f"{u.name}:x:{u.uid}:{u.gid}:{u.gecos}:{u.home}:{u.shell}\n" for u in self.all_users(account))

    def group(self, account: Account | None = None) -> str:
        if self.busybox:
            return bb.GROUP
        lines: list[str] = []
        cloud = self.users[0].name if self.users else ""
        for name, gid in _SYSTEM_GROUPS:
            members = cloud if name in _CLOUD_USER_GROUPS else ""
            lines.append(f"{name}:x:{gid}:{members}\n")
        known = {g for g, _ in _SYSTEM_GROUPS}
        for u in self.all_users(account):
            if u.uid >= 1000 and u.uid != 65534 and u.name not in known:
                lines.append(f"{u.name}:x:{u.gid}:\n")
                known.add(u.name)
        return "".join(lines)

    def shadow(self, account: Account | None = None) -> str:
        if self.busybox:
            return bb.SHADOW
        day = int(self.boot_time // 86400) - 30
        lines = []
        for u in self.all_users(account):
            pw = "*" if (u.uid != 0 and u.uid < 1000) or u.uid == 65534 else "!"
            if u.uid == 0:
                salt = hashlib.sha256(self.hostname.encode()).hexdigest()[:22]
                pw = f"$y$j9T${salt}${hashlib.sha256(b'r' + self.hostname.encode()).hexdigest()[:43]}"
            lines.append(f"{u.name}:{pw}:{day}:0:99999:7:::\n")
        return "".join(lines)

    # --- /proc and /etc ------------------------------------------------------------------------------------------

    def cpuinfo(self) -> str:
        if self.busybox:
            return bb.cpuinfo(self.cpu_count, self.cfg.cpu_model)
        out = []
        mhz = 2499.998 + (self.seed % 7) / 1000
        for n in range(self.cpu_count):
            cores = max(1, self.cpu_count // 2)
            out.append(
                f"processor\t: {n}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n"
                f"model name\t: {self.cfg.cpu_model}\nstepping\t: 7\nmicrocode\t: 0x5003707\n"
                f"cpu MHz\t\t: {mhz:.3f}\ncache size\t: 36608 KB\nphysical id\t: 0\n"
                f"siblings\t: {self.cpu_count}\ncore id\t\t: {n // 2 if self.cpu_count > 1 else 0}\n"
                f"cpu cores\t: {cores}\napicid\t\t: {n}\ninitial apicid\t: {n}\nfpu\t\t: yes\n"
                f"fpu_exception\t: yes\ncpuid level\t: 13\nwp\t\t: yes\nflags\t\t: {CPU_FLAGS}\n"
                f"bugs\t\t: {_CPU_BUGS}\nbogomips\t: {mhz * 2:.2f}\nclflush size\t: 64\n"
                "cache_alignment\t: 64\naddress sizes\t: 46 bits physical, 48 bits virtual\npower management:\n\n"
            )
        return "".join(out)

    def mem_figures(self) -> dict[str, int]:
        total = self.mem_kb
        used = int(total * 0.18) + (self.seed % 9000)
        buffers = int(total * 0.03)
        cached = int(total * 0.38)
        free = max(0, total - used - buffers - cached)
        return {
            "total": total,
            "used": used,
            "free": free,
            "shared": 488 + self.seed % 300,
            "buffers": buffers,
            "cached": cached,
            "available": free + buffers + cached - int(total * 0.02),
        }

    def meminfo(self) -> str:
        m = self.mem_figures()
        rows = [
            ("MemTotal", m["total"]), ("MemFree", m["free"]), ("MemAvailable", m["available"]),
            ("Buffers", m["buffers"]), ("Cached", m["cached"]), ("SwapCached", 0),
            ("Active", int(m["total"] * 0.21)), ("Inactive", int(m["total"] * 0.33)),
            ("Unevictable", 0), ("Mlocked", 0), ("SwapTotal", 0), ("SwapFree", 0), ("Zswap", 0), ("Zswapped", 0),
            ("Dirty", 12), ("Writeback", 0), ("AnonPages", int(m["used"] * 0.6)), ("Mapped", 61240),
            ("Shmem", m["shared"]), ("KReclaimable", int(m["total"] * 0.04)), ("Slab", int(m["total"] * 0.06)),
            ("SReclaimable", int(m["total"] * 0.04)), ("SUnreclaim", int(m["total"] * 0.02)),
            ("KernelStack", 2144), ("PageTables", 2460), ("SecPageTables", 0), ("NFS_Unstable", 0), ("Bounce", 0),
            ("WritebackTmp", 0), ("CommitLimit", m["total"] // 2), ("Committed_AS", int(m["used"] * 1.7)),
            ("VmallocTotal", 34359738367), ("VmallocUsed", 11420), ("VmallocChunk", 0), ("Percpu", 1280),
            ("HardwareCorrupted", 0), ("AnonHugePages", 0), ("ShmemHugePages", 0), ("ShmemPmdMapped", 0),
            ("FileHugePages", 0), ("FilePmdMapped", 0), ("HugePages_Total", 0), ("HugePages_Free", 0),
            ("HugePages_Rsvd", 0), ("HugePages_Surp", 0), ("Hugepagesize", 2048), ("Hugetlb", 0),
            ("DirectMap4k", 94208), ("DirectMap2M", m["total"] - 94208 + 55296),
        ]  # fmt: skip
        out = []
        for key, val in rows:
            unit = "" if key.startswith("HugePages_") else " kB"
            out.append(f"{key + ':':<16}{val:>8}{unit}\n")
        return "".join(out)

    def version(self) -> str:
        if self.busybox:
            return bb.proc_version(self.kernel_release, self.kernel_version)
        return (
            f"Linux version {self.kernel_release} (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) "
            f"12.2.0, GNU ld (GNU Binutils for Debian) 2.40) {self.kernel_version}\n"
        )

    def proc_uptime(self) -> str:
        up = self.uptime_seconds()
        return f"{up:.2f} {up * self.cpu_count * 0.97:.2f}\n"

    def loadavg(self) -> str:
        a, b, c = self.loadavg_values()
        return f"{a:.2f} {b:.2f} {c:.2f} 1/{112 + self.seed % 20} {self.bash_pid + 40}\n"

    def os_release(self) -> str:
        return OS_RELEASE

    def debian_version(self) -> str:
        return "12.8\n"

    def issue(self) -> str:
        return "Debian GNU/Linux 12 \\n \\l\n\n"

    def etc_hostname(self) -> str:
        return self.hostname + "\n"

    def hosts(self) -> str:
        short = self.hostname.split(".")[0]
        return (
            f"127.0.0.1 localhost\n127.0.1.1 {self.hostname} {short}\n\n"
            "# The following lines are desirable for IPv6 capable hosts\n::1 localhost ip6-localhost ip6-loopback\n"
            "ff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n"
        )

    # --- commands ------------------------------------------------------------------------------------------------

    def uname(self, flags: str) -> str:
        """``flags`` is a set of uname letters (``a`` expands to all known ones, as coreutils does)."""
        fields = {
            "s": "Linux",
            "n": self.hostname,
            "r": self.kernel_release,
            "v": self.kernel_version,
            "m": self.arch,
            "p": "unknown",
            "i": "unknown",
            "o": "GNU/Linux",
        }
        if not flags:
            flags = "s"
        if "a" in flags:
            flags = "snrvmo" + "".join(c for c in "pi" if c in flags)
        return " ".join(fields[c] for c in "snrvmpio" if c in flags) + "\n"

    def free(self, unit: str = "k") -> str:
        m = self.mem_figures()
        cols = [m["total"], m["used"], m["free"], m["shared"], m["buffers"] + m["cached"], m["available"]]

        def fmt(kb: int) -> str:
            if unit == "m":
                return str(kb // 1024)
            if unit == "g":
                return str(kb // (1024 * 1024))
            if unit == "h":
                if kb == 0:
                    return "0B"
                for suffix, div in (("Gi", 1024 * 1024), ("Mi", 1024), ("Ki", 1)):
                    if kb >= div:
                        v = kb / div
                        return f"{v:.1f}{suffix}" if v < 10 else f"{round(v)}{suffix}"
            return str(kb)

        if self.busybox:
            div = 1024 if unit in "mh" else 1024 * 1024 if unit == "g" else 1
            return bb.free_table(cols, div)
        head = "               total        used        free      shared  buff/cache   available\n"
        mem = f"{'Mem:':<8}" + "".join(f"{fmt(v):>12}" for v in cols) + "\n"
        swap = f"{'Swap:':<8}" + "".join(f"{fmt(0):>12}" for _ in range(3)) + "\n"
        return head + mem + swap

    @property
    def sshd_pid(self) -> int:
        return 520 + self.seed % 180

    @property
    def bash_pid(self) -> int:
        return 1800 + (self.seed >> 12) % 20000

    def processes(self, account: Account, tty: str, cmd: str, pid: int) -> list[Proc]:
        b = self.boot_time
        login = self.now() - 60
        sp = self.sshd_pid
        rows = [
            Proc("root", 1, 0, 167812, 11780, "?", "Ss", b, 52, "/sbin/init"),
            Proc("root", 2, 0, 0, 0, "?", "S", b, 0, "[kthreadd]"),
            Proc("root", 3, 2, 0, 0, "?", "I<", b, 0, "[rcu_gp]"),
            Proc("root", 4, 2, 0, 0, "?", "I<", b, 0, "[rcu_par_gp]"),
            Proc("root", 9, 2, 0, 0, "?", "I<", b, 0, "[mm_percpu_wq]"),
            Proc("root", 11, 2, 0, 0, "?", "S", b, 3, "[ksoftirqd/0]"),
            Proc("root", 12, 2, 0, 0, "?", "I", b, 41, "[rcu_preempt]"),
            Proc("root", 13, 2, 0, 0, "?", "S", b, 1, "[migration/0]"),
            Proc("root", 20, 2, 0, 0, "?", "S", b, 0, "[kdevtmpfs]"),
            Proc("root", 24, 2, 0, 0, "?", "S", b, 0, "[khungtaskd]"),
            Proc("root", 25, 2, 0, 0, "?", "S", b, 0, "[oom_reaper]"),
            Proc("root", 27, 2, 0, 0, "?", "S", b, 7, "[kcompactd0]"),
            Proc("root", 74, 2, 0, 0, "?", "S", b, 2, "[kswapd0]"),
            Proc("root", 181, 2, 0, 0, "?", "S", b, 4, "[jbd2/nvme0n1p1-8]"),
            Proc("root", 232, 1, 49744, 14812, "?", "Ss", b, 11, "/lib/systemd/systemd-journald"),
            Proc("root", 259, 1, 26240, 6120, "?", "Ss", b, 1, "/lib/systemd/systemd-udevd"),
            Proc("systemd-network", 371, 1, 17844, 8060, "?", "Ss", b, 2, "/lib/systemd/systemd-networkd"),
            Proc("root", 402, 1, 6608, 2676, "?", "Ss", b, 0, "/usr/sbin/cron -f"),
            Proc("messagebus", 403, 1, 9120, 4420, "?", "Ss", b, 1, "/usr/bin/dbus-daemon --system --address=systemd: "
                 "--nofork --nopidfile --systemd-activation --syslog-only"),
            Proc("root", 407, 1, 222220, 5876, "?", "Ssl", b, 5, "/usr/sbin/rsyslogd -n -iNONE"),
            Proc("root", 409, 1, 25392, 7448, "?", "Ss", b, 1, "/lib/systemd/systemd-logind"),
            Proc("root", 452, 1, 5872, 1080, "tty1", "Ss+", b, 0, "/sbin/agetty -o -p -- \\u --noclear - linux"),
            Proc("root", 455, 1, 5916, 1116, "ttyS0", "Ss+", b, 0, "/sbin/agetty -o -p -- \\u --keep-baud "
                 "115200,57600,38400,9600 - vt220"),
            Proc("root", sp, 1, 15436, 9212, "?", "Ss", b, 3,
                 "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"),
        ]  # fmt: skip
        user = account.name
        sess = self.bash_pid
        if account.uid == 0:
            rows.append(Proc("root", sess - 12, sp, 17736, 11000, "?", "Ss", login, 0, "sshd: root@" + tty))
        else:
            rows.append(Proc("root", sess - 14, sp, 17736, 11000, "?", "Ss", login, 0, f"sshd: {user} [priv]"))
            rows.append(Proc(user, sess - 8, 1, 18980, 10320, "?", "Ss", login, 0, "/lib/systemd/systemd --user"))
            rows.append(Proc(user, sess - 2, sess - 14, 17996, 6720, "?", "S", login, 0, f"sshd: {user}@{tty}"))
        rows.append(Proc(user, sess, sess - 2, 8264, 5028, tty, "Ss", login, 0, "-bash"))
        rows.append(Proc(user, pid, sess, 11084, 4480, tty, "R+", self.now(), 0, cmd))
        return rows

    def ps(self, account: Account, tty: str, style: str, cmd: str, pid: int, everyone: bool = True) -> str:
        """``style``: "" (this terminal), "aux" (BSD user format), "x" (BSD ``ps x``: PID TTY STAT TIME
        COMMAND), "e" (``ps -e``) or "ef" (System V full). ``everyone`` false: only the user's processes."""
        if self.busybox:
            return bb.ps_table(account.name, self.bash_pid, pid, cmd)
        procs = self.processes(account, tty, cmd, pid)
        if not everyone:
            procs = [p for p in procs if p.user == account.name]
        if style == "x":
            out = ["    PID TTY      STAT   TIME COMMAND\n"]
            for p in procs:
                t = f"{p.cpu_seconds // 60}:{p.cpu_seconds % 60:02d}"
                out.append(f"{p.pid:>7} {p.tty:<8} {p.stat:<4} {t:>6} {p.cmd}\n")
            return "".join(out)
        if style == "e":
            out = ["    PID TTY          TIME CMD\n"]
            for p in procs:
                name = p.cmd.split()[0].rsplit("/", 1)[-1].lstrip("-").strip("[]") if p.cmd else ""
                if p.cmd.startswith("sshd:"):
                    name = "sshd"
                t = f"00:{p.cpu_seconds // 60:02d}:{p.cpu_seconds % 60:02d}"
                out.append(f"{p.pid:>7} {p.tty:<8} {t} {name}\n")
            return "".join(out)
        if style == "":
            out = ["    PID TTY          TIME CMD\n"]
            for p in procs:
                if p.tty == tty:
                    name = p.cmd.split()[0].rsplit("/", 1)[-1].lstrip("-")
                    out.append(f"{p.pid:>7} {p.tty:<8} 00:00:00 {name}\n")
            return "".join(out)
        today = time.gmtime(self.now())[:3]

        def start(t: float) -> str:
            if time.gmtime(t)[:3] == today:
                return _hhmm(t)
            return time.strftime("%b%d", time.gmtime(t))

        if style == "aux":
            out = ["USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n"]
            for p in procs:
                mem = 100.0 * p.rss / self.mem_kb
                t = f"{p.cpu_seconds // 60}:{p.cpu_seconds % 60:02d}"
                user = p.user if len(p.user) <= 8 else p.user[:7] + "+"
                out.append(
                    f"{user:<8} {p.pid:>7}  0.0 {mem:>4.1f} {p.vsz:>6} {p.rss:>5} {p.tty:<8} {p.stat:<4} "
                    f"{start(p.start):>5} {t:>6} {p.cmd}\n"
                )
            return "".join(out)
        out = ["UID          PID    PPID  C STIME TTY          TIME CMD\n"]
        for p in procs:
            t = f"00:{p.cpu_seconds // 60:02d}:{p.cpu_seconds % 60:02d}"
            user = p.user if len(p.user) <= 8 else p.user[:7] + "+"
            out.append(f"{user:<8} {p.pid:>7} {p.ppid:>7}  0 {start(p.start):<5} {p.tty:<8} {t} {p.cmd}\n")
        return "".join(out)

    def uptime_line(self, nusers: int = 1) -> str:
        now = self.now()
        up = int(self.uptime_seconds())
        days, rest = divmod(up, 86400)
        hours, mins = rest // 3600, rest % 3600 // 60
        parts = f"{days} day{'s' if days != 1 else ''}, " if days else ""
        parts += f"{hours:2d}:{mins:02d}" if hours else f"{mins} min"
        a, b, c = self.loadavg_values()
        t = time.gmtime(now)
        clock = f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
        users = f"{nusers} user{'s' if nusers != 1 else ''}"
        return f" {clock} up {parts},  {users},  load average: {a:.2f}, {b:.2f}, {c:.2f}\n"

    def w(self, account: Account, tty: str, src_ip: str, login: float) -> str:
        head = "USER     TTY      FROM             LOGIN@   IDLE   JCPU   PCPU  WHAT\n"
        row = f"{account.name[:8]:<8} {tty:<8} {src_ip[:16]:<16} {_hhmm(login)}    0.00s  0.02s  0.00s w\n"
        return self.uptime_line() + head + row
