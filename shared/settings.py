"""Configuration from environment variables only, validated at start-up with a clear message."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TypeVar

PROFILES = ("dev", "test", "production")

T = TypeVar("T")


class SettingsError(SystemExit):
    """Raised (and exits) when the environment is missing or has wrong settings."""


class Env:
    """Reads settings, collecting every problem so the operator sees them all at once."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self.problems: list[str] = []

    def str(self, name: str, default: str | None = None) -> str:
        value = self._environ.get(name, default)
        if value is None or value == "":
            if default is None:
                self.problems.append(f"{name} is required")
            return default or ""
        return value

    def optional(self, name: str) -> str | None:
        return self._environ.get(name) or None

    def int(self, name: str, default: int) -> int:
        return self._convert(name, default, int, "an integer")

    def bool(self, name: str, default: bool) -> bool:
        def parse(raw: str) -> bool:
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)

        return self._convert(name, default, parse, "true or false")

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.str(name, default)
        if value not in choices:
            self.problems.append(f"{name} must be one of {', '.join(choices)} (got {value!r})")
        return value

    def _convert(self, name: str, default: T, parse: Callable[[str], T], what: str) -> T:
        raw = self._environ.get(name)
        if raw is None or raw == "":
            return default
        try:
            return parse(raw)
        except ValueError:
            self.problems.append(f"{name} must be {what} (got {raw!r})")
            return default

    def require(self, condition: bool, problem: str) -> None:
        if not condition:
            self.problems.append(problem)

    def done(self, component: str) -> None:
        """Fail fast: print every problem and exit non-zero."""
        if self.problems:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            print(f"{component}: invalid configuration:\n{lines}", file=sys.stderr)
            raise SettingsError(2)


def check_fixed_captcha(env: Env, profile: str, fixed_code: str | None) -> None:
    """A fixed captcha code lets scripts log in; it must never be configured in production."""
    env.require(
        not (fixed_code and profile == "production"),
        "CAPTCHA_FIXED_CODE must not be set in the production profile",
    )


def nats_ca_file(env: Env) -> str | None:
    """NATS_CA_FILE: the CA that signed the NATS servers' certificates, for a `tls://` NATS_URL (production)."""
    path = env.optional("NATS_CA_FILE")
    env.require(path is None or os.path.isfile(path), f"NATS_CA_FILE must be a readable file (got {path!r})")
    return path
