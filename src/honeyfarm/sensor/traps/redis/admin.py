# SPDX-License-Identifier: MIT
"""The server-management commands attackers use: INFO, CONFIG, AUTH, CLIENT, COMMAND, SAVE.

Answers and error texts are the real 7.0.15's (measured by ``tests/test_trap_redis.py``). CONFIG
SET changes only the source address's own server state (its box, :mod:`.state`); a directory is
judged against a fixed list of the directories a Debian host has, never against the sensor's own
filesystem.
"""

from __future__ import annotations

import gzip
import posixpath
import re
import time
from functools import cache
from typing import TYPE_CHECKING

from honeyfarm.sensor.traps.redis import info, resp
from honeyfarm.sensor.traps.redis.commands import SYNTAX, TABLE, command, err, glob, to_int
from honeyfarm.sensor.traps.redis.state import data_file

if TYPE_CHECKING:
    from honeyfarm.sensor.traps.redis.server import RedisSession

WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
_PROTECTED = frozenset({"dir", "dbfilename"})
_IMMUTABLE = frozenset(
    [
        "daemonize",
        "supervised",
        "databases",
        "io-threads",
        "io-threads-do-reads",
        "unixsocket",
        "unixsocketperm",
        "logfile",
        "syslog-enabled",
        "syslog-ident",
        "syslog-facility",
        "cluster-enabled",
        "cluster-config-file",
        "cluster-port",
        "aclfile",
        "appendfilename",
        "appenddirname",
        "always-show-logo",
        "disable-thp",
        "enable-protected-configs",
        "enable-debug-command",
        "enable-module-command",
        "pidfile",
        "set-proc-title",
    ]
)
# Directories a Debian 12 host running redis, cron and sshd has (CONFIG SET dir succeeds for them).
DIRS = frozenset(
    [
        "/",
        "/tmp",
        "/var/tmp",
        "/dev/shm",
        "/root",
        "/root/.ssh",
        "/home",
        "/etc",
        "/etc/cron.d",
        "/etc/cron.hourly",
        "/etc/cron.daily",
        "/etc/cron.weekly",
        "/etc/cron.monthly",
        "/etc/redis",
        "/etc/ssh",
        "/etc/init.d",
        "/etc/profile.d",
        "/etc/systemd/system",
        "/var",
        "/var/lib",
        "/var/lib/redis",
        "/var/log",
        "/var/log/redis",
        "/var/run",
        "/run",
        "/run/redis",
        "/var/run/redis",
        "/var/spool",
        "/var/spool/cron",
        "/var/spool/cron/crontabs",
        "/var/www",
        "/var/www/html",
        "/usr",
        "/usr/bin",
        "/usr/local",
        "/usr/local/bin",
        "/usr/lib",
        "/lib",
        "/bin",
        "/sbin",
        "/usr/sbin",
        "/opt",
        "/srv",
        "/mnt",
        "/boot",
        "/var/backups",
        "/var/mail",
        "/var/cache",
    ]
)
_NAME_OK = re.compile(rb"[!-~]*")


def _view(s: RedisSession) -> dict[str, str]:
    return s.c.box.config


@command("info")
def _info(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.bulk(info.render(s.c, [a.decode("latin-1").lower() for a in args[1:]]))


@command("config|get")
def _config_get(s: RedisSession, args: list[bytes]) -> bytes:
    out: list[bytes] = []
    seen: set[str] = set()
    view = _view(s)
    for raw in args[2:66]:
        pat = raw.decode("latin-1").lower()[:256]
        if not any(ch in pat for ch in "*?[\\"):  # a plain name: looked up, answered as it was asked
            if pat in view and pat not in seen:
                seen.add(pat)
                out += [resp.bulk(raw), resp.bulk(view[pat])]
            continue
        match = glob(pat)
        for k, v in view.items():
            if k not in seen and match(k):
                seen.add(k)
                out += [resp.bulk(k), resp.bulk(v)]
    return resp.array(out)


def _set_error(name: str, why: str) -> bytes:
    return err(f"ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")


@command("config|set")
def _config_set(s: RedisSession, args: list[bytes]) -> bytes:
    if len(args) % 2:
        return err(SYNTAX)
    view = _view(s)
    pairs = [(k.decode("latin-1").lower(), v) for k, v in zip(args[2::2], args[3::2], strict=True)]
    changes: dict[str, str] = {}
    for name, raw in pairs:
        value = raw.decode("utf-8", "surrogateescape")
        if name not in view:
            return err(f"ERR Unknown option or number of arguments for CONFIG SET - '{name}'")
        if name in _IMMUTABLE:
            return _set_error(name, "can't set immutable config")
        if name in _PROTECTED and not s.trap.cfg.protected_configs:
            return _set_error(name, "can't set protected config")
        if name == "dir":
            path = posixpath.normpath(posixpath.join(view["dir"], value)) if value else ""
            if path.startswith("//"):
                path = "/" + path.lstrip("/")
            if path not in DIRS:
                return _set_error(name, "No such file or directory")
            value = path
        elif name == "dbfilename" and "/" in value:
            return _set_error(name, "dbfilename can't be a path, just a filename")
        elif name in _MEMORY and not _memory(value):
            return _set_error(name, "argument must be a memory value")
        elif view[name] in ("yes", "no"):
            value = value.lower()
            if value not in ("yes", "no"):
                return _set_error(name, "argument must be 'yes' or 'no'")
        elif re.fullmatch(r"-?\d+", view[name]) and name not in _MEMORY:
            if not re.fullmatch(r"-?\d{1,18}", value):
                return _set_error(name, "argument couldn't be parsed into an integer")
            if int(value) < 0 and not view[name].startswith("-"):
                return _set_error(name, "argument must be between 0 and 2147483647 inclusive")
        changes[name] = value
        twin = _twin(name)
        if twin in view:
            changes[twin] = value
    view.update(changes)
    return resp.OK


_MEMORY = frozenset({"maxmemory", "proto-max-bulk-len", "client-query-buffer-limit", "maxmemory-clients"})


def _twin(name: str) -> str:
    """The other name of a renamed parameter (slave-read-only is replica-read-only)."""
    if "slave" in name:
        return name.replace("slave", "replica")
    return name.replace("replica", "slave")


def _memory(value: str) -> bool:
    return re.fullmatch(r"-?\d+(b|k|kb|m|mb|g|gb)?", value.lower()) is not None


@command("config|resetstat")
def _config_resetstat(s: RedisSession, args: list[bytes]) -> bytes:
    s.c.calls.clear()
    s.c.errors.clear()
    return resp.OK


@command("config|rewrite")
def _config_rewrite(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.OK


def _help(lines: list[str]) -> bytes:
    return resp.array(resp.simple(x) for x in lines)


@command("config|help")
def _config_help(s: RedisSession, args: list[bytes]) -> bytes:
    return _help(
        [
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Prints this help.",
        ]
    )


@command("auth")
def _auth(s: RedisSession, args: list[bytes]) -> bytes:
    if len(args) > 3:
        return err(SYNTAX)
    user, password = (args[1], args[2]) if len(args) == 3 else (b"default", args[1])
    need = _view(s).get("requirepass", "")
    ok = user == b"default" and (not need or password.decode("utf-8", "surrogateescape") == need)
    s.on_auth(user, password, ok)
    if ok and not need and len(args) == 2:
        return err(
            "ERR AUTH <password> called without any password configured for the default user. "
            "Are you sure your configuration is correct?"
        )
    if not ok:
        return err(WRONGPASS)
    s.c.authed = True
    return resp.OK


def hello_reply(s: RedisSession, proto: int) -> bytes:
    role = "master" if s.c.box.master is None else "replica"
    items = [
        resp.bulk("server"),
        resp.bulk("redis"),
        resp.bulk("version"),
        resp.bulk("7.0.15"),
        resp.bulk("proto"),
        resp.integer(proto),
        resp.bulk("id"),
        resp.integer(s.c.id),
        resp.bulk("mode"),
        resp.bulk("standalone"),
        resp.bulk("role"),
        resp.bulk(role),
        resp.bulk("modules"),
        resp.array([]),
    ]
    if proto == 3:
        return b"%7\r\n" + b"".join(items)
    return resp.array(items)


@command("hello")
def _hello(s: RedisSession, args: list[bytes]) -> bytes:
    proto = 2
    if len(args) > 1:
        n = to_int(args[1])
        if n is None:
            return err("ERR Protocol version is not an integer or out of range")
        if n not in (2, 3):
            return err("NOPROTO unsupported protocol version")
        proto = n
    i = 2
    while i < len(args):
        opt = args[i].lower()
        if opt == b"auth" and i + 2 < len(args):
            reply = _auth(s, [b"auth", args[i + 1], args[i + 2]])
            if reply.startswith(b"-"):
                return reply
            i += 3
        elif opt == b"setname" and i + 1 < len(args):
            s.c.name = args[i + 1][:256]
            i += 2
        else:
            return err(f"ERR Syntax error in HELLO option '{args[i].decode('latin-1')[:128]}'")
    return hello_reply(s, proto)


# --- CLIENT ------------------------------------------------------------------------------------


@command("client|setname")
def _client_setname(s: RedisSession, args: list[bytes]) -> bytes:
    if not _NAME_OK.fullmatch(args[2]):
        return err("ERR Client names cannot contain spaces, newlines or special characters.")
    s.c.name = args[2][:256]
    return resp.OK


@command("client|getname")
def _client_getname(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.bulk(s.c.name or None)


@command("client|list", "client|info")
def _client_list(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.bulk(s.c.client_line())


@command("client|id")
def _client_id(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.integer(s.c.id)


@command("client|kill")
def _client_kill(s: RedisSession, args: list[bytes]) -> bytes:
    return err("ERR No such client") if len(args) == 3 else resp.integer(0)


@command("client|no-evict", "client|reply", "client|unpause", "client|pause")
def _client_ok(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.OK


# --- COMMAND -----------------------------------------------------------------------------------


def _skip(b: bytes, i: int) -> int:
    """The end of the RESP value at ``i`` (the bundled, trusted replies only)."""
    j = b.index(b"\r\n", i)
    kind, n = b[i : i + 1], b[i + 1 : j]
    i = j + 2
    if kind in (b"*", b"%", b"~"):
        count = int(n) * (2 if kind == b"%" else 1)
        for _ in range(max(count, 0)):
            i = _skip(b, i)
    elif kind == b"$" and int(n) >= 0:
        i += int(n) + 2
    return i


def _elements(b: bytes) -> list[bytes]:
    j = b.index(b"\r\n")
    i, out = j + 2, []
    for _ in range(int(b[1:j])):
        end = _skip(b, i)
        out.append(b[i:end])
        i = end
    return out


# Read now (a trap is built after the sensor drops privileges; its package stays readable, but
# reading at import keeps first use off the disk), unpacked on first use (~260 kB).
_COMMAND_GZ = data_file("command.resp.gz")
_DOCS_GZ = data_file("command_docs.resp.gz")


@cache
def _command_all() -> tuple[bytes, dict[str, bytes]]:
    raw = gzip.decompress(_COMMAND_GZ)
    by_name = {}
    for e in _elements(raw):
        name = _elements(e)[0]
        by_name[name.split(b"\r\n")[1].decode()] = e
    return raw, by_name


@cache
def _docs_all() -> tuple[bytes, dict[str, bytes]]:
    raw = gzip.decompress(_DOCS_GZ)
    els = _elements(raw)
    return raw, {els[i].split(b"\r\n")[1].decode(): els[i] + els[i + 1] for i in range(0, len(els) - 1, 2)}


@command("command")
def _command(s: RedisSession, args: list[bytes]) -> bytes:
    return _command_all()[0]


@command("command|count")
def _command_count(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.integer(sum("|" not in n for n in TABLE))


@command("command|info")
def _command_info(s: RedisSession, args: list[bytes]) -> bytes:
    if len(args) == 2:
        return _command_all()[0]
    known = _command_all()[1]
    return resp.array(known.get(a.decode("latin-1").lower(), resp.NULL) for a in args[2:])


@command("command|docs")
def _command_docs(s: RedisSession, args: list[bytes]) -> bytes:
    raw, known = _docs_all()
    if len(args) == 2:
        return raw
    found = [known[n] for n in (a.decode("latin-1").lower() for a in args[2:]) if n in known]
    return b"*%d\r\n" % (2 * len(found)) + b"".join(found)


@command("command|list")
def _command_list(s: RedisSession, args: list[bytes]) -> bytes:
    return resp.bulks(list(TABLE))


# --- persistence -------------------------------------------------------------------------------


@command("save", "bgsave")
def _save(s: RedisSession, args: list[bytes]) -> bytes:
    if len(args) > 1 and (args[0].lower() == b"save" or args[1].lower() != b"schedule"):
        return err(SYNTAX)
    s.c.box.last_save = time.time()
    s.trap.saves += 1
    s.on_save(args[0].decode("latin-1").upper())
    return resp.OK if args[0].lower() == b"save" else resp.simple("Background saving started")


@command("shutdown")
def _shutdown(s: RedisSession, args: list[bytes]) -> bytes:
    s.c.quitting = True
    s.drop_replies = True  # the real server exits: the client sees the connection close
    return b""


@command("quit")
def _quit(s: RedisSession, args: list[bytes]) -> bytes:
    s.c.quitting = True
    return resp.OK
