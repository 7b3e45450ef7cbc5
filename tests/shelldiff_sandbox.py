# SPDX-License-Identifier: MIT
"""The "real bash" engine of the shell differential test: attackers' commands in a throw-away sandbox.

The commands come from real attackers' sessions, so they run ONLY here, never on
the host: each command gets

* its own mount namespace (``unshare -m``, private propagation) with a 128 MiB
  tmpfs holding writable overlays over ``/usr``, ``/var``, a filtered copy of
  the host's ``/etc`` (every file that is not world-readable dropped, so no key
  or hash reaches the sandbox; ``shadow``/``gshadow`` regenerated with locked
  passwords; hostname ``svr04``) and a fresh ``/root`` from Debian's
  ``base-files`` dot files; every write lands in that tmpfs and vanishes with
  the namespace;
* bubblewrap on top: ``--unshare-all`` (a network namespace of its own with
  only ``lo``, so downloads fail at once; new pid, ipc, uts and cgroup
  namespaces), ``--die-with-parent``, ``--new-session``, no capabilities, the
  hostname set, ``/tmp``, ``/run`` and ``/home`` as fresh directories on that
  tmpfs, ``/proc`` of its own pid namespace, a minimal ``/dev``;
* the environment sshd gives a root exec session (``bash -c CMD`` in ``/root``,
  ``SSH_CLIENT``/``SSH_CONNECTION`` set, stdin ``/dev/null``);
* rlimits: 64 MiB per file, 20 s of CPU; a wall-clock timeout after which the
  whole process group (and with it the sandbox's pid namespace) is killed, and
  at most ``cap`` bytes kept of each output stream.

When ``unshare -m`` cannot mount (no root), :func:`sandbox_unavailable` says why
and the test skips; without overlays nothing runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

HOSTNAME = "svr04"
BWRAP = "bwrap"
SSH_CLIENT_IP = "203.0.113.7"
ENV = {
    "USER": "root",
    "LOGNAME": "root",
    "HOME": "/root",
    "SHELL": "/bin/bash",
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "MAIL": "/var/mail/root",
    "LANG": "C.UTF-8",
    "PWD": "/root",
    "SSH_CLIENT": f"{SSH_CLIENT_IP} 51234 22",
    "SSH_CONNECTION": f"{SSH_CLIENT_IP} 51234 198.51.100.10 22",
}
# Fixed text, run by /bin/sh inside `unshare -m`: $1 = tmpfs mount point, $2 = template dir, $3 = host name,
# $4 = the command (only ever quoted, passed on as bash's -c argument).
MOUNT_SCRIPT = r"""
set -e
M=$1; T=$2; HN=$3
mount -t tmpfs -o size=128m,mode=0755 shelldiff "$M"
for d in etc root usr var; do mkdir -p "$M/u/$d" "$M/w/$d" "$M/m/$d"; done
mount -t overlay overlay -o "lowerdir=$T/etc,upperdir=$M/u/etc,workdir=$M/w/etc" "$M/m/etc"
mount -t overlay overlay -o "lowerdir=$T/root,upperdir=$M/u/root,workdir=$M/w/root" "$M/m/root"
mount -t overlay overlay -o "lowerdir=/usr,upperdir=$M/u/usr,workdir=$M/w/usr" "$M/m/usr"
mount -t overlay overlay -o "lowerdir=/var,upperdir=$M/u/var,workdir=$M/w/var" "$M/m/var"
mkdir -p "$M/m/tmp" "$M/m/run/sshd" "$M/m/home" "$M/m/opt" "$M/m/srv" "$M/m/mnt" "$M/m/media"
chmod 1777 "$M/m/tmp"
shift 3
exec bwrap --unshare-all --die-with-parent --new-session --hostname "$HN" \
  --bind "$M/m/usr" /usr --symlink usr/bin /bin --symlink usr/sbin /sbin \
  --symlink usr/lib /lib --symlink usr/lib64 /lib64 \
  --bind "$M/m/etc" /etc --bind "$M/m/var" /var --bind "$M/m/root" /root \
  --bind "$M/m/tmp" /tmp --bind "$M/m/run" /run --bind "$M/m/home" /home \
  --bind "$M/m/opt" /opt --bind "$M/m/srv" /srv --bind "$M/m/mnt" /mnt --bind "$M/m/media" /media \
  --proc /proc --dev /dev --ro-bind /sys /sys \
  --chdir /root -- bash -c "$1"
"""


@dataclass
class Answer:
    """What one engine answered to one command."""

    stdout: bytes
    stderr: bytes
    status: int | None  # None: no exit status (channel closed without one)
    timeout: bool = False
    error: str = ""  # the engine could not run the command at all (connection failed, ...)


def sandbox_unavailable() -> str | None:
    """Why the sandbox cannot run here, or None (checked by running ``true`` in it)."""
    if os.geteuid() != 0:
        return "the bash sandbox needs root (overlay mounts in a private mount namespace)"
    for tool in (BWRAP, "unshare", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/install-system-deps.sh installs bubblewrap)"
    with tempfile.TemporaryDirectory(prefix="shelldiff-probe-") as d:
        tmpl = build_template(Path(d) / "tmpl")
        mnt = Path(d) / "m"
        mnt.mkdir()
        r = subprocess.run(_argv(mnt, tmpl, "echo ok"), capture_output=True, timeout=60, env=_host_env())
        if r.stdout != b"ok\n":
            return f"the bubblewrap sandbox does not run here: {(r.stderr or r.stdout).decode(errors='replace')[:300]}"
    return None


def build_template(dest: Path) -> Path:
    """A filtered copy of /etc and a fresh /root under ``dest`` (the overlays' lower layers)."""
    etc = dest / "etc"
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", "/etc", str(etc)], check=True, timeout=120)
    for p in sorted(etc.rglob("*"), reverse=True):
        with contextlib.suppress(OSError):
            st = p.lstat()
            if stat.S_ISREG(st.st_mode) and not st.st_mode & stat.S_IROTH:
                p.unlink()  # shadow, gshadow, private keys, keyrings: never copied into the sandbox
    for key in etc.glob("ssh/ssh_host_*"):
        key.unlink()
    if (etc / "ssh").is_dir() and shutil.which("ssh-keygen"):
        # Throw-away host keys, so `sshd` copied or linked by an attacker starts as on a real server.
        key = etc / "ssh" / "ssh_host_ed25519_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=60)
    users = [line.split(":")[0] for line in (etc / "passwd").read_text().splitlines() if line]
    groups = [line.split(":")[0] for line in (etc / "group").read_text().splitlines() if line]
    (etc / "shadow").write_text("".join(f"{u}:*:19500:0:99999:7:::\n" for u in users))
    (etc / "gshadow").write_text("".join(f"{g}:*::\n" for g in groups))
    for name in ("shadow", "gshadow"):
        (etc / name).chmod(0o640)
    (etc / "hostname").write_text(HOSTNAME + "\n")
    (etc / "hosts").write_text(
        f"127.0.0.1\tlocalhost\n127.0.1.1\t{HOSTNAME}\n\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    )
    (etc / "machine-id").write_text("4f1c0b6e2d3a4b5c8d9e0f1a2b3c4d5e\n")
    root = dest / "root"
    root.mkdir(mode=0o700, exist_ok=True)
    base = Path("/usr/share/base-files")
    for src, name in (("dot.bashrc", ".bashrc"), ("dot.profile", ".profile")):
        if (base / src).exists():
            shutil.copy(base / src, root / name)
    # As on a Debian 12 cloud image: cloud-init leaves root a key that only says to log in as `admin`.
    ssh = root / ".ssh"
    ssh.mkdir(mode=0o700, exist_ok=True)
    (ssh / "authorized_keys").write_text(
        "no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command=\"echo 'Please login as the user "
        '\\"admin\\" rather than the user \\"root\\".\';echo;sleep 10;exit 142" ssh-ed25519 '
        "AAAAC3NzaC1lZDI1NTE5AAAAIHhvbmV5ZmFybS10ZXN0LWtleS1ub3QtYS1yZWFsLW9uZQ admin@laptop\n"
    )
    (ssh / "authorized_keys").chmod(0o600)
    return dest


def _host_env() -> dict[str, str]:
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}


def _argv(mnt: Path, tmpl: Path, command: str) -> list[str]:
    env = [f"{k}={v}" for k, v in ENV.items()]
    # sshd's environment, set outside with `env -i` so nothing of the host's leaks in.
    return [
        "env",
        "-i",
        *env,
        "unshare",
        "-m",
        "--propagation",
        "private",
        "/bin/sh",
        "-c",
        MOUNT_SCRIPT,
        "sh",
        str(mnt),
        str(tmpl),
        HOSTNAME,
        command,
    ]


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))
    resource.setrlimit(resource.RLIMIT_CPU, (20, 20))


async def _read(stream: asyncio.StreamReader | None, cap: int) -> bytes:
    """At most ``cap`` bytes of the stream; the rest is read and dropped so the writer never blocks."""
    if stream is None:
        return b""
    kept = bytearray()
    while chunk := await stream.read(65536):
        if len(kept) < cap:
            kept += chunk[: cap - len(kept)]
    return bytes(kept)


async def run_in_sandbox(command: str, work: Path, tmpl: Path, timeout: float, cap: int) -> Answer:
    """Run ``command`` as root's ``bash -c`` in a fresh sandbox; never on the host."""
    mnt = Path(tempfile.mkdtemp(prefix="m-", dir=work))
    try:
        proc = await asyncio.create_subprocess_exec(
            *_argv(mnt, tmpl, command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_limits,
        )
        reads = asyncio.gather(_read(proc.stdout, cap), _read(proc.stderr, cap), proc.wait())
        try:
            out, err, status = await asyncio.wait_for(reads, timeout)
            return Answer(out, err, status)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 10)
            return Answer(b"", b"", None, timeout=True)
    finally:
        with contextlib.suppress(OSError):
            mnt.rmdir()
