# SPDX-License-Identifier: MIT
"""/proc of the persona beyond the basics: /proc/self, /proc/1, mounts and cgroups.

Container and honeypot detection reads ``/proc/1/cgroup`` (``0::/init.scope`` on a systemd VM,
a docker path in a container), ``/proc/self/exe``, ``/proc/self/status`` and the mount table.
Everything is derived from the persona and the account so that ``mount``, ``/proc/mounts``,
``df`` and ``ps`` agree. /proc/self points at the login shell (bash), the process an
attacker's commands run under here.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from honeyfarm.sensor.model import Account
from honeyfarm.sensor.shell.persona import Persona

ProcFile = str | Callable[[], str]
_LIB = "/usr/lib/x86_64-linux-gnu"
#: The emulated program running now (its argv): what /proc/self describes while it reads it.
CURRENT: ContextVar[tuple[str, ...]] = ContextVar("honeyfarm_proc_self", default=("-bash",))


def self_pid(persona: Persona) -> int:
    """The pid /proc/self points at: a child of the login shell."""
    return persona.bash_pid + 3


def _prog() -> str:
    return CURRENT.get()[0].rsplit("/", 1)[-1].lstrip("-")[:15]


def mounts(persona: Persona, uid: int) -> list[tuple[str, str, str, str]]:
    """(device, mount point, type, options) in mount order, as a Debian 12 cloud VM has them."""
    if persona.busybox:  # the router's table, as /proc/mounts and `mount` show it
        from honeyfarm.sensor.shell import persona_busybox

        return list(persona_busybox.MOUNTS)
    mem = persona.mem_kb
    run = mem // 10 // 4 * 4
    return [
        ("sysfs", "/sys", "sysfs", "rw,nosuid,nodev,noexec,relatime"),
        ("proc", "/proc", "proc", "rw,nosuid,nodev,noexec,relatime"),
        ("udev", "/dev", "devtmpfs", f"rw,nosuid,relatime,size={mem // 2 - 1000}k,nr_inodes={mem // 8},mode=755,"
         "inode64"),
        ("devpts", "/dev/pts", "devpts", "rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=000"),
        ("tmpfs", "/run", "tmpfs", f"rw,nosuid,nodev,noexec,relatime,size={run}k,mode=755,inode64"),
        ("/dev/nvme0n1p1", "/", "ext4", "rw,relatime,discard,errors=remount-ro"),
        ("securityfs", "/sys/kernel/security", "securityfs", "rw,nosuid,nodev,noexec,relatime"),
        ("tmpfs", "/dev/shm", "tmpfs", "rw,nosuid,nodev,inode64"),
        ("tmpfs", "/run/lock", "tmpfs", "rw,nosuid,nodev,noexec,relatime,size=5120k,inode64"),
        ("cgroup2", "/sys/fs/cgroup", "cgroup2", "rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot"),
        ("pstore", "/sys/fs/pstore", "pstore", "rw,nosuid,nodev,noexec,relatime"),
        ("efivarfs", "/sys/firmware/efi/efivars", "efivarfs", "rw,nosuid,nodev,noexec,relatime"),
        ("bpf", "/sys/fs/bpf", "bpf", "rw,nosuid,nodev,noexec,relatime,mode=700"),
        ("systemd-1", "/proc/sys/fs/binfmt_misc", "autofs", "rw,relatime,fd=30,pgrp=1,timeout=0,minproto=5,"
         "maxproto=5,direct,pipe_ino=11453"),
        ("hugetlbfs", "/dev/hugepages", "hugetlbfs", "rw,relatime,pagesize=2M"),
        ("mqueue", "/dev/mqueue", "mqueue", "rw,nosuid,nodev,noexec,relatime"),
        ("debugfs", "/sys/kernel/debug", "debugfs", "rw,nosuid,nodev,noexec,relatime"),
        ("tracefs", "/sys/kernel/tracing", "tracefs", "rw,nosuid,nodev,noexec,relatime"),
        ("fusectl", "/sys/fs/fuse/connections", "fusectl", "rw,nosuid,nodev,noexec,relatime"),
        ("configfs", "/sys/kernel/config", "configfs", "rw,nosuid,nodev,noexec,relatime"),
        ("/dev/nvme0n1p15", "/boot/efi", "vfat", "rw,relatime,fmask=0022,dmask=0022,codepage=437,iocharset=ascii,"
         "shortname=mixed,utf8,errors=remount-ro"),
        ("tmpfs", f"/run/user/{uid}", "tmpfs", f"rw,nosuid,nodev,relatime,size={run}k,nr_inodes={run // 4},"
         f"mode=700{'' if uid == 0 else f',uid={uid},gid={uid}'},inode64"),
    ]  # fmt: skip


def mount_table(persona: Persona, uid: int) -> str:
    """``mount`` without arguments."""
    return "".join(f"{d} on {m} type {t} ({o})\n" for d, m, t, o in mounts(persona, uid))


def proc_mounts(persona: Persona, uid: int) -> str:
    """/proc/mounts (and /proc/self/mounts): the same table in fstab form."""
    return "".join(f"{d} {m} {t} {o} 0 0\n" for d, m, t, o in mounts(persona, uid))


def _status(persona: Persona, account: Account, name: str, pid: int, ppid: int, state: str) -> str:
    cap = "000001ffffffffff" if account.uid == 0 else "0000000000000000"
    n = persona.cpu_count
    return (
        f"Name:\t{name}\nUmask:\t0022\nState:\t{state}\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t{ppid}\n"
        f"TracerPid:\t0\nUid:\t{account.uid}\t{account.uid}\t{account.uid}\t{account.uid}\n"
        f"Gid:\t{account.gid}\t{account.gid}\t{account.gid}\t{account.gid}\nFDSize:\t256\nGroups:\t{account.gid} \n"
        f"NStgid:\t{pid}\nNSpid:\t{pid}\nNSpgid:\t{pid}\nNSsid:\t{pid}\nVmPeak:\t    8264 kB\n"
        "VmSize:\t    8264 kB\n"
        "VmLck:\t       0 kB\nVmPin:\t       0 kB\nVmHWM:\t    5028 kB\nVmRSS:\t    5028 kB\nRssAnon:\t    1700 kB\n"
        "RssFile:\t    3328 kB\nRssShmem:\t       0 kB\nVmData:\t    1544 kB\nVmStk:\t     132 kB\n"
        "VmExe:\t     892 kB\n"
        "VmLib:\t    1752 kB\nVmPTE:\t      56 kB\nVmSwap:\t       0 kB\nHugetlbPages:\t       0 kB\nCoreDumping:\t0\n"
        "THP_enabled:\t1\nThreads:\t1\nSigQ:\t0/3805\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n"
        "SigBlk:\t0000000000010000\nSigIgn:\t0000000000380004\nSigCgt:\t000000004b817efb\n"
        f"CapInh:\t0000000000000000\nCapPrm:\t{cap}\nCapEff:\t{cap}\nCapBnd:\t000001ffffffffff\n"
        "CapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n"
        "Speculation_Store_Bypass:\tthread vulnerable\nSpeculationIndirectBranch:\tconditional enabled\n"
        f"Cpus_allowed:\t{(1 << n) - 1:x}\nCpus_allowed_list:\t{'0-' + str(n - 1) if n > 1 else '0'}\n"
        "Mems_allowed:\t00000000,00000001\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t73\n"
        "nonvoluntary_ctxt_switches:\t2\n"
    )


def _maps(exe: str) -> str:
    rows = [
        ("55d4c8a00000-55d4c8a2f000", "r--p", "00000000", "259:1 1310", exe),
        ("55d4c8a2f000-55d4c8b0e000", "r-xp", "0002f000", "259:1 1310", exe),
        ("55d4c8b0e000-55d4c8b48000", "r--p", "0010e000", "259:1 1310", exe),
        ("55d4c8b49000-55d4c8b4d000", "r--p", "00148000", "259:1 1310", exe),
        ("55d4c8b4d000-55d4c8b56000", "rw-p", "0014c000", "259:1 1310", exe),
        ("55d4c9c1e000-55d4c9d7c000", "rw-p", "00000000", "00:00 0", "[heap]"),
        ("7f3b1c428000-7f3b1c44e000", "r--p", "00000000", "259:1 3024", "/usr/lib/x86_64-linux-gnu/libc.so.6"),
        ("7f3b1c44e000-7f3b1c5a3000", "r-xp", "00026000", "259:1 3024", "/usr/lib/x86_64-linux-gnu/libc.so.6"),
        ("7f3b1c5f6000-7f3b1c5fa000", "r--p", "001ce000", "259:1 3024", "/usr/lib/x86_64-linux-gnu/libc.so.6"),
        ("7f3b1c63e000-7f3b1c64d000", "r-xp", "00002000", "259:1 3110", f"{_LIB}/libtinfo.so.6.4"),
        ("7f3b1c67a000-7f3b1c69f000", "r-xp", "00001000", "259:1 2980", f"{_LIB}/ld-linux-x86-64.so.2"),
        ("7ffd3a7e2000-7ffd3a803000", "rw-p", "00000000", "00:00 0", "[stack]"),
        ("7ffd3a8b6000-7ffd3a8ba000", "r--p", "00000000", "00:00 0", "[vvar]"),
        ("7ffd3a8ba000-7ffd3a8bc000", "r-xp", "00000000", "00:00 0", "[vdso]"),
    ]  # fmt: skip
    return "".join(f"{f'{a} {p} {o} {d}':<73}{n}\n" for a, p, o, d, n in rows)


def _environ(persona: Persona, account: Account, src_ip: str) -> str:
    path = (
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        if account.uid == 0
        else "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"
    )
    env = [("LANG", "C.UTF-8"), ("USER", account.name), ("LOGNAME", account.name), ("HOME", account.home),
           ("PATH", path), ("SHELL", "/bin/bash"), ("TERM", "xterm-256color"), ("MAIL", f"/var/mail/{account.name}"),
           ("XDG_SESSION_ID", str(3 + persona.seed % 40)), ("XDG_RUNTIME_DIR", f"/run/user/{account.uid}"),
           ("XDG_SESSION_TYPE", "tty"), ("XDG_SESSION_CLASS", "user")]  # fmt: skip
    return "".join(f"{k}={v}\0" for k, v in env)


def files(persona: Persona, account: Account) -> tuple[dict[str, ProcFile], dict[str, str], dict[str, int]]:
    """(/proc text files, /proc symlinks, file modes other than 0444) for the tree builder."""
    pid = persona.bash_pid
    sshd = pid - 12 if account.uid == 0 else pid - 2
    b = f"/proc/{pid}"
    boot_ticks = int((persona.now() - 60 - persona.boot_time) * 100)
    stat_line = (
        f"{pid} (bash) S {sshd} {pid} {pid} 34816 {pid + 40} 4194304 1590 2930 0 0 2 1 4 2 20 0 1 0 {boot_ticks} "
        "8462336 1257 18446744073709551615 94373060284416 94373061176493 140726583214016 0 0 0 65536 3686404 "
        "1266761467 1 0 0 17 0 0 0 0 0 0 94373061417584 94373061465204 94373084684288 140726583221987 "
        "140726583221993 140726583221993 140726583222254 0\n"
    )
    cgroup = f"0::/user.slice/user-{account.uid}.slice/session-{3 + persona.seed % 40}.scope\n"
    text: dict[str, ProcFile] = {
        f"{b}/status": _status(persona, account, "bash", pid, sshd, "S (sleeping)"),
        f"{b}/cmdline": "-bash\0",
        f"{b}/comm": "bash\n",
        f"{b}/environ": _environ(persona, account, ""),
        f"{b}/maps": _maps("/usr/bin/bash"),
        f"{b}/stat": stat_line,
        f"{b}/cgroup": cgroup,
        f"{b}/mounts": lambda: proc_mounts(persona, account.uid),
        f"{b}/loginuid": str(account.uid),
        "/proc/1/cgroup": "0::/init.scope\n",
        "/proc/1/comm": "systemd\n",
        "/proc/1/cmdline": "/sbin/init\0",
        "/proc/1/sched": "systemd (1, #threads: 1)\n",
        "/proc/1/environ": "HOME=/\0init=/sbin/init\0TERM=linux\0BOOT_IMAGE=/boot/vmlinuz\0",
        "/proc/1/mounts": lambda: proc_mounts(persona, account.uid),
        "/proc/mounts": lambda: proc_mounts(persona, account.uid),
        "/proc/filesystems": "nodev\tsysfs\nnodev\ttmpfs\nnodev\tbdev\nnodev\tproc\nnodev\tcgroup\nnodev\tcgroup2\n"
        "nodev\tdevtmpfs\nnodev\tdebugfs\nnodev\tsecurityfs\nnodev\tsockfs\nnodev\tbpf\nnodev\tpipefs\nnodev\tdevpts\n"
        "\text3\n\text2\n\text4\n\tvfat\nnodev\tmqueue\nnodev\tautofs\nnodev\tfuse\n",
        "/proc/sys/kernel/hostname": persona.hostname + "\n",
        "/proc/sys/kernel/pid_max": "4194304\n",
        "/proc/sys/kernel/ostype": "Linux\n",
        "/proc/sys/kernel/osrelease": persona.kernel_release + "\n",
    }
    me = self_pid(persona)
    s = f"/proc/{me}"
    text.update({
        f"{s}/status": lambda: _status(persona, account, _prog(), me, pid, "R (running)"),
        f"{s}/comm": lambda: _prog() + "\n",
        f"{s}/cmdline": lambda: "".join(a + "\0" for a in CURRENT.get()),
        f"{s}/stat": lambda: stat_line.replace(f"{pid} (bash) S {sshd}", f"{me} ({_prog()}) R {pid}", 1),
        f"{s}/environ": _environ(persona, account, ""),
        f"{s}/maps": lambda: _maps(f"/usr/bin/{_prog()}"),
        f"{s}/cgroup": cgroup,
        f"{s}/mounts": lambda: proc_mounts(persona, account.uid),
        f"{s}/loginuid": str(account.uid),
    })  # fmt: skip
    links = {"/proc/self": str(me), f"{s}/exe": "/usr/bin/bash", f"{s}/cwd": account.home, f"{s}/root": "/",
             "/proc/thread-self": f"{me}/task/{me}", f"{b}/exe": "/usr/bin/bash",
             f"{b}/cwd": account.home, f"{b}/root": "/", "/proc/1/exe": "/usr/lib/systemd/systemd",
             "/proc/1/cwd": "/", "/proc/1/root": "/"}  # fmt: skip
    for fd, target in (("0", "pipe:[31337]"), ("1", "pipe:[31338]"), ("2", "pipe:[31339]"), ("3", f"/proc/{me}/fd")):
        links[f"{s}/fd/{fd}"] = target
    for fd, target in (("0", "/dev/pts/0"), ("1", "/dev/pts/0"), ("2", "/dev/pts/0"), ("255", "/dev/pts/0")):
        links[f"{b}/fd/{fd}"] = target
    modes = {f"{b}/environ": 0o400, f"{s}/environ": 0o400, "/proc/1/environ": 0o400}
    return text, links, modes
