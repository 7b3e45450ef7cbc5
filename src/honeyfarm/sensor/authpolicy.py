# SPDX-License-Identifier: MIT
"""The "one-password" credentials policy: every account has exactly one password at a time.

A real server has one password per user. Cowrie-style rules (``root:x:*``) let a
brute forcer "find" root's password three times in twenty tries, which no real
host does. Here the accounts that can log in are ``root`` and the persona's
users; any other name is refused like sshd refuses an invalid user. An account
has no password until an address that has already failed ``choose_after``
times tries one from a list of common passwords: that password becomes *the*
password of the account on this sensor, from any address and over SSH and
Telnet alike, and every other password fails. Choices are kept in
``<spool>/state/passwords.json`` so a restart does not hand out a second one;
``lifetime`` (0 = never) lets an account's password be chosen afresh later, as
if an admin had changed it.

What it trades: Cowrie's "anything but root/123456" lets nearly every bot in at
once and records the most sessions. This policy records fewer sessions (a bot
gets in only if it tries the sensor's password, which, being common, most
dictionaries hold), but what a bot sees is a plausible server: one password
per account, stable across attempts, addresses and restarts.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from honeyfarm.lake.durable import atomic_write_bytes

BUNDLED_PASSWORDS = Path(__file__).with_name("data") / "common-passwords.txt"
MAX_PASSWORD_CHARS = 128  # longer lines in a password file are ignored
MAX_PASSWORDS = 100_000  # lines read from a password file
MAX_ACCOUNTS = 1_000  # accounts remembered in passwords.json


def read_password_list(path: Path | None) -> frozenset[str]:
    """Passwords from ``path`` (default: the bundled list); ``# `` lines are comments."""
    lines = (path or BUNDLED_PASSWORDS).read_text(encoding="utf-8").splitlines()
    out: set[str] = set()
    for line in lines[:MAX_PASSWORDS]:
        if line.startswith("# ") or not line or len(line) > MAX_PASSWORD_CHARS:
            continue
        out.add(line)
    return frozenset(out)


class OnePassword:
    """Chooses and remembers one password per login account."""

    FILE = "passwords.json"

    def __init__(
        self,
        accounts: Iterable[str],
        candidates: frozenset[str],
        choose_after: int,
        lifetime: float,
        state_dir: Path | None,
    ) -> None:
        self.accounts = frozenset(accounts)
        self.candidates = candidates
        self.choose_after = choose_after
        self.lifetime = lifetime
        self.path = state_dir / self.FILE if state_dir is not None else None
        self.chosen: dict[str, tuple[str, float]] = self._load()

    def _load(self) -> dict[str, tuple[str, float]]:
        if self.path is None:
            return {}
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        out: dict[str, tuple[str, float]] = {}
        if isinstance(data, dict):
            for user, entry in list(data.items())[:MAX_ACCOUNTS]:
                if isinstance(entry, dict) and isinstance(entry.get("password"), str):
                    since = entry.get("since")
                    out[str(user)] = (entry["password"], float(since) if isinstance(since, (int, float)) else 0.0)
        return out

    def _save(self) -> None:
        if self.path is None:
            return
        data = {u: {"password": pw, "since": since} for u, (pw, since) in self.chosen.items()}
        # Disk full or read-only: the choice holds for this run and is saved with the next one.
        with contextlib.suppress(OSError):
            atomic_write_bytes(self.path, json.dumps(data, ensure_ascii=False, indent=1).encode())

    def password_of(self, user: str, now: float | None = None) -> str | None:
        """The account's password now, or None if none has been chosen (or it expired)."""
        entry = self.chosen.get(user)
        if entry is None:
            return None
        if self.lifetime > 0 and (now if now is not None else time.time()) - entry[1] > self.lifetime:
            del self.chosen[user]
            self._save()
            return None
        return entry[0]

    def check(self, user: str, password: str, attempts_before: int, now: float | None = None) -> bool:
        """Decide one attempt; ``attempts_before`` counts the address's earlier attempts."""
        if user not in self.accounts:
            return False
        current = self.password_of(user, now)
        if current is not None:
            return password == current
        if attempts_before < self.choose_after or password not in self.candidates:
            return False
        if len(self.chosen) >= MAX_ACCOUNTS:
            return False
        self.chosen[user] = (password, now if now is not None else time.time())
        self._save()
        return True
