# SPDX-License-Identifier: MIT
"""The read-only base tree of the fake filesystem: what a fresh Debian 12 cloud VM holds.

Kept apart from :mod:`honeyfarm.sensor.shell.fs.vfs` (the overlay logic) because it is mostly data.
Everything is generated in memory from the persona and the logged-in account; ``/proc`` files
are callables so they show the current uptime and load each time they are read. A ``busybox``
persona's tree is this one cut down to a router's by :mod:`honeyfarm.sensor.shell.fs.busybox`.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from honeyfarm.sensor.model import Account
from honeyfarm.sensor.shell.fs import busybox as vfs_busybox
from honeyfarm.sensor.shell.fs import procfs
from honeyfarm.sensor.shell.fs.node import IMAGE_TIME, Node
from honeyfarm.sensor.shell.persona import Persona

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.fs.vfs import SessionFS


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Programs in /usr/bin: every command the shell emulates plus common ones that answer generically.
USR_BIN = _words(
    "apt apt-cache apt-get base64 bash cat chattr chgrp chmod chown cp crontab curl cut dash date dd df "
    "dmesg du echo env false find free ftpget grep gunzip gzip head hostname id ip journalctl kill last ln ls "
    "lsattr lscpu md5sum mkdir mktemp mv nohup nproc passwd perl pgrep pkill printf ps pwd python3 python3.11 "
    "readlink rm rmdir sed sha256sum sleep sort ss ssh stat su sudo sync systemctl tail tar tee tftp timeout touch "
    "tr true uname uniq uptime w wc wget which whoami xargs yes clear groups users who logname sha1sum setsid nice "
    "stdbuf printenv egrep fgrep dir rbash reset dpkg mawk seq expr tty getconf mount umount top basename dirname "
    "realpath lscpu nl rev od tac env dpkg-query getent nproc sha512sum base32 paste fold comm cmp diff xargs "
    "lsblk lsb_release pgrep killall hostnamectl journalctl arch perl5.36.0 ping"
)
# More of a Debian 12 cloud image's /etc (empty directories and small files): `ls /etc` is a common probe.
ETC_DIRS = _words(
    "X11 apparmor.d bash_completion.d binfmt.d ca-certificates cloud cron.hourly cron.monthly cron.weekly dbus-1 dhcp "
    "dpkg environment.d grub.d iproute2 kernel ld.so.conf.d logrotate.d modprobe.d modules-load.d netplan opt "
    "pam.d perl python3 python3.11 rc0.d rc1.d rc2.d rc3.d rc4.d rc5.d rc6.d rcS.d rsyslog.d runit selinux "
    "ssh/sshd_config.d ssl ssl/certs ssl/private sysctl.d systemd/network systemd/system tmpfiles.d udev "
    "update-motd.d vim xdg"
)
ETC_FILES = _words(
    "adduser.conf bash.bashrc bindresvport.blacklist ca-certificates.conf debconf.conf deluser.conf e2scrub.conf "
    "environment ethertypes gai.conf host.conf hosts.allow hosts.deny inputrc ld.so.cache ld.so.conf locale.alias "
    "locale.gen login.defs logrotate.conf magic magic.mime manpath.config mime.types mke2fs.conf netconfig networks "
    "nsswitch.conf pam.conf protocols rsyslog.conf services subgid subuid sysctl.conf ucf.conf wgetrc xattr.conf "
    "group- gshadow- passwd- shadow-"
)
USR_SBIN = _words(
    "adduser agetty chpasswd cron groupadd halt modprobe poweroff reboot rsyslogd service shutdown sshd sysctl "
    "useradd userdel usermod visudo deluser groupdel pidof"
)
SYMLINKS = {
    "/bin": "usr/bin",
    "/sbin": "usr/sbin",
    "/lib": "usr/lib",
    "/lib64": "usr/lib64",
    "/usr/bin/sh": "dash",
    "/usr/bin/python3": "python3.11",
    "/usr/bin/awk": "/etc/alternatives/awk",
    "/etc/alternatives/awk": "/usr/bin/mawk",
    "/usr/bin/nawk": "/etc/alternatives/nawk",
    "/etc/alternatives/nawk": "/usr/bin/mawk",
    "/var/run": "/run",
    "/var/lock": "/run/lock",
    "/usr/sbin/reboot": "/bin/systemctl",
    "/usr/sbin/halt": "/bin/systemctl",
    "/usr/sbin/poweroff": "/bin/systemctl",
    "/usr/sbin/shutdown": "/bin/systemctl",
    "/etc/os-release": "../usr/lib/os-release",
    "/etc/mtab": "../proc/self/mounts",
    "/etc/localtime": "/usr/share/zoneinfo/Etc/UTC",
    "/vmlinuz": "boot/vmlinuz",
    "/initrd.img": "boot/initrd.img",
}
DIRS = _words(
    "/boot /dev /dev/pts /etc /etc/alternatives /etc/apt /etc/apt/sources.list.d /etc/cron.d /etc/cron.daily "
    "/etc/default /etc/init.d "
    "/etc/network /etc/profile.d /etc/security /etc/skel /etc/ssh /etc/systemd /etc/systemd/system /home /media "
    "/mnt /opt /proc /run /run/lock /run/sshd /srv /sys /usr /usr/bin /usr/games /usr/include /usr/lib /usr/lib64 "
    "/usr/local "
    "/usr/local/bin /usr/local/sbin /usr/sbin /usr/share /usr/share/zoneinfo /usr/share/zoneinfo/Etc /usr/src /var "
    "/var/backups /var/cache /var/cache/apt /var/lib /var/lib/apt /var/lib/dpkg /var/local /var/log /var/log/apt "
    "/var/log/journal /var/mail /var/opt /var/spool /var/spool/cron /var/www"
)

ROOT_BASHRC = """# ~/.bashrc: executed by bash(1) for non-login shells.

# Note: PS1 is set in /etc/profile, and the default umask is defined
# in /etc/login.defs. You should not need this unless you want different
# defaults for root.
# PS1='${debian_chroot:+($debian_chroot)}\\h:\\w\\$ '
# umask 022

# You may uncomment the following lines if you want `ls' to be colorized:
# export LS_OPTIONS='--color=auto'
# eval "$(dircolors)"
# alias ls='ls $LS_OPTIONS'
# alias ll='ls $LS_OPTIONS -l'
# alias l='ls $LS_OPTIONS -lA'
#
# Some more alias to avoid making mistakes:
# alias rm='rm -i'
# alias cp='cp -i'
# alias mv='mv -i'
"""
PROFILE = """# ~/.profile: executed by the command interpreter for login shells.

# if running bash
if [ -n "$BASH_VERSION" ]; then
    # include .bashrc if it exists
    if [ -f "$HOME/.bashrc" ]; then
\t. "$HOME/.bashrc"
    fi
fi

# set PATH so it includes user's private bin if it exists
if [ -d "$HOME/bin" ] ; then
    PATH="$HOME/bin:$PATH"
fi
"""
USER_BASHRC = """# ~/.bashrc: executed by bash(1) for non-login shells.
# see /usr/share/doc/bash/examples/startup-files (in the package bash-doc)
# for examples

# If not running interactively, don't do anything
case $- in
    *i*) ;;
      *) return;;
esac

# don't put duplicate lines or lines starting with space in the history.
HISTCONTROL=ignoreboth

# append to the history file, don't overwrite it
shopt -s histappend

HISTSIZE=1000
HISTFILESIZE=2000

# check the window size after each command
shopt -s checkwinsize

# enable color support of ls and also add handy aliases
if [ -x /usr/bin/dircolors ]; then
    alias ls='ls --color=auto'
    alias grep='grep --color=auto'
fi
"""
BASH_LOGOUT = """# ~/.bash_logout: executed by bash(1) when login shell exits.

# when leaving the console clear the screen to increase privacy

if [ "$SHLVL" = 1 ]; then
    [ -x /usr/bin/clear_console ] && /usr/bin/clear_console -q
fi
"""
ETC_PROFILE = """if [ "$(id -u)" -eq 0 ]; then
  PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
else
  PATH="/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"
fi
export PATH
"""
ROOT_PROFILE = """# ~/.profile: executed by Bourne-compatible login shells.

if [ "$BASH" ]; then
  if [ -f ~/.bashrc ]; then
    . ~/.bashrc
  fi
fi

mesg n 2> /dev/null || true
"""
MOTD = """
The programs included with the Debian GNU/Linux system are free software;
the exact distribution terms for each program are described in the
individual files in /usr/share/doc/*/copyright.

Debian GNU/Linux comes with ABSOLUTELY NO WARRANTY, to the extent
permitted by applicable law.
"""
SOURCES = """Types: deb deb-src
URIs: mirror+file:///etc/apt/mirrors/debian.list
Suites: bookworm bookworm-updates bookworm-backports
Components: main

Types: deb deb-src
URIs: mirror+file:///etc/apt/mirrors/debian-security.list
Suites: bookworm-security
Components: main
"""
SSHD_CONFIG = """
# This is the sshd server system-wide configuration file.  See
# sshd_config(5) for more information.

Include /etc/ssh/sshd_config.d/*.conf

#Port 22
#AddressFamily any
#ListenAddress 0.0.0.0
#PermitRootLogin prohibit-password
#PubkeyAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
X11Forwarding yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem\tsftp\t/usr/lib/openssh/sftp-server
ClientAliveInterval 120
"""
CRONTAB = """# /etc/crontab: system-wide crontab
SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin

# Example of job definition:
# .---------------- minute (0 - 59)
# |  .------------- hour (0 - 23)
# |  |  .---------- day of month (1 - 31)
# |  |  |  .------- month (1 - 12) OR jan,feb,mar,apr ...
# |  |  |  |  .---- day of week (0 - 6) (Sunday=0 or 7) OR sun,mon,tue,wed,thu,fri,sat
# |  |  |  |  |
# *  *  *  *  * user-name command to be executed
17 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly
25 6\t* * *\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }
"""
FSTAB = "# /etc/fstab: static file system information\nPARTUUID=5ce1c3d2-01 / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1\nPARTUUID=5ce1c3d2-0f /boot/efi vfat defaults 0 2\n"  # noqa: E501
SHELLS = "# /etc/shells: valid login shells\n/bin/sh\n/usr/bin/sh\n/bin/bash\n/usr/bin/bash\n/bin/rbash\n/usr/bin/rbash\n/bin/dash\n/usr/bin/dash\n"  # noqa: E501
SUDOERS = 'Defaults\tenv_reset\nDefaults\tmail_badpass\nDefaults\tsecure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\nDefaults\tuse_pty\n\nroot\tALL=(ALL:ALL) ALL\n%sudo\tALL=(ALL:ALL) ALL\n\n@includedir /etc/sudoers.d\n'  # noqa: E501


def _h(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")


def fake_binary(name: str) -> tuple[bytes, int]:
    """Head bytes and size of an emulated ELF executable (deterministic per name): a real x86-64 ELF
    header and PT_PHDR entry, so ``dd bs=52 count=1 if=/bin/echo`` and ``file`` see a PIE binary."""
    h = hashlib.sha256(name.encode()).digest()
    size = 14_000 + int.from_bytes(h[:4], "big") % 180_000
    entry = 0x2000 + int.from_bytes(h[4:6], "little") % 0x8000
    shoff = size - 30 * 64
    head = (
        b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8
        + struct.pack("<HHIQQQIHHHHHH", 3, 0x3E, 1, entry, 64, shoff, 0, 64, 56, 13, 64, 30, 29)
        + struct.pack("<IIQQQQQQ", 6, 4, 64, 64, 64, 0x2D8, 0x2D8, 8)
    )  # fmt: skip
    return head, size


def binary_body(head: bytes, size: int) -> bytes:
    """The whole content of an emulated binary, deterministic: its head, the interpreter path where
    a PIE puts it, then zero-padded sections of filler, as a real binary's mostly-empty pages look."""
    if len(head) >= size:
        return head
    interp = b"/lib64/ld-linux-x86-64.so.2\0" if head[4:5] == b"\x02" else b""  # a 32-bit build is static
    body = bytearray(head.ljust(0x318, b"\0") + interp)
    noise = hashlib.shake_256(head).digest(size)
    pos = len(body)
    while len(body) < size:
        run = 256 + noise[pos % len(noise)] * 8
        body += b"\0" * min(run // 2, size - len(body)) + noise[pos : pos + run]
        pos += run
    return bytes(body[:size])


def full_content(fs: SessionFS, path: str, cwd: str) -> bytes:
    """What reading ``path`` gives: an image binary whole (``cat /bin/echo | wc -c`` equals its size)."""
    data = fs.read(path, cwd)
    if data.startswith(b"\x7fELF"):
        real, node = fs.lookup(path, cwd)
        if fs.is_base(real) and node.size is not None and len(data) < node.size <= 1 << 20:
            return binary_body(data, node.size)
    return data


def _parents(path: str) -> list[str]:
    parts = path.split("/")[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def device_read(path: str) -> bytes:
    """What reading a character device gives (bounded: the shell caps its output anyway)."""
    if path == "/dev/zero":
        return b"\0" * 65536
    if path in ("/dev/urandom", "/dev/random"):
        return os.urandom(65536)
    return b""


def build(persona: Persona, account: Account) -> tuple[dict[str, Node], dict[str, list[str]]]:
    """The base tree as ``{path: Node}`` and ``{dir: [child names]}``."""
    nodes: dict[str, Node] = {}
    boot = persona.boot_time
    install = min(boot, IMAGE_TIME + 3 * 86400) - 86400

    def text(path: str, body: str | Callable[[], str], mode: int = 0o644, uid: int = 0, gid: int = 0) -> None:
        data = body if callable(body) else body.encode()
        nodes[path] = Node("f", mode, uid, gid, install, data)

    nodes["/"] = Node("d", 0o755, mtime=install)
    for d in DIRS:
        nodes[d] = Node("d", 0o755, mtime=IMAGE_TIME + _h(d) % 86400)
    for d in ETC_DIRS:
        nodes[f"/etc/{d}"] = Node("d", 0o755, mtime=IMAGE_TIME + _h(d) % 86400)
    for name in ETC_FILES:
        body = f"# /etc/{name}\n".encode()
        nodes[f"/etc/{name}"] = Node("f", 0o600 if name in ("shadow-", "gshadow-") else 0o644, mtime=install, data=body)
    for d in ("/tmp", "/var/tmp", "/dev/shm"):
        nodes[d] = Node("d", 0o1777, mtime=persona.now() - 3600 if d == "/tmp" else boot)
    nodes["/root"] = Node("d", 0o700, mtime=install)
    nodes["/root/.ssh"] = Node("d", 0o700, mtime=install)
    nodes["/etc/sudoers.d"] = Node("d", 0o750, mtime=install)
    nodes["/var/spool/cron/crontabs"] = Node("d", 0o1730, 0, 102, install)
    for name in ("null", "zero", "random", "urandom", "tty", "full"):
        nodes[f"/dev/{name}"] = Node("c", 0o666, mtime=boot)
    for path, target in SYMLINKS.items():
        nodes[path] = Node("l", 0o777, mtime=IMAGE_TIME, target=target)
    for directory, names in (("/usr/bin", USR_BIN), ("/usr/sbin", USR_SBIN)):
        for name in names:
            path = f"{directory}/{name}"
            if path in nodes:
                continue
            head, size = fake_binary(name)
            mode = 0o4755 if name in ("su", "sudo", "passwd") else 0o755
            nodes[path] = Node("f", mode, mtime=IMAGE_TIME - _h(name) % 40_000_000, data=head, size=size)
    nodes["/usr/share/zoneinfo/Etc/UTC"] = Node("f", 0o644, mtime=IMAGE_TIME, data=b"TZif2\0\0\0", size=114)
    nodes["/boot/vmlinuz"] = Node("f", 0o644, mtime=IMAGE_TIME, data=b"MZ", size=7_943_008)
    nodes["/boot/initrd.img"] = Node("f", 0o644, mtime=IMAGE_TIME, data=b"\x1f\x8b", size=24_133_214)

    text("/usr/lib/os-release", persona.os_release())
    text("/etc/passwd", persona.passwd(account))
    text("/etc/group", persona.group(account))
    text("/etc/shadow", persona.shadow(account), 0o640, 0, 42)
    text("/etc/gshadow", persona.group(account).replace(":x:", ":!:"), 0o640, 0, 42)
    text("/etc/hostname", persona.etc_hostname())
    text("/etc/hosts", persona.hosts())
    text("/etc/debian_version", persona.debian_version())
    text("/etc/issue", persona.issue())
    text("/etc/issue.net", "Debian GNU/Linux 12\n")
    text("/etc/motd", MOTD)
    text("/etc/machine-id", persona.machine_id + "\n", 0o444)
    text("/etc/timezone", "Etc/UTC\n")
    text("/etc/resolv.conf", "nameserver 172.31.0.2\nsearch ec2.internal\n")
    text("/etc/fstab", FSTAB)
    text("/etc/shells", SHELLS)
    text("/etc/crontab", CRONTAB)
    text("/etc/sudoers", SUDOERS, 0o440)
    text("/etc/ssh/sshd_config", SSHD_CONFIG)
    text("/etc/apt/sources.list.d/debian.sources", SOURCES)
    text("/etc/skel/.bashrc", USER_BASHRC)
    text("/etc/skel/.profile", PROFILE)
    text("/etc/skel/.bash_logout", BASH_LOGOUT)
    text("/etc/profile", ETC_PROFILE)
    text("/root/.bashrc", ROOT_BASHRC)
    text("/root/.profile", ROOT_PROFILE)
    text("/root/.ssh/authorized_keys", "", 0o600)
    for p, proc_body in (
        ("/proc/cpuinfo", persona.cpuinfo),
        ("/proc/meminfo", persona.meminfo),
        ("/proc/version", persona.version),
        ("/proc/uptime", persona.proc_uptime),
        ("/proc/loadavg", persona.loadavg),
        ("/proc/cmdline", lambda: f"BOOT_IMAGE=/boot/vmlinuz-{persona.kernel_release} root=PARTUUID=5ce1c3d2-01 ro "
         "console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0\n"),
    ):  # fmt: skip
        nodes[p] = Node("f", 0o444, mtime=boot, data=proc_body)
    proc_text, proc_links, proc_modes = procfs.files(persona, account)
    for p, proc_text_body in proc_text.items():
        for d in _parents(p):
            nodes.setdefault(d, Node("d", 0o555, mtime=boot))
        data = proc_text_body if callable(proc_text_body) else proc_text_body.encode()
        nodes[p] = Node("f", proc_modes.get(p, 0o444), mtime=boot, data=data)
    for p, target in proc_links.items():
        for d in _parents(p):
            nodes.setdefault(d, Node("d", 0o500 if d.endswith("/fd") else 0o555, mtime=boot))
        nodes[p] = Node("l", 0o777, mtime=boot, target=target)

    logtime = persona.now() - 120
    for name, mode, gid in (("syslog", 0o640, 4), ("auth.log", 0o640, 4), ("kern.log", 0o640, 4),
                            ("dpkg.log", 0o644, 0), ("lastlog", 0o664, 43), ("wtmp", 0o664, 43),
                            ("btmp", 0o660, 43), ("apt/history.log", 0o644, 0)):  # fmt: skip
        nodes[f"/var/log/{name}"] = Node("f", mode, 0, gid, logtime, b"", size=1000 + _h(name) % 90_000)

    homes = [(u.name, u.uid, u.gid, u.home) for u in persona.users]
    if account.uid != 0 and all(h[0] != account.name for h in homes):
        homes.append((account.name, account.uid, account.gid, account.home))
    for _name, uid, gid, home in homes:
        if not home.startswith("/home/") or home.count("/") != 2:
            continue
        nodes[home] = Node("d", 0o700, uid, gid, install)
        nodes[f"{home}/.ssh"] = Node("d", 0o700, uid, gid, install)
        for dot, dot_text in ((".bashrc", USER_BASHRC), (".profile", PROFILE), (".bash_logout", BASH_LOGOUT)):
            nodes[f"{home}/{dot}"] = Node("f", 0o644, uid, gid, install, dot_text.encode())
        nodes[f"{home}/.ssh/authorized_keys"] = Node("f", 0o600, uid, gid, install, b"")

    if persona.busybox:  # a router: its own /bin, /etc and /proc/mounts
        vfs_busybox.adapt(nodes, persona)
    children: dict[str, list[str]] = {}
    for path in nodes:
        if path != "/":
            parent, _, name = path.rpartition("/")
            children.setdefault(parent or "/", []).append(name)
    return nodes, children
