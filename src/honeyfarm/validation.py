# SPDX-License-Identifier: MIT
"""Pydantic validation errors as one short line a person can act on.

``str(ValidationError)`` is several lines with ``input_value=...`` and a
``https://errors.pydantic.dev`` link per error: it echoes a rejected secret
back to the terminal (and to whatever collects its logs) and buries the name
of the setting. Config loading and ``honeyfarm serve`` both print errors
through :func:`describe`, which names each setting, says what is wrong, shows
the rejected value only for settings that are not secrets, and never a URL.
"""

from __future__ import annotations

from pydantic import ValidationError

#: Setting names whose values are never printed.
SECRET_NAMES = frozenset({"password", "token", "secret", "secret_key", "aws_secret_access_key"})
_MAX_SHOWN = 60


def _shown(value: object) -> str | None:
    """``repr(value)`` if it is a short scalar worth echoing, else None (dicts hold whole tables, secrets included)."""
    if value is None or isinstance(value, bool | int | float | str):
        text = repr(value)
        return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."
    return None


def describe(err: ValidationError, prefix: str = "") -> str:
    """Every error of ``err`` as ``key: message (got value)``, joined by ``; `` on one line.

    ``prefix`` (e.g. ``serve.``) is put before each key, for models validated
    on their own rather than as a table of the whole config.
    """
    parts = []
    for e in err.errors(include_url=False):
        loc = [str(p) for p in e["loc"]]
        key = prefix + ".".join(loc) if loc else prefix.rstrip(".") or "settings"
        if e["type"] == "extra_forbidden":
            parts.append(f"{key}: unknown key")
            continue
        msg = str(e["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        secret = any(p.lower() in SECRET_NAMES for p in loc)
        got = None if secret or not loc else _shown(e.get("input"))
        parts.append(f"{key}: {msg}" + (f" (got {got})" if got is not None else ""))
    return "; ".join(parts)
