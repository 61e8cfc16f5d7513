"""scripts/install-deps asks pip only when what it installs from changed: `scripts/demo` right
after `scripts/test` (whose venv holds the runtime and more) starts without a pip run.

The script runs in a copy of the checkout whose .venv/bin/python records any pip call instead
of making it (and runs Python itself for everything else)."""
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def checkout(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts/install-deps", tmp_path / "scripts/install-deps")
    shutil.copy(REPO / "setup.py", tmp_path / "setup.py")
    bin_dir = tmp_path / ".venv/bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    python.write_text(f"""#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "$*" >> "{tmp_path}/pip-calls"; exit 0; fi
exec "{sys.executable}" "$@"
""")
    python.chmod(0o755)
    return tmp_path


def stamp_key(checkout: Path) -> str:
    digest = hashlib.sha256((checkout / "setup.py").read_bytes()
                            + (checkout / "scripts/install-deps").read_bytes()).hexdigest()
    version = subprocess.run([str(checkout / ".venv/bin/python"), "-c",
                              "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    return f"{digest[:16]}-{version}"


def install(checkout: Path, *extras: str) -> list[str]:
    subprocess.run(["bash", str(checkout / "scripts/install-deps"), *extras], cwd=checkout,
                   check=True, capture_output=True, timeout=120,
                   env={**os.environ, "PATH": os.environ.get("PATH", "")})
    calls = checkout / "pip-calls"
    return calls.read_text().splitlines() if calls.exists() else []


def test_a_venv_the_tests_installed_serves_the_demo_without_pip(checkout):
    (checkout / ".venv/.installed-test").write_text(stamp_key(checkout) + "\n")
    assert install(checkout) == []


def test_a_changed_setup_py_or_no_install_yet_asks_pip(checkout):
    assert any("install" in call and "-e ." in call for call in install(checkout))
    (checkout / "pip-calls").unlink()
    assert install(checkout) == []  # the runtime stamp is now current
    with (checkout / "setup.py").open("a") as setup:
        setup.write("\n# changed\n")
    assert install(checkout)  # what it installs from changed
