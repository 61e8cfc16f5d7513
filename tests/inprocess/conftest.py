"""The ``village`` fixture: start a Village (tests/inprocess/village.py) on demand, with the
settings, ladder and sheet the test asks for; stopped afterwards."""
import pytest

from tests.inprocess.village import Village


@pytest.fixture
def village(tmp_path):
    villages = []

    def make(**kwargs) -> Village:
        where = tmp_path / f"box{len(villages)}"
        where.mkdir()
        made = Village(where, **kwargs)
        villages.append(made)
        return made.start()
    yield make
    for made in villages:
        made.stop()
