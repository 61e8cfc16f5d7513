"""The image's release files: the .img.xz a technician flashes and its .sha256.

The build hands the tests the card image as soon as it is whole and compresses it for release
beside the boots (tests/qemu_box.py); this file runs last of the image's group, by when the
compression is long done, and checks that the build ended well and the checksum matches.
"""
import pytest

from tests.qemu_box import build_image, check_release

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("image")]


def test_the_release_files_are_whole():
    build_image()  # the group's build (or, run alone, its own)
    check_release()
