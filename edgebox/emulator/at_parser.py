"""Splitting an AT command line into its commands, as V.250 describes it.

One line may carry several commands after a single ``AT``: basic ones run together
(``ATE0V1``) and extended ones separated by ``;`` (``AT+CMGF=0;+CSCS="GSM"``). A dial command
takes the rest of the line, its trailing ``;`` included (that ``;`` means "voice call").
"""
from __future__ import annotations

from dataclasses import dataclass

EXTENDED_PREFIXES = "+^$#*%"

EXEC, READ, TEST, SET = "exec", "read", "test", "set"


class AtSyntaxError(ValueError):
    """The line is not a well-formed command line; real modems answer ERROR."""


@dataclass(frozen=True)
class AtCommand:
    name: str  # upper case: "+CMGS", "^CURC", "E", "&F", "S0", "D"
    form: str  # EXEC, READ ("?"), TEST ("=?") or SET ("=")
    args: str = ""  # raw text after "=", a basic command's number, or the dial string

    def values(self) -> list[str]:
        return split_args(self.args)

    def int_values(self) -> list[int | None]:
        """Numeric parameters; an omitted one (``AT+CMGD=1,``) is None."""
        try:
            return [int(value) if value != "" else None for value in self.values()]
        except ValueError:
            raise AtSyntaxError(f"non-numeric parameter in {self.args!r}") from None


def split_command_line(body: str) -> list[AtCommand]:
    """Parse what follows the ``AT`` prefix."""
    commands = []
    position = 0
    while position < len(body):
        char = body[position]
        if char in " ;":
            position += 1
        elif char in EXTENDED_PREFIXES:
            command, position = _extended(body, position)
            commands.append(command)
        elif char.upper() == "D":
            commands.append(AtCommand("D", EXEC, body[position + 1:].strip()))
            position = len(body)
        elif char.upper() == "S" and position + 1 < len(body) and body[position + 1].isdigit():
            command, position = _s_register(body, position)
            commands.append(command)
        elif char.isalpha() or char == "&":
            command, position = _basic(body, position)
            commands.append(command)
        else:
            raise AtSyntaxError(f"unexpected {char!r} in command line")
    return commands


def _extended(body: str, start: int) -> tuple[AtCommand, int]:
    end = start + 1
    while end < len(body) and (body[end].isalnum() or body[end] in "_&"):
        end += 1
    name = body[start:end].upper()
    if len(name) < 2:
        raise AtSyntaxError("extended command without a name")
    rest = body[end:]
    if rest.startswith("=?"):
        return AtCommand(name, TEST), end + 2
    if rest.startswith("?"):
        return AtCommand(name, READ), end + 1
    if rest.startswith("="):
        args_end = _end_of_arguments(body, end + 1)
        return AtCommand(name, SET, body[end + 1:args_end]), args_end
    return AtCommand(name, EXEC), end


def _end_of_arguments(body: str, start: int) -> int:
    """Index of the ``;`` ending an extended command's arguments (quotes may hold a ``;``)."""
    quoted = False
    for index in range(start, len(body)):
        if body[index] == '"':
            quoted = not quoted
        elif body[index] == ";" and not quoted:
            return index
    if quoted:
        raise AtSyntaxError("unterminated string")
    return len(body)


def _s_register(body: str, start: int) -> tuple[AtCommand, int]:
    end = start + 1
    while end < len(body) and body[end].isdigit():
        end += 1
    name = "S" + body[start + 1:end]
    if body[end:end + 1] == "?":
        return AtCommand(name, READ), end + 1
    if body[end:end + 1] == "=":
        value_end = end + 1
        while value_end < len(body) and body[value_end].isdigit():
            value_end += 1
        return AtCommand(name, SET, body[end + 1:value_end]), value_end
    return AtCommand(name, EXEC), end


def _basic(body: str, start: int) -> tuple[AtCommand, int]:
    end = start + (2 if body[start] == "&" else 1)
    name = body[start:end].upper()
    if not name[-1].isalpha():
        raise AtSyntaxError("'&' must be followed by a letter")
    digits_end = end
    while digits_end < len(body) and body[digits_end].isdigit():
        digits_end += 1
    if body[digits_end:digits_end + 1] == "?":
        return AtCommand(name, READ), digits_end + 1
    return AtCommand(name, EXEC, body[end:digits_end]), digits_end


def split_args(args: str) -> list[str]:
    """Comma-separated parameters with surrounding quotes removed: ``1,"a,b",`` → 1, a,b, ''."""
    if args == "":
        return []
    values, current, quoted = [], [], False
    for char in args:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            values.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if quoted:
        raise AtSyntaxError("unterminated string")
    values.append("".join(current).strip())
    return values
