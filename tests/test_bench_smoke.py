"""The benchmarks still run (figures are not judged here: timing belongs in the benchmark)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.slow
def test_broadcast_benchmark_runs_and_writes_its_figures(tmp_path):
    out = tmp_path / "results.json"
    result = subprocess.run([sys.executable, "-m", "bench", "broadcast", "--quick", "--json",
                             str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "speed-up" in result.stdout
    runs = json.loads(out.read_text())["benchmarks"][0]["runs"]
    assert [r["modems"] for r in runs] == [1, 2, 4]
    assert all(sum(r["per_modem"]) == r["messages"] for r in runs)
    assert [len(r["per_modem"]) for r in runs] == [1, 2, 4]
