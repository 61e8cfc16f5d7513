"""Fixtures shared by the daemon tests."""
import resource

import pytest

from edgebox.emulator import EmulatorServer, Latency

# Real networks' timing (2.5-3 s submits with a tail to 15 s, 3.5-7 s call setup, RING every
# 5-6 s, reports seconds later) compressed fifty times: the daemon meets the same shape as in
# the field, and the suite runs as fast as before.
TIME_SCALE = 0.02


@pytest.fixture
def emulator(tmp_path):
    """A generic emulated modem on a pty under tmp_path, with real networks' timing scaled by
    TIME_SCALE (a test module may define its own ``emulator`` fixture for another profile or
    latency)."""
    emulator = EmulatorServer(link=str(tmp_path / "modem"),
                              latency=Latency.realistic(scale=TIME_SCALE))
    emulator.start()
    yield emulator
    emulator.stop()


LIMITS = (resource.RLIMIT_DATA, resource.RLIMIT_AS, resource.RLIMIT_NOFILE)


@pytest.fixture(autouse=True)
def process_limits_kept():
    """A test must leave the test process's limits as it found them: a command run in-process
    that caps its own memory (the web panel does) would otherwise make every later test of
    that worker, and every daemon it starts, fail far from the cause."""
    before = [resource.getrlimit(limit) for limit in LIMITS]
    yield
    after = [resource.getrlimit(limit) for limit in LIMITS]
    if after != before:
        for limit, kept in zip(LIMITS, before):
            try:
                resource.setrlimit(limit, kept)
            except (ValueError, OSError):  # a hard limit only root may raise again
                pass
        pytest.fail(f"the test changed the process's limits: {before} -> {after}")


def pytest_configure(config):
    from tests import progress, worker_times
    progress.attach(config)  # the image build and the QEMU boots say how far they are
    if not hasattr(config, "workerinput"):  # the run's controller (or a run without xdist)
        config.pluginmanager.register(worker_times.WorkerTimes(), "edgebox-worker-times")
    # Known whether or not pytest-xdist is installed (--strict-markers).
    config.addinivalue_line("markers", "xdist_group(name): tests that share one xdist worker")


# In this order on the image's worker: the release files are checked last, once the build's
# compression beside the boots has long ended.
IMAGE_FILES = ("test_firmware_image.py", "test_power_cut.py", "test_firmware_release.py")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (scripts/test) a test file's tests stay together on one worker, in
    their order (several files share a module's box, browser or hub across their tests), and
    the firmware image's files share one group: one build, one QEMU at a time. Workers take
    files in the order collected here: the image's first (the longest of any tests: their worker
    starts on them while the others share the rest), then every file with a test marked slow,
    then the others, so the run ends on short files that even out the workers (in alphabetical
    order a 2-minute file could start last and leave one worker running alone)."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
    items.sort(key=lambda item: (item.path.name not in IMAGE_FILES,
                                 IMAGE_FILES.index(item.path.name)
                                 if item.path.name in IMAGE_FILES else 0,
                                 item.path not in slow_files))
