# SPDX-License-Identifier: MIT
"""The ``[serve]`` and ``[fleet]`` tables of honeyfarm.toml.

Their own module so :mod:`honeyfarm.config` validates them without importing
FastAPI. Secrets may come from the environment instead of the file
(``HONEYFARM_SERVE_TOKEN``, ``HONEYFARM_SERVE_PASSWORD``): :func:`with_env`
merges them in the CLI, never at import time.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

TOKEN_ENV = "HONEYFARM_SERVE_TOKEN"
PASSWORD_ENV = "HONEYFARM_SERVE_PASSWORD"
#: A secret with fewer different characters than this is refused (``aaaa…``, ``abab…``, ``1212…``).
MIN_DISTINCT_CHARS = 6


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


FilePath = Annotated[Path, Field(strict=False)]


class ServeConfig(_Strict):
    """``[serve]``: the dashboard's address, credentials and TLS."""

    host: str = Field(
        "127.0.0.1",
        description="Address to bind. Anything but loopback requires `token` or `password`, and TLS or `insecure`.",
    )
    port: Annotated[int, Field(ge=0, le=65535)] = Field(8000, description="TCP port (0 picks a free one).")
    username: str = Field("honeyfarm", min_length=1, max_length=64, description="User name for HTTP Basic auth.")
    password: str | None = Field(
        None, min_length=12, description=f"HTTP Basic password (or ${PASSWORD_ENV}). At least 12 characters."
    )
    token: str | None = Field(
        None,
        min_length=24,
        description=f"API token, sent as `Authorization: Bearer <token>` or as the Basic password (or ${TOKEN_ENV}).",
    )
    tls_cert: FilePath | None = Field(None, description="PEM certificate (chain) file: serve HTTPS.")
    tls_key: FilePath | None = Field(None, description="PEM private key of `tls_cert`.")
    insecure: bool = Field(
        False,
        description="Allow plain HTTP on an address other than loopback (credentials cross the network in "
        "clear text; a warning is printed). Also `honeyfarm serve --insecure`.",
    )
    max_auth_failures: Annotated[int, Field(ge=0, le=100_000)] = Field(
        10,
        description="Failed logins per client address and minute before it gets 429 (0 = no limit).",
    )
    ttylog_dirs: list[FilePath] = Field(
        default_factory=list,
        description="Sensor spool directories whose `tty/<session>.cast` TTY logs the session page replays.",
    )
    live_interval_seconds: Annotated[float, Field(gt=0, le=60, strict=False)] = Field(
        1.0, description="How often the live feed looks for newly committed lake files."
    )
    cache_entries: Annotated[int, Field(ge=0, le=100_000)] = Field(
        256, description="Answers kept per lake version (0 disables the cache)."
    )
    threads: Annotated[int, Field(ge=1, le=256)] = Field(2, description="DuckDB worker threads.")
    memory_limit: str = Field("2GB", description="DuckDB memory limit.")

    @field_validator("password", "token")
    @classmethod
    def _strong(cls, v: str | None, info: ValidationInfo) -> str | None:
        problem = None if v is None else weak_secret(v, allow_spaces=info.field_name == "password")
        if problem:
            raise ValueError(problem)  # says why, never what: the message must not carry the secret
        return v

    @model_validator(mode="after")
    def _tls_pair(self) -> ServeConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("serve.tls_cert and serve.tls_key go together")
        return self

    @property
    def auth_enabled(self) -> bool:
        return bool(self.password or self.token)

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert is not None


class SensorInfo(_Strict):
    """What the lake may not know about a sensor (Cowrie and Dionaea logs carry no region or cost)."""

    region: str | None = Field(None, max_length=64, description="Cloud region, e.g. `eu-west-1`.")
    exposure: str | None = Field(None, max_length=64, description="How it is exposed: `ip`, `domain`, `pastebin`, ...")
    provider: str | None = Field(None, max_length=64, description="Cloud provider.")
    hourly_cost: Annotated[float, Field(ge=0, strict=False)] | None = Field(None, description="USD per hour.")
    lat: Annotated[float, Field(ge=-90, le=90, strict=False)] | None = Field(None, description="Map latitude.")
    lon: Annotated[float, Field(ge=-180, le=180, strict=False)] | None = Field(None, description="Map longitude.")


class FleetSource(_Strict):
    """``[[fleet.sources]]``: the sensor of records read from matching paths or URLs (when they name none)."""

    match: str = Field(
        min_length=1,
        max_length=1024,
        description="fnmatch glob over a local path (as given or absolute) or a source URL "
        "(`s3://bucket/prefix/*`, `cloudwatch://group/stream*`); `*` and `**` also match `/`.",
    )
    sensor: str = Field(
        min_length=1, max_length=128, description="Sensor name for the records of matching files, objects, streams."
    )

    @field_validator("sensor")
    @classmethod
    def _printable(cls, v: str) -> str:
        if v != v.strip() or not v.isprintable():
            raise ValueError("must not start or end with whitespace nor hold control characters")
        return v


class FleetConfig(_Strict):
    """``[fleet.sensors.<name>]``: per-sensor facts; they win over what sensors stamp on their events.

    ``[[fleet.sources]]``: which sensor a path, object or stream belongs to; the first match wins.
    """

    sensors: dict[str, SensorInfo] = Field(default_factory=dict, description="Sensor name → facts.")
    sources: list[FleetSource] = Field(
        default_factory=list, description="Path/URL globs → sensor, for records that name no sensor; first match wins."
    )


def weak_secret(secret: str, allow_spaces: bool = False) -> str | None:
    """Why ``secret`` is too weak to guard a dashboard on the network, or ``None``.

    A token travels in a header that is trimmed, so it has no whitespace at
    all; a password (a passphrase) may have inner spaces, but no tabs or line
    breaks and none at either end (a copy-paste accident, not a choice).
    """
    if len(set(secret)) == 1:
        return "is one character repeated"
    if allow_spaces:
        if secret != secret.strip() or any(c.isspace() and c != " " for c in secret):
            return "must not start or end with whitespace, nor hold tabs or line breaks"
    elif any(c.isspace() for c in secret):
        return "must not contain whitespace"
    if len(set(secret)) < MIN_DISTINCT_CHARS:
        return f"has fewer than {MIN_DISTINCT_CHARS} different characters"
    return None


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def with_env(cfg: ServeConfig, env: dict[str, str]) -> ServeConfig:
    """Take the token and password from the environment when the file has none."""
    update: dict[str, str] = {}
    if cfg.token is None and env.get(TOKEN_ENV):
        update["token"] = env[TOKEN_ENV]
    if cfg.password is None and env.get(PASSWORD_ENV):
        update["password"] = env[PASSWORD_ENV]
    return ServeConfig.model_validate({**cfg.model_dump(), **update}) if update else cfg


def check_bind(cfg: ServeConfig) -> str | None:
    """Why the dashboard must not start with this config, or ``None``."""
    if is_loopback(cfg.host):
        return None
    if not cfg.auth_enabled:
        return (
            f"refusing to serve on {cfg.host}: a non-loopback address needs authentication — set serve.token or "
            f"serve.password in the config, or ${TOKEN_ENV} / ${PASSWORD_ENV}"
        )
    if not cfg.tls_enabled and not cfg.insecure:
        return (
            f"refusing to serve on {cfg.host} over plain HTTP: the token or password would cross the network in "
            "clear text — give --tls-cert and --tls-key, or --insecure (serve.insecure) to accept that"
        )
    return None


def insecure_warning(cfg: ServeConfig) -> str | None:
    """The one-line warning for plain HTTP off loopback (allowed only with ``insecure``), or ``None``."""
    if is_loopback(cfg.host) or cfg.tls_enabled:
        return None
    return (
        f"WARNING: serving plain HTTP on {cfg.host} (--insecure): credentials and data cross the network "
        "unencrypted; use --tls-cert/--tls-key or a TLS proxy"
    )


def resolve_relative(cfg: ServeConfig, base: Path) -> ServeConfig:
    def fix(p: Path | None) -> Path | None:
        return p if p is None or p.is_absolute() else base / p

    return cfg.model_copy(
        update={
            "tls_cert": fix(cfg.tls_cert),
            "tls_key": fix(cfg.tls_key),
            "ttylog_dirs": [p if p.is_absolute() else base / p for p in cfg.ttylog_dirs],
        }
    )
