# SPDX-License-Identifier: MIT
"""The command registry: a dict that runs its finishing hooks on the first lookup.

Command modules register on import, in an order that depends on who imports whom first
(the shell's modules import each other). Steps that need every command registered (wrapping
them with ``--help``/``--version`` texts, covering programs without an emulation) cannot run
at import time safely, so they run once, when the shell first looks a command up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

V = TypeVar("V")


class Registry(dict[str, V]):
    """``dict`` of commands whose ``get``/``[]`` first run the hooks added with :meth:`on_ready`."""

    def __init__(self) -> None:
        super().__init__()
        self._hooks: list[Callable[[], None]] = []

    def on_ready(self, hook: Callable[[], None]) -> None:
        self._hooks.append(hook)

    def ready(self) -> None:
        """Run the pending hooks (once each; a hook may register commands)."""
        while self._hooks:
            self._hooks.pop(0)()

    def get(self, key: str, default: Any = None) -> Any:
        if self._hooks:
            self.ready()
        return super().get(key, default)

    def __getitem__(self, key: str) -> V:
        if self._hooks:
            self.ready()
        return super().__getitem__(key)
