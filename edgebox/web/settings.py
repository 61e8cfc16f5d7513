"""The ``[web]`` keys: where the panel listens, and how logins are limited."""
from __future__ import annotations

from dataclasses import dataclass

from edgebox.config import Key, between
from edgebox.i18n import Text
from edgebox.web.passwords import hash_problem


def split_listen(value: str) -> tuple[str, int]:
    """'127.0.0.1:8080' -> ('127.0.0.1', 8080); '[::]:80' -> ('::', 80)."""
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


def listen_problem(value: str) -> Text | None:
    if value == "":
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        return Text("config.web_listen", 'must be "HOST:PORT" such as "0.0.0.0:8080", or "" '
                    "to turn the web panel off")
    return None


# The office's web panel: off while listen is "".
WEB_KEYS: dict[str, Key] = {
    "web.listen": Key(str, "", listen_problem),
    "web.password_hash": Key(str, "", hash_problem),
    "web.session_hours": Key((int, float), 12, between(0.1, 24 * 30)),
    "web.login_attempts": Key(int, 5, between(1, 100)),
    "web.login_window_minutes": Key((int, float), 15, between(1, 24 * 60)),
    "web.memory_mb": Key(int, 256, between(64, 4096)),
}


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
