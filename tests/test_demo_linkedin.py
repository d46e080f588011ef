"""The demo's two LinkedIn leaders: exports written in LinkedIn's format, imported, in the numbers."""

from __future__ import annotations

import zipfile
from datetime import datetime, timezone

import pytest

from tracker.config import load_config
from tracker.demo.run import run_demo
from tracker.collect.linkedin import import_dropped_exports
from tracker.metrics.monthly import compute_metrics
from tracker.store import open_db

from platform_helpers import rows

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    outcome = run_demo(folder, now=NOW)
    return outcome, load_config(outcome.config_path)


def test_two_leaders_exports_are_written_in_linkedins_format(demo):
    outcome, _ = demo
    zips = sorted((outcome.folder / "linkedin-exports").rglob("*.zip"))
    assert [path.relative_to(outcome.folder / "linkedin-exports").as_posix() for path in zips] == [
        "james/Complete_LinkedInDataExport_03-09-2026.zip", "maya/Complete_LinkedInDataExport_03-09-2026.zip"]
    with zipfile.ZipFile(zips[1]) as archive:
        shares = archive.read("Shares.csv").decode("utf-8")
        comments = archive.read("Comments.csv").decode("utf-8")
        assert "Profile.csv" in archive.namelist()
    assert shares.startswith("Date,ShareLink,ShareCommentary,SharedUrl,MediaUrl,Visibility\n")
    assert '""\n""' in shares                       # inner lines wrapped in quotes again
    assert ',"","",MEMBER_NETWORK' in shares and ',"",' in shares  # empty fields, a reshare without text
    assert '\\"' in comments                         # backslash-escaped quotes
    repeated = [line for line in shares.splitlines() if line.startswith('""Bring your hardest questions.')]
    assert len(repeated) == 3                        # one post repeated


def test_the_demo_imports_them_once(demo):
    outcome, config = demo
    assert sum("LinkedIn export imported" in line for line in outcome.summary_lines()) == 2
    kinds = dict(rows(config, "SELECT account_id || ' ' || kind, count(*) FROM posts WHERE platform = 'linkedin' "
                              "GROUP BY account_id, kind"))
    assert kinds["maya:linkedin reply"] > 100 and kinds["maya:linkedin original"] > 40
    assert kinds["maya:linkedin repost"] == 1
    assert kinds["james:linkedin original"] > 40 and kinds["james:linkedin reply"] > 10
    assert rows(config, "SELECT count(*) FROM posts WHERE text = ?",
                ["Our customer day is next week.\n\nBring your hardest questions."]) == [(1,)]
    named = rows(config, "SELECT count(*) FROM posts WHERE account_id = 'maya:linkedin' AND kind = 'reply' "
                         "AND in_reply_to_user_id IS NOT NULL")[0][0]
    assert named > 80
    assert [export.status for export in import_dropped_exports(config)] == ["done", "done"]


def test_linkedin_is_in_the_demo_metrics_and_deduplicated_in_all(demo):
    _, config = demo
    db = open_db(config.database)
    try:
        february = {(r["leader_id"], r["platform"]): r for r in compute_metrics(db, config, "2026-02")}
        march = {(r["leader_id"], r["platform"]): r for r in compute_metrics(db, config, "2026-03")}
    finally:
        db.close()
    for leader in ("maya", "james"):
        assert february[(leader, "linkedin")]["coverage"] == "full"
        assert february[(leader, "linkedin")]["posts"] > 0
        assert march[(leader, "linkedin")]["coverage"] == "partial"
    assert ("tomas", "linkedin") not in february
    james = {platform: february[("james", platform)] for platform in ("x", "linkedin", "all")}
    assert james["linkedin"]["cross_posts"] > 0
    assert james["all"]["posts"] == james["x"]["posts"] + james["linkedin"]["posts"] - james["linkedin"]["cross_posts"]
