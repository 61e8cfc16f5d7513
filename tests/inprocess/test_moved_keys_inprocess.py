"""A box upgraded with its old config file: a key that moved into [[modems]] is still read, the
daemon says at start what to change, and the alarms go out as always."""
import logging

from tests.support import LI, LI_2, LIU, WANG, ZHANG


def test_the_old_call_audio_port_is_logged_at_start_and_alarms_still_go_out(village, caplog):
    with caplog.at_level(logging.WARNING, logger="edgebox"):
        box = village(settings={"speaker": {"call_audio_port": "/dev/ttyUSB4"}})
    [notice] = [record.getMessage() for record in caplog.records
                if "speaker.call_audio_port" in record.getMessage()]
    assert "audio_port" in notice and "[[modems]]" in notice and "m1" in notice
    assert box.config.modems[0].audio_port == "/dev/ttyUSB4"
    box.call("H03")
    box.wait_idle()
    assert all(len(box.texts(phone)) == 1 for phone in (WANG, LI, LI_2, LIU, ZHANG))
