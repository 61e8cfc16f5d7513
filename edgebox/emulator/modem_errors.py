"""Error result codes of 3GPP TS 27.007 (+CME) and 27.005 (+CMS) that the emulator uses, and the
words AT+CMEE=2 shows for them (AT+CMEE=1: the number; 0: plain ERROR)."""


class CmeError(Exception):
    """A mobile-equipment error; shown as ERROR, +CME ERROR: <n> or text depending on AT+CMEE."""

    def __init__(self, code: int):
        super().__init__(f"+CME ERROR: {code}")
        self.code = code


class CmsError(Exception):
    """A message-service error (SMS commands)."""

    def __init__(self, code: int):
        super().__init__(f"+CMS ERROR: {code}")
        self.code = code


CME_TEXT = {
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    14: "SIM busy",
    21: "invalid index",
    30: "no network service",
    50: "incorrect parameters",
    100: "unknown",
}

CMS_TEXT = {
    302: "operation not allowed",
    303: "operation not supported",
    304: "invalid PDU mode parameter",
    305: "invalid text mode parameter",
    321: "invalid memory index",
    322: "memory full",
    331: "no network service",
    332: "Network timeout",  # worded as SIMCom firmware prints it
    500: "unknown error",
}
