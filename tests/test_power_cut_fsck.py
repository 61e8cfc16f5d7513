"""The power-cut test's reading of e2fsck: what it repaired, from the output CI printed."""
from tests.test_power_cut import SUMMARY_COUNT, e2fsck_repairs

OUTPUT = """EDGEDATA: recovering journal
Pass 1: Checking inodes, blocks, and sizes
Inode 64 extent tree (at level 1) could be shorter.  Optimize? yes

Pass 1E: Optimizing extent trees
Pass 2: Checking directory structure
Pass 3: Checking directory connectivity
Pass 4: Checking reference counts
Pass 5: Checking group summary information
Free blocks count wrong (352833, counted=353064).
Fix? yes

Inode bitmap differences:  -(8195--8196)
Fix? yes

Entry 'wal' in / (2) has deleted/unused inode 13.  Clear? yes
"""


def test_each_repair_is_read_as_its_own_question():
    repairs = e2fsck_repairs(OUTPUT.splitlines())
    assert repairs == [
        "Inode 64 extent tree (at level 1) could be shorter.  Optimize? yes",
        "Free blocks count wrong (352833, counted=353064).",
        "Inode bitmap differences:  -(8195--8196)",
        "Entry 'wal' in / (2) has deleted/unused inode 13.  Clear? yes",
    ]
    # only the superblock's free totals are forgiven: the rest is damage to the test
    assert [r for r in repairs if not SUMMARY_COUNT.fullmatch(r)] == [
        repairs[0], repairs[2], repairs[3]]
