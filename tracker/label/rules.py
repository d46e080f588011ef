"""Label leaders' posts with explainable rules: ``answer``, ``debate`` and ``progress``.

Input: one post as a mapping (one JSON object per line for ``tracker label``)::

    {"id": "x:123", "platform": "x", "author": "handle", "created_at": "2026-01-31T09:05:00Z",
     "text": "...", "kind": "original|reply|thread|quote|repost",
     "in_reply_to": {"author": "handle", "text": "..." or null, "is_self": false} or null,
     "quoted": {"author": "handle", "text": "..."} or null,
     "lang": "en"}

Only ``id``, ``text`` and ``kind`` are required; ``in_reply_to`` / ``quoted`` carry the
post being answered or quoted (``text`` is null when it could not be fetched).

Order of judgement: structure first (kind, who is answered, self or colleague), then
lexical rules on the text with leading @mentions, URLs and HTML entities neutralised.
Every rule that fires leaves an :class:`Evidence` with the rule id, the matched span and
the offsets into the *original* text of its ``source`` ("post", "parent", "quoted") so
that anyone can audit a label. ``source == "structure"`` evidence has no span.

A label's confidence is the noisy-or of the weights of the rules that fired
(``1 - prod(1 - w)``); a label is emitted at ``confidence >= THRESHOLD``. A weight of
0.5 or more means "enough on its own"; weaker rules need a second signal.
The rules are documented in docs/methodology.md; change a rule => bump CLASSIFIER_VERSION.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tracker.errors import InputError

CLASSIFIER_VERSION = "rules-2"
POST_LABELS = ("answer", "debate", "progress")
CONTEXT_LABELS = ("question", "critical")
KINDS = ("original", "reply", "thread", "quote", "repost")
THRESHOLD = 0.5

# Rule weights (see module docstring and docs/methodology.md).
_W_PARENT_QUESTION = 0.5
_W_SUBSTANTIVE = 0.6
_W_SPECIFIC = 0.5
_W_POINTER = 0.6
_W_ORPHAN_DATE = 0.5


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
    and most posts contain none of a rule's words (issue 3: 20,000 posts/s on one core)."""

    __slots__ = ("pattern", "needs")

    def __init__(self, pattern: re.Pattern[str], needs: tuple[str, ...]) -> None:
        self.pattern = pattern
        self.needs = needs

    def search(self, work: str) -> re.Match[str] | None:
        for need in self.needs:
            if need in work:
                return self.pattern.search(work)
        return None


def _rx(pattern: str, needs: tuple[str, ...] = ()) -> Any:
    # Patterns are lowercase and run on lowercased text: about 2.5x faster than
    # re.IGNORECASE, which matters at tens of thousands of posts per second.
    compiled = re.compile(pattern)
    return _Gated(compiled, needs) if needs else compiled


# --- text preparation (every step keeps the length, so offsets stay valid) -------------
_ENTITY = _rx(r"&(?:#\d{1,7}|#x[0-9a-f]{1,6}|[a-z]{2,8});")
_URL = _rx(r"https?://\S+|\bwww\.\S+")
_LEADING_MENTIONS = _rx(r"^(?:\s*\.?@\w+[,:]?)+")
_QUOTED_SPEECH = re.compile(r'"[^"\n]{1,300}"')
# Manual retweets ('RT @user: ...', '"@user: ..."') carry someone else's words.
_MANUAL_RT = re.compile(r'^\s*(?:rt\s+@\w+|"@\w+:[^"]*(?:"|$))')
_SAME_LENGTH = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                              "\u00a0": " ", "\u2013": "-", "\u2014": "-", "\u2026": "."})
_WORD = _rx(r"[a-z0-9][a-z0-9'$%.,/-]*")


def _blank(match: re.Match[str]) -> str:
    return " " * (match.end() - match.start())


def _unescape(match: re.Match[str]) -> str:
    raw = match.group()
    plain = html.unescape(raw)
    # "&amp;" -> "&    ": padded so the text keeps its length and offsets.
    return plain + " " * (len(raw) - len(plain)) if len(plain) <= len(raw) else raw


def _prepare(text: str | None, strip_mentions: bool = True) -> tuple[str, bool]:
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
        work, n_urls = _URL.subn(_blank, work)
        has_url = n_urls > 0
    if strip_mentions and "@" in work:
        work = _LEADING_MENTIONS.sub(_blank, work, count=1)
    return work, has_url


# --- context labels: question / critical ------------------------------------------------
_RHETORICAL = _rx(
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
_Q_OPENER = _rx(
    r"(?:^|[.!?\n]\s*)(?:(?:what|when|where|why|how|which|who)\s+(?:is|are|was|were|do|does|did|"
    r"will|would|can|could|should|has|have|i|we|you|they|it)|(?:is|are|do|does|did|can|could|"
    r"will|would|should|have|has)\s+(?:you|we|they|it|there|he|she|this|that|anyone|someone))\b")
_Q_REQUEST = _rx(
    r"\b(?:can you (?:explain|share|tell|confirm|clarify)|any (?:update|news|eta|word|plans?)|"
    r"(?:best )?guess (?:on|about) (?:when|how|what|whether)|(?:curious|wondering) "
    r"(?:why|how|if|whether|when|what)|i'd (?:like|love) to know|is there a plan|when will|"
    r"please\b)",
    needs=('can you', 'any ', 'guess', 'curious', 'wondering', "i'd", 'is there a plan', 'when will', 'please'))
_CRITICAL = _rx(
    r"\b(?:disagree|not (?:true|correct|accurate|the case)|wrong|misleading|doesn't add up|"
    r"liar|lying|lies|fail(?:s|ed|ing|ure)?|shame(?:ful)?|ridiculous|hypocri\w*|disgrace\w*|"
    r"apologi[sz]e|disappoint\w*|criticiz\w*|too much power|overdid|insanity|terrible|awful|"
    r"worst|dumb|stupid|pathetic|embarrass\w*|dangerous|reckless|just stop|admit (?:it|that|you)|"
    r"why (?:do|does|did|are|is|would|won't|can't|don't|didn't) (?:you|he|she|they|your|his|her|their)|"
    r"why (?:won't|can't|doesn't|didn't|don't|isn't|aren't) (?:the )?[\w@]+)\b")


def _context(text: str | None, source: str) -> tuple[list[Evidence], list[Evidence]]:
    """Evidence for (question, critical) in a post by someone else."""
    work, _ = _prepare(text)
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
                question.append(_ev(rule, text, m, source))
    m = _CRITICAL.search(work)
    if m:
        critical.append(_ev("critical.marker", text, m, source))
    return question, critical


def label_context(text: str | None) -> list[Label]:
    """Label a post by someone else: ``question`` (sincere) and/or ``critical``."""
    return _context_labels(*_context(text, "post"))


def _context_labels(question: list[Evidence], critical: list[Evidence]) -> list[Label]:
    labels = []
    if question:
        labels.append(Label("question", _noisy_or([0.7] * len(question)), tuple(question)))
    if critical:
        labels.append(Label("critical", 0.6, tuple(critical)))
    return labels


# --- answer ------------------------------------------------------------------------------
_ACK_ONLY = _rx(
    r"^[\W_]*(?:(?:yes|yeah|yep|yup|no|nope|true|agreed|agree|indeed|exactly|absolutely|"
    r"definitely|sure|of course|thanks|thank you|thx|tks|wow|ha(?:ha)+|lol|lmao|good question|"
    r"great question|interesting|sigh|better|worse|it is|it was|i think so|maybe|probably|correct|"
    r"right|same|ok|okay|cool|nice|great|noted|will do|on it|good point|fair|hm+|oh|wait|so "
    r"true|100%|\+1|this|that|me too|same here|not yet|soon|we'll see)[\W_]*)*$")
_NON_ANSWER = _rx(
    r"\b(?:(?:can't|cannot|won't|will not|don't|do not|not able to) (?:comment|disclose|share|"
    r"discuss|talk about|get into|say)|(?:i|we) (?:don't|do not) (?:know|recall)|no idea|"
    r"not sure|stay tuned|more (?:info |details )?soon|will (?:share|say) (?:more )?later|"
    r"will (?:investigate|look into (?:it|this)|check|get back)|dm me|check (?:your )?dms?|"
    r"reach out to|(?:call|contact|email|visit)\b[^.!?\n]{0,30}\boffice)\b",
    needs=("n't", 'not', 'no idea', 'stay tuned', 'soon', 'will ', 'dm', 'reach out', 'office'))
_SPECIFIC = _rx(
    r"\d|\b(?:today|tonight|tomorrow|yesterday|soon|shortly|later|already|so far|coming|"
    r"underway|in progress|next (?:week|month|year|quarter)|this (?:week|month|year|quarter)|"
    r"end of (?:the )?(?:week|month|year)|(?:a|one|two|few|couple of) (?:days?|weeks?|months?)|"
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day|january|february|march|april|june|july|"
    r"august|september|october|november|december)\b|^\W*(?:about|around|roughly|approximately|"
    r"almost|nearly|very few|quite a few|a few|most|none|several)\b")
_DIRECT = _rx(r"^\W*(?:yes|yeah|yep|no|nope|not yet|not really|correct)\b\W+\w+\W+\w+")
_POINTER = _rx(
    r"\b(?:please see|see (?:my|our|the|this|here|rep\.?|sen\.?)|here(?:'s| is) (?:my|our|the|"
    r"where|how|what|a link|more)|this is (?:where|how|what)|more (?:info|information|"
    r"details) (?:at|here)|details (?:at|here)|read (?:more|my|our|the))\b")
_DATE = _rx(
    r"\b(?:\d{1,2}/\d{1,2}(?:/\d{2,4})?|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)"
    r"[a-z]* \d{1,2}(?:st|nd|rd|th)?|(?:mon|tues|wednes|thurs|fri|satur|sun)day)\b")
_SOCIAL = _rx(r"\b(?:thanks?|thank you|congrat\w*|great to|glad|honou?r\w*|proud|welcome)\b")
_PARENT_WORK = _rx(
    r"\b(?:beta|release\w*|launch\w*|update\w*|version|feature\w*|roll\w* ?out|ship\w*|"
    r"production|deliver\w*|available|app|fix\w*)\b")
_STATUS = _rx(
    r"\b(?:today|tomorrow|soon|shortly|so far|already|next (?:week|month|year)|"
    r"(?:a|one|two|few|couple of) (?:days?|weeks?|months?)|week|weeks|month|months)\b")


def _answer(work: str, text: str, has_url: bool, parent_text: str | None,
            parent_question: list[Evidence]) -> list[Evidence]:
    """Evidence for ``answer``; empty when the reply is not an answer."""
    stripped = work.strip()
    if not stripped or _ACK_ONLY.match(stripped):
        return []
    if _NON_ANSWER.search(work):
        return []
    evidence: list[Evidence] = []
    n_words = len(_WORD.findall(work))
    if parent_text:
        if not parent_question:
            return []
        evidence.extend(parent_question)
        if n_words >= 6:
            evidence.append(Evidence("answer.substantive", f"{n_words} words", None, None,
                                     "structure"))
        m = _SPECIFIC.search(work)
        if m:
            evidence.append(_ev("answer.specific", text, m))
    else:
        # Parent unknown: only a reply that by itself clearly answers a question counts.
        social = _SOCIAL.search(work)
        m = _DATE.search(work)
        if m and n_words >= 10 and not social and not stripped.endswith("?"):
            evidence.append(_ev("answer.orphan_date", text, m))
    m = _POINTER.search(work)
    if m and has_url:
        evidence.append(_ev("answer.pointer", text, m))
    return evidence


_ANSWER_WEIGHTS = {"answer.substantive": _W_SUBSTANTIVE, "answer.specific": _W_SPECIFIC,
                   "answer.pointer": _W_POINTER, "answer.orphan_date": _W_ORPHAN_DATE}


# --- debate ------------------------------------------------------------------------------
_DISAGREE = _rx(
    r"\b(?:i (?:respectfully |strongly )?disagree|not (?:true|correct|accurate|the case|real|how "
    r"it works)|(?:that|this|it)(?:'s| is) (?:not (?:quite |really |entirely )?(?:true|right|correct|accurate|how)|"
    r"not what (?:the )?(?:data|evidence|facts?|numbers|research|record) (?:says?|shows?)|false|wrong|untrue|"
    r"incorrect)|you(?:'re| are) "
    r"wrong|(?:is|are|was|were) (?:wrong|false|untrue|incorrect|misleading)|misleading|"
    r"doesn't add up|push back|on the contrary|the (?:data|facts?|evidence) (?:shows?|says?) "
    r"otherwise|let me (?:make something|be) clear|"
    r"i (?:don't|do not) (?:think|believe) (?:that|this|it)(?:'s| is) (?:right|true|correct|accurate|fair)|"
    r"that's a myth|factually (?:wrong|incorrect))\b",
    needs=('disagree', 'not ', "n't",  'false', 'wrong', 'untrue', 'incorrect', 'misleading', 'add up', 'push back', 'contrary', 'otherwise', 'let me', 'myth', 'factually'))
# Words that brand the other side's claim: only debate when the counterpart is critical.
_REBUTTAL_WORD = _rx(r"\b(?:scam|hoax|fake|debunked|propaganda|smear|nonsense|bogus|fabricated|"
                     r"misinformation)\b",
    needs=('scam', 'hoax', 'fake', 'debunked', 'propaganda', 'smear', 'nonsense', 'bogus', 'fabricated', 'misinformation'))
_NEGATED_EFFECT = _rx(
    r"\b(?:won'?t|will not|isn'?t going to|is not going to|doesn'?t|does not) (?:create|help|fix|"
    r"solve|reduce|lower|improve|protect)\b",
    needs=("n't", 'nt ', 'not'))
_CONCESSION_BUT = _rx(
    r"\bi(?:'m| am|'ve| have)?\s+(?:[\w']+\s+){0,3}?(?:support|agree|respect|sympathi[sz]e|"
    r"fan of|understand|appreciate)\b[^.!?\n]{0,80}?\bbut\b|"
    # "Fair point on X, but ...", "I take your point, but ...": a concession before a rebuttal.
    r"\b(?:fair|valid|reasonable) (?:point|question|challenge|concern)s?\b[^.!?\n]{0,80}?\bbut\b|"
    r"\bi (?:hear you|take (?:the|your) point|see your point)\b[^.!?\n]{0,40}?\bbut\b",
    needs=('but',))
_CONTRAST_OPENER = _rx(r"(?:^|[.!?\n]\s*)(?:yet|however|nevertheless|nonetheless),",
    needs=('yet,', 'however,', 'nevertheless,', 'nonetheless,'))
# Meeting a claim with evidence: "this claim keeps coming up", "here is the data".
_CLAIM_RECURS = _rx(
    r"\b(?:this|that|the) (?:claim|myth|criticism|argument|rumou?r|narrative|talking point) "
    r"(?:keeps (?:coming up|going around|getting repeated|resurfacing)|comes up (?:a lot|often|again))",
    needs=("keeps ", "comes up"))
_EVIDENCE_OFFER = _rx(
    r"\bhere(?:'s| is| are) (?:the|our|some) (?:data|evidence|numbers|facts|figures)\b",
    needs=("here's", "here is", "here are"))
_NO_OPENER = _rx(r"^\W*(?:no|nope|not really|actually|wrong)\W")
_AGREEMENT = _rx(
    r"^\W*(?:agreed|agree|exactly|indeed|true|yes|yup|yeah|absolutely|so true|good point|"
    r"you're right|100%|\+1)\b")

_DEBATE_RULES = (("debate.disagree_marker", _DISAGREE, 0.7),
                 ("debate.negated_effect", _NEGATED_EFFECT, 0.6),
                 ("debate.concession_but", _CONCESSION_BUT, 0.6),
                 ("debate.rebuttal_word", _REBUTTAL_WORD, 0.3),
                 ("debate.contrast_opener", _CONTRAST_OPENER, 0.5),
                 ("debate.claim_recurs", _CLAIM_RECURS, 0.6),
                 ("debate.evidence_offer", _EVIDENCE_OFFER, 0.4),
                 ("debate.no_opener", _NO_OPENER, 0.3))


def _own_words(work: str) -> str:
    """Blank quoted speech and manual retweets: those words are someone else's."""
    if work.startswith(("rt", '"'), len(work) - len(work.lstrip())):
        match = _MANUAL_RT.match(work)
        if match:
            work = " " * len(work) if work.lstrip().startswith("rt") else _blank(match) + work[match.end():]
    if '"' in work:
        work = _QUOTED_SPEECH.sub(_blank, work)
    return work


def _debate(work: str, text: str, counterpart_critical: list[Evidence]) -> list[tuple[Evidence, float]]:
    work = _own_words(work)
    hits = []
    for rule, pattern, weight in _DEBATE_RULES:
        m = pattern.search(work)
        if m:
            hits.append((_ev(rule, text, m), weight))
    if not hits:
        return []
    agreement = _AGREEMENT.match(work)
    if agreement and all(weight < 0.7 for _, weight in hits):
        return []  # "Agreed, but ..." adds to a point; it does not contest it
    if counterpart_critical:
        hits.extend((ev, 0.4) for ev in counterpart_critical)
    return hits


# --- progress ----------------------------------------------------------------------------
# Gap words that turn narration into wishes, duties or pleasantries ("we must build",
# "I look forward to working with you", "we are committed to building").
_GAP = (r"(?:(?!(?:must|need|needs|should|can|could|would|hope|want|wish|have to|let|look|forward|"
        r"guess|committed|focus)\b)[\w']+\s+){0,3}?")
_SUBJECT = (r"\b(?:we|we're|we've|we'll|i|i'm|i've|i'll|(?:our|my|the) (?:team|teams|engineers|"
            r"engineering team)|my office)\s+")
_VERB = (
    r"(?:launch(?:ed|ing)?|ship(?:ped|ping)?|releas(?:e|ed|ing)|roll(?:ed|ing)? out|"
    r"introduc(?:ed|ing)(?!\s+(?:@|me\b|him\b|her\b|them\b|you\b))|"
    r"unveil(?:ed|ing)?|announc(?:ed|ing)|deliver(?:ed|ing)|deploy(?:ed|ing)|complet(?:ed|ing)|"
    r"reach(?:ed)|cross(?:ed)|surpass(?:ed)|built|building|test(?:ed|ing)|"
    r"rebuil(?:t|ding)|rewr(?:ote|iting|itten)|redesign(?:ed|ing)|rework(?:ed|ing)|finish(?:ed|ing) (?:the|our|building|testing|work on)|"
    r"pilot(?:ed|ing)|work(?:ed|ing) (?:on|to|with)|develop(?:ed|ing)|chang(?:ed|ing)|fix(?:ed|ing)|"
    r"add(?:ed|ing)|upgrad(?:ed|ing)|expand(?:ed|ing)|hir(?:ed|ing)|scal(?:ed|ing) up|"
    r"sign(?:ed) (?:a|an|the|into|my)|pass(?:ed)|vot(?:ed|ing) (?:to|against)|"
    r"vot(?:ed|ing) (?:for|on) (?:the|this|a|an|my|h\.?r\.?|s\.)\s|"
    r"co-?sponsor(?:ed|ing)|sponsor(?:ed|ing)|filed|authored|debat(?:e|ed|ing) the|secur(?:ed|ing)|"
    r"invest(?:ed|ing)|donat(?:ed|ing)|made (?:this|these|a|some|several|many|"
    r"major)? ?(?:change|changes|improvements?|fix|fixes|upgrades?))\b")
_WE_VERB = _rx(_SUBJECT + _GAP + _VERB)
_LAUNCH = _rx(
    r"\b(?:now (?:available|live|open|shipping)|is (?:now )?live|"
    r"rolling out|(?:is|are) underway|early access|in beta|public beta|(?:the )?(?:house|senate|committee) "
    r"(?:just |today |unanimously )*(?:passed|approved))\b",
    needs=('now', 'live', 'rolling out', 'underway', 'early access', 'beta', 'passed', 'approved'))
_MILESTONE = _rx(
    r"\b(?:(?:reached|crossed|surpassed|exceeded|achieved|hit|topped|passed)\s+(?:almost\s+|"
    r"nearly\s+|over\s+|more than\s+|the\s+|its\s+|it's\s+|our\s+)?|(?:almost|nearly) (?:at|to)\s+)"
    r"\$?\d[\d,.]*(?:st|nd|rd|th)?\b",
    needs=('reached', 'crossed', 'surpassed', 'exceeded', 'achieved', 'hit', 'topped', 'passed', 'almost', 'nearly'))
_OUR_WORK = _rx(
    r"\bour\s+(?:[@#]?[\w']+\s+){0,3}?(?:team|teams|engineers|scientists|researchers|"
    r"factory|factories|plant|plants|sites|facilities|missions|launch|launches|"
    r"product|products|rollout|production|program|pilot|trial|trials|roadmap|results|release|"
    r"beta|efforts?)\b",
    needs=('our',))
# Lessons from the work: "lesson learned this sprint", "what we learned from the pilot".
_LESSON = _rx(r"\b(?:lessons? (?:we |i )?learned|(?:we|i) learned (?:that|a lot|the hard way|from)|"
              r"what (?:we|i) learned)\b", needs=("learn",))
# "(?<![\d$.,])\d{1,2}" written as "\d(?<![\d$.,]\d)\d?": the same matches, but a pattern
# that starts with a digit class lets the regex engine skip straight to digits.
_VERSION = re.compile(r"\d(?<![\d$.,]\d)\d?\.\d{1,2}(?:\.\d{1,3})?(?![\d.,%/]|\s*[a-z%])")
_MONEY = _rx(
    r"\b(?:a|an|our|new)\s+\$\d[\d,.]*\s*(?:[mbk]|million|billion)?\s+(?:[\w-]+\s+){0,2}?(?:fund|investment|"
    r"commitment|grant|donation|initiative|program)\b|\b(?:commit(?:ted|ting)?|invest(?:ed|ing)?|"
    r"donat(?:ed|ing)|pledg(?:ed|ing)|raised)\s+(?:a |an |over |more than )?\$\d",
    needs=('$',))
_PROMO = _rx(
    r"\b(?:tune in|watch (?:live|it|now)|join (?:us|me|my)|register|rsvp|livestream|don't miss|"
    r"% off|sign up)\b",
    needs=('tune in', 'watch', 'join', 'register', 'rsvp', 'livestream', "don't miss", '% off', 'sign up'))

_DIGIT = re.compile(r"\d")
_NEEDS_DIGIT = frozenset({"progress.milestone_number", "progress.money_commitment", "progress.version"})
_SOCIAL_OPENER = _rx(r"\b(?:thanks?|thank you|congrat\w*|happy|welcome|proud of|grateful)\b")

_PROGRESS_RULES = (("progress.we_verb", _WE_VERB, 0.8),
                   ("progress.launch_phrase", _LAUNCH, 0.7),
                   ("progress.milestone_number", _MILESTONE, 0.6),
                   ("progress.money_commitment", _MONEY, 0.6),
                   ("progress.our_work", _OUR_WORK, 0.5),
                   ("progress.lesson", _LESSON, 0.5),
                   ("progress.version", _VERSION, 0.5))


def _progress(work: str, text: str, source: str = "post") -> list[tuple[Evidence, float]]:
    work = _own_words(work)
    hits = []
    has_digit = _DIGIT.search(work) is not None
    for rule, pattern, weight in _PROGRESS_RULES:
        if not has_digit and rule in _NEEDS_DIGIT:
            continue  # cheap gate: these rules all need a number
        m = pattern.search(work)
        if m:
            hits.append((_ev(rule, text, m, source), weight))
    return hits


# --- putting it together -----------------------------------------------------------------
def _ev(rule: str, text: str | None, m: re.Match[str], source: str = "post") -> Evidence:
    start, end = m.span()
    # Trim blanked mentions/URLs and separators (judged on the prepared text, which has
    # the same length) so the span is the meaningful words of the original.
    matched = m.string[start:end]
    start += len(matched) - len(matched.lstrip(" .!?\n"))
    end -= len(matched) - len(matched.rstrip())
    return Evidence(rule, (text or "")[start:end], start, max(start, end), source)


def _noisy_or(weights: Iterable[float]) -> float:
    miss = 1.0
    for weight in weights:
        miss *= 1.0 - weight
    return round(1.0 - miss, 3)


def _handle(value: Any) -> str:
    return str(value or "").lstrip("@").lower()


class OrgHandles(frozenset):  # type: ignore[type-arg]
    """Handles already normalised by :func:`normalize_handles` (no "@", lowercase)."""


def normalize_handles(handles: Collection[str]) -> OrgHandles:
    """Normalise the organisation's handles once; ``label_post`` takes the result as is.

    Normalising a few hundred handles for every post cost more than labelling it.
    """
    if isinstance(handles, OrgHandles):
        return handles
    return OrgHandles(_handle(h) for h in handles)


def _check(post: Mapping[str, Any]) -> str:
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


def label_post(post: Mapping[str, Any], org_handles: Collection[str] = ()) -> list[Label]:
    """Label one post by a leader (see the module docstring for the input shape)."""
    return label_post_and_context(post, org_handles)[0]


def label_post_and_context(post: Mapping[str, Any], org_handles: Collection[str] = ()
                           ) -> tuple[list[Label], list[Label] | None]:
    """``label_post`` plus, when the rules had to read the replied-to or quoted post, the
    labels ``label_context`` gives that post's text (else None).

    Stored labelling uses the second part to label a context post while reading it for the
    reply, instead of running the same rules on the same text a second time.
    """
    kind = _check(post)
    if kind == "repost":
        return [], None  # no authorship, no labels
    text = post.get("text") or ""
    work, has_url = _prepare(text)
    labels: list[Label] = []
    author = _handle(post.get("author"))
    internal = normalize_handles(org_handles)

    parent = post.get("in_reply_to") if kind == "reply" else None
    quoted = post.get("quoted") if kind == "quote" else None
    counterpart = parent or quoted
    counterpart_author = _handle(counterpart.get("author")) if counterpart else None
    counterpart_other = bool(counterpart) and not (
        (parent is not None and parent.get("is_self"))
        or counterpart_author in internal
        or counterpart_author == author)

    debate_hits: list[tuple[Evidence, float]] = []
    context: list[Label] | None = None
    if counterpart_other and work.strip():
        assert counterpart is not None
        source = "parent" if parent is not None else "quoted"
        question, critical = _context(counterpart.get("text"), source)
        context = _context_labels([Evidence(ev.rule, ev.text, ev.start, ev.end, "post") for ev in question],
                                  [Evidence(ev.rule, ev.text, ev.start, ev.end, "post") for ev in critical])
        structure = Evidence(f"{source}.other_author", _handle(counterpart.get("author")),
                             None, None, "structure")
        debate_hits = _debate(work, text, critical)
        debate_conf = _noisy_or(w for _, w in debate_hits)
        if debate_conf >= THRESHOLD:
            labels.append(Label("debate", debate_conf,
                                (structure,) + tuple(ev for ev, _ in debate_hits)))
        if parent is not None:
            answer_ev = _answer(work, text, has_url, parent.get("text"), question)
            weights = [_W_PARENT_QUESTION if ev.rule.startswith("question.") else
                       _ANSWER_WEIGHTS.get(ev.rule, 0.0) for ev in answer_ev]
            # A loaded question met with push-back is debate; it is also an answer only
            # when the reply gives a direct yes/no or a specific.
            if labels and not (_DIRECT.match(work.strip())
                               or any(ev.rule == "answer.specific" for ev in answer_ev)):
                weights = []
            has_substance = any(ev.rule.startswith("answer.") for ev in answer_ev)
            answer_conf = _noisy_or(weights) if has_substance else 0.0
            if answer_conf >= THRESHOLD:
                labels.append(Label("answer", answer_conf, (structure,) + tuple(answer_ev)))
                parent_work = _PARENT_WORK.search(_prepare(parent.get("text"))[0])
                status = _STATUS.search(work)
                if parent_work and status:
                    # Answering "when does X ship?" with a timeframe narrates a plan.
                    progress_plan = [
                        Evidence("progress.answer_timeline", parent_work.group(),
                                 parent_work.start(), parent_work.end(), "parent"),
                        _ev("progress.answer_timeline", text, status)]
                    labels.append(Label("progress", 0.6, tuple(progress_plan)))

    if not any(label.name == "progress" for label in labels):
        progress_hits = _progress(work, text)
        if quoted is not None and (_handle(quoted.get("author")) in internal
                               or _handle(quoted.get("author")) == author):
            # Quoting one's own organisation's announcement shares its progress.
            quoted_work, _ = _prepare(quoted.get("text"))
            progress_hits += [(ev, w * 0.8) for ev, w in _progress(quoted_work, quoted.get("text") or "", "quoted")]
        if progress_hits and all(ev.rule == "progress.our_work" for ev, _ in progress_hits):
            social = _SOCIAL_OPENER.search(work)
            if social:
                # "Thanks to our team" / "Happy holidays, team" is appreciation, not narration.
                progress_hits = [(ev, w * 0.8) for ev, w in progress_hits]
                progress_hits.append((_ev("progress.social_damped", text, social), 0.0))
        if progress_hits and _PROMO.search(work):
            promo = _PROMO.search(work)
            assert promo is not None
            # Promotion ("tune in", "register") damps bare launch words ("tickets now
            # available") more than an explicit first-person account of the work.
            progress_hits = [(ev, w * (0.75 if ev.rule == "progress.we_verb" else 0.6))
                             for ev, w in progress_hits]
            progress_hits.append((_ev("progress.promo_damped", text, promo), 0.0))
        progress_conf = _noisy_or(w for _, w in progress_hits)
        if progress_conf >= THRESHOLD:
            labels.append(Label("progress", progress_conf, tuple(ev for ev, _ in progress_hits)))
    labels.sort(key=lambda label: POST_LABELS.index(label.name))
    return labels, context
