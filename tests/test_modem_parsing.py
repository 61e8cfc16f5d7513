"""Pure parsing of what modems answer: health, dialects, reassembly, the clock policy."""
from datetime import datetime, timedelta, timezone

import pytest

from edgebox import __built__
from edgebox.adapters.modem import readings, ussd
from edgebox.adapters.modem.boot_lines import is_boot_line
from edgebox.adapters.modem.dialect import detect, dtmf_digit
from edgebox.adapters.modem.multipart import Reassembler
from edgebox.domain.clock import clock_decision


def test_signal_and_unknown_signal():
    assert readings.signal(["+CSQ: 17,99", "OK"]) == 17
    assert readings.signal(["+CSQ: 99,99", "OK"]) is None
    assert readings.signal(["ERROR"]) is None


def test_registration_2g_and_4g_and_the_better_of_both():
    creg = readings.registration(["+CREG: 0,1", "OK"])
    cereg = readings.registration(["+CEREG: 0,5", "OK"])
    assert creg == ("home", "2G") and cereg == ("roaming", "4G")
    # a 4G module: not registered on 2G/3G, registered on LTE
    lte_only = readings.best_registration(readings.registration(["+CREG: 0,0"]), cereg)
    assert lte_only == ("roaming", "4G")
    assert readings.best_registration(None, None) is None
    assert readings.best_registration(("searching", "2G"), None) == ("searching", "2G")


def test_sim_operator_and_network_time():
    assert readings.sim_state(["+CPIN: READY", "OK"]) == "READY"
    assert readings.sim_state(["+CPIN: SIM PIN"]) == "SIM PIN"
    assert readings.operator(['+COPS: 0,0,"CHINA MOBILE",7', "OK"]) == "CHINA MOBILE"
    assert readings.operator(["+COPS: 0", "OK"]) is None
    # 08:30 local at UTC+8 (32 quarter hours) is 00:30 UTC
    assert readings.network_time(['+CCLK: "26/11/23,08:30:00+32"']) == datetime(
        2026, 11, 23, 0, 30, tzinfo=timezone.utc)
    assert readings.network_time(['+CCLK: "26/13/45,99:00:00+32"']) is None


def test_ussd_in_ucs2_and_plain_and_the_balance_in_it():
    chinese = "尊敬的客户，您的账户余额为12.50元。"
    line = f'+CUSD: 0,"{chinese.encode("utf-16-be").hex().upper()}",72'
    assert ussd.decode(line) == chinese
    assert readings.balance(chinese) == 12.5
    assert ussd.decode('+CUSD: 0,"Your balance is 3.20 yuan",15') == \
        "Your balance is 3.20 yuan"
    assert readings.balance("Your balance is 3.20 yuan") == 3.2
    assert readings.balance("余额：-1.5元") == -1.5
    assert readings.balance("no figures here") is None
    assert ussd.decode("+CUSD: 2") is None


@pytest.mark.parametrize("maker,model,family,dtmf,tts,audio", [
    ("SIMCOM INCORPORATED", "SIMCOM_SIM7600G-H", "simcom", "AT+DDET=1", "AT+CTTS", "ccmxplay"),
    ("SIMCOM INCORPORATED", "A7670E-FASE", "simcom", "AT+DDET=1", "AT+CTTS", "ccmxplay"),
    ("SIMCOM_Ltd", "SIMCOM_SIM800L", "simcom", "AT+DDET=1", None, "crec"),
    ("Quectel", "EC25", "quectel", "AT+QTONEDET=1", "AT+QTTS", "qpsnd"),
    ("edgebox", "EMU-1", "generic", "AT+DDET=1", "AT+CTTS", None),
    ("huawei", "E3531", "huawei", None, None, "pcm_port"),
])
def test_dialects(maker, model, family, dtmf, tts, audio):
    dialect = detect(maker, model)
    assert (dialect.family, dialect.dtmf_enable, dialect.tts_command, dialect.audio) == (
        family, dtmf, tts, audio)
    if tts:
        assert dialect.speak("请按1") == f'{tts}=1,"8BF763090031"'  # UCS-2, big-endian hex


@pytest.mark.parametrize("maker, nitz, packed", [
    ("SIMCOM_Ltd", ("AT+CLTS=1",), False), ("Quectel", ("AT+CTZU=3",), False),
    ("huawei", ("AT+CTZU=1",), True), ("edgebox", ("AT+CTZU=1", "AT+CLTS=1"), False)])
def test_network_time_and_ussd_per_dialect(maker, nitz, packed):
    dialect = detect(maker, "")
    assert (dialect.nitz_commands, dialect.ussd_packed) == (nitz, packed)


def test_dtmf_reports_of_every_family():
    assert dtmf_digit("+DTMF: 1") == "1"
    assert dtmf_digit("^DDTMF: 1") == "1"  # Huawei (ModemManager's mm-call-huawei.c)
    assert dtmf_digit("^DDTMF:#") == "#"
    assert dtmf_digit("^DDTMF: x") is None
    assert dtmf_digit("+DTMF:#") == "#"
    assert dtmf_digit("+QTONEDET: 49") == "1"
    assert dtmf_digit("+QTONEDET: 3") is None
    assert dtmf_digit("+CSQ: 1,2") is None


class Part:
    def __init__(self, reference, parts, number):
        self.reference, self.parts, self.number = reference, parts, number


def test_multipart_sms_is_reassembled_in_order_and_interleaved_senders_kept_apart():
    r = Reassembler(give_up_seconds=60)
    assert r.add("+861", "一二", None, 0) == [("+861", "一二")]
    assert r.add("+861", "C", Part(7, 3, 3), 1) == []
    assert r.add("+862", "x", Part(7, 2, 1), 1) == []
    assert r.add("+861", "A", Part(7, 3, 1), 2) == []
    assert r.add("+861", "B", Part(7, 3, 2), 3) == [("+861", "ABC")]
    assert r.add("+862", "y", Part(7, 2, 2), 4) == [("+862", "xy")]


def test_incomplete_multipart_is_handed_on_rather_than_lost():
    r = Reassembler(give_up_seconds=60)
    r.add("+861", "A", Part(9, 3, 1), 0)
    r.add("+861", "C", Part(9, 3, 3), 1)
    assert r.expired(59) == []
    assert r.add("+863", "hi", None, 61) == [("+863", "hi"), ("+861", "AC")]


NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("system,network,limit,action", [
    (NOW, None, 0, "keep"),
    (NOW, NOW + timedelta(seconds=10), 0, "keep"),
    (NOW, NOW + timedelta(minutes=5), 0, "set"),
    (datetime(2020, 1, 1, tzinfo=timezone.utc), NOW, 1, "set"),  # unset clock: any jump
    (NOW, NOW + timedelta(days=3), 24, "keep"),  # a jump beyond the limit is not trusted
    (NOW, datetime(2000, 1, 1, tzinfo=timezone.utc), 0, "keep"),  # a cell sending 2000-01-01
])
def test_clock_policy(system, network, limit, action):
    assert clock_decision(system, network, __built__, limit)[0] == action


BALANCE_ZH = "尊敬的客户，您的账户余额为3.20元。"
BALANCE_HEX = BALANCE_ZH.encode("utf-16-be").hex().upper()


@pytest.mark.parametrize("line, packed, text", [
    (f'+CUSD: 0,"{BALANCE_HEX}",72', False, BALANCE_ZH),           # UCS-2, dcs 72
    (f'+CUSD: 0,"{BALANCE_HEX}",15', False, BALANCE_ZH),           # UCS-2 hex under AT+CSCS="UCS2"
    (f'+CUSD: 1,"{BALANCE_HEX}",17', False, BALANCE_ZH),           # UCS-2 with language (0x11)
    ('+CUSD: 0,"Balance 3.20 yuan",15', False, "Balance 3.20 yuan"),  # plain, dcs 15
    ('+CUSD: 0,"C2303BEC1E974133970C06CAD7C36E",15', True, "Balance 3.20 yuan"),  # Huawei packed
    ('+CUSD: 0,"C2303BEC1E974133970C06CAD7C36E",15', False, "Balance 3.20 yuan"),  # undetected
    ('+CUSD: 0,"1234",15', False, "1234"),                          # hex-looking plain text
    ('+CUSD: 0,"31D98C56B3DD00",15', True, "1234567"),              # 7 chars: filling, no "@"
])
def test_ussd_in_every_encoding(line, packed, text):
    assert ussd.decode(line, packed) == text


CYRILLIC_HEX = "Баланс 12.50 руб.".encode("utf-16-be").hex().upper()
HUNGARIAN_HEX = "Feltöltött egyenleg: 7777Ft".encode("utf-16-be").hex().upper()
ARABIC_HEX = "رصيدك 107.93 د.ل".encode("utf-16-be").hex().upper()


@pytest.mark.parametrize("line, packed, text", [
    # dcs 72 names UCS-2: decoded whatever the script (gammu issue #109, Huawei E3276, Russian)
    (f'+CUSD: 0,"{CYRILLIC_HEX}",72', False, "Баланс 12.50 руб."),
    # UCS-2 hex behind dcs 15 in Latin-1 letters (gammu issue #358, Quectel M35, Hungarian)
    (f'+CUSD: 2,"{HUNGARIAN_HEX}",15', False, "Feltöltött egyenleg: 7777Ft"),
    # dcs 17: "ar" as two packed septets (6139), the text, U+0000, filler (gammu issue #377)
    (f'+CUSD: 2,"6139{ARABIC_HEX}0000FFFF60B16260EEEE",17', False, "رصيدك 107.93 د.ل"),
    # Huawei E160: packed hex with neither quotes nor dcs (gammu tests/at-ussd/01-E160.dump)
    ('+CUSD: 0, C2303BEC1E974133970C06CAD7C36E', True, "Balance 3.20 yuan"),
    ('+CUSD: 0, C2303BEC1E974133970C06CAD7C36E,15', True, "Balance 3.20 yuan"),
    ('+CUSD: 0,Balance 3.20 yuan', False, "Balance 3.20 yuan"),  # bare text: every word
    (f'+CUSD: 2,"{HUNGARIAN_HEX}",15', True, "Feltöltött egyenleg: 7777Ft"),  # UCS2 on a Huawei
])
def test_ussd_forms_real_modems_send(line, packed, text):
    assert ussd.decode(line, packed) == text


def test_ussd_requests_are_packed_for_huawei_only():
    assert ussd.request("*100#", packed=True) == "AA180C3602"
    assert ussd.request("*100#", packed=False) == "*100#"
    assert ussd.alphabet(72) == "ucs2" and ussd.alphabet(15) == "gsm7" and ussd.alphabet(0x44) == "8bit"


@pytest.mark.parametrize("line, pending, boot", [
    ("RDY", None, True), ("UNDER-VOLTAGE POWER DOWN", None, True), ("SMS Ready", "AT+CGMI", True),
    ("UNDER-VOLTAGE POWER OFF", None, True), ("UNDER_VOLTAGE POWER DOWN", None, True),
    ("UNDER-VOLTAGE WARNNING", None, False),
    ("+QIND: SMS DONE", "AT+CGMM", True), ("+CPIN: READY", None, True),
    ("+CPIN: READY", "AT+CPIN?", False), ("+CFUN: 1", "AT+CFUN?", False),
    ("+QIND: \"csq\",20,99", None, False), ("Quectel", "AT+CGMI", False)])
def test_boot_lines_and_the_answers_that_look_like_them(line, pending, boot):
    assert is_boot_line(line, pending) is boot


def test_a_module_rtc_at_its_epoch_is_read_in_its_own_century():
    [when] = [readings.network_time(['+CCLK: "80/01/06,00:00:12+00"'])]
    assert when.year == 1980


@pytest.mark.parametrize("clip, cnmi, off", [
    (["+CLIP: 1,1"], ["+CNMI: 2,1,0,1,0"], []),                           # kept
    (["AT+CLIP?", "+CLIP: 0,1"], ["AT+CNMI?", "+CNMI: 0,0,0,0,0"], ["echo", "clip", "cnmi"]),
    (["+CLIP: 1,1"], ["+CNMI: 2,1,0,0,0"], ["cnmi"]),                     # reports not routed
])
def test_settings_a_restart_resets(clip, cnmi, off):
    assert readings.settings_off(clip, cnmi, "2,1,0,1,0") == off
