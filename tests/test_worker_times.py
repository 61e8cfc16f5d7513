"""The end-of-run summary of where a parallel run's time went (tests/worker_times.py)."""
import subprocess
import sys
from pathlib import Path

from tests.worker_times import Worker, summary

REPO = Path(__file__).resolve().parents[1]


def test_the_busiest_worker_comes_first_with_its_longest_files():
    image, rest = Worker(), Worker()
    image.add("tests/test_firmware_image.py", 100.0, 600.0, 500.0)
    image.add("tests/test_power_cut.py", 600.0, 900.0, 300.0)
    for n in range(6):
        rest.add(f"tests/test_{n}.py", 100.0 + 10 * n, 110.0 + 10 * n, 10.0 - n)
    lines = summary({"gw1": rest, "gw0": image})
    assert lines[0] == ("gw0: 800 s from its first test to its last, tests 800 s in 2 files "
                        "(test_firmware_image.py 500 s, test_power_cut.py 300 s)")
    assert lines[1] == ("gw1: 60 s from its first test to its last, tests 45 s in 6 files "
                        "(test_0.py 10 s, test_1.py 9 s, test_2.py 8 s, test_3.py 7 s, 2 more)")


def test_an_xdist_run_ends_with_one_line_per_worker():
    # A real run of two small files of this suite on two workers: the controller hears every
    # worker's reports (tests/conftest.py registers the summary there).
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2",
                          "--dist", "loadgroup", "tests/test_layers.py", "tests/test_fair_lock.py"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    summary_lines = run.stdout.split("time per worker", 1)[1].splitlines()[1:]
    workers = sorted(line for line in summary_lines if line.startswith("gw"))
    assert [line.split(":")[0] for line in workers] == ["gw0", "gw1"], run.stdout
    # one file per worker: a file's tests stay together on one worker (tests/conftest.py)
    assert {line.split(" in 1 file (")[1].split(" ")[0] for line in workers} == {
        "test_layers.py", "test_fair_lock.py"}, run.stdout
