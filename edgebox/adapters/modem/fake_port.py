"""Which ``[[modems]]`` ports ask for the in-process FakeModem (``fake://<name>``), told apart
without loading the FakeModem and the emulator it runs on: a box with real modems never
imports them (start-up time and about 1 MiB of memory on a Pi)."""

SCHEME = "fake://"


def is_fake_port(port: str) -> bool:
    return port.startswith(SCHEME)
