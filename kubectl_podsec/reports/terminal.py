"""Colour on a terminal: whether to use it, and the painter the text renderers take."""

from __future__ import annotations

import os
from typing import Callable

# paint(text, colour), colour being "green", "yellow", "red" or "bold".
Paint = Callable[[str, str], str]


def wants_colour(stream: object, mode: str = "auto") -> bool:
    """--color always|never wins; then NO_COLOR (off), FORCE_COLOR (on, unless 0), TERM=dumb
    (off), and last whether the stream is a terminal."""
    if mode != "auto":
        return mode == "always"
    if os.environ.get("NO_COLOR"):
        return False
    force = os.environ.get("FORCE_COLOR")
    if force is not None and force != "":
        return force not in ("0", "false")
    if os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def plain(text: str, colour: str) -> str:
    """The painter when colour is off."""
    return text


def painter(stream: object, mode: str = "auto") -> Paint:
    """`paint(text, colour)` for "green", "yellow", "red" or "bold"; plain when colour is off."""
    if not wants_colour(stream, mode):
        return plain
    import colorama

    if hasattr(colorama, "just_fix_windows_console"):
        colorama.just_fix_windows_console()
    codes = {"green": colorama.Fore.GREEN, "yellow": colorama.Fore.YELLOW, "red": colorama.Fore.RED,
             "bold": colorama.Style.BRIGHT}
    return lambda text, colour: f"{codes[colour]}{text}{colorama.Style.RESET_ALL}"


def colour_diff(text: str, paint: Paint) -> str:
    if paint is plain:
        return text  # each line painted plain is the line
    colours = (("+++", "bold"), ("---", "bold"), ("diff ", "bold"), ("+", "green"), ("-", "red"), ("@@", "yellow"))
    out = []
    for line in text.splitlines(True):
        colour = next((c for prefix, c in colours if line.startswith(prefix)), None)
        body = line.rstrip("\r\n")
        out.append(paint(body, colour) + line[len(body):] if colour and body else line)
    return "".join(out)
