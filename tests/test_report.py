"""Monthly reports: data assembly, PDF/PNG/CSV output, hostile text, reproducibility."""

from __future__ import annotations

import csv
import io
import sqlite3
import sys
import warnings
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from report_fixture import HOSTILE_TEXTS, build_sample  # noqa: E402

from tracker.cli import cli  # noqa: E402
from tracker.metrics.csv_export import metrics_to_csv  # noqa: E402
from tracker.metrics.declarations import KEYS  # noqa: E402
from tracker.metrics.monthly import load_metrics  # noqa: E402
from tracker.errors import ConfigError  # noqa: E402
from tracker.report.pdf import render_report  # noqa: E402
from tracker.months import last_complete_month, month_bounds_utc, month_weeks, shift_month  # noqa: E402
from tracker.ops.report_job import build_report_data  # noqa: E402
from tracker.report.data import rank_leaders  # noqa: E402
from tracker.report.text import MISSING_GLYPH, printable, wrap  # noqa: E402
from tracker.store import open_db  # noqa: E402


def _data(setup, month=None, **kwargs):
    db = open_db(setup.db_path)
    try:
        return build_report_data(db, setup.config, month or setup.month, **kwargs)
    finally:
        db.close()


def _pdf_text(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


def _contents(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """Shared by the tests that only read: a test that writes (the CLI relabels and recomputes)
    builds its own, and the shared one is checked unchanged at the end."""
    setup = build_sample(tmp_path_factory.mktemp("sample"), n_leaders=3)
    before = _contents(setup.db_path)
    yield setup
    assert _contents(setup.db_path) == before, "a test changed the shared sample database"


@pytest.fixture
def own_sample(tmp_path):
    """A sample database for one test that writes to it."""
    return build_sample(tmp_path / "own", n_leaders=3)


@pytest.fixture(scope="module")
def rendered(sample, tmp_path_factory):
    data = _data(sample)
    return data, render_report(data, tmp_path_factory.mktemp("out"))


# --- data assembly -------------------------------------------------------------------------

def test_month_helpers():
    assert shift_month("2026-01", -1) == "2025-12"
    assert shift_month("2025-12", 13) == "2027-01"
    assert last_complete_month("Europe/London", datetime(2026, 4, 1, 0, 30, tzinfo=timezone.utc)) == "2026-03"
    # 23:30 UTC on 31 March is already 1 April in Tokyo: March is then complete.
    assert last_complete_month("Asia/Tokyo", datetime(2026, 3, 31, 23, 30, tzinfo=timezone.utc)) == "2026-03"
    assert last_complete_month("UTC", datetime(2026, 3, 31, 23, 30, tzinfo=timezone.utc)) == "2026-02"
    assert month_bounds_utc("2026-07", "Europe/London") == ("2026-06-30T23:00:00Z", "2026-07-31T23:00:00Z")
    # March 2026 starts on a Sunday (ISO week 9) and ends on a Tuesday (week 14).
    assert month_weeks("2026-03") == [("2026-W09", "2026-02-23"), ("2026-W10", "2026-03-02"),
                                      ("2026-W11", "2026-03-09"), ("2026-W12", "2026-03-16"),
                                      ("2026-W13", "2026-03-23"), ("2026-W14", "2026-03-30")]
    with pytest.raises(ConfigError):
        shift_month("2026-13", 1)


def test_rank_only_large_samples_and_ties_share_a_rank():
    rows = {
        "a": {"openness_index": 70.0, "coverage": "full", "low_sample": 0},
        "b": {"openness_index": 70.0, "coverage": "full", "low_sample": 0},
        "c": {"openness_index": 90.0, "coverage": "full", "low_sample": 1},
        "d": {"openness_index": None, "coverage": "none", "low_sample": 1},
        "e": {"openness_index": 40.0, "coverage": "partial", "low_sample": 0},
        "f": None,
    }
    assert rank_leaders(rows) == {"a": 1, "b": 1, "e": 3}


def test_report_data_reads_metrics_trend_weeks_samples_and_warnings(sample):
    data = _data(sample)
    assert data.months[0] == "2025-04" and data.months[-1] == "2026-03" and len(data.months) == 12
    assert {leader.leader_id for leader in data.leaders} == set(sample.leader_ids)
    db = open_db(sample.db_path)
    stored = {row[0]: row[1] for row in db.execute(
        "SELECT leader_id, openness_index FROM metrics WHERE month = '2026-03' AND platform = 'all'")}
    before = {row[0]: row[1] for row in db.execute(
        "SELECT leader_id, openness_index FROM metrics WHERE month = '2026-02' AND platform = 'all'")}
    weekly_answers = dict(db.execute(
        "SELECT p.leader_id, count(*) FROM posts p JOIN post_labels l ON l.post_id = p.id "
        "WHERE l.label = 'answer' GROUP BY p.leader_id").fetchall())
    db.close()
    for leader in data.leaders:
        assert leader.metrics["openness_index"] == stored[leader.leader_id]
        assert leader.trend[-1].index == stored[leader.leader_id]
        assert sum(week.answer for week in leader.weeks) == weekly_answers.get(leader.leader_id, 0)
        assert len(leader.weeks) == 6
        for label, posts in leader.samples.items():
            assert len(posts) <= 3
            keys = [(-post.confidence, -(post.likes or 0)) for post in posts]
            assert keys == sorted(keys)
    priya = next(leader for leader in data.leaders if leader.leader_id == "leader02")
    # Priya had no collection in January (no index: "no data") and a partial one in February,
    # which still has an index to compare with.
    assert priya.trend[-3].coverage == "none" and priya.trend[-3].index is None
    assert priya.trend[-2].coverage == "partial"
    assert priya.change == pytest.approx(stored["leader02"] - before["leader02"])
    assert "no data in 2026-01 (not collected, or before the collected history)" in priya.warnings and "partial collection in 2026-02" in priya.warnings
    maya = next(leader for leader in data.leaders if leader.leader_id == "leader00")
    assert maya.change == pytest.approx(stored["leader00"] - before["leader00"])
    assert data.newest_data and data.newest_data.startswith("2026-03")


def test_protected_account_and_failed_run_are_warned(tmp_path):
    setup = build_sample(tmp_path, n_leaders=4)
    james = next(leader for leader in _data(setup).leaders if leader.leader_id == "leader03")
    assert any("is protected" in warning for warning in james.warnings)
    assert any(warning.startswith("1 failed x collection run this month") for warning in james.warnings)


def test_group_and_leader_filters(sample):
    assert [leader.leader_id for leader in _data(sample, leader_ids=("leader01",)).leaders] == ["leader01"]
    assert {leader.group for leader in _data(sample, group="Group A").leaders} == {"Group A"}
    with pytest.raises(ConfigError, match="no leader with id 'nobody'"):
        _data(sample, leader_ids=("nobody",))
    with pytest.raises(ConfigError, match="no leader in group 'Nowhere'"):
        _data(sample, group="Nowhere")


# --- CSV ----------------------------------------------------------------------------------

def test_metrics_to_csv_columns_and_no_data_cells():
    text = metrics_to_csv([{"leader_id": "a", "month": "2026-03", "platform": "all", "posts": None,
                            "openness_index": 61.25, "low_sample": True, "computed_at": "now", "coverage": "none"}])
    header, row = list(csv.reader(io.StringIO(text)))
    assert tuple(header) == KEYS and "computed_at" not in header
    values = dict(zip(header, row))
    assert values["posts"] == "" and values["openness_index"] == "61.25" and values["low_sample"] == "1"


def test_csv_equals_metrics_to_csv_of_the_month(sample, rendered):
    _data, files = rendered
    db = open_db(sample.db_path)
    rows = load_metrics(db, sample.month, sample.leader_ids)
    db.close()
    assert files.csv.read_text(encoding="utf-8") == metrics_to_csv(rows)
    assert len(rows) == 6  # 3 leaders x (all, x)


# --- PDF and PNG --------------------------------------------------------------------------

def test_pdf_pages_names_and_index(rendered):
    data, files = rendered
    pages = _pdf_text(files.pdf)
    # cover + summary + leaderboard and posts overview on one page + 3 leaders + method note
    assert len(pages) == 1 + 1 + 1 + 3 + 1
    assert "Summary, March 2026" in pages[1]
    assert "Leaderboard, March 2026" in pages[2] and "Posts and behaviours per leader" in pages[2]
    # The method note stands alone: no repository paths to look up.
    assert "How to read this report" in pages[-1] and "docs/" not in pages[-1] and "repository" not in pages[-1]
    for leader in data.leaders:
        index = f"{leader.metrics['openness_index']:.1f}"
        assert leader.name in pages[2] and index in pages[2]
        assert any(leader.name in page and index in page for page in pages[3:6])
    assert all("newest data read" in page for page in pages)


def test_png_of_every_chart(rendered):
    data, files = rendered
    names = sorted(path.name for path in files.pngs)
    assert names == sorted(["leaderboard.png", "overview-posts-1.png"]
                           + [f"leader-{leader.leader_id}.png" for leader in data.leaders])
    for path in files.pngs:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _touches_edge(path: Path) -> bool:
    """Whether anything but white is drawn in the outer 3 pixels of a PNG (a clipped label)."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(path).convert("L"))
    return bool((pixels[:3] < 250).any() or (pixels[-3:] < 250).any()
                or (pixels[:, :3] < 250).any() or (pixels[:, -3:] < 250).any())


def test_png_crops_from_the_layout_clip_nothing(rendered, sample, tmp_path):
    # The crop of each chart is fixed by the page layout, not measured: every title, tick
    # label, axis label and legend must still lie inside it, with white margin around,
    # for ordinary data, an empty month (no data) and the longest names (hostile text).
    _unused, files = rendered
    hostile = build_sample(tmp_path / "db", n_leaders=1, hostile=True)
    paths = list(files.pngs)
    paths += render_report(_data(sample, month="2030-01"), tmp_path / "empty", formats=("png",)).pngs
    paths += render_report(_data(hostile), tmp_path / "hostile", formats=("png",)).pngs
    assert len(paths) == 5 + 5 + 3
    assert [path.name for path in paths if _touches_edge(path)] == []


def test_hostile_text_renders_as_written_without_warnings(tmp_path):
    setup = build_sample(tmp_path / "db", n_leaders=1, hostile=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = _data(setup)
        # Every hostile text as an example (two a behaviour), with hostile context too.
        leader = data.leaders[0]
        posts = [replace(leader.samples["answer"][0], post_id=f"x:h{i}", text=text,
                         context_author=HOSTILE_TEXTS[0][:20], context_text=text)
                 for i, text in enumerate(HOSTILE_TEXTS)]
        samples = {"answer": tuple(posts[:2]), "debate": tuple(posts[2:4]), "progress": tuple(posts[4:])}
        data = replace(data, leaders=(replace(leader, samples=samples),))
        files = render_report(data, tmp_path / "out")
    text = "\n".join(_pdf_text(files.pdf))
    assert "$x_1^2$ \\alpha \\n _under_ ^caret^ \\\\ back\\slash" in text  # no mathtext
    assert data.leaders[0].name.split(" 😀")[0] in text  # "Ana $x_1^2$ \ Ñúñez"
    assert "😀" in text
    assert "השקנו" in text
    assert "Donaudampfschifffahrts" in text


def test_printable_and_wrap():
    assert printable("a\nb\tc\x00d") == "a b c d"
    assert printable("中😀") == MISSING_GLYPH + "😀"  # DejaVu Sans has this emoji, not CJK
    assert printable("x\ufeffy\u202ez") == "xyz"
    lines = wrap("word " * 50 + "https://example.com/" + "a" * 500, 200, 7, 3)
    assert len(lines) == 3 and lines[-1].endswith("…")
    assert wrap("x" * 300, 100, 7, 10) and all(len(line) < 300 for line in wrap("x" * 300, 100, 7, 10))
    assert HOSTILE_TEXTS  # the fixture's hostile posts are the ones rendered above


def test_same_database_gives_byte_identical_files(sample, rendered, tmp_path):
    _data_first, first = rendered
    second = render_report(_data(sample), tmp_path)
    assert second.pdf.read_bytes() == first.pdf.read_bytes()
    for one, two in zip(first.pngs, second.pngs):
        assert one.read_bytes() == two.read_bytes(), one.name
    assert b"CreationDate" not in first.pdf.read_bytes()


def test_sixty_leaders_leaderboard_continues_over_pages(tmp_path):
    setup = build_sample(tmp_path / "db", n_leaders=60, posts_in_month=False)
    data = _data(setup)
    files = render_report(data, tmp_path / "out", formats=("pdf",))
    pages = _pdf_text(files.pdf)
    # cover + summary + 2 leaderboard + 2 overview (30 a page) + 60 leaders + method
    assert len(pages) == 1 + 1 + 2 + 2 + 60 + 1
    assert "Leaderboard, March 2026 (continued)" in pages[3]
    board = pages[2] + pages[3]
    assert all(leader.name in board for leader in data.leaders)
    assert files.pngs == () and files.csv is None


def test_empty_month_and_leader_without_posts_still_render(sample, tmp_path):
    data = _data(sample, month="2030-01")  # nothing collected, no metrics
    files = render_report(data, tmp_path / "empty")
    pages = _pdf_text(files.pdf)
    assert len(pages) == 7
    assert "not computed" in pages[2] and "No answers this month." in pages[3]
    assert files.csv.read_text(encoding="utf-8").count("\n") == 1  # the header only

    quiet = build_sample(tmp_path / "quiet", n_leaders=2, posts_in_month=False)
    files = render_report(_data(quiet), tmp_path / "quiet-out", formats=("pdf",))
    assert "No progress posts this month." in _pdf_text(files.pdf)[3]


# --- CLI ----------------------------------------------------------------------------------

def _config_file(tmp_path: Path, setup) -> Path:
    leaders = "\n".join(f'[[leaders]]\nid = "{leader.id}"\nname = "{leader.name}"\ngroup = "{leader.group}"\n'
                        f'accounts = {{ x = "{leader.accounts["x"]}" }}\n' for leader in setup.config.leaders)
    path = tmp_path / "tracker.toml"
    path.write_text(f'[tracker]\ndatabase = "{setup.db_path}"\nreports_dir = "{tmp_path / "reports"}"\n'
                    f'timezone = "Europe/London"\n[organisation]\nname = "Northwind Robotics"\n{leaders}',
                    encoding="utf-8")
    return path


def test_cli_report_writes_and_prints_paths(own_sample, tmp_path):
    config = _config_file(tmp_path, own_sample)
    result = CliRunner().invoke(cli, ["--config", str(config), "report", "--month", "2026-03",
                                      "--leader", "leader01", "--format", "pdf,csv"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "reports" / "2026-03"
    assert result.output.splitlines() == [str(folder / "report-2026-03.pdf"), str(folder / "metrics-2026-03.csv")]
    assert len(pypdf.PdfReader(folder / "report-2026-03.pdf").pages) == 1 + 1 + 1 + 1 + 1


def test_cli_report_usage_errors(own_sample, tmp_path):
    config = _config_file(tmp_path, own_sample)
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(config), "report", "--format", "pdf,docx"])
    assert result.exit_code == 2 and "docx (expected a comma-separated list of pdf, png, csv)" in result.output
    result = runner.invoke(cli, ["--config", str(config), "report", "--month", "2026-03", "--leader", "nobody"])
    assert result.exit_code == 2 and "Error: --leader: no leader with id 'nobody'" in result.output
    result = runner.invoke(cli, ["--config", str(config), "report", "--month", "2026-13"])
    assert result.exit_code == 2


def test_the_cover_contents_fit_above_the_cover_note_for_any_number_of_leaders():
    from tracker.report.board import COVER_NOTE_TOP, contents_layout

    for leaders in (1, 5, 20, 60, 200):
        names = {f"Leader {n}" for n in range(leaders)}
        contents = [("Leaderboard", 2), ("Overview", 3)] + [(f"Leader {n}", 4 + n) for n in range(leaders)]
        placed = contents_layout(contents, names, 6.3, COVER_NOTE_TOP - 0.25)
        assert all(y <= COVER_NOTE_TOP - 0.25 for _x, _n, y, _w, _t, _p in placed), leaders
        assert all(x_number <= 8.27 - 0.6 + 1e-9 for _x, x_number, *_ in placed), leaders
        pages = [number for *_, number in placed]
        assert pages == sorted(pages) and pages[0] == 2
        if leaders <= 5:
            assert len(placed) == len(contents)  # one line each, one column
        if leaders == 200:
            assert placed[-1][4] == "One page per leader (200), in leaderboard order" and placed[-1][5] == 4


def test_peers_are_shown_apart_and_never_ranked(tmp_path):
    setup = build_sample(tmp_path / "db", n_leaders=3, n_peers=4)
    data = _data(setup)
    assert [leader.leader_id for leader in data.leaders] == list(setup.leader_ids)
    assert len(data.peers) == 4 and all(peer.rank is None and peer.organisation for peer in data.peers)
    # The peer band of each month comes from the metrics rows.
    point = data.leaders[0].trend[-1]
    assert point.peer_median == data.leaders[0].metrics["peer_index_median"] is not None
    files = render_report(data, tmp_path / "out", formats=("pdf",))
    pages = _pdf_text(files.pdf)
    assert "Peers to compare with 4 leaders of Corvid Logistics, Helix Automation" in " ".join(pages[0].split())
    board = " ".join(pages[2].split())
    peers_part = board.split("Peers, to compare with (not ranked)")[1]
    for peer in data.peers:  # the organisation on its own line under the name
        assert f"– {peer.name}" in peers_part and peer.organisation in peers_part
    assert "peer leaders of Corvid Logistics and Helix Automation" in " ".join(pages[1].split())
    # Each leader page places the leader against the peers.
    assert all("Against peers index above" in " ".join(page.split()) for page in pages[3:6])
