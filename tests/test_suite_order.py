"""The order pytest-xdist's workers take the files in (tests/conftest.py): the image's group
first, then the files with slow tests, then the rest, each file's tests together and in order."""
from pathlib import Path

from tests.conftest import pytest_collection_modifyitems


class Item:
    """As much of a collected test as the ordering reads and writes."""

    def __init__(self, path: str, name: str, *marks: str):
        self.path, self.name, self.marks = Path(path), name, set(marks)
        self.groups = []

    def get_closest_marker(self, name):
        return name if name in self.marks or (name == "xdist_group" and self.groups) else None

    def add_marker(self, mark):
        self.groups.append(mark.args[0])


def test_the_image_then_slow_files_then_the_rest_each_file_together():
    items = [Item("tests/test_firmware_release.py", "x1", "slow", "xdist_group"),
             Item("tests/test_alarm_acks.py", "a1", "slow"),
             Item("tests/test_alarm_acks.py", "a2", "slow"),
             Item("tests/test_config.py", "c1"),
             Item("tests/test_firmware_image.py", "f1", "slow", "xdist_group"),
             Item("tests/test_roster_csv.py", "r1"),
             Item("tests/test_transcripts.py", "t1"),  # one slow test makes a slow file
             Item("tests/test_transcripts.py", "t2", "slow"),
             Item("tests/test_power_cut.py", "p1", "slow", "xdist_group")]
    pytest_collection_modifyitems(None, items)
    # the image's release files last of its group: their compression runs beside the boots
    assert [item.name for item in items] == ["f1", "p1", "x1", "a1", "a2", "t1", "t2", "c1",
                                             "r1"]
    # each file its own group, unless it has one (the image's files share theirs)
    assert [item.groups for item in items[3:]] == [
        ["test_alarm_acks"], ["test_alarm_acks"], ["test_transcripts"], ["test_transcripts"],
        ["test_config"], ["test_roster_csv"]]

