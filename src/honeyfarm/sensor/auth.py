# SPDX-License-Identifier: MIT
"""Who gets in, and as which uid.

:class:`CredentialPolicy` decides logins for SSH and Telnet alike, under one of two
policies (``[sensor.credentials] policy``):

* ``one-password`` (default, :mod:`honeyfarm.sensor.authpolicy`): root and the
  persona's users each have one password at a time, chosen from the common
  passwords attackers try; a brute forcer never finds two.
* ``userdb``: a Cowrie-style userdb (``user:x:password`` lines; ``*`` matches
  anything, a leading ``!`` denies, ``/regex/`` is a regular expression; the
  first matching line wins) and/or "accept any credentials on the Nth attempt
  from one address".

It also holds the sensor's sshd failure-timing secret (:mod:`honeyfarm.sensor.authtiming`).

:class:`Accounts` gives each user name one uid for the life of the sensor,
across sessions and protocols (Cowrie gives ``admin`` a different uid over
Telnet than over SSH). Uids are allocated like ``adduser`` does — the next free
one from 1001 — and kept in ``<spool>/state/accounts.json``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from pathlib import Path

from honeyfarm.lake.durable import atomic_write_bytes
from honeyfarm.sensor.authpolicy import OnePassword, read_password_list
from honeyfarm.sensor.authtiming import SSHDTiming
from honeyfarm.sensor.config import CredentialsConfig, PersonaConfig
from honeyfarm.sensor.model import Account

_MAX_PATTERN = 256


class _Pattern:
    def __init__(self, text: str) -> None:
        self.text = text
        self.regex: re.Pattern[str] | None = None
        if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
            self.regex = re.compile(text[1:-1][:_MAX_PATTERN])

    def match(self, value: str) -> bool:
        if self.text == "*":
            return True
        if self.regex is not None:
            return self.regex.fullmatch(value) is not None
        return value == self.text


class UserDB:
    """Cowrie's ``userdb.txt`` rules."""

    def __init__(self, lines: list[str]) -> None:
        self.rules: list[tuple[_Pattern, bool, _Pattern]] = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            user, sep, rest = line.partition(":")
            _, sep2, password = rest.partition(":")
            if not sep or not sep2:
                raise ValueError(f"userdb line is not user:x:password: {line!r}")
            deny = password.startswith("!")
            self.rules.append((_Pattern(user), not deny, _Pattern(password[1:] if deny else password)))

    @classmethod
    def from_config(cls, cfg: CredentialsConfig) -> UserDB:
        if cfg.userdb_file is not None:
            return cls(Path(cfg.userdb_file).read_text(encoding="utf-8").splitlines())
        return cls(list(cfg.userdb))

    def check(self, username: str, password: str) -> bool:
        for user, allow, pw in self.rules:
            if user.match(username) and pw.match(password):
                return allow
        return False


def login_accounts(persona: PersonaConfig) -> list[str]:
    """The names that are accounts on the fake host: root and the persona's users."""
    return ["root", *(entry.partition(":")[0] for entry in persona.users)]


class CredentialPolicy:
    """The sensor's login decisions (one object shared by every trap)."""

    def __init__(
        self, cfg: CredentialsConfig, persona: PersonaConfig | None = None, state_dir: Path | None = None
    ) -> None:
        self.kind = cfg.policy
        self.accounts = frozenset(login_accounts(persona or PersonaConfig()))
        self.userdb = UserDB.from_config(cfg) if cfg.policy == "userdb" else UserDB([])
        self.accept_after = cfg.accept_after if cfg.policy == "userdb" else 0
        self.one: OnePassword | None = None
        if cfg.policy == "one-password":
            candidates = read_password_list(cfg.passwords_file)
            self.one = OnePassword(self.accounts, candidates, cfg.choose_after, cfg.password_lifetime, state_dir)
        self.timing = SSHDTiming.load(state_dir)
        self._max_ips = cfg.max_tracked_ips
        self._attempts: OrderedDict[str, int] = OrderedDict()

    def exists(self, username: str) -> bool:
        """Whether the name is an account on the fake host (sshd's "valid user")."""
        return username in self.accounts

    def check(self, src_ip: str, username: str, password: str) -> bool:
        """Decide one password attempt (and count it against the address)."""
        before = self._attempts.pop(src_ip, 0)
        self._attempts[src_ip] = before + 1
        if len(self._attempts) > self._max_ips:
            self._attempts.popitem(last=False)
        if self.one is not None:
            return self.one.check(username, password, before)
        if self.userdb.check(username, password):
            return True
        if self.accept_after and before + 1 >= self.accept_after:
            self._attempts[src_ip] = 0
            return True
        return False


class Accounts:
    """Stable name → uid map shared by every trap of the sensor."""

    FIRST_UID = 1001
    MAX_STORED = 20_000

    def __init__(self, persona: PersonaConfig, state_dir: Path) -> None:
        self.path = state_dir / "accounts.json"
        self.fixed: dict[str, int] = {"root": 0}
        for entry in persona.users:
            name, _, uid = entry.partition(":")
            self.fixed[name] = int(uid) if uid.isdigit() else self.FIRST_UID - 1
        self.allocated: dict[str, int] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.allocated = {str(k): int(v) for k, v in data.items()}
            except (ValueError, OSError, AttributeError):
                self.allocated = {}
        used = set(self.fixed.values()) | set(self.allocated.values())
        self._next = max([self.FIRST_UID - 1, *(u for u in used if u < 60000)]) + 1

    def account(self, name: str) -> Account:
        uid = self.fixed.get(name)
        if uid is None:
            uid = self.allocated.get(name)
        if uid is None:
            uid = self._allocate(name)
        home = "/root" if uid == 0 else f"/home/{_home_safe(name)}"
        return Account(name=name, uid=uid, gid=uid, home=home)

    def _allocate(self, name: str) -> int:
        if len(self.allocated) >= self.MAX_STORED:
            # Out of room to remember: still stable, derived from the name.
            return 20000 + int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") % 40000
        uid = self._next
        self._next += 1
        self.allocated[name] = uid
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path, json.dumps(self.allocated).encode())
        except OSError:
            pass  # disk full: the uid holds for this run and is saved with the next new name
        return uid


def _home_safe(name: str) -> str:
    # Only ever a path inside the *fake* filesystem, but keep it one plain component.
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:32].strip(".")
    return cleaned or "user"
