"""Phone numbers as villagers and modems write them all become one E.164 string."""
import pytest

from edgebox.domain.phones import PhoneNumberError, display, normalise, normalise_caller


@pytest.mark.parametrize("typed, e164", [
    ("13800138000", "+8613800138000"),
    ("138 0013 8000", "+8613800138000"),
    ("138-0013-8000", "+8613800138000"),
    ("+86 138 0013 8000", "+8613800138000"),
    ("＋86 138 0013 8000", "+8613800138000"),
    ("0086 13800138000", "+8613800138000"),
    ("１３８００１３８０００", "+8613800138000"),
    ("  13800138000\u3000", "+8613800138000"),
    ("010-12345678", "+861012345678"),
    ("(010)12345678", "+861012345678"),
    ("0571-88886666", "+8657188886666"),
    ("+852 9123 4567", "+85291234567"),
])
def test_typed_forms_normalise_to_e164(typed, e164):
    assert normalise(typed) == e164


@pytest.mark.parametrize("garbage", [
    "", "   ", "abc", "138-abcd-8000", "tel", "1.38001E+10", "138001", "1380013800",
    "138001380001", "12345", "1" * 20, "+86",
])
def test_garbage_and_wrong_lengths_raise(garbage):
    with pytest.raises(PhoneNumberError):
        normalise(garbage)


def test_none_raises():
    with pytest.raises(PhoneNumberError):
        normalise(None)


def test_error_names_the_input():
    with pytest.raises(PhoneNumberError, match="138001"):
        normalise("138001")


def test_region_decides_numbers_without_country_code():
    assert normalise("91234567", region="HK") == "+85291234567"


@pytest.mark.parametrize("digits, ton, e164", [
    ("13800138000", 129, "+8613800138000"),
    ("+8613800138000", 145, "+8613800138000"),
    ("8613800138000", 145, "+8613800138000"),
    ("01012345678", 129, "+861012345678"),
])
def test_caller_id_from_modem(digits, ton, e164):
    assert normalise_caller(digits, ton) == e164


@pytest.mark.parametrize("digits, ton", [
    (None, None), ("", 129), ("", 145), ("Restricted", 128), ("withheld", 129),
])
def test_caller_id_empty_or_withheld_is_none(digits, ton):
    assert normalise_caller(digits, ton) is None


def test_display_is_the_national_form():
    assert display("+8613800138000") == "138 0013 8000"
    assert display("+861012345678") == "010 1234 5678"
    assert display("not a number") == "not a number"
