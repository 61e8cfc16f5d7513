"""The SMS-DELIVER encoder and SMS-SUBMIT decoder, checked against python-gsmmodem-new."""
import pytest
from emu_support import FIXED_TIME
from gsmmodem.pdu import decodeSmsPdu, encodeSmsSubmitPdu
from hypothesis import given, settings
from hypothesis import strategies as st

from edgebox.emulator.sms_codec import (GSM7, UCS2, SmsCodecError, decode_submit_pdu,
                                        encode_deliver_pdus, split_text, text_mode_timestamp)
from edgebox.emulator.sms_store import SubmitAssembler

SMSC = "+8613800100500"


def decode_all(pdus):
    decoded = [decodeSmsPdu(pdu.hex) for pdu in pdus]
    text = "".join(d["text"] for d in decoded)
    return decoded, text.encode("utf-16-be", "surrogatepass").decode("utf-16-be")


@pytest.mark.parametrize("text, parts", [
    ("hello", 1), ("a" * 160, 1), ("a" * 161, 2), ("{}" * 70, 2), ("张三家着火了，请速来！", 1),
    ("张" * 70, 1), ("张" * 71, 2), ("张" * 150, 3), ("🔥" * 40, 2)])
def test_deliver_pdus_decode_back_to_the_text(text, parts):
    pdus = encode_deliver_pdus("+8613800138000", text, FIXED_TIME, SMSC, concat_reference=42)
    decoded, joined = decode_all(pdus)
    assert len(pdus) == parts and joined == text
    for index, (pdu, fields) in enumerate(zip(pdus, decoded), start=1):
        assert fields["type"] == "SMS-DELIVER" and fields["number"] == "+8613800138000"
        assert fields["smsc"] == SMSC and fields["time"] == FIXED_TIME
        assert fields["tpdu_length"] == pdu.tpdu_length
        if parts > 1:
            (concat,) = fields["udh"]
            assert (concat.reference, concat.parts, concat.number) == (42, parts, index)


def test_encoding_choice():
    assert encode_deliver_pdus("10086", "hi", FIXED_TIME, SMSC)[0].encoding == GSM7
    assert encode_deliver_pdus("10086", "hi 你", FIXED_TIME, SMSC)[0].encoding == UCS2


def test_split_never_cuts_an_escape_or_a_surrogate_pair():
    assert all(len(part) <= 153 for part in split_text("€" * 100, GSM7))  # € takes two septets
    parts = split_text("a" + "🔥" * 40, UCS2)
    assert "".join(parts) == "a" + "🔥" * 40
    assert all(len(p.encode("utf-16-be")) <= 134 for p in parts)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=400))
def test_any_text_survives_delivery(text):
    _, joined = decode_all(encode_deliver_pdus("13800138000", text, FIXED_TIME, SMSC))
    assert joined == text


def test_submit_decoding_and_reassembly():
    text = "村口起火，所有人带灭火器到村口集合！" * 5
    pdus = encodeSmsSubmitPdu("+8613800138000", text, reference=7)
    assembler = SubmitAssembler()
    results = [assembler.add(decode_submit_pdu(str(pdu)), reference) for reference, pdu in enumerate(pdus)]
    assert results[:-1] == [None] * (len(pdus) - 1)
    message = results[-1]
    assert (message.number, message.text, message.parts, message.encoding) == (
        "+8613800138000", text, len(pdus), UCS2)


def test_submit_ascii_sent_as_ucs2_is_reported_as_ucs2():
    # gammu -unicode sends even plain text as UCS2; the DCS, not the text, tells the encoding.
    pdu = "0001000D91683108108300F000080A00680065006C006C006F"
    part = decode_submit_pdu(pdu)
    assert (part.text, part.encoding, part.number) == ("hello", UCS2, "+8613800138000")


def test_garbage_is_a_codec_error():
    with pytest.raises(SmsCodecError):
        decode_submit_pdu("00FF")


def test_text_mode_timestamp():
    assert text_mode_timestamp(FIXED_TIME) == "24/11/23,08:33:00+32"


@pytest.mark.parametrize("text", ["ÿ", "a\x1bb"])
def test_characters_gsmmodem_mishandles_go_as_ucs2(text):
    (pdu,) = encode_deliver_pdus("10086", text, FIXED_TIME, SMSC)
    assert pdu.encoding == UCS2 and decode_all([pdu])[1] == text
