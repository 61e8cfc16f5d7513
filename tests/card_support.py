"""edgebox.txt files a technician can get wrong, shared by the provisioning and language tests."""
from edgebox.provision.fields import FIELDS

# One bad line for every check of edgebox/provision/fields.py, then the file's own mistakes: a
# key misspelt, a line with no '=', a key set twice, a key nobody knows.
EVERY_MISTAKE = """BOX_ID=石桥 01
LANGUAGE=klingon
OFFICE_NUMBERS=138001
ESCALATION_NUMBERS=12ab
SIREN_PIN=forty
SIREN_ACTIVE=on
SIREN_SECONDS=9999
MODEM_PORT=COM3
SIM_PIN=12ab
APN=cm net
UPLOAD_URL=ftp://x
UPLOAD_TOKEN=short
PANEL_PASSWORD=pw
SSH_KEY=hello
TIMEZONE=Mars/Olympus
SIRENPIN=17
just some words
LANGUAGE=zh
FOO=1
"""
EVERY_MISTAKE_COUNT = 19  # one problem a line

# What is missing: the required keys left out, a masked secret never applied, a platform
# address without its token.
NOTHING_GIVEN = "SIM_PIN=********\nUPLOAD_URL=https://hub.example.cn\n"
NOTHING_GIVEN_COUNT = 4

# What the technician typed, named back in a problem as typed (not words to translate).
TYPED = {"klingon", "ab", "forty", "on", "COM", "cm", "net", "ftp", "short", "pw", "hello",
         "Mars", "Olympus", "SIRENPIN", "just", "some", "words", "FOO"}
# The keys of edgebox.txt, named in a problem as in the file (BOX_ID, SIREN_PIN …).
KEY_WORDS = {word for field in FIELDS for word in field.name.split("_")}
