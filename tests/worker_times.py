"""Where a parallel run's time went: each pytest-xdist worker's span and its longest files.

The whole suite takes as long as its busiest worker. At the end of a `scripts/test` run (on the
controller, which sees every worker's reports) one line per worker says how long it was busy,
from its first test's start to its last test's end, and which test files took that time, so a
file that has grown too big for the balance shows in every CI log.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass, field

SHOWN_FILES = 4  # per worker, the longest ones


@dataclass
class Worker:
    first_start: float = float("inf")
    last_stop: float = 0.0
    files: collections.Counter = field(default_factory=collections.Counter)

    def add(self, path: str, start: float, stop: float, duration: float) -> None:
        self.first_start = min(self.first_start, start)
        self.last_stop = max(self.last_stop, stop)
        self.files[path] += duration

    @property
    def span(self) -> float:
        return self.last_stop - self.first_start


class WorkerTimes:
    """A pytest plugin: collects the reports the workers send and prints the summary."""

    def __init__(self):
        self.workers: dict[str, Worker] = collections.defaultdict(Worker)

    def pytest_runtest_logreport(self, report) -> None:
        node = getattr(report, "node", None)  # set by pytest-xdist on the controller only
        if node is None:
            return
        path = report.nodeid.split("::", 1)[0]
        self.workers[node.gateway.id].add(path, report.start, report.stop, report.duration)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        lines = summary(self.workers)
        if lines:
            terminalreporter.write_sep("=", "time per worker")
            for line in lines:
                terminalreporter.write_line(line)


def summary(workers: dict[str, Worker]) -> list[str]:
    """One line per worker, the busiest first: its span, the time its tests took, its files."""
    lines = []
    for name, worker in sorted(workers.items(), key=lambda item: -item[1].span):
        busy = sum(worker.files.values())
        longest = [f"{path.removeprefix('tests/')} {seconds:.0f} s"
                   for path, seconds in worker.files.most_common(SHOWN_FILES)]
        more = len(worker.files) - len(longest)
        longest += [f"{more} more"] if more else []
        lines.append(f"{name}: {worker.span:.0f} s from its first test to its last, tests "
                     f"{busy:.0f} s in {len(worker.files)} file{'s' * (len(worker.files) != 1)} "
                     f"({', '.join(longest)})")
    return lines
