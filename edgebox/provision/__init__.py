"""Provisioning: one ``edgebox.txt`` on the SD card's FAT partition becomes the box's config.

    fields.py     every key a technician may set: its help text, check and config target
    textfile.py   reading the KEY=value file as Notepad saves it (BOM, CRLF, GBK), masking secrets
    generate.py   checked values -> the TOML config the daemon reads
    apply.py      the boot-time step: validate, write atomically, keep the old settings on error
    status.py     edgebox-status.txt, and the problems it names, Chinese then English
    template.py   the self-documenting blank file shipped on the card

A file with any bad line changes nothing: the box keeps its previous settings, and the problem
is reported with its line number (in the log and in ``edgebox-status.txt`` beside the file).
"""
from edgebox.errors import EdgeboxError


class ProvisionError(EdgeboxError):
    """edgebox.txt cannot be applied; ``problems`` name the lines."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems) if problems else "edgebox.txt is invalid")
        self.problems = list(problems)
