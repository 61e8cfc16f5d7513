"""The ``[web]`` keys: where the panel listens, and how logins are limited."""
from __future__ import annotations

from dataclasses import dataclass


def split_listen(value: str) -> tuple[str, int]:
    """'127.0.0.1:8080' -> ('127.0.0.1', 8080); '[::]:80' -> ('::', 80)."""
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


def listen_problem(value: str) -> str | None:
    if value == "":
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        return 'must be "HOST:PORT" such as "0.0.0.0:8080", or "" to turn the web panel off'
    return None


@dataclass(frozen=True)
class WebSettings:
    host: str
    port: int  # 0: any free port (tests); the port taken is logged as web_panel_started
    password_hash: str
    session_seconds: float
    login_attempts: int
    login_window_seconds: float
    region: str
    language: str


def web_settings(config) -> WebSettings | None:
    """None when the web panel is off (no listen address)."""
    if not config.web_listen:
        return None
    host, port = split_listen(config.web_listen)
    return WebSettings(host, port, config.web_password_hash, config.web_session_hours * 3600,
                       config.web_login_attempts, config.web_login_window_minutes * 60,
                       config.box_region, config.box_language)
