"""Every user-facing word comes from a gettext catalogue, locale/<lang>/LC_MESSAGES/edgebox.po.

The convention: the source names each word by a stable key (the message context, msgctxt, e.g.
``sms.alarm`` or ``web.dashboard``) and gives its English text (the msgid); the Chinese is
the translation in ``locale/zh``. The key keeps two words that are the same in English but
not in Chinese apart (``web.name`` 户主姓名 and ``web.hub_user`` 用户名), and tells a translator
where the word is shown; the English msgid is what translators' tools and ``pybabel`` expect,
and keeps a template's ``{fields}`` in view, so a test can check every translation keeps them.

``N_(key, english)`` only marks a word for ``pybabel extract`` (keyword ``N_:1c,2``, see
babel.cfg); ``word(lang, key, english)`` looks it up. Chinese is the box's first language:
an unknown language is Chinese. English needs no catalogue: its words are the msgids.
The compiled ``.mo`` files are committed beside their ``.po`` (a test keeps them in step), so
the wheel, the Debian package and the firmware image carry them without Babel at build time.
"""
from __future__ import annotations

import gettext
import unicodedata
from functools import lru_cache
from pathlib import Path

DOMAIN = "edgebox"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("zh", "en")
SOURCE_LANGUAGE = "en"


def N_(key: str, english: str) -> tuple[str, str]:
    """Marks ``english`` for extraction under ``key``; returns both for ``table``."""
    return key, english


def table(prefix: str, *entries: tuple[str, str]) -> dict[str, str]:
    """``{name: english}`` from ``N_`` entries whose keys all start with ``prefix``: the
    callers look words up by ``name`` (``render(lang, "alarm")``), the catalogue by key."""
    words: dict[str, str] = {}
    for key, english in entries:
        if not key.startswith(prefix):
            raise ValueError(f"message key {key!r} does not start with {prefix!r}")
        name = key[len(prefix):]
        if name in words:
            raise ValueError(f"message key {key!r} is marked twice")
        words[name] = english
    return words


@lru_cache(maxsize=None)
def catalogue(lang: str) -> gettext.NullTranslations:
    if lang == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang])


def language(lang: str | None) -> str:
    """The language to speak: ``lang`` when edgebox has it, else Chinese."""
    return lang if lang in LANGUAGES else "zh"


def word(lang: str | None, key: str, english: str) -> str:
    """The word ``key`` in ``lang`` (its English text is the msgid)."""
    return catalogue(language(lang)).pgettext(key, english)


def words(lang: str | None, prefix: str, entries: dict[str, str]) -> dict[str, str]:
    """A whole ``table`` in ``lang``: for code that hands a dictionary of words on."""
    return {name: word(lang, prefix + name, english) for name, english in entries.items()}


class Text(str):
    """A message made where the language is not known (a roster problem found while parsing
    a sheet, a phone number refused): a ``str`` holding its English, as logs and exceptions
    want it, that remembers its key and fields so a screen can ``say`` it in its own language.
    ``Text(key, english, **fields)`` is marked for extraction like ``N_`` (``Text:1c,2``)."""

    key: str
    english: str
    fields: dict

    def __new__(cls, key: str, english: str, **fields: object) -> "Text":
        made = super().__new__(cls, english.format(**fields))
        made.key, made.english, made.fields = key, english, fields
        return made

    def say(self, lang: str | None) -> str:
        values = {name: say(value, lang) for name, value in self.fields.items()}
        return word(lang, self.key, self.english).format(**values)

    @classmethod
    def coded(cls, prefix: str, words: dict[str, str], code: str) -> "Text | str":
        """The word for a stored ``code`` from a ``table`` whose keys start with ``prefix``;
        a code the table does not know stays as it is."""
        english = words.get(code)
        return cls(prefix + code, english) if english is not None else code

    def __reduce__(self):
        # copy, deepcopy (dataclasses.asdict) and pickle make a Text again, not a bare str
        return _text, (self.key, self.english, self.fields)


def _text(key: str, english: str, fields: dict) -> Text:
    return Text(key, english, **fields)


class Listed(tuple):
    """Several words as one field of a ``Text`` ("独居老人、残疾" / "alone, disabled"): each said
    in the reader's language, joined as that language lists things."""

    SEPARATORS = {"zh": "、", "en": ", "}
    MARK = {"zh": "{}", "en": "{}"}

    def __str__(self) -> str:
        return self.SEPARATORS["en"].join(str(value) for value in self)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def say(self, lang: str | None) -> str:
        lang = language(lang)
        return self.SEPARATORS[lang].join(self.MARK[lang].format(say(value, lang))
                                          for value in self)


class Either(Listed):
    """Alternatives as one field ("整数或数字" / "a whole number or a number")."""

    SEPARATORS = {"zh": "或", "en": " or "}


class Typed(Listed):
    """Values a technician types exactly as they are (a config key's choices: call, flash):
    the English lists them plain, the Chinese marks each as something to type (`call`、`flash`),
    as the selftest marks keys and commands, so no Latin letters pass for untranslated words."""

    MARK = {"zh": "`{}`", "en": "{}"}


def say(value: object, lang: str | None) -> str:
    """``value`` in ``lang``: a ``Text`` (or ``Listed`` words) in its words, anything else as
    it is."""
    return value.say(lang) if isinstance(value, (Text, Listed)) else str(value)


def message(error: BaseException) -> "Text | str":
    """An exception's message as it was raised: a ``Text`` keeps its words for a screen to say
    later (a selftest result, the status file), anything else is its English."""
    return error.args[0] if error.args and isinstance(error.args[0], Text) else str(error)


def said(error: BaseException, lang: str | None) -> str:
    """An exception's message in ``lang``."""
    return say(message(error), lang)


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: two for a Chinese character, so columns line up."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def padded(text: str, width: int) -> str:
    """``text`` followed by spaces to ``width`` terminal columns."""
    return text + " " * (width - display_width(text))
