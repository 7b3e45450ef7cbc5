# SPDX-License-Identifier: MIT
"""Configuration of ``honeyfarm sensor`` (the ``[sensor]`` table of honeyfarm.toml).

Validated once by :func:`honeyfarm.config.load_config` and passed down; no
module reads it at import time. Defaults bind loopback only, so an example
config never exposes a trap by accident.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


FilePath = Annotated[Path, Field(strict=False)]
Port = Annotated[int, Field(ge=0, le=65535)]


class IdentityConfig(_Strict):
    """Who this sensor is: stamped on every event so analysis can compare regions and exposures."""

    name: str = Field("sensor-1", min_length=1, max_length=64, description="Sensor name (`sensor` column).")
    region: str = Field("local", max_length=64, description="Cloud region, e.g. `eu-west-1`.")
    provider: str = Field("local", max_length=64, description="Cloud provider, e.g. `aws`.")
    instance_type: str = Field("", max_length=64, description="Instance type, e.g. `t3.nano`.")
    hourly_cost: Annotated[float, Field(ge=0)] = Field(0.0, description="What the sensor costs per hour (USD).")
    tags: dict[str, str] = Field(
        default_factory=dict, description='Free-form tags, e.g. `exposure = "ip" | "domain" | "pastebin"`.'
    )


class SpoolConfig(_Strict):
    dir: FilePath = Field(Path("./honeyfarm-spool"), description="Where event JSON lines, TTY logs and state go.")
    rotate_bytes: Annotated[int, Field(ge=4096)] = Field(
        64 * 1024 * 1024, description="Close and start a new spool file past this size."
    )
    rotate_seconds: Annotated[float, Field(gt=0)] = Field(3600.0, description="Close a spool file this old.")
    max_bytes: Annotated[int, Field(ge=65536)] = Field(
        4 * 1024**3,
        description="Spool size cap (event files + TTY logs). Past it new events are counted, not written, "
        "and a `honeyfarm.sensor.spool_full` event reports how many were dropped once space frees up.",
    )
    max_event_bytes: Annotated[int, Field(ge=1024)] = Field(
        64 * 1024, description="Longest attacker-supplied field kept in one event; longer values are cut."
    )
    fsync_interval: Annotated[float, Field(ge=0)] = Field(
        1.0, description="Seconds between fsyncs of the open spool file (0 = after every event)."
    )


class CredentialsConfig(_Strict):
    """Who gets in: a Cowrie-style userdb, "accept after N attempts", or both."""

    userdb: list[str] = Field(
        default_factory=lambda: ["root:x:!root", "root:x:!123456", "root:x:*", "admin:x:*"],
        description="Cowrie userdb lines `user:x:password` (`*` any, `!` deny, `/regex/`), first match wins.",
    )
    userdb_file: FilePath | None = Field(None, description="Cowrie userdb.txt to read instead of `userdb`.")
    accept_after: Annotated[int, Field(ge=0)] = Field(
        0, description="Accept any credentials on the Nth attempt from one IP (0 = never)."
    )
    max_tracked_ips: Annotated[int, Field(ge=1)] = Field(
        100_000, description="IPs remembered for accept_after (oldest forgotten first)."
    )


class PersonaConfig(_Strict):
    """The machine the fake shell pretends to be (Debian 12 on a small cloud VM by default)."""

    hostname: str = Field(
        "web-01", pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$", description="Host name in prompts and uname."
    )
    kernel_release: str = Field("6.1.0-28-cloud-amd64", description="`uname -r`.")
    kernel_version: str = Field("#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)", description="`uname -v`.")
    arch: str = Field("x86_64", description="`uname -m`; also `session.params`.")
    cpu_model: str = Field("Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz", description="/proc/cpuinfo model name.")
    cpu_count: Annotated[int, Field(ge=1, le=256)] = Field(2, description="CPUs in /proc/cpuinfo, nproc.")
    mem_kb: Annotated[int, Field(ge=65536)] = Field(1_000_000, description="MemTotal (free, /proc/meminfo).")
    users: list[str] = Field(
        default_factory=lambda: ["admin:1000"], description="Regular users on the machine, `name:uid`."
    )
    uptime_days: Annotated[float, Field(ge=0)] = Field(
        47.3, description="Uptime shown when the sensor starts (grows from there)."
    )


class SSHConfig(_Strict):
    enabled: bool = Field(True, description="Run the SSH trap.")
    listen: list[str] = Field(default_factory=lambda: ["127.0.0.1:2222"], description="`host:port` addresses.")
    profile: Literal["openssh-9.2p1-debian12"] = Field(
        "openssh-9.2p1-debian12", description="Real OpenSSH release whose banner, algorithms and timing are copied."
    )
    version: str = Field(
        "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10",
        description="Identification string (match it to the profile's release).",
        pattern=r"^SSH-2\.0-[\x21-\x7e][\x20-\x7e]{0,200}$",
    )
    host_key_dir: FilePath | None = Field(
        None, description="Host keys (generated on first start). Default: spool/keys."
    )
    auth_fail_delay: Annotated[float, Field(ge=0, le=30)] = Field(
        2.0, description="Mean delay after a failed password, as pam_unix's (randomised ±25%)."
    )
    max_auth_tries: Annotated[int, Field(ge=1, le=100)] = Field(6, description="As sshd's MaxAuthTries.")
    banner_delay: Annotated[float, Field(ge=0, le=5)] = Field(
        0.008, description="Mean delay before the banner, as sshd's fork + re-exec (randomised ±30%)."
    )
    login_grace_time: Annotated[float, Field(gt=0)] = Field(120.0, description="As sshd's LoginGraceTime.")
    sftp: bool = Field(True, description="Accept SFTP/SCP uploads (captured, never written to the host's paths).")


class TelnetConfig(_Strict):
    enabled: bool = Field(True, description="Run the Telnet trap.")
    listen: list[str] = Field(default_factory=lambda: ["127.0.0.1:2323"], description="`host:port` addresses.")
    login_timeout: Annotated[float, Field(gt=0)] = Field(
        60.0, description="As login(1)'s LOGIN_TIMEOUT, counted from the connection."
    )
    max_auth_tries: Annotated[int, Field(ge=1, le=100)] = Field(3, description="Failed logins before hanging up.")


class DownloadsConfig(_Strict):
    enabled: bool = Field(True, description="Fetch URLs seen in wget/curl/tftp/ftpget (else only log them).")
    dir: FilePath | None = Field(None, description="Content-addressed store. Default: spool/downloads.")
    max_file_bytes: Annotated[int, Field(ge=1024)] = Field(
        16 * 1024 * 1024, description="Larger downloads are cut off."
    )
    quota_bytes: Annotated[int, Field(ge=65536)] = Field(
        1024**3, description="Total store size; oldest files are evicted first past it."
    )
    timeout: Annotated[float, Field(gt=0)] = Field(30.0, description="Whole-download time limit (seconds).")
    connect_timeout: Annotated[float, Field(gt=0)] = Field(10.0, description="TCP connect time limit (seconds).")
    max_concurrent: Annotated[int, Field(ge=1)] = Field(4, description="Downloads at once (64 more may wait).")
    max_redirects: Annotated[int, Field(ge=0, le=20)] = Field(5, description="HTTP redirects followed.")
    allow_loopback: bool = Field(False, description="Allow loopback targets (tests only).")
    allow_private: bool = Field(False, description="Allow RFC 1918 / ULA / link-local targets.")
    user_agent: str = Field("Wget/1.21.3", description="User-Agent sent when fetching.")


class LimitsConfig(_Strict):
    max_connections: Annotated[int, Field(ge=1)] = Field(2000, description="Open connections over all traps.")
    max_per_ip: Annotated[int, Field(ge=1)] = Field(32, description="Open connections from one address.")
    idle_timeout: Annotated[float, Field(gt=0)] = Field(
        300.0, description="Close a session whose input line is not complete this long after the prompt."
    )
    session_timeout: Annotated[float, Field(gt=0)] = Field(3600.0, description="Close any session this old.")
    max_line_bytes: Annotated[int, Field(ge=256)] = Field(16 * 1024, description="Longest shell input line.")
    session_output_bytes: Annotated[int, Field(ge=4096)] = Field(
        4 * 1024 * 1024, description="Fake filesystem writes kept per session (redirections, uploads)."
    )
    max_upload_bytes: Annotated[int, Field(ge=1024)] = Field(16 * 1024 * 1024, description="Largest SFTP/SCP upload.")
    ttylog_bytes: Annotated[int, Field(ge=4096)] = Field(1024 * 1024, description="TTY log size cap per session.")
    nofile: Annotated[int, Field(ge=256)] = Field(65536, description="RLIMIT_NOFILE raised to at start.")
    refused_report_interval: Annotated[float, Field(gt=0)] = Field(
        60.0, description="Seconds between `honeyfarm.sensor.refused` events (only when connections were refused)."
    )


class SensorConfig(_Strict):
    identity: IdentityConfig = IdentityConfig()
    spool: SpoolConfig = SpoolConfig()
    credentials: CredentialsConfig = CredentialsConfig()
    persona: PersonaConfig = PersonaConfig()
    ssh: SSHConfig = SSHConfig()
    telnet: TelnetConfig = TelnetConfig()
    downloads: DownloadsConfig = DownloadsConfig()
    limits: LimitsConfig = LimitsConfig()
    user: str | None = Field(
        None, description="Drop to this user after binding (when started as root, e.g. for port 22)."
    )


def resolve_relative(cfg: SensorConfig, base: Path) -> SensorConfig:
    """Paths written in the config file are relative to the file's directory."""

    def fix(p: Path | None) -> Path | None:
        return p if p is None or p.is_absolute() else base / p

    spool = cfg.spool
    if "dir" in spool.model_fields_set:
        spool = spool.model_copy(update={"dir": fix(spool.dir)})
    return cfg.model_copy(
        update={
            "spool": spool,
            "ssh": cfg.ssh.model_copy(update={"host_key_dir": fix(cfg.ssh.host_key_dir)}),
            "downloads": cfg.downloads.model_copy(update={"dir": fix(cfg.downloads.dir)}),
            "credentials": cfg.credentials.model_copy(update={"userdb_file": fix(cfg.credentials.userdb_file)}),
        }
    )
