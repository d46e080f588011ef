"""Tests for tracker.label.rules, the rules the learned labeller reads as features and that label
other people's posts (question, critical): each rule family with invented posts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tracker.label.reading import label_context, normalize_handles
from tracker.label.rules import CLASSIFIER_VERSION, CONTEXT_LABELS, POST_LABELS, label_post, label_post_and_context

SHARED = Path(os.environ.get("TRACKER_SHARED_DIR")
              or Path(__file__).resolve().parents[1].parent / "shared")
DEV = SHARED / "labels" / "dev.jsonl"


def post(text, kind="original", parent=None, parent_author="asker", is_self=False,
         quoted=None, quoted_author="someone", author="leader"):
    return {
        "id": "x:1", "platform": "x", "author": author, "created_at": "2026-01-05T10:00:00Z",
        "text": text, "kind": kind, "lang": "en",
        "in_reply_to": ({"author": parent_author, "text": parent, "is_self": is_self}
                        if kind == "reply" else None),
        "quoted": {"author": quoted_author, "text": quoted} if kind == "quote" else None,
    }


def names(p, org_handles=()):
    return [label.name for label in label_post(p, org_handles)]


def evidence(p, label_name, rule):
    """The evidence of ``rule`` under ``label_name``; fails when absent."""
    label = next(label for label in label_post(p) if label.name == label_name)
    return next(ev for ev in label.evidence if ev.rule == rule)


def assert_span(p, ev, expected):
    source_text = {"post": p["text"], "parent": (p["in_reply_to"] or {}).get("text"),
                   "quoted": (p["quoted"] or {}).get("text")}[ev.source]
    assert ev.text == expected
    assert source_text[ev.start:ev.end] == expected


def test_public_constants():
    assert POST_LABELS == ("answer", "debate", "progress")
    assert CONTEXT_LABELS == ("question", "critical")
    assert CLASSIFIER_VERSION.startswith("rules-")


# --- answer ----------------------------------------------------------------------------
ASKED = "@leader When does the new billing page go live for teams?"


def test_answer_substantive_reply_to_question():
    p = post("@asker It goes live for all teams on the first of next month, after the audit",
             kind="reply", parent=ASKED)
    assert names(p) == ["answer"]
    ev = evidence(p, "answer", "question.mark")
    assert ev.source == "parent"
    assert_span(p, ev, "When does the new billing page go live for teams?")


def test_answer_short_reply_with_a_specific():
    p = post("@asker Next week", kind="reply", parent=ASKED)
    ev = evidence(p, "answer", "answer.specific")
    assert_span(p, ev, "Next week")


@pytest.mark.parametrize("reply", ["@asker Yes", "@asker Thanks!", "@asker 😂😂",
                                   "@asker We can't comment on unreleased plans right now",
                                   "@asker Please DM me and the team will look at it"])
def test_answer_not_for_acknowledgements_or_non_answers(reply):
    assert "answer" not in names(post(reply, kind="reply", parent=ASKED))


def test_answer_needs_a_question_in_the_parent():
    p = post("@asker The new billing page shipped with a cleaner invoice layout and exports",
             kind="reply", parent="Loving the new dashboard colours, great job")
    assert "answer" not in names(p)


def test_answer_not_for_self_replies_or_colleagues():
    text = "@asker It goes live for all teams on the first of next month, after the audit"
    assert "answer" not in names(post(text, kind="reply", parent=ASKED, is_self=True))
    assert "answer" not in names(post(text, kind="reply", parent=ASKED,
                                      parent_author="ColleagueCTO"), ["colleaguecto"])


def test_answer_pointer_when_parent_unknown():
    p = post("@asker Please see our statement on the data policy https://example.org/s",
             kind="reply", parent=None)
    assert names(p) == ["answer"]
    assert_span(p, evidence(p, "answer", "answer.pointer"), "Please see")
    assert "answer" not in names(post("@asker Please see you soon!", kind="reply", parent=None))


# --- debate ----------------------------------------------------------------------------
def test_debate_disagreement_marker():
    p = post("@critic That is not true: the plant runs on recycled water, see the audit",
             kind="reply", parent="Their plant wastes water and nobody checks")
    assert "debate" in names(p)
    assert_span(p, evidence(p, "debate", "debate.disagree_marker"), "That is not true")


def test_debate_concession_but():
    p = post("@critic I understand the worry, but the trial data shows no such effect",
             kind="reply", parent="This product is a danger to everyone")
    assert_span(p, evidence(p, "debate", "debate.concession_but"),
                "I understand the worry, but")


def test_debate_not_for_agreement_jokes_or_originals():
    parent = "The new pricing is a disgrace and you know it"
    assert "debate" not in names(post("@critic Agreed, that is not ok", kind="reply", parent=parent))
    assert "debate" not in names(post("@critic 🤣🤣", kind="reply", parent=parent))
    assert "debate" not in names(post("That is not true, whatever they say", kind="original"))


def test_debate_rebuttal_word_needs_a_critical_counterpart():
    critical = "Their safety test fails badly, says a new report"
    p = post("@paper This report is a total hoax built on a staged video", kind="reply",
             parent=critical)
    assert "debate" in names(p)
    assert evidence(p, "debate", "critical.marker").source == "parent"
    neutral = post("@paper This report is a total hoax built on a staged video", kind="reply",
                   parent="A new report on the safety test came out today")
    assert "debate" not in names(neutral)


def test_debate_in_a_quote_and_quoted_speech_is_ignored():
    p = post("Wrong again: this is incorrect, our emissions fell two years running",
             kind="quote", quoted="Their emissions keep rising")
    assert "debate" in names(p)
    assert "debate" not in names(post('They said "that is not true" and we laughed',
                                      kind="quote", quoted="whatever"))


# --- progress --------------------------------------------------------------------------
def test_progress_first_person_work_verb():
    p = post("Today we shipped offline mode to every Android user &amp; the iOS beta follows")
    assert names(p) == ["progress"]
    ev = evidence(p, "progress", "progress.we_verb")
    assert_span(p, ev, "we shipped")


def test_progress_not_for_wishes_duties_or_thanks():
    for text in ("We must build a fairer economy for everyone",
                 "I look forward to working with you all next year",
                 "Happy holidays to our whole team, thank you!",
                 "Join us tonight for the livestream"):
        assert "progress" not in names(post(text)), text


def test_progress_launch_phrase_and_promo_damping():
    p = post("The new export tool is now available for every customer")
    assert_span(p, evidence(p, "progress", "progress.launch_phrase"), "now available")
    assert "progress" not in names(post("Tickets now available, register today!"))


def test_progress_milestone_and_money():
    p = post("Our pilot line just passed 10,000 cells this week")
    assert_span(p, evidence(p, "progress", "progress.milestone_number"), "passed 10,000")
    p = post("Proud to announce a $20M fund for local apprenticeships")
    assert_span(p, evidence(p, "progress", "progress.money_commitment"),
                "a $20M fund")


def test_progress_legislative_action():
    p = post("Today I introduced a bill to cap insulin prices at $35 a month")
    assert_span(p, evidence(p, "progress", "progress.we_verb"), "I introduced")
    assert "progress" not in names(post("I introduced @guest before her keynote tonight"))


def test_progress_ignores_manual_retweets():
    assert names(post('"@fan: we launched our fan club today!" Thank you')) == []
    assert names(post("RT @partner: We launched a new app today")) == []


def test_repost_gets_no_labels():
    assert label_post(post("We shipped it! 10.2 is live", kind="repost")) == []


def test_html_entities_and_offsets():
    p = post("@asker Fast &amp; simple: we&#39;re rolling out the fix to all users today")
    ev = evidence(p, "progress", "progress.launch_phrase")
    assert_span(p, ev, "rolling out")


# --- context labels ----------------------------------------------------------------------
def test_label_context_question_forms():
    assert [l.name for l in label_context("When will the app support dark mode?")] == ["question"]
    no_mark = label_context("any update on the refund for the March outage")
    assert no_mark[0].evidence[0].rule == "question.request"
    assert label_context("Guess what? We won!") == []
    assert label_context(None) == []


def test_label_context_critical():
    labels = label_context("You promised fixes and failed again, this is ridiculous")
    assert "critical" in [l.name for l in labels]
    assert label_context("Lovely launch, well done team") == []


# --- rules-2 families ---------------------------------------------------------------------
CRITIC = "Your battery claims are misleading and the rollout failed"


def test_debate_not_what_the_evidence_says():
    p = post("That is not what the data shows. Returns fell after the change.", "reply", parent=CRITIC)
    assert names(p) == ["debate"]
    assert_span(p, evidence(p, "debate", "debate.disagree_marker"), "That is not what the data shows")
    # Agreeing with the evidence is not a disagreement.
    assert "debate" not in names(post("That is what the data shows, and we agree.", "reply", parent=CRITIC))


def test_debate_i_dont_think_thats_right():
    p = post("I don't think that's right: the survey covered every depot.", "reply", parent=CRITIC)
    assert_span(p, evidence(p, "debate", "debate.disagree_marker"), "I don't think that's right")
    assert "debate" not in names(post("I think that's right, thanks for checking.", "reply", parent=CRITIC))


def test_debate_fair_point_but():
    p = post("Valid concern about the cost, but the grant covers the first two years.", "reply", parent=CRITIC)
    assert "debate" in names(p)
    assert_span(p, evidence(p, "debate", "debate.concession_but"),
                "Valid concern about the cost, but")
    # A fair point without a "but" concedes; it does not contest.
    assert "debate" not in names(post("Fair point, we will fix the wording.", "reply", parent=CRITIC))


def test_debate_claim_recurs_and_evidence_offer():
    p = post("The myth keeps coming up, so here are the figures: 2% of units failed.", "quote",
             quoted=CRITIC, quoted_author="critic")
    rules = {ev.rule for ev in next(l for l in label_post(p) if l.name == "debate").evidence}
    assert {"debate.claim_recurs", "debate.evidence_offer"} <= rules
    assert_span(p, evidence(p, "debate", "debate.claim_recurs"), "The myth keeps coming up")
    # Offering numbers to a friendly, non-critical post is not debate on its own.
    friendly = post("Here are the numbers from the open day.", "quote", quoted="Loved the open day!",
                    quoted_author="fan")
    assert "debate" not in names(friendly)


def test_progress_team_subject_and_rework_verbs():
    p = post("Work in progress: the engineers are redesigning the charger for colder sites.")
    assert names(p) == ["progress"]
    assert_span(p, evidence(p, "progress", "progress.we_verb"), "the engineers are redesigning")
    assert names(post("My team finished the audit of every depot this week.")) == ["progress"]
    # A team cheered on, or a book finished, is not the organisation's work.
    assert names(post("The team played their hearts out tonight!")) == []
    assert names(post("I just finished a great book on leadership.")) == []


def test_progress_lesson_learned():
    p = post("Lessons learned from the pilot: shorter shifts for the pickers, fewer errors.")
    assert names(p) == ["progress"]
    assert_span(p, evidence(p, "progress", "progress.lesson"), "Lessons learned")
    assert names(post("History has a lesson for all of us.")) == []


def test_critical_why_questions_name_no_one():
    labels = {l.name: l for l in label_context("Why doesn't the council publish the audit?")}
    assert set(labels) == {"question", "critical"}
    assert labels["critical"].evidence[0].text == "Why doesn't the council"
    assert [l.name for l in label_context("Why do birds sing at dawn?")] == ["question"]


# --- speed-related API -------------------------------------------------------------------
def test_normalize_handles_once_gives_the_same_labels():
    p = post("We shipped the fix to every depot today.", "reply", parent="When does the fix ship?",
             parent_author="@OrgHelp")
    handles = normalize_handles(["@OrgHelp", "Other"])
    assert handles == {"orghelp", "other"} and normalize_handles(handles) is handles
    # A reply to the organisation's own account is internal: no answer either way.
    assert "answer" not in names(p, handles) and "answer" not in names(p, ["@OrgHelp"])
    assert "answer" in names(p)


def test_label_post_and_context_returns_what_label_context_gives():
    p = post("It ships in March for every customer.", "reply", parent="When will dark mode ship?")
    labels, context = label_post_and_context(p)
    assert labels == label_post(p)
    assert context == label_context("When will dark mode ship?")
    assert context and context[0].evidence[0].source == "post"
    # Not read (a thread of one's own): no context labels.
    assert label_post_and_context(post("More below.", "reply", parent="Hi?", is_self=True))[1] is None
