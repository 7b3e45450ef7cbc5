# SPDX-License-Identifier: MIT
"""The file tree of the ``busybox`` persona: the Debian base tree cut down to a flash router's.

Why a cut and not a second tree: ``/proc``, ``/dev``, ``/tmp`` and the accounts' files come from
the same persona either way, so only what a router lacks (the package manager, bash, Python,
cloud-init, merged ``/usr``) goes, and what it has instead comes in: real ``/bin`` and ``/sbin``
directories whose applets are links to one ARM ``/bin/busybox`` (``ls -l /bin/echo`` shows
``echo -> busybox``; bots read ``/bin/echo``'s ELF header to pick their build). A program that is
not there answers ``-sh: apt: not found`` because its file is absent.
"""

from __future__ import annotations

from honeyfarm.sensor.shell import persona_busybox as bb
from honeyfarm.sensor.shell.fs.node import IMAGE_TIME, Node
from honeyfarm.sensor.shell.persona import Persona

# Whole subtrees of the Debian image a router does not have (each prefix's own directory stays).
_DROP_UNDER = (
    "/usr/bin/", "/usr/sbin/", "/usr/lib/", "/usr/share/", "/usr/local/", "/etc/", "/var/lib/", "/var/cache/",
    "/var/log/", "/var/spool/", "/root/", "/home/", "/boot/",
)  # fmt: skip
_DROP_PATHS = (
    "/bin /sbin /lib /lib64 /boot /vmlinuz /initrd.img /usr/games /usr/include /usr/src /usr/local /usr/lib64 "
    "/srv /media /home /var/mail /var/www /var/opt /var/local /var/backups /run/sshd /run/lock /var/lock"
)
_DROP = frozenset(_DROP_PATHS.split())
# The router's /etc: what stays from the base tree, and what it adds.
_ETC_KEEP_NAMES = "passwd group shadow hostname hosts resolv.conf fstab services protocols mtab"
_ETC_KEEP = frozenset(_ETC_KEEP_NAMES.split())
_ETC_ADD = {
    "shells": "/bin/sh\n/bin/ash\n",
    "profile": '[ -f /etc/banner ] && cat /etc/banner\nexport PATH="/usr/sbin:/usr/bin:/sbin:/bin"\n'
    'export HOME=$(grep -e "^${USER:-root}:" /etc/passwd | cut -d ":" -f 6)\nexport PS1=\'\\u@\\h:\\w\\$ \'\n',
    "inittab": "::sysinit:/etc/init.d/rcS S boot\n::shutdown:/etc/init.d/rcS K shutdown\n"
    "::askconsole:/usr/libexec/login.sh\n",
    "init.d/rcS": "#!/bin/sh\n# Copyright (C) 2006 OpenWrt.org\n\nrun_scripts() {\n\tfor i in /etc/rc.d/$1*; do\n"
    '\t\t[ -x $i ] && $i $2 2>&1\n\tdone | $LOGGER\n}\n\nLOGGER="cat"\nrun_scripts "$1" "$2" &\n',
    "crontabs/root": "",
}
_BUSYBOX_SIZE = 0xE8000  # the PT_LOAD size in its header: a static ARM build of BusyBox 1.35


def _dropped(path: str) -> bool:
    if path in _DROP or any(path.startswith(p) for p in _DROP_UNDER):
        return not (path.startswith("/etc/") and path[5:] in _ETC_KEEP)
    return False


def adapt(nodes: dict[str, Node], persona: Persona) -> None:
    """Turn the Debian base tree (``{path: Node}``, before its child lists are made) into the router's."""
    for path in [p for p in nodes if _dropped(p)]:
        del nodes[path]
    when = IMAGE_TIME - 86400 * 30
    for d in ("/bin", "/sbin", "/lib", "/overlay", "/rom", "/etc/init.d", "/etc/crontabs", "/root"):
        nodes[d] = Node("d", 0o700 if d == "/root" else 0o755, mtime=when)
    for name, body in _ETC_ADD.items():
        nodes[f"/etc/{name}"] = Node(
            "f", 0o755 if name.startswith("init.d/") else 0o644, mtime=when, data=body.encode()
        )
    nodes["/etc/crontabs/root"] = Node("f", 0o600, mtime=when)
    head = bb.elf_header("busybox")
    nodes["/bin/busybox"] = Node("f", 0o755, mtime=when, data=head, size=_BUSYBOX_SIZE)
    up = {"/bin": "", "/sbin": "../bin/", "/usr/bin": "../../bin/", "/usr/sbin": "../../bin/"}
    for d, names in bb.APPLET_DIRS.items():
        for name in names:
            nodes[f"{d}/{name}"] = Node("l", 0o777, mtime=when, target=f"{up[d]}busybox")
    cmdline = b"console=ttyMSM0,115200n8 rootfstype=squashfs,jffs2 ubi.mtd=rootfs\n"
    nodes["/proc/cmdline"] = Node("f", 0o444, mtime=persona.boot_time, data=cmdline)
    for path in [p for p in nodes if p.startswith("/proc/") and p.endswith("/mounts")]:
        nodes[path] = Node("f", 0o444, mtime=persona.boot_time, data=bb.proc_mounts)
