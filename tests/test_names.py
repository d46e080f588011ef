"""Names with control characters never reach the email body; long names never overlap the index."""

from __future__ import annotations

import dataclasses
import unicodedata
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from click.testing import CliRunner  # noqa: E402

from report_fixture import build_sample  # noqa: E402
from tracker.report import pdf as report  # noqa: E402
from tracker.report.board import _leaderboard  # noqa: E402
from tracker.report.page import A4, MARGIN, Page  # noqa: E402
from tracker.cli import cli  # noqa: E402
from tracker.ops.report_job import build_report_data  # noqa: E402
from tracker.store import open_db  # noqa: E402

HOSTILE_NAME = "Maya \u202eakofO\u202c Okafor\u2066"  # a right-to-left override and an isolate
LONG_NAME = "Maximiliane Wilhelmina Konstantinopoulou-Hohenzollern-Sigmaringen"


def _config(tmp_path: Path, sample, names: dict[str, str]) -> Path:
    leaders = "".join(f'[[leaders]]\nid = "{leader.id}"\nname = "{names.get(leader.id, leader.name)}"\n'
                      f'accounts = {{ x = "{leader.accounts["x"]}" }}\n' for leader in sample.config.leaders)
    path = tmp_path / "names.toml"
    path.write_text(f'[tracker]\ndatabase = "{sample.db_path}"\nreports_dir = "reports"\n'
                    f'[organisation]\nname = "Northwind\u202e Robotics"\n{leaders}', encoding="utf-8")
    return path


def _controls(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]


def test_summary_txt_has_no_control_characters_from_names(tmp_path):
    sample = build_sample(tmp_path, n_leaders=2)
    config_path = _config(tmp_path, sample, {sample.config.leaders[0].id: HOSTILE_NAME})
    result = CliRunner().invoke(cli, ["--config", str(config_path), "report", "--month", sample.month,
                                      "--format", "pdf"])
    assert result.exit_code == 0, result.output
    summary = (tmp_path / "reports" / sample.month / "summary.txt").read_text(encoding="utf-8")
    assert _controls(summary) == []
    assert summary.startswith("Northwind Robotics: working out loud")
    assert "- Maya akofO Okafor: " in summary


def test_summary_text_strips_terminal_escapes_and_line_breaks(tmp_path):
    sample = build_sample(tmp_path, n_leaders=1)
    db = open_db(sample.db_path)
    try:
        data = build_report_data(db, sample.config, sample.month)
    finally:
        db.close()
    leader = dataclasses.replace(data.leaders[0], name="Ada\x1b[2J\r\nBcc: all@example.com\u2028x")
    data = dataclasses.replace(data, organisation="North\twind\x07", leaders=(leader,))
    text = report.summary_text(data)
    assert _controls(text) == []
    assert text.splitlines()[0] == "North wind: working out loud, " + report.month_label(sample.month)
    assert "- Ada [2J Bcc: all@example.com x: " in text


def test_summary_html_has_no_control_characters_from_names(tmp_path):
    from tracker.report.summary import email_html

    sample = build_sample(tmp_path, n_leaders=1, n_peers=2)
    db = open_db(sample.db_path)
    try:
        data = build_report_data(db, sample.config, sample.month)
    finally:
        db.close()
    leader = dataclasses.replace(data.leaders[0], name="Ada\x1b[2J\r\nBcc: all@example.com\u2028x")
    peer = dataclasses.replace(data.peers[0], organisation="Helix\x07\r\nAutomation")
    data = dataclasses.replace(data, organisation="North\twind\x07", leaders=(leader,), peers=(peer, *data.peers[1:]))
    html = email_html(data)
    assert _controls(html.replace("\n", "")) == []
    assert "<title>North wind: working out loud" in html
    assert "Ada [2J Bcc: all@example.com x" in html and "(Helix Automation)" in html


def test_a_long_name_stops_before_the_index_column(tmp_path):
    sample = build_sample(tmp_path, n_leaders=2)
    db = open_db(sample.db_path)
    try:
        data = build_report_data(db, sample.config, sample.month)
    finally:
        db.close()
    leaders = tuple(dataclasses.replace(leader, name=LONG_NAME) for leader in data.leaders)
    data = dataclasses.replace(data, leaders=leaders)
    page = Page("footer", 2, 2)
    _leaderboard(page, data, leaders, True)
    renderer = page.fig.canvas.get_renderer()
    index_x = (MARGIN + 2.45) / A4[0]
    names = [t for t in page.fig.texts if t.get_text().startswith("Maximiliane")]
    assert len(names) == 2 and all(t.get_text().endswith("\u2026") for t in names)
    for name in names:
        row = [t for t in page.fig.texts if abs(t.get_position()[1] - name.get_position()[1]) < 1e-9
               and abs(t.get_position()[0] - index_x) < 1e-9]
        assert row, "no index cell on the name's row"
        [index] = row
        assert index.get_text()  # a number, or "no data"
        gap = index.get_window_extent(renderer).x0 - name.get_window_extent(renderer).x1
        assert gap > 2, f"the name ends {-gap:.1f} px into the index column"
