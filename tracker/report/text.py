"""Text that people post, made safe to print in a report and laid out to a width.

Posts hold anything: ``$`` and ``_`` (mathtext, switched off by the renderer's
``text.parse_math = False``), emoji, CJK, right-to-left scripts (matplotlib >= 3.11 shapes
and orders them through libraqm), control characters and URLs hundreds of characters long.
Reports use DejaVu Sans only, the font that ships with matplotlib, so that a report looks
the same on every machine. A character the font has no glyph for would make matplotlib
warn ("Glyph ... missing from font") and print an empty box; we replace it with a visible
white square ourselves, before matplotlib sees it, so rendering stays silent and the
reader can tell something was there (the post's link leads to the original).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from matplotlib import font_manager, ft2font

FONT_FAMILY = "DejaVu Sans"
MISSING_GLYPH = "\u25a1"  # WHITE SQUARE: present in DejaVu Sans
ELLIPSIS = "\u2026"
_WHITESPACE = re.compile(r"\s+")
# U+FEFF (byte order mark / zero-width no-break space) is in DejaVu Sans, yet matplotlib
# 3.11's PDF backend fails on it with "IndexError: string index out of range" in
# _backend_pdf_ps.CharacterTracker.track_glyph (raqm yields a glyph cluster with no
# characters). Checked: it is the only character of the font that fails, in PDF or PNG.
_DROPPED = frozenset("\ufeff")
# Explicit bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069) are dropped: an
# unmatched override in a post would reverse the rest of the printed line. Right-to-left
# scripts still read correctly, because libraqm applies the Unicode bidi algorithm per line.
_DROPPED |= frozenset(chr(code) for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_MEASURE_SIZE = 100.0  # points; advances are measured once at this size and scaled


@lru_cache(maxsize=1)
def _font() -> ft2font.FT2Font:
    # fallback_to_default=False: fail loudly rather than measure with some other font.
    font = ft2font.FT2Font(font_manager.findfont(FONT_FAMILY, fallback_to_default=False))
    font.set_size(_MEASURE_SIZE, 72)
    return font


@lru_cache(maxsize=1)
def _charmap() -> frozenset[int]:
    return frozenset(_font().get_charmap())


@lru_cache(maxsize=4096)
def _advance_em(char: str) -> float:
    glyph = _font().load_char(ord(char), flags=ft2font.LoadFlags.NO_HINTING)
    return glyph.linearHoriAdvance / 65536 / _MEASURE_SIZE


def printable(text: str | None) -> str:
    """One line of text the report font can print as written.

    Line breaks and other white space become single spaces; control and format characters
    the font lacks are dropped (they have no visible form); any other character the font
    lacks becomes a white square.
    """
    if not text:
        return ""
    charmap = _charmap()
    out: list[str] = []
    # Control characters (NUL, BEL, ...) separate words like white space does.
    text = "".join(" " if unicodedata.category(char) == "Cc" else char for char in text)
    for char in _WHITESPACE.sub(" ", text):
        if char in _DROPPED:
            continue
        if ord(char) in charmap:
            out.append(char)
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Mn", "Me"):
            # Invisible, or a combining mark that would only add a stray box to its base.
            continue
        else:
            out.append(MISSING_GLYPH)
    return "".join(out).strip()


def plain_line(text: str | None) -> str:
    """One line of plain text (an email body): control characters, line breaks and bidi
    controls removed, white space collapsed. Unlike ``printable`` it keeps every visible
    character, since the mail reader's fonts are not ours."""
    if not text:
        return ""
    text = "".join(" " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in text)
    return _WHITESPACE.sub(" ", "".join(char for char in text if char not in _DROPPED)).strip()


def text_width(text: str, size: float) -> float:
    """Width of ``text`` in points at ``size`` (sum of advances, no kerning: a close upper bound)."""
    return sum(_advance_em(char) for char in text) * size


def truncate(text: str, width: float, size: float) -> str:
    """``text`` cut to ``width`` points with an ellipsis when it does not fit."""
    if text_width(text, size) <= width:
        return text
    limit = width - text_width(ELLIPSIS, size)
    used = 0.0
    for position, char in enumerate(text):
        used += _advance_em(char) * size
        if used > limit:
            return text[:position].rstrip() + ELLIPSIS
    return text


def _break_word(word: str, width: float, size: float) -> list[str]:
    pieces, current, used = [], "", 0.0
    for char in word:
        advance = _advance_em(char) * size
        if current and used + advance > width:
            pieces.append(current)
            current, used = "", 0.0
        current += char
        used += advance
    if current:
        pieces.append(current)
    return pieces


def wrap(text: str, width: float, size: float, max_lines: int) -> list[str]:
    """Greedy word wrap to ``width`` points; words longer than a line (URLs) are split.

    At most ``max_lines`` lines; the last one ends with an ellipsis when text was cut.
    """
    space = _advance_em(" ") * size
    lines: list[str] = []
    current, used = "", 0.0
    for word in text.split(" "):
        if not word:
            continue
        word_width = text_width(word, size)
        if current and used + space + word_width <= width:
            current, used = f"{current} {word}", used + space + word_width
            continue
        if current:
            lines.append(current)
        if word_width <= width:
            current, used = word, word_width
        else:
            *full, current = _break_word(word, width, size)
            lines += full
            used = text_width(current, size)
        if len(lines) > max_lines:
            break
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        # Either the ellipsis fits after the last word, or truncate() cuts and adds one.
        lines[-1] = truncate(lines[-1] + " " + ELLIPSIS, width, size)
    return lines
