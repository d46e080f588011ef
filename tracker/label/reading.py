"""Reading a post for the rules and the model: text preparation that keeps offsets, the
question and critical cues of a post by someone else, evidence spans, and the input check.

Every step of ``prepare`` keeps the text's length, so an offset found in the prepared text is
an offset in the original: evidence always points at the words a person wrote.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tracker.domain import POST_KINDS
from tracker.errors import InputError

KINDS = POST_KINDS


@dataclass(frozen=True)
class Evidence:
    """Why a rule fired: rule id, the matched span and which text it is in."""

    rule: str
    text: str
    start: int | None
    end: int | None
    source: str = "post"  # "post" | "parent" | "quoted" | "structure"


@dataclass(frozen=True)
class Label:
    name: str
    confidence: float
    evidence: tuple[Evidence, ...]


class _Gated:
    """A pattern that only runs when the text contains one of ``needs``: literals that every
    match contains. ``in`` on a string costs a tenth of a search with a long alternation,
    and most posts contain none of a rule's words (20,000 posts/s on one core is the aim)."""

    __slots__ = ("pattern", "needs")

    def __init__(self, pattern: re.Pattern[str], needs: tuple[str, ...]) -> None:
        self.pattern = pattern
        self.needs = needs

    def search(self, work: str) -> re.Match[str] | None:
        for need in self.needs:
            if need in work:
                return self.pattern.search(work)
        return None


def rx(pattern: str, needs: tuple[str, ...] = ()) -> Any:
    # Patterns are lowercase and run on lowercased text: about 2.5x faster than
    # re.IGNORECASE, which matters at tens of thousands of posts per second.
    compiled = re.compile(pattern)
    return _Gated(compiled, needs) if needs else compiled


# --- text preparation (every step keeps the length, so offsets stay valid) -------------
_ENTITY = rx(r"&(?:#\d{1,7}|#x[0-9a-f]{1,6}|[a-z]{2,8});")
_URL = rx(r"https?://\S+|\bwww\.\S+")
_LEADING_MENTIONS = rx(r"^(?:\s*\.?@\w+[,:]?)+")
QUOTED_SPEECH = re.compile(r'"[^"\n]{1,300}"')
# Manual retweets ('RT @user: ...', '"@user: ..."') carry someone else's words.
MANUAL_RT = re.compile(r'^\s*(?:rt\s+@\w+|"@\w+:[^"]*(?:"|$))')
_SAME_LENGTH = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                              "\u00a0": " ", "\u2013": "-", "\u2014": "-", "\u2026": "."})
WORD = rx(r"[a-z0-9][a-z0-9'$%.,/-]*")


def blank(match: re.Match[str]) -> str:
    return " " * (match.end() - match.start())


def _unescape(match: re.Match[str]) -> str:
    raw = match.group()
    plain = html.unescape(raw)
    # "&amp;" -> "&    ": padded so the text keeps its length and offsets.
    return plain + " " * (len(raw) - len(plain)) if len(plain) <= len(raw) else raw


@lru_cache(maxsize=64)  # the rules, the model's tokenizer and the cues read the same texts in turn
def prepare(text: str | None, strip_mentions: bool = True) -> tuple[str, bool]:
    """Return the lowercased text to match against (same length as ``text``) and whether
    it had a URL."""
    if not text:
        return "", False
    # str.translate is slow; most posts are plain ASCII and need no mapping.
    work = text.lower() if text.isascii() else text.translate(_SAME_LENGTH).lower()
    if len(work) != len(text):
        # A few characters lowercase to two ("İ" -> "i̇"); keep those as they are so that
        # offsets still index the original text.
        work = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text.translate(_SAME_LENGTH))
    if "&" in work:
        work = _ENTITY.sub(_unescape, work)
    has_url = False
    if "http" in work or "www." in work:
        work, n_urls = _URL.subn(blank, work)
        has_url = n_urls > 0
    if strip_mentions and "@" in work:
        work = _LEADING_MENTIONS.sub(blank, work, count=1)
    return work, has_url


# --- context labels: question / critical ------------------------------------------------
_RHETORICAL = rx(
    r"\b(?:who else|guess what|did you know|how cool is that|isn't (?:it|that|this) "
    r"(?:great|amazing|awesome)|am i the only one|is it just me|don't you think|who would win"
    r"|what could (?:possibly )?go wrong|are you kidding|can we (?:just )?take a moment)\b",
    needs=('who ', 'guess what', 'did you know', 'how cool', "isn't", 'am i the only', 'just me', "don't you think", 'go wrong', 'are you kidding', 'take a moment'))
_Q_MARKS = "?\uff1f\u061f"


def _question_sentence(work: str) -> tuple[int, int] | None:
    """Span of the first sentence that ends in a question mark, or None."""
    end = min((i for i in (work.find(mark) for mark in _Q_MARKS) if i >= 0), default=-1)
    if end < 0:
        return None
    start = max(work.rfind(ch, 0, end) for ch in ".!?\n") + 1
    while start < end and work[start].isspace():
        start += 1
    if end - start < 2:  # "?!" or a lone "?" asks nothing
        return None
    return start, end + 1
_Q_OPENER = rx(
    r"(?:^|[.!?\n]\s*)(?:(?:what|when|where|why|how|which|who)\s+(?:is|are|was|were|do|does|did|"
    r"will|would|can|could|should|has|have|i|we|you|they|it)|(?:is|are|do|does|did|can|could|"
    r"will|would|should|have|has)\s+(?:you|we|they|it|there|he|she|this|that|anyone|someone))\b")
_Q_REQUEST = rx(
    r"\b(?:can you (?:explain|share|tell|confirm|clarify)|any (?:update|news|eta|word|plans?)|"
    r"(?:best )?guess (?:on|about) (?:when|how|what|whether)|(?:curious|wondering) "
    r"(?:why|how|if|whether|when|what)|i'd (?:like|love) to know|is there a plan|when will|"
    r"please\b)",
    needs=('can you', 'any ', 'guess', 'curious', 'wondering', "i'd", 'is there a plan', 'when will', 'please'))
_CRITICAL = rx(
    r"\b(?:disagree|not (?:true|correct|accurate|the case)|wrong|misleading|doesn't add up|"
    r"liar|lying|lies|fail(?:s|ed|ing|ure)?|shame(?:ful)?|ridiculous|hypocri\w*|disgrace\w*|"
    r"apologi[sz]e|disappoint\w*|criticiz\w*|too much power|overdid|insanity|terrible|awful|"
    r"worst|dumb|stupid|pathetic|embarrass\w*|dangerous|reckless|just stop|admit (?:it|that|you)|"
    r"why (?:do|does|did|are|is|would|won't|can't|don't|didn't) (?:you|he|she|they|your|his|her|their)|"
    r"why (?:won't|can't|doesn't|didn't|don't|isn't|aren't) (?:the )?[\w@]+)\b")


def context_evidence(text: str | None, source: str) -> tuple[list[Evidence], list[Evidence]]:
    """Evidence for (question, critical) in a post by someone else."""
    work, _ = prepare(text)
    if not work.strip():
        return [], []
    question: list[Evidence] = []
    critical: list[Evidence] = []
    rhetorical = _RHETORICAL.search(work)
    if rhetorical is None:
        mark = _question_sentence(work)
        if mark is not None:
            question.append(Evidence("question.mark", (text or "")[mark[0]:mark[1]], mark[0],
                                     mark[1], source))
        for rule, pattern in (("question.opener", _Q_OPENER), ("question.request", _Q_REQUEST)):
            m = pattern.search(work)
            if m:
                question.append(evidence_of(rule, text, m, source))
    m = _CRITICAL.search(work)
    if m:
        critical.append(evidence_of("critical.marker", text, m, source))
    return question, critical


def label_context(text: str | None) -> list[Label]:
    """Label a post by someone else: ``question`` (sincere) and/or ``critical``."""
    return context_labels(*context_evidence(text, "post"))


def context_labels(question: list[Evidence], critical: list[Evidence]) -> list[Label]:
    labels = []
    if question:
        labels.append(Label("question", noisy_or([0.7] * len(question)), tuple(question)))
    if critical:
        labels.append(Label("critical", 0.6, tuple(critical)))
    return labels


def evidence_of(rule: str, text: str | None, m: re.Match[str], source: str = "post") -> Evidence:
    start, end = m.span()
    # Trim blanked mentions/URLs and separators (judged on the prepared text, which has
    # the same length) so the span is the meaningful words of the original.
    matched = m.string[start:end]
    start += len(matched) - len(matched.lstrip(" .!?\n"))
    end -= len(matched) - len(matched.rstrip())
    return Evidence(rule, (text or "")[start:end], start, max(start, end), source)


def noisy_or(weights: Iterable[float]) -> float:
    miss = 1.0
    for weight in weights:
        miss *= 1.0 - weight
    return round(1.0 - miss, 3)


def handle_of(value: Any) -> str:
    return str(value or "").lstrip("@").lower()


class OrgHandles(frozenset):  # type: ignore[type-arg]
    """Handles already normalised by :func:`normalize_handles` (no "@", lowercase)."""


def normalize_handles(handles: Collection[str]) -> OrgHandles:
    """Normalise the organisation's handles once; ``label_post`` takes the result as is.

    Normalising a few hundred handles for every post cost more than labelling it.
    """
    if isinstance(handles, OrgHandles):
        return handles
    return OrgHandles(handle_of(h) for h in handles)


def without_context(post: Mapping[str, Any]) -> dict[str, Any]:
    """``post`` as a source that did not fetch the replied-to or quoted text would give it
    (a LinkedIn comment, a reply whose parent was deleted): that text set to null (pure)."""
    out = dict(post)
    for key in ("in_reply_to", "quoted"):
        if isinstance(out.get(key), Mapping) and out[key].get("text") is not None:
            out[key] = {**out[key], "text": None}
    return out


def check_post(post: Mapping[str, Any]) -> str:
    """Validate the fields the labeller relies on; return the kind."""
    if not isinstance(post, Mapping):
        raise InputError(f"expected a JSON object, got {type(post).__name__}")
    if "id" not in post:
        raise InputError("missing field 'id'")
    text = post.get("text")
    if text is not None and not isinstance(text, str):
        raise InputError(f"post {post['id']}: 'text' must be a string or null")
    kind = post.get("kind") or ("reply" if post.get("in_reply_to") else "original")
    if kind not in KINDS:
        raise InputError(f"post {post['id']}: unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
    for key in ("in_reply_to", "quoted"):
        ref = post.get(key)
        if ref is not None and not isinstance(ref, Mapping):
            raise InputError(f"post {post['id']}: {key!r} must be an object or null")
    return str(kind)


