# SPDX-License-Identifier: MIT
"""honeyfarm.toml: typed parsing, loud errors, relative paths, and no I/O at import time."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pydantic
import pytest
from pydantic import BaseModel

from honeyfarm.config import (
    DEFAULT_LAKE,
    Config,
    ConfigError,
    GeoIPConfig,
    IngestConfig,
    LakeConfig,
    load_config,
    parse_config,
    resolve_lake,
)

FULL = """
[lake]
path = "/srv/honeyfarm/lake"
compression_level = 9
compact_min_files = 4
row_group_size = 200000

[ingest]
batch_bytes = 67108864
max_record_bytes = 1048576
threads = 4
memory_limit = "1GB"

[geoip]
enabled = false
city_db = "/opt/geo/GeoLite2-City.mmdb"
asn_db = "/opt/geo/GeoLite2-ASN.mmdb"
"""


def write(tmp_path: Path, text: str, name: str = "honeyfarm.toml") -> Path:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_full_file_parses_into_typed_objects(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, FULL), env={})
    assert isinstance(cfg, Config)
    assert isinstance(cfg.lake, LakeConfig) and isinstance(cfg.ingest, IngestConfig)
    assert isinstance(cfg.geoip, GeoIPConfig)
    assert cfg.lake.path == Path("/srv/honeyfarm/lake") and isinstance(cfg.lake.path, Path)
    assert (cfg.lake.compression_level, cfg.lake.compact_min_files, cfg.lake.row_group_size) == (9, 4, 200_000)
    assert (cfg.ingest.batch_bytes, cfg.ingest.max_record_bytes, cfg.ingest.threads) == (64 << 20, 1 << 20, 4)
    assert cfg.ingest.memory_limit == "1GB"
    assert cfg.geoip.enabled is False
    assert cfg.geoip.city_db == Path("/opt/geo/GeoLite2-City.mmdb")
    assert cfg.geoip.asn_db == Path("/opt/geo/GeoLite2-ASN.mmdb")


def test_partial_file_keeps_defaults_for_the_rest(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "[ingest]\nthreads = 3\n"), env={})
    assert cfg.ingest.threads == 3
    assert cfg.ingest.batch_bytes == IngestConfig().batch_bytes
    assert cfg.lake == LakeConfig()
    assert cfg.geoip == GeoIPConfig()


def test_config_is_frozen() -> None:
    cfg = Config()
    with pytest.raises(pydantic.ValidationError):
        cfg.lake.compression_level = 5  # type: ignore[misc]


def test_no_file_gives_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config(None, env={}) == Config()
    assert Config().lake.path == DEFAULT_LAKE


def test_honeyfarm_toml_in_cwd_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "[ingest]\nthreads = 7\n")
    monkeypatch.chdir(tmp_path)
    assert load_config(None, env={}).ingest.threads == 7


def test_env_names_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path, "[ingest]\nthreads = 5\n", "elsewhere/hf.toml")
    write(tmp_path, "[ingest]\nthreads = 7\n")  # ./honeyfarm.toml loses to the env
    monkeypatch.chdir(tmp_path)
    assert load_config(None, env={"HONEYFARM_CONFIG": str(p)}).ingest.threads == 5
    # an explicit path beats the env
    assert load_config(tmp_path / "honeyfarm.toml", env={"HONEYFARM_CONFIG": str(p)}).ingest.threads == 7


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(None, env={"HONEYFARM_CONFIG": str(tmp_path / "nope.toml")})


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[lake]\npth = "x"\n', "lake.pth"),
        ("[ingest]\nthread = 2\n", "ingest.thread"),
        ('[geoip]\ncity = "x.mmdb"\n', "geoip.city"),
        ('[lakes]\npath = "x"\n', "lakes"),
        ("verbose = true\n", "verbose"),
    ],
)
def test_unknown_key_is_an_error_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_config(p, env={})
    msg = str(exc.value)
    assert f"{key}: unknown key" in msg
    assert str(p) in msg


@pytest.mark.parametrize(
    ("text", "where", "got"),
    [
        ('[ingest]\nbatch_bytes = "big"\n', "ingest.batch_bytes", "'big'"),
        ('[ingest]\nthreads = "many"\n', "ingest.threads", "'many'"),
        ('[geoip]\nenabled = "maybe"\n', "geoip.enabled", "'maybe'"),
        ("[ingest]\nmemory_limit = 2\n", "ingest.memory_limit", "2"),
        ('lake = "x"\n', "lake", "'x'"),
    ],
)
def test_wrong_type_is_a_clear_error(tmp_path: Path, text: str, where: str, got: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, text), env={})
    msg = str(exc.value)
    assert msg.startswith("invalid configuration in ")
    assert f"{where}: " in msg and f"(got {got})" in msg


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[ingest]\nbatch_bytes = 100\n", "ingest.batch_bytes"),
        ("[ingest]\nthreads = 0\n", "ingest.threads"),
        ("[lake]\ncompression_level = 23\n", "lake.compression_level"),
        ("[lake]\ncompact_min_files = 1\n", "lake.compact_min_files"),
    ],
)
def test_out_of_range_value_is_an_error(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
        load_config(write(tmp_path, text), env={})


def test_bad_toml_syntax_is_a_config_error(tmp_path: Path) -> None:
    p = write(tmp_path, "[lake\npath = \n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(p, env={})


def test_non_utf8_file_is_a_config_error(tmp_path: Path) -> None:
    p = tmp_path / "honeyfarm.toml"
    p.write_bytes(b'[lake]\npath = "\xff\xfe"\n')
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(p, env={})


def test_parse_config_validates_a_mapping() -> None:
    assert parse_config({"ingest": {"threads": 8}}).ingest.threads == 8
    with pytest.raises(ConfigError, match=r"lake\.pth: unknown key"):
        parse_config({"lake": {"pth": "x"}}, "inline")


def test_relative_paths_resolve_against_the_file_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = write(
        tmp_path,
        '[lake]\npath = "data"\n[geoip]\ncity_db = "geo/city.mmdb"\nasn_db = "../shared/asn"\n',
        "etc/honeyfarm/honeyfarm.toml",
    )
    monkeypatch.chdir(tmp_path)  # cwd differs from the file's directory
    cfg = load_config(Path("etc/honeyfarm/honeyfarm.toml"), env={})
    base = conf.parent.relative_to(tmp_path)
    assert cfg.lake.path == base / "data"
    assert cfg.geoip.city_db == base / "geo/city.mmdb"
    assert cfg.geoip.asn_db == base / "../shared/asn"
    assert (tmp_path / cfg.lake.path).resolve() == (conf.parent / "data").resolve()


def test_absolute_paths_and_defaults_are_left_alone(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, '[geoip]\ncity_db = "/abs/city.mmdb"\n', "sub/honeyfarm.toml"), env={})
    assert cfg.geoip.city_db == Path("/abs/city.mmdb")
    assert cfg.geoip.asn_db is None
    assert cfg.lake.path == DEFAULT_LAKE  # not written in the file: stays relative to the working directory


def test_resolve_lake_precedence(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, '[lake]\npath = "cfg-lake"\n'), env={})
    assert resolve_lake(cfg, Path("flag"), env={"HONEYFARM_LAKE": "env"}) == Path("flag")
    assert resolve_lake(cfg, None, env={"HONEYFARM_LAKE": "env"}) == Path("env")
    assert resolve_lake(cfg, None, env={"HONEYFARM_LAKE": ""}) == tmp_path / "cfg-lake"
    assert resolve_lake(cfg, None, env={}) == tmp_path / "cfg-lake"
    assert resolve_lake(Config(), None, env={}) == DEFAULT_LAKE


# --------------------------------------------------------------------- CLI


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("HONEYFARM_LAKE", None)
    env.pop("HONEYFARM_CONFIG", None)
    env.update(extra)
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "honeyfarm.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "args",
    [
        ["report"],
        ["report", "overview", "--json"],
        ["query", "SELECT 1"],
        ["ingest", "x.json"],
        ["geoip", "8.8.8.8"],
        ["compact"],
        ["demo", "--events", "10"],
    ],
)
def test_cli_exits_2_with_the_config_message(tmp_path: Path, args: list[str]) -> None:
    bad = write(tmp_path, '[lake]\npth = "x"\n', "bad.toml")
    p = _run([*args, "--config", str(bad)], tmp_path, _env())
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "lake.pth: unknown key" in p.stderr
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "honeyfarm-data").exists() and not (tmp_path / "honeyfarm-demo").exists()


def test_cli_reads_a_broken_config_from_env_and_exits_2(tmp_path: Path) -> None:
    bad = write(tmp_path, '[ingest]\nbatch_bytes = "big"\n', "bad.toml")
    p = _run(["report", "overview"], tmp_path, _env(HONEYFARM_CONFIG=str(bad)))
    assert p.returncode == 2
    assert "ingest.batch_bytes" in p.stderr and "'big'" in p.stderr


def test_cli_reads_a_broken_honeyfarm_toml_in_cwd_and_exits_2(tmp_path: Path) -> None:
    write(tmp_path, "[lake\n")
    p = _run(["query", "SELECT 1"], tmp_path, _env())
    assert p.returncode == 2
    assert "cannot read" in p.stderr


def test_cli_missing_config_named_by_env_exits_2(tmp_path: Path) -> None:
    p = _run(["report"], tmp_path, _env(HONEYFARM_CONFIG=str(tmp_path / "missing.toml")))
    assert p.returncode == 2
    assert "config file not found" in p.stderr


# ------------------------------------------------------------ import time


def test_importing_reads_no_config(tmp_path: Path) -> None:
    bad = write(tmp_path, "this is [not toml\n", "broken.toml")
    code = "import honeyfarm.config, honeyfarm.cli, honeyfarm.pipeline, honeyfarm.analysis.panels; print('ok')"
    p = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=_env(HONEYFARM_CONFIG=str(bad)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "ok"


def test_commands_that_need_no_config_ignore_a_broken_one(tmp_path: Path) -> None:
    bad = write(tmp_path, "[[[", "broken.toml")
    for args in (["eventids", "--json"], ["formats"], ["--help"]):
        p = _run(args, tmp_path, _env(HONEYFARM_CONFIG=str(bad)))
        assert p.returncode == 0, (args, p.stderr)


def test_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parent.parent / "honeyfarm.example.toml"
    cfg = load_config(example, env={})
    assert cfg.lake.path == example.parent / "honeyfarm-data"  # written in the file: relative to it
    assert cfg.ingest == IngestConfig()  # the example documents the defaults
    assert cfg.geoip.enabled is True


def _setting_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys += _setting_keys(ann, f"{prefix}{name}.")
        else:
            keys.append(f"{prefix}{name}")
    return keys


def test_every_setting_is_documented_in_the_readme() -> None:
    """Datasette's habit: a setting nobody can find is a bug. Each key appears in a settings table:
    README's for the lake/ingest/geoip settings, docs/sensor.md's for `sensor.*` (or a trap's own
    page, docs/sensor-<trap>.md)."""
    root = Path(__file__).resolve().parents[1]
    pages = [root / "README.md", *sorted((root / "docs").glob("sensor*.md"))]
    docs = "".join(p.read_text(encoding="utf-8") for p in pages)
    keys = _setting_keys(Config)
    assert "lake.path" in keys and "sensor.identity.region" in keys and "sensor.limits.max_per_ip" in keys
    missing = [k for k in keys if f"| `{k}` |" not in docs]
    assert missing == []


def test_every_setting_is_in_the_example_config() -> None:
    example = tomllib.loads((Path(__file__).resolve().parents[1] / "honeyfarm.example.toml").read_text())
    text = (Path(__file__).resolve().parents[1] / "honeyfarm.example.toml").read_text()
    for sec, field in Config.model_fields.items():
        for name in field.annotation.model_fields:
            assert name in example.get(sec, {}) or f"# {name}" in text, f"{sec}.{name}"
