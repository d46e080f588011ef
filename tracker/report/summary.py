"""The report's executive summary: a few plain sentences written from the month's data only.

``executive_summary`` is pure: it reads a ``ReportData`` (the metrics rows the report
shows) and returns the sentences, so the same data always gives the same words and a test
can check every figure a sentence states against the metrics. Who leads a behaviour is
decided by counts, ties broken by name, and only among the organisation's own leaders
whose month was collected; peers appear only in the comparison sentence.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from tracker.report.data import LeaderReport, ReportData
from tracker.report.text import plain_line
from tracker.months import shift_month


@dataclass(frozen=True)
class ExecutiveSummary:
    sentences: tuple[str, ...]  # three to six, each one fact the reader can check
    caveat: str  # the coverage caveats, in one sentence

    @property
    def text(self) -> str:
        return " ".join((*self.sentences, self.caveat))


def _month(month: str) -> str:
    return f"{calendar.month_name[int(month[5:7])]} {month[:4]}"


def _count(value: Any) -> int:
    return int(value or 0)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%"


def _hours(value: float) -> str:
    if value < 1:
        return f"{value * 60:.0f} minutes"
    return "1 hour" if round(value, 1) == 1 else f"{value:.1f} hours"


def _names(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _with_data(leaders: Sequence[LeaderReport]) -> list[LeaderReport]:
    return [leader for leader in leaders if leader.has_data]


def _top(leaders: Sequence[LeaderReport], key: str, *also: str) -> LeaderReport | None:
    """The leader with the highest ``key`` (then ``also``), ties by name; None when all are 0."""
    def sort_key(leader: LeaderReport) -> tuple[Any, ...]:
        row = leader.metrics or {}
        return (*(-(row.get(k) or 0) for k in (key, *also)), leader.name.casefold(), leader.leader_id)

    ranked = sorted(leaders, key=sort_key)
    return ranked[0] if ranked and _count((ranked[0].metrics or {}).get(key)) > 0 else None


def answer_sentence(leaders: Sequence[LeaderReport]) -> str:
    top = _top(leaders, "answers", "questions_answered")
    if top is None:
        return "No leader answered a question in public this month."
    row = top.metrics or {}
    text = f"{top.name} answered the most questions: {_plural(_count(row.get('answers')), 'answer')}"
    received = _count(row.get("questions_received"))
    if received:
        answered = _count(row.get("questions_answered"))
        text += (f", {answered} of the {_plural(received, 'question')} from outside the organisation answered "
                 f"({_pct(answered, received)})")
    hours = row.get("median_response_hours")
    if hours is not None:
        text += f", typically within {_hours(float(hours))} (median time from question to answer)"
    return text + "."


def debate_sentence(leaders: Sequence[LeaderReport]) -> str:
    top = _top(leaders, "debates", "unique_critics")
    if top is None:
        return "No leader took on a critic in public this month."
    row = top.metrics or {}
    critics = _count(row.get("unique_critics"))
    text = f"{top.name} engaged critics the most: {_plural(_count(row.get('debates')), 'debate')}"
    if critics:
        text += f" with {_plural(critics, 'different critic')}"
    return text + "."


def progress_sentence(leaders: Sequence[LeaderReport]) -> str:
    top = _top(leaders, "progress", "progress_share")
    if top is None:
        return "No leader narrated the progress of the work this month."
    row = top.metrics or {}
    progress, posts = _count(row.get("progress")), _count(row.get("posts"))
    return (f"{top.name} narrated the work the most: {progress} of {_plural(posts, 'post')} "
            f"({_pct(progress, posts)}) reported progress.")


def change_sentence(leaders: Sequence[LeaderReport], month: str) -> str:
    previous = _month(shift_month(month, -1))
    moved = [leader for leader in leaders if leader.change is not None]
    if not moved:
        return f"No leader has an openness index for both {previous} and {_month(month)} to compare."
    rises = sorted((leader for leader in moved if leader.change is not None and leader.change >= 0.05),
                   key=lambda leader: (-(leader.change or 0), leader.name.casefold()))
    falls = sorted((leader for leader in moved if leader.change is not None and leader.change <= -0.05),
                   key=lambda leader: ((leader.change or 0), leader.name.casefold()))
    if not rises and not falls:
        return f"No leader's openness index changed since {previous}."

    def phrase(leader: LeaderReport, verb: str) -> str:
        now = float((leader.metrics or {}).get("openness_index") or 0)
        before = now - float(leader.change or 0)
        return f"{leader.name}'s index {verb} {abs(leader.change or 0):.1f} points, from {before:.1f} to {now:.1f}"

    parts = ([phrase(rises[0], "rose")] if rises else []) + ([phrase(falls[0], "fell")] if falls else [])
    label = "The largest changes" if len(parts) > 1 else "The largest change"
    return f"{label} since {previous}: {'; '.join(parts)}."


def peer_sentence(data: ReportData) -> str | None:
    """How the organisation's leaders compare with the peer cohort; None without peers."""
    peers = _with_data(data.peers)
    if not peers:
        return None
    own = [leader for leader in _with_data(data.leaders) if (leader.metrics or {}).get("openness_index") is not None]
    cohort = own[0].metrics or {} if own else {}
    median = cohort.get("peer_index_median")
    if not own or median is None:
        return None
    organisations = sorted({peer.organisation for peer in peers})
    above = sum(1 for leader in own if float((leader.metrics or {})["openness_index"]) > float(median))
    return (f"Against {_plural(len(peers), 'peer leader')} of {_names(organisations)} (median openness index "
            f"{float(median):.1f}, middle half {float(cohort['peer_index_q1']):.1f} to "
            f"{float(cohort['peer_index_q3']):.1f}), {above} of the {len(own)} leaders of {data.organisation} "
            f"score above the peer median.")


def coverage_caveat(data: ReportData) -> str:
    """The coverage caveats in one sentence: who was not (fully) collected, whose sample is small."""
    none = [leader.name for leader in data.leaders if (leader.metrics or {}).get("coverage") == "none"]
    missing = [leader.name for leader in data.leaders if leader.metrics is None]
    partial = [leader.name for leader in data.leaders if (leader.metrics or {}).get("coverage") == "partial"]
    small = [leader.name for leader in data.leaders if leader.has_data and (leader.metrics or {}).get("low_sample")]
    parts = []
    if none or missing:
        parts.append(f"no data for {_names(none + missing)} (not collected this month, or before the collected "
                     "history)")
    if partial:
        parts.append(f"only part of the month collected for {_names(partial)}")
    if small:
        parts.append(f"small samples for {_names(small)} (fewer than 10 posts or fewer than 5 questions), "
                     "so their figures may move a lot by chance")
    peers_without = [peer.name for peer in data.peers if not peer.has_data]
    if peers_without:
        parts.append(f"no data for peer {_names(peers_without)}")
    if not parts:
        return "Coverage: every leader's month was fully collected and every sample is large enough."
    return "Coverage: " + "; ".join(parts) + "."


def executive_summary(data: ReportData) -> ExecutiveSummary:
    leaders = _with_data(data.leaders)
    if not leaders:
        sentences = [f"No leader's {_month(data.month)} was collected, so there is nothing to summarise."]
        return ExecutiveSummary(tuple(sentences), coverage_caveat(data))
    sentences = [answer_sentence(leaders), debate_sentence(leaders), progress_sentence(leaders),
                 change_sentence(leaders, data.month)]
    peers = peer_sentence(data)
    if peers:
        sentences.append(peers)
    return ExecutiveSummary(tuple(sentences), coverage_caveat(data))


# --- the email ---------------------------------------------------------------------------------

EMAIL_CHART = "leaderboard.png"  # the summary page's chart, written beside the PDF


def _board_lines(data: ReportData) -> list[tuple[str, str, str]]:
    """(name, index and change, note) per leader in leaderboard order, then the peers."""
    out = []
    for leader in (*data.leaders, *data.peers):
        row = leader.metrics or {}
        name = leader.name + (f" ({leader.organisation})" if leader.organisation else "")
        if not leader.has_data or row.get("openness_index") is None:
            out.append((name, "no data", ""))
            continue
        change = "" if leader.change is None else f" ({leader.change:+.1f} since last month)"
        notes = [f"rank {leader.rank}" if leader.rank else ("peer, not ranked" if leader.organisation else "not ranked")]
        if row.get("low_sample"):
            notes.append("small sample")
        out.append((name, f"{float(row['openness_index']):.1f}{change}", ", ".join(notes)))
    return out


def _plain_names(data: ReportData) -> ReportData:
    """``data`` with the organisation's, leaders' and peers' names as one line of plain text each."""
    def plain(leaders: Sequence[LeaderReport]) -> tuple[LeaderReport, ...]:
        return tuple(replace(leader, name=plain_line(leader.name), organisation=plain_line(leader.organisation))
                     for leader in leaders)

    return replace(data, organisation=plain_line(data.organisation), leaders=plain(data.leaders),
                   peers=plain(data.peers))


def email_text(data: ReportData) -> str:
    """The plain-text body of the report email: the summary, then the leaderboard."""
    data = _plain_names(data)
    summary = executive_summary(data)
    # Names come from the config: each line is made one line of plain text (no control
    # characters or line breaks a name could smuggle into the mail).
    lines = [f"{data.organisation}: working out loud, {_month(data.month)}", ""]
    lines += [*summary.sentences, "", summary.caveat, "", "Openness index (0-100):"]
    lines += [f"- {name}: {index}" + (f"; {note}" if note else "") for name, index, note in _board_lines(data)]
    lines += ["", "The full report is attached as a PDF; its last page explains how to read it."]
    return "\n".join(plain_line(line) for line in lines) + "\n"


def email_html(data: ReportData, chart: str | None = EMAIL_CHART) -> str:
    """The HTML body: the summary, the leaderboard chart (``chart``, a file beside it, which
    the email carries inline) and the leaderboard as a table. Every value is escaped."""
    from html import escape as html_escape

    def escape(text: str) -> str:  # one line of plain text (see email_text), then HTML-escaped
        return html_escape(plain_line(text))

    data = _plain_names(data)
    summary = executive_summary(data)
    title = f"{data.organisation}: working out loud, {_month(data.month)}"
    rows = "".join(f"<tr><td>{escape(name)}</td><td style=\"text-align:right\">{escape(index)}</td>"
                   f"<td style=\"color:#555\">{escape(note)}</td></tr>" for name, index, note in _board_lines(data))
    image = (f'<p><img src="{escape(chart)}" alt="Openness index of each leader against the peer cohort" '
             f'style="max-width:100%"></p>' if chart else "")
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + escape(title) + "</title></head>\n"
        "<body style=\"font-family:sans-serif;max-width:720px\">\n"
        f"<h2>{escape(title)}</h2>\n"
        + "".join(f"<p>{escape(sentence)}</p>\n" for sentence in summary.sentences)
        + f"<p style=\"color:#555\">{escape(summary.caveat)}</p>\n{image}\n"
        "<table style=\"border-collapse:collapse\" cellpadding=\"4\"><tr><th align=\"left\">Leader</th>"
        "<th>Openness index (0-100)</th><th align=\"left\">Note</th></tr>" + rows + "</table>\n"
        "<p>The full report is attached as a PDF; its last page explains how to read it.</p>\n</body></html>\n")
