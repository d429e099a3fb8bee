"""Gateway configuration from the environment, validated at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from shared.settings import PROFILES, Env, check_fixed_captcha

DEFAULT_CARD_AGENT_URL = "http://127.0.0.1:8765"


@dataclass(frozen=True)
class Settings:
    profile: str
    nats_url: str
    http_host: str
    http_port: int
    cookie_secure: bool
    allowed_origins: frozenset[str]
    log_level: str
    health_host: str = "0.0.0.0"
    health_port: int = 8081
    portal_dir: str = str(Path(__file__).resolve().parent.parent / "portal" / "dist")
    # The card agent (卡介质客户端控件) the portal asks to sign on the user's own machine; allowed by the CSP.
    card_agent_url: str = DEFAULT_CARD_AGENT_URL
    # How long a verified session is reused without asking identity (0: ask every time); ended sessions are
    # dropped at once by identity's event, so this bounds only a missed event.
    session_cache_seconds: float = 5.0

    @property
    def card_agent_origin(self) -> str:
        parts = urlsplit(self.card_agent_url)
        return f"{parts.scheme}://{parts.netloc}"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = Env(environ)
        profile = env.choice("PROFILE", "dev", PROFILES)
        settings = cls(
            profile=profile,
            nats_url=env.str("NATS_URL"),
            http_host=env.str("HTTP_HOST", "0.0.0.0"),
            http_port=env.int("HTTP_PORT", 8000),
            cookie_secure=env.bool("COOKIE_SECURE", profile == "production"),
            allowed_origins=frozenset(
                o.strip() for o in env.str("ALLOWED_ORIGINS", "-").split(",") if o.strip() not in ("", "-")
            ),
            log_level=env.str("LOG_LEVEL", "INFO"),
            health_host=env.str("HEALTH_HOST", "0.0.0.0"),
            health_port=env.int("HEALTH_PORT", 8081),
            portal_dir=env.str("PORTAL_DIR", cls.portal_dir),
            card_agent_url=env.str("CARD_AGENT_URL", DEFAULT_CARD_AGENT_URL).rstrip("/"),
            session_cache_seconds=env.int("SESSION_CACHE_SECONDS", 5),
        )
        # The gateway never checks captchas itself, but refuses to front a stack configured to accept a fixed one.
        check_fixed_captcha(env, profile, env.optional("CAPTCHA_FIXED_CODE"))
        env.require(
            not (profile == "production" and not settings.cookie_secure),
            "COOKIE_SECURE must be true in the production profile",
        )
        agent = urlsplit(settings.card_agent_url)
        env.require(
            agent.scheme in ("http", "https") and bool(agent.hostname) and not agent.path and agent.port is not None,
            "CARD_AGENT_URL must be an http(s) origin with a port, e.g. http://127.0.0.1:8765",
        )
        env.done("gateway")
        return settings
