# SPDX-License-Identifier: MIT
"""Input formats, registered by name.

Adding a format is one module with a :class:`~honeyfarm.formats.base.Format`
subclass plus one line in :data:`FORMATS`. Third-party formats can register
through the ``honeyfarm.formats`` entry-point group.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from honeyfarm.formats.base import Format
from honeyfarm.formats.cowrie import CowrieFormat
from honeyfarm.formats.dionaea import DionaeaJsonFormat
from honeyfarm.formats.heralding import HeraldingAuthFormat, HeraldingSessionFormat
from honeyfarm.formats.honeyfarm import HoneyfarmFormat
from honeyfarm.formats.mhn import MHNSessionFormat
from honeyfarm.formats.route53 import Route53QueryFormat, Route53ResolverFormat
from honeyfarm.formats.suricata import SuricataFormat
from honeyfarm.formats.tanner import TannerFormat
from honeyfarm.formats.vpcflow import VPCFlowFormat

FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        HoneyfarmFormat(),
        CowrieFormat(),
        SuricataFormat(),
        DionaeaJsonFormat(),
        TannerFormat(),
        HeraldingSessionFormat(),
        HeraldingAuthFormat(),
        Route53QueryFormat(),
        Route53ResolverFormat(),
        VPCFlowFormat(),
        MHNSessionFormat(),
    )
}


def registry() -> dict[str, Format]:
    """Built-in formats plus those installed through the ``honeyfarm.formats`` entry points."""
    found = dict(FORMATS)
    for ep in entry_points(group="honeyfarm.formats"):
        fmt = ep.load()()
        found.setdefault(fmt.name, fmt)
    return found


def get_format(name: str) -> Format:
    formats = registry()
    if name not in formats:
        raise KeyError(f"unknown format {name!r}; known: {', '.join(sorted(formats))}")
    return formats[name]


def detect_format(sample: list[bytes]) -> Format | None:
    """The first format (by priority) whose detector accepts ``sample``."""
    for fmt in sorted(registry().values(), key=lambda f: f.priority):
        if fmt.detect(sample):
            return fmt
    return None


__all__ = ["FORMATS", "Format", "detect_format", "get_format", "registry"]
