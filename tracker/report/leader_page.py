"""One page per leader: the key figures, the weekly and trend charts, examples of each
behaviour and the collection warnings."""

from __future__ import annotations

from typing import Any


from tracker.metrics.index import index_interval_is_degenerate
from tracker.months import month_weeks, shift_month
from tracker.report.charts import OKABE_ITO, plot_index_trend, plot_weekly_activity
from tracker.report.data import BEHAVIOURS, LeaderReport, ReportData, SamplePost
from tracker.report.page import (A4, BEHAVIOUR_TITLES, CONTENT_WIDTH, GREY, MARGIN, Page, index_interval, month_label,
                                 num, signed_change)
from tracker.report.text import printable, text_width, truncate, wrap


def _ratio(part: Any, whole: Any, what: str) -> str:
    """"21 of 27 posts (78%, 95% interval 59–89%)"-style words for a share with its denominator."""
    return f"{num(part)} of {num(whole)} {what}"


def _share_words(row: dict[str, Any], key: str) -> str:
    value, low, high = row.get(key), row.get(f"{key}_low"), row.get(f"{key}_high")
    if value is None:
        return ""
    text = f"{100 * value:.0f}%"
    if low is not None and high is not None:
        text += f", 95% interval {100 * low:.0f}–{100 * high:.0f}%"
    return f" ({text})"


def _peer_words(row: dict[str, Any]) -> str | None:
    if not row.get("peer_count") or row.get("peer_index_percentile") is None:
        return None
    parts = "; ".join(f"{name.lower()} {num(row.get(f'peer_{key}_percentile'))}%"
                      for name, key in (("Answering", "answer"), ("Debate", "debate"), ("Progress", "progress"),
                                        ("Presence", "presence")) if row.get(f"peer_{key}_percentile") is not None)
    return (f"index above {num(row['peer_index_percentile'])}% of {num(row['peer_count'])} peers (their median "
            f"{num(row.get('peer_index_median'), 1)}, middle half {num(row.get('peer_index_q1'), 1)}–"
            f"{num(row.get('peer_index_q3'), 1)}); parts: {parts}")


def _key_figures(leader: LeaderReport, weeks_in_month: int) -> list[tuple[str, str]]:
    row = leader.metrics
    if row is None:
        return [("This month", "no figures: the month's metrics were not computed")]
    if row.get("coverage") == "none":
        return [("This month", "no data: the month was not collected, or is before the history the collection "
                 "reaches (this is not the same as no activity)")]
    kinds = ", ".join(f"{num(row.get(key))} {one if row.get(key) == 1 else many}" for key, one, many in
                      (("originals", "new post", "new posts"), ("replies", "reply", "replies"),
                       ("threads", "thread post", "thread posts"), ("quotes", "quote", "quotes")))
    received, answered = row.get("questions_received") or 0, row.get("questions_answered")
    if answered is None:  # older metrics rows: answered = share x received
        share = row.get("questions_answered_share")
        answered = round(share * received) if share is not None else 0
    answers = f"{num(row.get('answers'))} answers; "
    answers += (_ratio(answered, received, "questions from outside the organisation answered")
                + _share_words(row, "questions_answered_share") if received
                else "no questions from outside the organisation were received, so no share answered")
    replies_and_quotes = (row.get("replies") or 0) + (row.get("quotes") or 0)
    debates = f"{num(row.get('debates'))} replies or quotes taking on a challenge"
    if replies_and_quotes:
        debates = (_ratio(row.get("debates"), replies_and_quotes, "replies and quotes take on a challenge")
                   + _share_words(row, "debate_share"))
    if row.get("unique_critics"):
        debates += f"; {num(row.get('unique_critics'))} different critics"
    progress = (_ratio(row.get("progress"), row.get("posts"), "posts report progress of the work")
                + _share_words(row, "progress_share")) if row.get("posts") else "no posts, so no progress share"
    outside = (_ratio(row.get("external_replies"), row.get("replies"), "replies go to people outside the "
                      "organisation") + _share_words(row, "external_reply_share")) if row.get("replies") \
        else "no replies this month"
    likes = row.get("median_likes")
    figures = [
        ("Posts", f"{num(row.get('posts'))} of the leader's own ({kinds}); {num(row.get('reposts'))} reposts, "
                  "not counted"),
        ("Answers", answers),
        ("Time to answer", "no answered questions, so no time to answer" if row.get("median_response_hours") is None
         else f"half the answers came within {num(row.get('median_response_hours'), 1)} hours of the question "
              "(median)"),
        ("Debates", debates),
        ("Progress posts", progress),
        ("Conversation", f"{outside}; {num(row.get('unique_counterparts'))} different "
                         f"{'person' if row.get('unique_counterparts') == 1 else 'people'} replied to or quoted"),
        ("Presence", f"posted in {num(row.get('active_weeks'))} of the month's {weeks_in_month} weeks"
                     + (f"; half the posts had {num(likes)} likes or more (median)" if likes is not None else "")),
        ("Index parts", "  ·  ".join(f"{name} {num(row.get(f'component_{key}'), 1)}" for name, key in
                                     (("answering", "answer"), ("debate", "debate"), ("progress", "progress"),
                                      ("presence", "presence"))) + " (each 0–100)"),
    ]
    peers = _peer_words(row)
    if peers:
        figures.append(("Against peers", peers))
    if leader.platform_metrics:
        figures.append(("By platform", "  ·  ".join(f"{printable(str(r['platform']))} {num(r.get('posts'))} posts"
                                                    for r in leader.platform_metrics)))
    return figures


CONTEXT_WORDS = {"answer": "Answering", "debate": "Answering the point of", "progress": "Following up"}


def _evidence_words(post: SamplePost) -> str:
    """The label's evidence in plain words, read generically: a span's own ``reason`` when the
    labeller gives one, otherwise the words it matched in the post and in the post it answers."""
    own: list[str] = []
    parent: list[str] = []
    facts: list[str] = []
    for item in post.evidence:
        text = printable(str(item.get("text") or ""))
        reason = printable(str(item.get("reason") or ""))
        if reason:  # the labeller's own words, which already quote the span
            facts.append(reason)
        elif not text:
            continue
        elif item.get("source") == "post":
            own.append(f"“{text}”")
        elif item.get("source") in ("parent", "quoted", "context"):
            parent.append(f"“{truncate(text, 180, 6.5)}”")  # a whole question can be long
        elif " " in text:  # a worded fact such as "22 words"; bare ids and handles say nothing
            facts.append(text)
    parts = facts + ([f"its words {', '.join(dict.fromkeys(own))}"] if own else []) \
        + ([f"the post it responds to says {', '.join(dict.fromkeys(parent))}"] if parent else [])
    return "; ".join(parts)


def _work_reported(post: SamplePost) -> str | None:
    """The sentence of a progress post that its evidence points at: the work it reports."""
    spans = [item for item in post.evidence if item.get("source") == "post" and isinstance(item.get("start"), int)]
    if not spans or not post.text:
        return None
    start = min(int(item["start"]) for item in spans)
    if not 0 <= start < len(post.text):
        return None
    before = max(post.text.rfind(mark, 0, start) for mark in (". ", "! ", "? ", "\n"))
    after = [position for mark in (". ", "! ", "? ", "\n") if (position := post.text.find(mark, start)) >= 0]
    sentence = post.text[before + 1 if before >= 0 else 0:(min(after) + 1) if after else len(post.text)]
    return printable(sentence) or None


def _example(page: Page, y: float, post: SamplePost, behaviour: str, name: str) -> float:
    """One representative post with its context and why it was chosen; returns the next y."""
    width = CONTENT_WIDTH * 72 - 0.15 * 72
    x = MARGIN + 0.15
    likes = "" if post.likes is None else f" · {post.likes} likes"
    meta = f"{post.created_local} · {KIND_WORDS.get(post.kind, post.kind)}{likes}"
    page.text(x, y, meta, size=6.5, color=GREY)
    if post.url:
        # The link, not the URL: a board reader clicks it, and a long URL costs a line of glyphs.
        page.text(x + (text_width(meta, 6.5) + 6) / 72, y, "open the post", size=6.5, color=OKABE_ITO["blue"],
                  url=post.url)
    y += 0.13
    context = None
    if post.context_text:
        author = printable(post.context_author or "someone")
        lead = (f"Continuing {name}'s own post" if author == "the leader" else
                f"Quoting {author}" if post.kind == "quote" else f"{CONTEXT_WORDS[behaviour]} {author}")
        context = f"{lead}: “{truncate(printable(post.context_text), 0.75 * width, 7)}”"
    elif behaviour == "progress":
        work = _work_reported(post)
        # Only worth a line when the post says more than that one sentence.
        context = f"The work reported: “{work}”" if work and work != printable(post.text) else None
    if context:
        # Upright: DejaVu Sans Oblique lacks glyphs the upright face has (Arabic, for one).
        page.text(x, y, truncate(context, width, 7), size=7, color="#333333")
        y += 0.135
    for line in wrap(printable(post.text), width, 7.5, 2):
        page.text(x, y, line, size=7.5)
        y += 0.135
    reason = _evidence_words(post)
    why = f"Why: labelled {BEHAVIOUR_WORDS[behaviour]}, confidence {post.confidence:.2f}" + \
        (f"; {reason}" if reason else "")
    page.text(x, y, truncate(why, width, 6.5), size=6.5, color=GREY)
    return y + 0.19


KIND_WORDS = {"original": "new post", "reply": "reply", "thread": "thread post", "quote": "quote",
              "repost": "repost"}
BEHAVIOUR_WORDS = {"answer": "an answer", "debate": "a debate", "progress": "progress"}
# Two clear examples with their context say more than three without; fewer when the page
# has no room (``_fit_examples``).
EXAMPLES_PER_BEHAVIOUR = 2


def _example_height(post: SamplePost, behaviour: str) -> float:
    lines = len(wrap(printable(post.text), CONTENT_WIDTH * 72 - 0.15 * 72, 7.5, 2))
    context = bool(post.context_text) or behaviour == "progress"
    return 0.13 + (0.135 if context else 0) + 0.135 * lines + 0.19


def _other_posts(page: Page, y: float, leader: LeaderReport, bottom: float) -> float:
    """The leader's most liked posts without a behaviour label, as many as fit above ``bottom``."""
    width = CONTENT_WIDTH * 72 - 0.15 * 72
    posts = []
    room = bottom - y - 0.3
    for post in leader.other_posts:
        height = 0.13 + 0.135 * len(wrap(printable(post.text), width, 7.5, 2)) + 0.06
        if height > room:
            break
        posts.append(post)
        room -= height
    if not posts:
        return y
    y += 0.05
    page.text(MARGIN, y, "Other posts: the month's most liked, showing none of these behaviours", size=8,
              fontweight="bold", color=OKABE_ITO["blue"])
    y += 0.17
    for post in posts:
        likes = "" if post.likes is None else f" · {post.likes} likes"
        meta = f"{post.created_local} · {KIND_WORDS.get(post.kind, post.kind)}{likes}"
        page.text(MARGIN + 0.15, y, meta, size=6.5, color=GREY)
        if post.url:
            page.text(MARGIN + 0.15 + (text_width(meta, 6.5) + 6) / 72, y, "open the post", size=6.5,
                      color=OKABE_ITO["blue"], url=post.url)
        y += 0.13
        for line in wrap(printable(post.text), width, 7.5, 2):
            page.text(MARGIN + 0.15, y, line, size=7.5)
            y += 0.135
        y += 0.06
    return y


def _fit_examples(leader: LeaderReport, room: float) -> dict[str, tuple[SamplePost, ...]]:
    """Up to EXAMPLES_PER_BEHAVIOUR examples of each behaviour, fewer (the last ones first,
    never the first of a behaviour) when they would not fit in ``room`` inches."""
    chosen = {behaviour: list(leader.samples.get(behaviour, ())[:EXAMPLES_PER_BEHAVIOUR]) for behaviour in BEHAVIOURS}
    heights = {post.post_id: _example_height(post, behaviour) for behaviour, posts in chosen.items() for post in posts}

    def height() -> float:
        total = 0.03 * len(BEHAVIOURS)
        for posts in chosen.values():
            total += sum(heights[post.post_id] for post in posts) if posts else 0.18
        return total

    while height() > room:
        longest = max(chosen, key=lambda behaviour: (len(chosen[behaviour]), -BEHAVIOURS.index(behaviour)))
        if len(chosen[longest]) <= 1:
            break
        chosen[longest].pop()
    return {behaviour: tuple(posts) for behaviour, posts in chosen.items()}


def _leader_header(page: Page, data: ReportData, leader: LeaderReport) -> None:
    """The name, role and group, and the index with its interval, rank and change."""
    page.text(MARGIN, 0.55, truncate(printable(leader.name), 4.6 * 72, 15), size=15, fontweight="bold")
    subtitle = " · ".join(printable(part) for part in (leader.role, leader.group) if part)
    page.text(MARGIN, 0.9, truncate(subtitle or printable(leader.leader_id), 4.6 * 72, 8), size=8, color=GREY)
    row = leader.metrics or {}
    right = A4[0] - MARGIN
    if leader.has_data and row.get("openness_index") is not None:
        page.text(right, 0.5, num(row["openness_index"], 1), size=22, fontweight="bold", ha="right",
                  color=OKABE_ITO["blue"])
        interval = ""
        if row.get("openness_index_low") is not None and row.get("openness_index_high") is not None:
            interval = (" · no 95% interval†" if index_interval_is_degenerate(row)
                        else f" · 95% interval {index_interval(row)}")
        ranked = sum(1 for r in data.leaders if r.rank)
        rank = f"rank {leader.rank} of {ranked} ranked leaders" if leader.rank else "not ranked"
        if not leader.rank and row.get("low_sample"):
            rank += " (too few posts or questions to rank)"
        change = f"{signed_change(leader.change)} points since {month_label(shift_month(data.month, -1))}" \
            if leader.change is not None else "no index last month to compare with"
        page.text(right, 0.95, f"openness index, 0–100{interval}", size=7, ha="right", color=GREY)
        page.text(right, 1.1, f"{rank} · {change}", size=7, ha="right", color=GREY)
    else:
        page.text(right, 0.6, "no data", size=16, fontweight="bold", ha="right", color=GREY)
        page.text(right, 0.95, "no openness index this month", size=7, ha="right", color=GREY)


def _examples(page: Page, y: float, leader: LeaderReport) -> float:
    """The examples of each behaviour (or the leader's other posts), from ``y``; returns the next y."""
    page.text(MARGIN, y, "Examples: the clearest posts of each behaviour, with what they respond to", size=9,
              fontweight="bold")
    y += 0.25
    chosen = _fit_examples(leader, A4[1] - 1.05 - y - 0.17 * len(BEHAVIOURS)
                           - 0.14 * max(1, min(len(leader.warnings), 3)))
    for behaviour in BEHAVIOURS:
        posts = chosen[behaviour]
        page.text(MARGIN, y, BEHAVIOUR_TITLES[behaviour], size=8, fontweight="bold", color=OKABE_ITO["blue"])
        y += 0.17
        if not posts:
            page.text(MARGIN + 0.15, y, f"No {BEHAVIOUR_TITLES[behaviour].lower()} this month.", size=7,
                      color=GREY, style="italic")
            y += 0.18
        for post in posts:
            y = _example(page, y, post, behaviour, printable(leader.name.split()[0]))
        y += 0.03
    if not all(chosen.values()):  # a behaviour without examples: show what else the leader said
        y = _other_posts(page, y, leader, A4[1] - 1.05 - 0.14 * max(1, min(len(leader.warnings), 3)))
    return y


def _warnings(page: Page, y: float, leader: LeaderReport) -> None:
    """The collection warnings, as many as fit above the footer."""
    page.rule(y - 0.08)
    page.text(MARGIN, y, "Collection warnings", size=8, fontweight="bold")
    y += 0.17
    width = CONTENT_WIDTH * 72
    room = max(1, int((A4[1] - 0.75 - y) / 0.14))
    warnings = list(leader.warnings) or ["none: the month is fully collected and no run failed during it"]
    if len(warnings) > room:
        warnings = warnings[:room - 1] + [f"and {len(leader.warnings) - room + 1} more"]
    for warning in warnings:
        page.text(MARGIN + 0.15, y, truncate("• " + printable(warning), width - 0.15 * 72, 7), size=7)
        y += 0.14


def draw_leader_page(page: Page, data: ReportData, leader: LeaderReport) -> None:
    _leader_header(page, data, leader)
    y = 1.4
    page.rule(y - 0.08)
    for label, value in _key_figures(leader, len(leader.weeks) or len(month_weeks(data.month))):
        page.text(MARGIN, y, label, size=7.5, fontweight="bold")
        lines = wrap(value, (CONTENT_WIDTH - 1.15) * 72, 7.5, 2)
        for line in lines:
            page.text(MARGIN + 1.15, y, line, size=7.5)
            y += 0.15
        y += 0.03
    y += 0.2
    weekly = page.axes(MARGIN + 0.45, y + 0.22, 2.95, 1.45)
    plot_weekly_activity(weekly, leader.weeks, month_label(data.month), leader.has_data)
    trend = page.axes(MARGIN + 3.8, y + 0.22, CONTENT_WIDTH - 3.85, 1.45)
    has_peers = any(point.peer_median is not None for point in leader.trend)
    plot_index_trend(trend, leader, leader.trend, title_size=9, legend=True,
                     title="Index (0–100), last 12 months" + (", and peers" if has_peers else ""))
    # One PNG for the page's two charts: a PNG costs a drawing of its own.
    page.chart(f"leader-{leader.leader_id}", (weekly, trend), around=(0.48, 0.32, 0.1, 0.85))
    y = _examples(page, y + 2.6, leader)
    _warnings(page, y + 0.1, leader)
