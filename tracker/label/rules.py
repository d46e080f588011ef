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

import re
from collections.abc import Collection, Mapping
from typing import Any

from tracker.label.reading import (MANUAL_RT, QUOTED_SPEECH, WORD, Evidence, Label, blank, check_post,
                                   context_evidence, context_labels, evidence_of, handle_of, noisy_or,
                                   normalize_handles, prepare, rx)

CLASSIFIER_VERSION = "rules-2"
POST_LABELS = ("answer", "debate", "progress")
CONTEXT_LABELS = ("question", "critical")
THRESHOLD = 0.5

# Rule weights (see module docstring and docs/methodology.md).
_W_PARENT_QUESTION = 0.5
_W_SUBSTANTIVE = 0.6
_W_SPECIFIC = 0.5
_W_POINTER = 0.6
_W_ORPHAN_DATE = 0.5


# --- answer ------------------------------------------------------------------------------
_ACK_ONLY = rx(
    r"^[\W_]*(?:(?:yes|yeah|yep|yup|no|nope|true|agreed|agree|indeed|exactly|absolutely|"
    r"definitely|sure|of course|thanks|thank you|thx|tks|wow|ha(?:ha)+|lol|lmao|good question|"
    r"great question|interesting|sigh|better|worse|it is|it was|i think so|maybe|probably|correct|"
    r"right|same|ok|okay|cool|nice|great|noted|will do|on it|good point|fair|hm+|oh|wait|so "
    r"true|100%|\+1|this|that|me too|same here|not yet|soon|we'll see)[\W_]*)*$")
_NON_ANSWER = rx(
    r"\b(?:(?:can't|cannot|won't|will not|don't|do not|not able to) (?:comment|disclose|share|"
    r"discuss|talk about|get into|say)|(?:i|we) (?:don't|do not) (?:know|recall)|no idea|"
    r"not sure|stay tuned|more (?:info |details )?soon|will (?:share|say) (?:more )?later|"
    r"will (?:investigate|look into (?:it|this)|check|get back)|dm me|check (?:your )?dms?|"
    r"reach out to|(?:call|contact|email|visit)\b[^.!?\n]{0,30}\boffice)\b",
    needs=("n't", 'not', 'no idea', 'stay tuned', 'soon', 'will ', 'dm', 'reach out', 'office'))
_SPECIFIC = rx(
    r"\d|\b(?:today|tonight|tomorrow|yesterday|soon|shortly|later|already|so far|coming|"
    r"underway|in progress|next (?:week|month|year|quarter)|this (?:week|month|year|quarter)|"
    r"end of (?:the )?(?:week|month|year)|(?:a|one|two|few|couple of) (?:days?|weeks?|months?)|"
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day|january|february|march|april|june|july|"
    r"august|september|october|november|december)\b|^\W*(?:about|around|roughly|approximately|"
    r"almost|nearly|very few|quite a few|a few|most|none|several)\b")
_DIRECT = rx(r"^\W*(?:yes|yeah|yep|no|nope|not yet|not really|correct)\b\W+\w+\W+\w+")
_POINTER = rx(
    r"\b(?:please see|see (?:my|our|the|this|here|rep\.?|sen\.?)|here(?:'s| is) (?:my|our|the|"
    r"where|how|what|a link|more)|this is (?:where|how|what)|more (?:info|information|"
    r"details) (?:at|here)|details (?:at|here)|read (?:more|my|our|the))\b")
_DATE = rx(
    r"\b(?:\d{1,2}/\d{1,2}(?:/\d{2,4})?|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)"
    r"[a-z]* \d{1,2}(?:st|nd|rd|th)?|(?:mon|tues|wednes|thurs|fri|satur|sun)day)\b")
_SOCIAL = rx(r"\b(?:thanks?|thank you|congrat\w*|great to|glad|honou?r\w*|proud|welcome)\b")
_PARENT_WORK = rx(
    r"\b(?:beta|release\w*|launch\w*|update\w*|version|feature\w*|roll\w* ?out|ship\w*|"
    r"production|deliver\w*|available|app|fix\w*)\b")
_STATUS = rx(
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
    n_words = len(WORD.findall(work))
    if parent_text:
        if not parent_question:
            return []
        evidence.extend(parent_question)
        if n_words >= 6:
            evidence.append(Evidence("answer.substantive", f"{n_words} words", None, None,
                                     "structure"))
        m = _SPECIFIC.search(work)
        if m:
            evidence.append(evidence_of("answer.specific", text, m))
    else:
        # Parent unknown: only a reply that by itself clearly answers a question counts.
        social = _SOCIAL.search(work)
        m = _DATE.search(work)
        if m and n_words >= 10 and not social and not stripped.endswith("?"):
            evidence.append(evidence_of("answer.orphan_date", text, m))
    m = _POINTER.search(work)
    if m and has_url:
        evidence.append(evidence_of("answer.pointer", text, m))
    return evidence


_ANSWER_WEIGHTS = {"answer.substantive": _W_SUBSTANTIVE, "answer.specific": _W_SPECIFIC,
                   "answer.pointer": _W_POINTER, "answer.orphan_date": _W_ORPHAN_DATE}


# --- debate ------------------------------------------------------------------------------
_DISAGREE = rx(
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
_REBUTTAL_WORD = rx(r"\b(?:scam|hoax|fake|debunked|propaganda|smear|nonsense|bogus|fabricated|"
                     r"misinformation)\b",
    needs=('scam', 'hoax', 'fake', 'debunked', 'propaganda', 'smear', 'nonsense', 'bogus', 'fabricated', 'misinformation'))
_NEGATED_EFFECT = rx(
    r"\b(?:won'?t|will not|isn'?t going to|is not going to|doesn'?t|does not) (?:create|help|fix|"
    r"solve|reduce|lower|improve|protect)\b",
    needs=("n't", 'nt ', 'not'))
_CONCESSION_BUT = rx(
    r"\bi(?:'m| am|'ve| have)?\s+(?:[\w']+\s+){0,3}?(?:support|agree|respect|sympathi[sz]e|"
    r"fan of|understand|appreciate)\b[^.!?\n]{0,80}?\bbut\b|"
    # "Fair point on X, but ...", "I take your point, but ...": a concession before a rebuttal.
    r"\b(?:fair|valid|reasonable) (?:point|question|challenge|concern)s?\b[^.!?\n]{0,80}?\bbut\b|"
    r"\bi (?:hear you|take (?:the|your) point|see your point)\b[^.!?\n]{0,40}?\bbut\b",
    needs=('but',))
_CONTRAST_OPENER = rx(r"(?:^|[.!?\n]\s*)(?:yet|however|nevertheless|nonetheless),",
    needs=('yet,', 'however,', 'nevertheless,', 'nonetheless,'))
# Meeting a claim with evidence: "this claim keeps coming up", "here is the data".
_CLAIM_RECURS = rx(
    r"\b(?:this|that|the) (?:claim|myth|criticism|argument|rumou?r|narrative|talking point) "
    r"(?:keeps (?:coming up|going around|getting repeated|resurfacing)|comes up (?:a lot|often|again))",
    needs=("keeps ", "comes up"))
_EVIDENCE_OFFER = rx(
    r"\bhere(?:'s| is| are) (?:the|our|some) (?:data|evidence|numbers|facts|figures)\b",
    needs=("here's", "here is", "here are"))
_NO_OPENER = rx(r"^\W*(?:no|nope|not really|actually|wrong)\W")
_AGREEMENT = rx(
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
        match = MANUAL_RT.match(work)
        if match:
            work = " " * len(work) if work.lstrip().startswith("rt") else blank(match) + work[match.end():]
    if '"' in work:
        work = QUOTED_SPEECH.sub(blank, work)
    return work


def _debate(work: str, text: str, counterpart_critical: list[Evidence]) -> list[tuple[Evidence, float]]:
    work = _own_words(work)
    hits = []
    for rule, pattern, weight in _DEBATE_RULES:
        m = pattern.search(work)
        if m:
            hits.append((evidence_of(rule, text, m), weight))
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
_WE_VERB = rx(_SUBJECT + _GAP + _VERB)
_LAUNCH = rx(
    r"\b(?:now (?:available|live|open|shipping)|is (?:now )?live|"
    r"rolling out|(?:is|are) underway|early access|in beta|public beta|(?:the )?(?:house|senate|committee) "
    r"(?:just |today |unanimously )*(?:passed|approved))\b",
    needs=('now', 'live', 'rolling out', 'underway', 'early access', 'beta', 'passed', 'approved'))
_MILESTONE = rx(
    r"\b(?:(?:reached|crossed|surpassed|exceeded|achieved|hit|topped|passed)\s+(?:almost\s+|"
    r"nearly\s+|over\s+|more than\s+|the\s+|its\s+|it's\s+|our\s+)?|(?:almost|nearly) (?:at|to)\s+)"
    r"\$?\d[\d,.]*(?:st|nd|rd|th)?\b",
    needs=('reached', 'crossed', 'surpassed', 'exceeded', 'achieved', 'hit', 'topped', 'passed', 'almost', 'nearly'))
_OUR_WORK = rx(
    r"\bour\s+(?:[@#]?[\w']+\s+){0,3}?(?:team|teams|engineers|scientists|researchers|"
    r"factory|factories|plant|plants|sites|facilities|missions|launch|launches|"
    r"product|products|rollout|production|program|pilot|trial|trials|roadmap|results|release|"
    r"beta|efforts?)\b",
    needs=('our',))
# Lessons from the work: "lesson learned this sprint", "what we learned from the pilot".
_LESSON = rx(r"\b(?:lessons? (?:we |i )?learned|(?:we|i) learned (?:that|a lot|the hard way|from)|"
              r"what (?:we|i) learned)\b", needs=("learn",))
# "(?<![\d$.,])\d{1,2}" written as "\d(?<![\d$.,]\d)\d?": the same matches, but a pattern
# that starts with a digit class lets the regex engine skip straight to digits.
_VERSION = re.compile(r"\d(?<![\d$.,]\d)\d?\.\d{1,2}(?:\.\d{1,3})?(?![\d.,%/]|\s*[a-z%])")
_MONEY = rx(
    r"\b(?:a|an|our|new)\s+\$\d[\d,.]*\s*(?:[mbk]|million|billion)?\s+(?:[\w-]+\s+){0,2}?(?:fund|investment|"
    r"commitment|grant|donation|initiative|program)\b|\b(?:commit(?:ted|ting)?|invest(?:ed|ing)?|"
    r"donat(?:ed|ing)|pledg(?:ed|ing)|raised)\s+(?:a |an |over |more than )?\$\d",
    needs=('$',))
_PROMO = rx(
    r"\b(?:tune in|watch (?:live|it|now)|join (?:us|me|my)|register|rsvp|livestream|don't miss|"
    r"% off|sign up)\b",
    needs=('tune in', 'watch', 'join', 'register', 'rsvp', 'livestream', "don't miss", '% off', 'sign up'))

_DIGIT = re.compile(r"\d")
_NEEDS_DIGIT = frozenset({"progress.milestone_number", "progress.money_commitment", "progress.version"})
_SOCIAL_OPENER = rx(r"\b(?:thanks?|thank you|congrat\w*|happy|welcome|proud of|grateful)\b")

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
            hits.append((evidence_of(rule, text, m, source), weight))
    return hits


# --- putting it together -----------------------------------------------------------------
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
    kind = check_post(post)
    if kind == "repost":
        return [], None  # no authorship, no labels
    text = post.get("text") or ""
    work, has_url = prepare(text)
    author = handle_of(post.get("author"))
    internal = normalize_handles(org_handles)
    parent = post.get("in_reply_to") if kind == "reply" else None
    quoted = post.get("quoted") if kind == "quote" else None
    counterpart = parent or quoted
    counterpart_author = handle_of(counterpart.get("author")) if counterpart else None
    counterpart_other = bool(counterpart) and not (
        (parent is not None and parent.get("is_self"))
        or counterpart_author in internal
        or counterpart_author == author)

    labels: list[Label] = []
    context: list[Label] | None = None
    if counterpart_other and work.strip():
        assert counterpart is not None
        labels, context = _reply_labels(work, text, has_url, counterpart, parent)
    if not any(label.name == "progress" for label in labels):
        own_quote = quoted is not None and handle_of(quoted.get("author")) in (internal | {author})
        labels += _progress_labels(work, text, quoted if own_quote else None)
    labels.sort(key=lambda label: POST_LABELS.index(label.name))
    return labels, context


def _reply_labels(work: str, text: str, has_url: bool, counterpart: Mapping[str, Any],
                  parent: Mapping[str, Any] | None) -> tuple[list[Label], list[Label]]:
    """Debate, answer (and an answered plan's progress) of a reply to, or quote of, someone
    outside the organisation; and the context labels of the post it replies to or quotes."""
    labels: list[Label] = []
    source = "parent" if parent is not None else "quoted"
    question, critical = context_evidence(counterpart.get("text"), source)
    context = context_labels([Evidence(ev.rule, ev.text, ev.start, ev.end, "post") for ev in question],
                             [Evidence(ev.rule, ev.text, ev.start, ev.end, "post") for ev in critical])
    structure = Evidence(f"{source}.other_author", handle_of(counterpart.get("author")), None, None, "structure")
    debate_hits = _debate(work, text, critical)
    debate_conf = noisy_or(w for _, w in debate_hits)
    if debate_conf >= THRESHOLD:
        labels.append(Label("debate", debate_conf, (structure,) + tuple(ev for ev, _ in debate_hits)))
    if parent is None:
        return labels, context
    answer_ev = _answer(work, text, has_url, parent.get("text"), question)
    weights = [_W_PARENT_QUESTION if ev.rule.startswith("question.") else
               _ANSWER_WEIGHTS.get(ev.rule, 0.0) for ev in answer_ev]
    # A loaded question met with push-back is debate; it is also an answer only
    # when the reply gives a direct yes/no or a specific.
    if labels and not (_DIRECT.match(work.strip()) or any(ev.rule == "answer.specific" for ev in answer_ev)):
        weights = []
    has_substance = any(ev.rule.startswith("answer.") for ev in answer_ev)
    answer_conf = noisy_or(weights) if has_substance else 0.0
    if answer_conf >= THRESHOLD:
        labels.append(Label("answer", answer_conf, (structure,) + tuple(answer_ev)))
        parent_work = _PARENT_WORK.search(prepare(parent.get("text"))[0])
        status = _STATUS.search(work)
        if parent_work and status:
            # Answering "when does X ship?" with a timeframe narrates a plan.
            progress_plan = [
                Evidence("progress.answer_timeline", parent_work.group(),
                         parent_work.start(), parent_work.end(), "parent"),
                evidence_of("progress.answer_timeline", text, status)]
            labels.append(Label("progress", 0.6, tuple(progress_plan)))
    return labels, context


def _progress_labels(work: str, text: str, own_quote: Mapping[str, Any] | None) -> list[Label]:
    """The progress label of a post's own words, and of the organisation's or the leader's own
    post it quotes (``own_quote``)."""
    progress_hits = _progress(work, text)
    if own_quote is not None:
        # Quoting one's own organisation's announcement shares its progress.
        quoted_work, _ = prepare(own_quote.get("text"))
        progress_hits += [(ev, w * 0.8) for ev, w in _progress(quoted_work, own_quote.get("text") or "", "quoted")]
    if progress_hits and all(ev.rule == "progress.our_work" for ev, _ in progress_hits):
        social = _SOCIAL_OPENER.search(work)
        if social:
            # "Thanks to our team" / "Happy holidays, team" is appreciation, not narration.
            progress_hits = [(ev, w * 0.8) for ev, w in progress_hits]
            progress_hits.append((evidence_of("progress.social_damped", text, social), 0.0))
    promo = _PROMO.search(work) if progress_hits else None
    if promo is not None:
        # Promotion ("tune in", "register") damps bare launch words ("tickets now
        # available") more than an explicit first-person account of the work.
        progress_hits = [(ev, w * (0.75 if ev.rule == "progress.we_verb" else 0.6)) for ev, w in progress_hits]
        progress_hits.append((evidence_of("progress.promo_damped", text, promo), 0.0))
    progress_conf = noisy_or(w for _, w in progress_hits)
    if progress_conf >= THRESHOLD:
        return [Label("progress", progress_conf, tuple(ev for ev, _ in progress_hits))]
    return []
