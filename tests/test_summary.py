"""The executive summary: a pure function of the report data (same data, same words)."""

from __future__ import annotations

from tracker.report.data import LeaderReport, ReportData
from tracker.report.summary import executive_summary


def _leader(leader_id: str, name: str, organisation: str = "", change: float | None = None, **metrics) -> LeaderReport:
    row = {"coverage": "full", "low_sample": False, "openness_index": 50.0, "answers": 0, "questions_received": 0,
           "questions_answered": 0, "median_response_hours": None, "debates": 0, "unique_critics": 0,
           "progress": 0, "posts": 12, "progress_share": 0.0, **metrics}
    return LeaderReport(leader_id, name, "", "", row, (), None, change, None, (), (), {}, (), organisation)


def _data(leaders, peers=()) -> ReportData:
    return ReportData("Acme", "2026-03", "UTC", None, ("2026-03",), tuple(leaders), (), None, None, None, 0, 0, 0,
                      peers=tuple(peers))


def test_ties_go_by_name_and_the_words_never_change():
    leaders = [_leader("b", "Bea", answers=4, questions_received=5, questions_answered=4, median_response_hours=0.5),
               _leader("a", "Abe", answers=4, questions_received=4, questions_answered=4, median_response_hours=2.0,
                       change=-2.0, openness_index=48.0),
               _leader("c", "Cy", debates=3, unique_critics=1, progress=6, posts=8, change=3.25, low_sample=True)]
    first = executive_summary(_data(leaders))
    assert first == executive_summary(_data(list(reversed(leaders))))  # order of the rows does not matter
    assert first.sentences[0] == ("Abe answered the most questions: 4 answers, 4 of the 4 questions from outside "
                                  "the organisation answered (100%), typically within 2.0 hours (median time from "
                                  "question to answer).")
    assert first.sentences[1] == "Cy engaged critics the most: 3 debates with 1 different critic."
    assert first.sentences[2] == "Cy narrated the work the most: 6 of 8 posts (75%) reported progress."
    assert first.sentences[3] == ("The largest changes since February 2026: Cy's index rose 3.2 points, from 46.8 "
                                  "to 50.0; Abe's index fell 2.0 points, from 50.0 to 48.0.")
    assert len(first.sentences) == 4  # no peers: no comparison sentence
    assert first.caveat.startswith("Coverage: small samples for Cy")


def test_nothing_to_report_is_said_plainly_and_peers_without_data_are_named():
    leaders = [_leader("a", "Abe"), _leader("n", "Nia", coverage="none", openness_index=None)]
    peers = [_leader("p", "Pat", organisation="Rival", coverage="none", openness_index=None)]
    summary = executive_summary(_data(leaders, peers))
    assert summary.sentences[:3] == ("No leader answered a question in public this month.",
                                     "No leader took on a critic in public this month.",
                                     "No leader narrated the progress of the work this month.")
    assert summary.sentences[3] == "No leader has an openness index for both February 2026 and March 2026 to compare."
    assert summary.caveat == ("Coverage: no data for Nia (not collected this month, or before the collected history); "
                              "no data for peer Pat.")
    assert 3 <= len(summary.sentences) <= 6
