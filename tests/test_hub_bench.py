"""The uplink benchmark still runs on both stores (figures are not judged here)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.slow
def test_uplink_benchmark_runs_on_both_stores(tmp_path):
    out = tmp_path / "results.json"
    result = subprocess.run([sys.executable, "-m", "bench", "uplink", "--quick", "--json",
                             str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "bytes/event" in result.stdout
    runs = json.loads(out.read_text())["benchmarks"][0]["runs"]
    assert [r["store"] for r in runs] == ["sqlite", "postgresql"]
    for run in runs:
        assert run["events"] > 1000 and 0 < run["bytes_per_event"] < 200
        assert run["hub_ingest_events_per_s"] > 0 and run["upload_events_per_s"] > 0
    assert runs[1]["hub_ingest_events_per_s_2_workers"] > 0
    storm = json.loads(out.read_text())["benchmarks"][0]["storm"]
    assert storm["failures"] == 0  # every box's backlog got in, retries or not
    assert storm["events_stored"] == storm["boxes"] * storm["events_per_box"]
    page_ms = json.loads(out.read_text())["benchmarks"][0]["pages"]["page_ms"]
    assert set(page_ms) == {"boxes", "incidents", "stats", "monthly_report"}
