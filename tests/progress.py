"""Progress lines that reach the terminal while pytest captures a test's output.

The image build and the QEMU boots take many minutes; under `scripts/test` (no -s) their prints
would only appear after the test ends, which looks like a hang. `say()` writes one line through
pytest's terminal with capturing suspended for that moment, and still prints to the captured
output, so a failure's report keeps it.
"""
from __future__ import annotations

import os
import time

_config = None


def attach(config) -> None:
    global _config
    _config = config


def say(text: str) -> None:
    print(text, flush=True)
    if _config is None:
        return
    capture = _config.pluginmanager.getplugin("capturemanager")
    terminal = _config.pluginmanager.getplugin("terminalreporter")
    if capture is None or not capture.is_capturing():
        return  # run with -s: the print above already reached the terminal
    line = f"  [{time.strftime('%H:%M:%S')}] {text}"
    with capture.global_and_fixture_disabled():
        if hasattr(_config, "workerinput"):  # a pytest-xdist worker: its terminal is not the
            os.write(2, (line + "\n").encode())  # run's, but its stderr is
        elif terminal is not None:
            terminal.write_line(line)
