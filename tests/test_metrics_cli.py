"""End to end: the demo organisation's behaviours show in its metrics, and the CLI commands."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.demo.run import ORGANISATION, PEERS, run_demo
from tracker.metrics.declarations import KEYS
from tracker.metrics.monthly import load_metrics
from tracker.store import open_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
MONTH = "2026-02"  # the last complete month before NOW in Europe/London


def _figures(database) -> tuple[list, list]:
    """The stored metrics (but when they were computed) and labels of the demo database."""
    db = open_db(database)
    try:
        metrics = [{k: v for k, v in row.items() if k != "computed_at"}
                   for row in db.query("SELECT * FROM metrics ORDER BY leader_id, month, platform")]
        labels = list(db.execute("SELECT post_id, label, confidence, classifier_version FROM post_labels "
                                 "ORDER BY post_id, label"))
        return metrics, labels
    finally:
        db.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Shared by this module's tests. The `metrics` and `report` commands recompute what is
    stored; they must store the same figures again, so no test sees another's changes."""
    folder = tmp_path_factory.mktemp("demo")
    outcome = run_demo(folder, now=NOW)
    db = open_db(outcome.database)
    rows = {row["leader_id"]: row for row in load_metrics(db, MONTH)
            if row["platform"] == "all" and row["organisation"] == ORGANISATION}
    db.close()
    before = _figures(outcome.database)
    yield outcome, rows
    assert _figures(outcome.database) == before, "a test changed the figures of the shared demo database"


def test_demo_leaders_rank_by_their_behaviour(demo):
    _, rows = demo
    assert set(rows) == {"maya", "tomas", "priya", "james", "elena"}

    def top(key):
        return max(rows, key=lambda leader: rows[leader][key] or 0)

    assert top("answers") == "maya" and top("answers_est") == "maya" and top("component_answer") == "maya"
    assert top("debates") == "tomas" and top("debates_est") == "tomas"
    assert top("progress_share") == "priya"
    posted = [row for row in rows.values() if row["posts"]]
    for key in ("answers", "debates"):
        assert rows["james"][key] == min(row[key] for row in posted), key
    # Estimates sum probabilities: a leader who never replies estimates exactly 0, and James's
    # congratulation comments on LinkedIn less than half a post; on the 0-100 scale, a couple of points.
    for key, slack in (("answers_est", 0.5), ("debates_est", 0.5), ("component_answer", 2), ("component_debate", 2)):
        assert rows["james"][key] <= min(row[key] for row in posted) + slack, key
        assert rows["james"][key] < min(row[key] for leader, row in rows.items() if leader in ("maya", "tomas")), key
    assert min(rows, key=lambda leader: rows[leader]["posts"]) == "elena"
    assert rows["james"]["reposts"] > 0 and rows["james"]["component_progress"] < rows["priya"]["component_progress"]
    assert all(row["coverage"] == "full" for row in rows.values())


def test_demo_prints_the_leaderboard(demo):
    outcome, rows = demo
    text = "\n".join(outcome.summary_lines())
    assert f"Openness, {MONTH}" in text
    assert "Maya Okafor" in text.split(f"Openness, {MONTH}")[1]


def test_metrics_command_formats(demo):
    outcome, _ = demo
    runner = CliRunner()
    base = ["--config", str(outcome.config_path), "metrics", "--month", MONTH]
    result = runner.invoke(cli, base + ["--format", "json", "--leader", "maya"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["platform"] for r in rows] == ["bluesky", "linkedin", "mastodon", "x", "all"] and list(rows[0]) == list(KEYS)
    result = runner.invoke(cli, base + ["--format", "csv", "--platform", "all"])
    assert result.exit_code == 0 and result.output.splitlines()[0] == ",".join(KEYS)
    assert len(result.output.splitlines()) == 1 + 5 + len(PEERS)  # the peers are always computed
    result = runner.invoke(cli, base)
    assert result.exit_code == 0 and "maya" in result.output and "index" in result.output
    result = runner.invoke(cli, base + ["--leader", "nobody"])
    assert result.exit_code == 2 and "nobody" in result.output
    result = runner.invoke(cli, ["--config", str(outcome.config_path), "metrics", "--month", "2026-2"])
    assert result.exit_code == 2 and "YYYY-MM" in result.output


def test_label_command_reads_jsonl_and_names_bad_lines(tmp_path):
    good = {"id": "x:1", "platform": "x", "author": "ada", "created_at": "2025-01-01T00:00:00Z",
            "text": "@bob It ships in March: existing units get it through a remote update, no visit needed.",
            "kind": "reply", "in_reply_to": {"author": "bob", "text": "When does offline mode ship?",
                                              "is_self": False}, "quoted": None, "lang": "en"}
    result = CliRunner().invoke(cli, ["label"], input=json.dumps(good) + "\n")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["id"] == "x:1" and "answer" in out["labels"] and "answer" in out["evidence"]
    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps(good) + "\n" + "{not json\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["label", "--input", str(path)])
    assert result.exit_code == 2 and "line 2" in result.output


def test_evaluate_says_a_figure_on_training_posts_is_no_evidence(shared_dir):
    result = CliRunner().invoke(cli, ["evaluate", str(shared_dir / "labels" / "dev.jsonl")])
    assert "precision" in result.output and "answer" in result.output
    assert "Not evidence: the model was trained on dev.jsonl" in result.output


def test_the_report_csv_equals_tracker_metrics_csv(demo, tmp_path):
    outcome, _ = demo
    runner = CliRunner()
    base = ["--config", str(outcome.config_path)]
    printed = runner.invoke(cli, base + ["metrics", "--month", MONTH, "--format", "csv"])
    assert printed.exit_code == 0, printed.output
    written = runner.invoke(cli, base + ["report", "--month", MONTH, "--format", "csv", "--out", str(tmp_path)])
    assert written.exit_code == 0, written.output
    assert (tmp_path / f"metrics-{MONTH}.csv").read_text(encoding="utf-8") == printed.stdout


def test_combined_metrics_are_the_sum_of_three_platforms_minus_cross_posts(demo):
    outcome, _ = demo
    db = open_db(outcome.database)
    try:
        rows = [row for row in load_metrics(db, MONTH) if row["leader_id"] == "priya"]
    finally:
        db.close()
    per_platform = {row["platform"]: row for row in rows if row["platform"] != "all"}
    combined = next(row for row in rows if row["platform"] == "all")
    assert set(per_platform) == {"x", "bluesky", "blog"}
    assert combined["cross_posts"] > 0  # Priya copies some X posts to Bluesky word for word
    for key in ("posts", "originals"):  # the cross-posts are originals
        assert combined[key] == sum(row[key] for row in per_platform.values()) - combined["cross_posts"], key
    # A cross-posted progress note counts once: at most cross_posts fewer than the sum.
    progress_sum = sum(row["progress"] for row in per_platform.values())
    assert progress_sum - combined["cross_posts"] <= combined["progress"] < progress_sum


def test_peers_are_collected_measured_and_placed_but_never_ranked(demo):
    import statistics

    from tracker.config import load_config
    from tracker.ops.report_job import build_report_data

    outcome, rows = demo
    db = open_db(outcome.database)
    try:
        all_rows = {row["leader_id"]: row for row in load_metrics(db, MONTH) if row["platform"] == "all"}
        data = build_report_data(db, load_config(outcome.config_path), MONTH)
    finally:
        db.close()
    peers = {peer.id: all_rows[peer.id] for peer in PEERS}
    assert all(outcome.posts_by_leader.get(peer.id, 0) > 0 for peer in PEERS)
    assert {row["organisation"] for row in peers.values()} == {"Helix Automation", "Corvid Logistics"}
    # Two styles: Helix's CEO answers people, Corvid's CEO broadcasts.
    assert peers["helix-ceo"]["answers"] > 5 and peers["corvid-ceo"]["answers"] == 0
    # Maya's position, by hand from the peers' stored rows.
    cohort = sorted(row["openness_index"] for row in peers.values() if row["coverage"] != "none")
    maya = rows["maya"]
    assert maya["peer_count"] == len(cohort) == len(PEERS)
    assert maya["peer_index_median"] == round(statistics.median(cohort), 1)
    below = sum(value < maya["openness_index"] for value in cohort)
    level = sum(value == maya["openness_index"] for value in cohort)
    assert maya["peer_index_percentile"] == round(100 * (below + level / 2) / len(cohort), 1)
    # Never ranked among the organisation's leaders: the report keeps them apart.
    assert {leader.leader_id for leader in data.leaders} == set(rows)
    assert {peer.leader_id for peer in data.peers} == set(peers) and all(p.rank is None for p in data.peers)


def test_metrics_outputs_carry_the_peer_positions(demo):
    outcome, rows = demo
    base = ["--config", str(outcome.config_path), "metrics", "--month", MONTH, "--platform", "all"]
    runner = CliRunner()
    table = runner.invoke(cli, base).output
    assert "Against the peer cohort" in table
    maya_line = next(line for line in table.split("Against the peer cohort")[1].splitlines()
                     if line.startswith("maya "))
    assert maya_line.split()[-5] == f"{rows['maya']['peer_index_percentile']:.0f}"
    cohort_line = next(line for line in table.splitlines() if "peers: median (quartiles)" in line)
    assert f"index {rows['maya']['peer_index_median']} ({rows['maya']['peer_index_q1']}-" in cohort_line
    as_json = {row["leader_id"]: row for row in json.loads(runner.invoke(cli, base + ["--format", "json"]).output)}
    assert as_json["maya"]["peer_debate_q3"] == rows["maya"]["peer_debate_q3"]
    header = runner.invoke(cli, base + ["--format", "csv"]).output.splitlines()[0].split(",")
    assert {"organisation", "peer_count", "peer_index_percentile", "peer_presence_median"} <= set(header)


def _names_by(rows, *keys):
    """The leader first by ``keys`` (highest first), ties by name: the summary's rule."""
    from tracker.demo.run import LEADERS

    names = {leader.id: leader.name for leader in LEADERS}
    best = sorted(rows, key=lambda lid: (*(-(rows[lid][key] or 0) for key in keys), names[lid].casefold()))[0]
    return names[best], rows[best]


def test_the_report_opens_with_a_summary_that_states_the_metrics(demo):
    """Each sentence of the PDF's summary page, read from its text layer, against the metrics."""
    import statistics

    import pypdf

    from tracker.demo.run import LEADERS

    outcome, rows = demo
    pdf = outcome.folder / "reports" / MONTH / f"report-{MONTH}.pdf"
    page = " ".join(pypdf.PdfReader(pdf).pages[1].extract_text().split())
    assert "Summary, February 2026" in page
    db = open_db(outcome.database)
    try:
        previous = {row["leader_id"]: row for row in load_metrics(db, "2026-01") if row["platform"] == "all"}
        peers = [row for row in load_metrics(db, MONTH)
                 if row["platform"] == "all" and row["organisation"] != ORGANISATION]
    finally:
        db.close()
    names = {leader.id: leader.name for leader in LEADERS}

    name, row = _names_by(rows, "answers", "questions_answered")
    assert (f"{name} answered the most questions: {row['answers']} answers, {row['questions_answered']} of the "
            f"{row['questions_received']} questions from outside the organisation answered "
            f"({100 * row['questions_answered'] / row['questions_received']:.0f}%), typically within "
            f"{row['median_response_hours']:.1f} hours") in page
    name, row = _names_by(rows, "debates", "unique_critics")
    assert f"{name} engaged critics the most: {row['debates']} debates with {row['unique_critics']} different critics." \
        in page
    name, row = _names_by(rows, "progress", "progress_share")
    assert (f"{name} narrated the work the most: {row['progress']} of {row['posts']} posts "
            f"({100 * row['progress'] / row['posts']:.0f}%) reported progress.") in page
    changes = {lid: rows[lid]["openness_index"] - previous[lid]["openness_index"] for lid in rows}
    rise = max(changes, key=lambda lid: (changes[lid], -ord(names[lid][0])))
    fall = min(changes, key=lambda lid: changes[lid])
    assert (f"{names[rise]}'s index rose {changes[rise]:.1f} points, from {previous[rise]['openness_index']:.1f} "
            f"to {rows[rise]['openness_index']:.1f}") in page
    assert f"{names[fall]}'s index fell {-changes[fall]:.1f} points" in page
    cohort = [row["openness_index"] for row in peers]
    median = statistics.median(cohort)
    above = sum(row["openness_index"] > median for row in rows.values())
    assert (f"Against {len(PEERS)} peer leaders of Corvid Logistics and Helix Automation (median openness index "
            f"{median:.1f}") in page
    assert f"{above} of the {len(rows)} leaders of {ORGANISATION} score above the peer median." in page
    small = sorted((names[lid] for lid, row in rows.items() if row["low_sample"]), key=lambda n: n)
    caveat = page[page.index("Coverage:"):]
    assert all(name in caveat for name in small) and "small samples" in caveat
    # The summary comes first: the page before it is the cover, the one after the leaderboard.
    assert "Leaderboard" in pypdf.PdfReader(pdf).pages[2].extract_text()


def test_examples_come_with_their_context_distinct_texts_and_reasons(demo):
    import pypdf

    from tracker.config import load_config
    from tracker.metrics.cross_posts import normalize_cross_text
    from tracker.ops.report_job import build_report_data

    outcome, _ = demo
    db = open_db(outcome.database)
    try:
        data = build_report_data(db, load_config(outcome.config_path), MONTH)
        questions = {row[0]: row[1] for row in db.execute(
            "SELECT p.id, c.text FROM posts p JOIN context_posts c ON c.id = p.in_reply_to_id")}
    finally:
        db.close()
    leaders = {leader.leader_id: leader for leader in data.leaders}
    answers = leaders["maya"].samples["answer"]
    assert answers and all(post.context_text == questions[post.post_id] and post.context_author for post in answers)
    assert all(post.evidence for post in answers)
    debates = leaders["tomas"].samples["debate"]
    assert debates and all(post.context_text for post in debates)
    for leader in data.leaders:  # distinct texts only (Priya posts the same lesson twice)
        for posts in leader.samples.values():
            texts = [normalize_cross_text(post.text) for post in posts]
            assert len(texts) == len(set(texts)), leader.leader_id
    # A leader without examples of a behaviour still shows what they posted: the most liked
    # unlabelled posts (James, the broadcaster, never answers or debates).
    james = leaders["james"]
    assert not james.samples["answer"] and not james.samples["debate"] and james.other_posts
    likes = [post.likes or 0 for post in james.other_posts]
    assert likes == sorted(likes, reverse=True)
    pages = [" ".join(page.extract_text().split()) for page in
             pypdf.PdfReader(outcome.folder / "reports" / MONTH / f"report-{MONTH}.pdf").pages]
    maya = next(page for page in pages if "Maya Okafor Chief Customer Officer" in page)
    first = answers[0]
    assert f"Answering {first.context_author}: “{first.context_text[:30]}" in maya
    assert "Why: labelled an answer, confidence" in maya
    # The evidence in plain words: the labeller's first reason, which quotes the words.
    assert first.evidence and " ".join(first.evidence[0]["reason"].split())[:24] in maya
    james_page = next(page for page in pages if "James Whitfield Chief Executive Officer" in page)
    assert "Other posts: the month's most liked" in james_page and james.other_posts[0].text[:40] in james_page
