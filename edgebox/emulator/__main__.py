"""``python -m edgebox.emulator serve …``: the emulator CLI without the main edgebox command."""
from edgebox.emulator.cli import emulator

emulator(prog_name="python -m edgebox.emulator")
