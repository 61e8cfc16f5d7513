"""The image's base is made once per machine (firmware/tools/cached-base.sh): the shared cache
finds it by its key, shares one bootstrap between two builds at once, makes a week-old base
again, and keeps the three bases used last. A stand-in bootstrap writes the tarball (the real
one takes 5-20 minutes; tests/test_firmware_image.py runs it through build-image)."""
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "firmware/tools/cached-base.sh"
DAY = 24 * 3600


@pytest.fixture
def bootstrap(tmp_path):
    """A bootstrap command that counts its runs in runs.txt, takes half a second and writes the
    tarball; with FAIL in the environment it fails half-way, leaving its part written."""
    script = tmp_path / "bootstrap.sh"
    script.write_text('#!/bin/sh\necho run >> "$RUNS"\nsleep 0.5\necho base > "$1"\n'
                      '[ -z "$FAIL" ] || exit 3\n')
    script.chmod(0o755)
    return script


def cached_base(tmp_path, bootstrap, key, **env):
    return subprocess.run([str(TOOL), str(tmp_path / "cache"), key, str(bootstrap)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "RUNS": str(tmp_path / "runs.txt"), **env})


def runs(tmp_path) -> int:
    path = tmp_path / "runs.txt"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_the_base_is_made_once_and_found_by_its_key(tmp_path, bootstrap):
    first = cached_base(tmp_path, bootstrap, "k1")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == str(tmp_path / "cache/base-k1.tar")
    assert "bootstrapping the base k1" in first.stderr
    again = cached_base(tmp_path, bootstrap, "k1")
    assert again.stdout == first.stdout and "base k1 cached" in again.stderr
    assert runs(tmp_path) == 1
    cached_base(tmp_path, bootstrap, "k2")  # other inputs, another base
    assert runs(tmp_path) == 2


def test_two_builds_at_once_share_one_bootstrap(tmp_path, bootstrap):
    results = []
    builds = [threading.Thread(target=lambda: results.append(
        cached_base(tmp_path, bootstrap, "k1"))) for _ in range(2)]
    for build in builds:
        build.start()
    for build in builds:
        build.join(60)
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert results[0].stdout == results[1].stdout
    assert runs(tmp_path) == 1


def test_an_interrupted_bootstrap_is_made_again_and_its_part_removed(tmp_path, bootstrap):
    failed = cached_base(tmp_path, bootstrap, "k1", FAIL="1")
    assert failed.returncode == 3 and not (tmp_path / "cache/base-k1.tar").exists()
    made = cached_base(tmp_path, bootstrap, "k1")
    assert made.returncode == 0 and (tmp_path / "cache/base-k1.tar").read_text() == "base\n"
    assert list((tmp_path / "cache").glob("*.part")) == [] and runs(tmp_path) == 2


def test_a_base_older_than_a_week_is_made_again(tmp_path, bootstrap):
    cached_base(tmp_path, bootstrap, "k1")
    base = tmp_path / "cache/base-k1.tar"
    six_days = time.time() - 6 * DAY
    os.utime(base, (six_days, six_days))
    assert "cached" in cached_base(tmp_path, bootstrap, "k1").stderr
    eight_days = time.time() - 8 * DAY
    os.utime(base, (eight_days, eight_days))
    assert "bootstrapping" in cached_base(tmp_path, bootstrap, "k1").stderr
    assert runs(tmp_path) == 2 and base.stat().st_mtime > time.time() - 60


def test_the_three_bases_used_last_are_kept(tmp_path, bootstrap):
    now = time.time()
    for key, used in (("a", now - 10), ("b", now - 30), ("c", now - 20)):
        cached_base(tmp_path, bootstrap, key)
        os.utime(tmp_path / f"cache/base-{key}.tar", (used, now - 40))
    cached_base(tmp_path, bootstrap, "d")
    kept = sorted(p.name for p in (tmp_path / "cache").glob("base-*.tar"))
    assert kept == ["base-a.tar", "base-c.tar", "base-d.tar"]  # b was used longest ago
