"""LinkedIn data export import: LinkedIn's quoting undone, stable ids, identity check, bad files."""

from __future__ import annotations

import csv
import json
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.config import load_config
from tracker.demo.emulators.linkedin_export import Comment, Share, share_link, write_export
from tracker.collect.linkedin import (ExportError, archive_date_from_name, counterpart_name, import_linkedin_export,
                              unwrap_text)

from platform_helpers import rows

POSTS = [
    Share("2026-03-02 09:15:00", share_link("share", 7100000000000000001),
          'Shipping day.\n\nWe moved "offline mode" to beta, and:\n- it syncs in a minute\n- no site visit\n\n'
          "What should we fix next?", "https://example.com/beta", ""),
    Share("2026-03-05 18:00:00", share_link("share", 7100000000000000002), "One line, with a comma"),
    Share("2026-03-07 07:30:00", share_link("share", 7100000000000000003), ""),  # a reshare without text
    Share("2026-04-01 12:00:00", share_link("ugcPost", 7100000000000000004), 'He said ""fine"" twice'),
]
REPEATED = Share("2026-02-10 10:00:00", share_link("share", 7100000000000000009), "Our year in review.\nThanks all")
SAME_LINK = [  # one ShareLink on two different rows
    Share("2026-02-11 10:00:00", share_link("share", 7100000000000000010), "First text on this link"),
    Share("2026-02-12 10:00:00", share_link("share", 7100000000000000010), "Second text on this link"),
]
COMMENTS = [
    Comment("2026-03-02 10:00:00", share_link("activity", 7200000000000000001),
            'Lena Fischer Yes: "offline mode" keeps every log and syncs later.'),
    Comment("2026-03-03 11:00:00", share_link("activity", 7200000000000000002), "Thanks, Omar!"),
    Comment("2026-03-04 12:00:00", share_link("activity", 7200000000000000002),
            "Great point.\n\nWe will publish the numbers, \\o/ soon"),
]


def _config(tmp_path: Path, name: str = "Ada Example", extra: str = ""):
    path = tmp_path / "tracker.toml"
    path.write_text(f"""
[tracker]
database = "tracker.db"
[organisation]
name = "Test Org"
{extra}
[[leaders]]
id = "ada"
name = "{name}"
accounts = {{ linkedin = "https://www.linkedin.com/in/ada-example/" }}

[[leaders]]
id = "grace"
name = "Grace Example"
accounts = {{ x = "grace_example" }}
""", encoding="utf-8")
    return load_config(path)


def _export(tmp_path: Path, name: str = "Basic_LinkedInDataExport_04-20-2026.zip", shares=None, comments=None,
            profile=("Ada", "Example"), as_zip=True) -> Path:
    shares = POSTS + [REPEATED] * 5 + SAME_LINK if shares is None else shares
    return write_export(tmp_path / name, shares, COMMENTS if comments is None else comments, profile, as_zip=as_zip)


def _stored(config):
    return {row[0]: row[1:] for row in rows(
        config, "SELECT id, kind, text, created_at, in_reply_to_id, in_reply_to_user_id, url FROM posts")}


def test_unwrap_removes_only_linkedins_line_quotes():
    assert unwrap_text('first"\n""\n"middle "quoted""\n"last') == 'first\n\nmiddle "quoted"\nlast'
    assert unwrap_text('first"\r\n"last') == "first\r\nlast"
    assert unwrap_text("one line") == "one line"
    # Not LinkedIn's wrapping: a comment's own line breaks stay as written.
    assert unwrap_text('plain\n"quoted" line\nend') == 'plain\n"quoted" line\nend'
    assert unwrap_text('a"\nb\n"c') == 'a"\nb\n"c'


def test_import_stores_text_as_written_with_stable_ids(tmp_path):
    config = _config(tmp_path)
    result = import_linkedin_export(config, "ada", [_export(tmp_path)])
    # 4 posts + the repeated row once + 2 rows on one link; 3 comments.
    assert (result.rows_read, result.new_posts, result.new_comments) == (4 + 5 + 2 + 3, 7, 3)
    stored = _stored(config)
    by_text = {values[1]: (post_id, values) for post_id, values in stored.items()}
    for share in POSTS + [REPEATED] + SAME_LINK:
        post_id, (kind, _, created_at, parent, counterpart, url) = by_text[share.text]
        assert kind == ("original" if share.text else "repost")
        assert created_at == share.date.replace(" ", "T") + "Z"
        assert (parent, counterpart, url) == (None, None, share.link)
    assert by_text[POSTS[0].text][0] == "linkedin:share:7100000000000000001"  # the URN, unique in the export
    assert by_text[POSTS[3].text][0] == "linkedin:ugcPost:7100000000000000004"
    # Identical repeated rows are one post: the URN still names it.
    assert by_text[REPEATED.text][0] == "linkedin:share:7100000000000000009"
    for same_link in SAME_LINK:  # a URN on differing rows: a hash of date, link and text
        assert re.fullmatch(r"linkedin:post:[0-9a-f]{24}", by_text[same_link.text][0])
    for comment in COMMENTS:
        post_id, (kind, _, _, parent, _, url) = by_text[comment.message]
        assert (kind, url) == ("reply", comment.link)
        assert parent == "linkedin:activity:" + comment.link.rsplit("%3A", 1)[1]
        assert post_id.startswith("linkedin:comment:")
    assert by_text[COMMENTS[0].message][1][4] == "Lena Fischer"
    assert by_text[COMMENTS[1].message][1][4] is None
    raw = json.loads(rows(config, "SELECT raw FROM posts WHERE id = ?", [by_text[POSTS[0].text][0]])[0][0])
    assert raw["linkedin_export"]["columns"][1] == "ShareLink"
    assert raw["linkedin_export"]["row"][1] == POSTS[0].link
    assert raw["linkedin_export"]["row"][2].startswith('Shipping day."\n"')  # as in the file, before unwrapping


def test_zip_folder_and_csv_files_import_the_same(tmp_path):
    results = {}
    for form in ("zip", "folder", "files"):
        folder = tmp_path / form
        folder.mkdir()
        config = _config(folder)
        path = _export(folder, name="export" + (".zip" if form == "zip" else ""), as_zip=form == "zip")
        paths = [path / "Shares.csv", path / "Comments.csv"] if form == "files" else [path]
        import_linkedin_export(config, "ada", paths)
        results[form] = {k: v for k, v in _stored(config).items()}
    assert results["zip"] == results["folder"] == results["files"]
    assert len(results["zip"]) == 10


def test_second_import_adds_nothing_and_a_newer_export_only_the_new(tmp_path):
    config = _config(tmp_path)
    path = _export(tmp_path)
    import_linkedin_export(config, "ada", [path])
    before = _stored(config)
    again = import_linkedin_export(config, "ada", [path])
    assert (again.new_posts, again.new_comments) == (0, 0)
    assert _stored(config) == before
    newer_post = Share("2026-05-02 08:00:00", share_link("share", 7100000000000000020), "May update")
    newer_comment = Comment("2026-05-03 08:00:00", share_link("activity", 7200000000000000030), "Agreed")
    newer = _export(tmp_path, "Basic_LinkedInDataExport_05-20-2026.zip", shares=[newer_post] + POSTS + [REPEATED] * 5
                    + SAME_LINK, comments=[newer_comment] + COMMENTS)
    result = import_linkedin_export(config, "ada", [newer])
    assert (result.new_posts, result.new_comments) == (1, 1)
    assert len(_stored(config)) == len(before) + 2


def test_profile_of_someone_else_is_refused_and_nothing_stored(tmp_path):
    config = _config(tmp_path)
    path = _export(tmp_path, profile=("Bob", "Other"))
    result = CliRunner().invoke(cli, ["--config", str(config.path), "import", "linkedin", "--leader", "ada", str(path)])
    assert result.exit_code == 2
    assert "'Bob Other', not of leader 'ada'" in result.output and "nothing imported" in result.output
    assert not config.database.exists() or rows(config, "SELECT count(*) FROM posts") == [(0,)]
    # The same name in another case and spacing is the same person.
    accepted = _config(tmp_path, name="ADA  example")
    assert import_linkedin_export(accepted, "ada", [_export(tmp_path, name="ok.zip")]).new_posts == 7


def test_leader_without_a_linkedin_account_is_a_config_error(tmp_path):
    config = _config(tmp_path)
    result = CliRunner().invoke(cli, ["--config", str(config.path), "import", "linkedin", "--leader", "grace",
                                      str(_export(tmp_path))])
    assert result.exit_code == 2
    assert "has no linkedin account" in result.output


def test_cli_reports_counts(tmp_path):
    config = _config(tmp_path)
    result = CliRunner().invoke(cli, ["--config", str(config.path), "import", "linkedin", "--leader", "ada",
                                      str(_export(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "7 new post(s), 3 new comment(s)" in result.output
    assert "covered 2026-02-10T10:00:00Z to 2026-04-20T00:00:00Z" in result.output


def test_archive_date_comes_from_the_file_name():
    assert archive_date_from_name("Basic_LinkedInDataExport_07-13-2025.zip") == "2025-07-13T00:00:00Z"
    assert archive_date_from_name("ada-2025-07-13.zip") == "2025-07-13T00:00:00Z"
    assert archive_date_from_name("export.zip") is None
    assert archive_date_from_name("Basic_LinkedInDataExport_13-45-2025.zip") is None


@pytest.mark.parametrize(("message", "name"), [
    ("Lena Fischer No, exports are not allowed yet", "Lena Fischer"),
    ("Marie C. Saint-Denis I have not tried it", "Marie C."),
    ("KT Mensah nothing unusual", "KT Mensah"),
    ("Lena O'Brien-Smith fair point", "Lena O'Brien-Smith"),
    ("Tomás Reyes sí, la semana que viene", "Tomás Reyes"),
    ("Ronald McDonald yes", "Ronald McDonald"),
    ("Sustainability DOES matter", None),
    ("Lena Fischer\nNo, not yet", None),
    ("Thanks Maya Okafor for this", None),
    ("Thanks, Omar!", None),
    ("Great Point. We agree", None),
    ("Congrats Amar! 👍", None),
    ("Interesting. What next?", None),
    ("Happy New Year everyone", None),
    ("Localised to India, Vijay Srikanth", None),
    ("Maya Okafor", None),  # a name with nothing after it is no reply
])
def test_counterpart_is_taken_only_from_a_leading_two_word_name(message, name):
    assert counterpart_name(message) == name


# --- bad files: one clear error, exit 2, nothing stored -----------------------------------------

def _invoke(config, *paths):
    return CliRunner().invoke(cli, ["--config", str(config.path), "import", "linkedin", "--leader", "ada",
                                    *map(str, paths)])


def _assert_refused(config, result, *fragments):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert len(result.output.strip().splitlines()) == 1, result.output
    for fragment in fragments:
        assert fragment in result.output, result.output
    assert not config.database.exists() or rows(config, "SELECT count(*) FROM posts") == [(0,)]


def _folder_with(tmp_path, shares_text=None, comments_text=None):
    folder = _export(tmp_path, name="folder", as_zip=False)
    if shares_text is not None:
        (folder / "Shares.csv").write_text(shares_text, encoding="utf-8")
    if comments_text is not None:
        (folder / "Comments.csv").write_text(comments_text, encoding="utf-8")
    return folder


def test_broken_quoting_is_refused(tmp_path):
    config = _config(tmp_path)
    good = (_export(tmp_path, name="f", as_zip=False) / "Comments.csv").read_text(encoding="utf-8")
    broken = good + '2026-03-09 10:00:00,https://www.linkedin.com/feed/update/urn%3Ali%3Aactivity%3A1,"never closed\n'
    folder = _folder_with(tmp_path, comments_text=broken)
    _assert_refused(config, _invoke(config, folder), "Comments.csv", "nothing imported")


def test_stray_quote_in_unquoted_field_is_refused(tmp_path):
    config = _config(tmp_path)
    shares = ("Date,ShareLink,ShareCommentary,SharedUrl,MediaUrl,Visibility\n"
              '2026-03-09 10:00:00,https://x,"closed"then more,"","",MEMBER_NETWORK\n')
    _assert_refused(config, _invoke(config, _folder_with(tmp_path, shares_text=shares)), "Shares.csv", "line 2")


def test_wrong_header_is_refused(tmp_path):
    config = _config(tmp_path)
    folder = _folder_with(tmp_path, comments_text="Date,Url,Text\n2026-03-09 10:00:00,https://x,hello\n")
    _assert_refused(config, _invoke(config, folder), "Comments.csv: wrong header", "expected Date,Link,Message")


def test_bad_date_is_refused(tmp_path):
    config = _config(tmp_path)
    folder = _folder_with(tmp_path, comments_text="Date,Link,Message\n09/03/2026,https://x,hello\n")
    _assert_refused(config, _invoke(config, folder), "Comments.csv: line 2: Date")


def test_a_100_mb_field_is_refused_without_reading_it_whole(tmp_path):
    config = _config(tmp_path)
    folder = _export(tmp_path, name="big", as_zip=False)
    with open(folder / "Shares.csv", "a", encoding="utf-8") as stream:
        stream.write('2026-03-09 10:00:00,https://x,"')
        block = "x" * (1 << 20)
        for _ in range(100):
            stream.write(block)
        stream.write('","","",MEMBER_NETWORK\n')
    _assert_refused(config, _invoke(config, folder), "Shares.csv", "longer than 100,000 characters")


def test_a_huge_field_across_many_lines_is_refused(tmp_path):
    config = _config(tmp_path)
    body = "\n".join("y" * 1000 for _ in range(200))
    shares = ("Date,ShareLink,ShareCommentary,SharedUrl,MediaUrl,Visibility\n"
              f'2026-03-09 10:00:00,https://x,"{body}","","",MEMBER_NETWORK\n')
    _assert_refused(config, _invoke(config, _folder_with(tmp_path, shares_text=shares)), "Shares.csv",
                    "field larger than field limit")


def _zip_with(tmp_path, extra_name, content=b"x"):
    path = _export(tmp_path, name="bad.zip")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(extra_name, content)
    return path


def test_zip_with_unexpected_member_is_refused(tmp_path):
    config = _config(tmp_path)
    _assert_refused(config, _invoke(config, _zip_with(tmp_path, "payload.exe")), "unexpected zip member 'payload.exe'")


def test_zip_with_path_traversal_is_refused(tmp_path):
    config = _config(tmp_path)
    _assert_refused(config, _invoke(config, _zip_with(tmp_path, "../../evil.csv")), "path traversal",
                    "'../../evil.csv'")


def test_zip_with_absolute_member_is_refused(tmp_path):
    config = _config(tmp_path)
    _assert_refused(config, _invoke(config, _zip_with(tmp_path, "/etc/Shares.csv")), "path traversal")


def test_not_a_zip_and_not_an_export_are_refused(tmp_path):
    config = _config(tmp_path)
    fake = tmp_path / "export.zip"
    fake.write_bytes(b"not a zip")
    _assert_refused(config, _invoke(config, fake), "not a zip file")
    empty = tmp_path / "empty"
    empty.mkdir()
    _assert_refused(config, _invoke(config, empty), "no Shares.csv or Comments.csv")
    other = tmp_path / "notes.csv"
    other.write_text("a,b\n", encoding="utf-8")
    _assert_refused(config, _invoke(config, other), "not an export file")


def test_a_bad_file_after_a_good_one_stores_nothing(tmp_path):
    """The whole export is checked before the first batch is written."""
    config = _config(tmp_path)
    folder = _folder_with(tmp_path, comments_text="Date,Link,Message\n2026-03-09 10:00:00,https://x,\"open\n")
    with pytest.raises(ExportError):
        import_linkedin_export(config, "ada", [folder], batch_size=1)
    assert not config.database.exists() or rows(config, "SELECT count(*) FROM posts") == [(0,)]


# --- the real export --------------------------------------------------------------------------

def _oracle_shares(path: Path) -> list[str]:
    """ShareCommentary read by the csv module, LinkedIn's `"\\n"` line wrapping replaced by `\\n`."""
    with open(path, encoding="utf-8", newline="") as stream:
        return [re.sub('"\n"', "\n", row["ShareCommentary"]) for row in csv.DictReader(stream)]


def _iso(date: str) -> str:
    return date.replace(" ", "T") + "Z"


def _oracle_share_rows(folder: Path) -> list[tuple[str, str, str]]:
    with open(folder / "Shares.csv", encoding="utf-8", newline="") as stream:
        return [(row["Date"], row["ShareLink"], re.sub('"\n"', "\n", row["ShareCommentary"]))
                for row in csv.DictReader(stream)]


def _oracle_comment_rows(folder: Path) -> list[tuple[str, str, str]]:
    with open(folder / "Comments.csv", encoding="utf-8", newline="") as stream:
        return [(row["Date"], row["Link"], row["Message"]) for row in csv.DictReader(stream, escapechar="\\")]


def _oracle_comments(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as stream:
        return [row["Message"] for row in csv.DictReader(stream, escapechar="\\")]


def test_real_export_imports_every_distinct_post_and_comment(tmp_path, shared_dir):
    folder = shared_dir / "realdata" / "linkedin-export-sanand-2025"
    config = _config(tmp_path)  # the export has no Profile.csv: no name to check
    first = import_linkedin_export(config, "ada", [folder])
    assert (first.new_posts, first.new_comments) == (198, 323)
    stored = sorted(rows(config, "SELECT created_at, url, text FROM posts WHERE kind != 'reply'"))
    comments = sorted(rows(config, "SELECT created_at, url, text FROM posts WHERE kind = 'reply'"))
    assert len(_oracle_shares(folder / "Shares.csv")) == 202
    # Each distinct row once, its text equal to the export's after unwrapping.
    assert stored == sorted({(_iso(date), link, text) for date, link, text in _oracle_share_rows(folder)})
    assert len(stored) == 198
    multi_line = [text for _, _, text in stored if "\n" in text]
    assert len(multi_line) > 100 and not any('"\n"' in text for text in multi_line)  # no wrapping left
    assert comments == sorted((_iso(date), link, text) for date, link, text in _oracle_comment_rows(folder))
    again = import_linkedin_export(config, "ada", [folder])
    assert (again.new_posts, again.new_comments) == (0, 0)
    assert rows(config, "SELECT count(*) FROM posts") == [(521,)]
    assert rows(config, "SELECT covered_from, covered_until FROM accounts WHERE id = 'ada:linkedin'") == [
        ("2015-11-05T12:25:36Z", "2025-07-13T08:15:21Z")]


def test_real_export_comments_name_people_only_at_the_start(shared_dir):
    """Every counterpart found in the real export is a person's name (checked by eye once:
    82 names); here: each is two capitalised words the message starts with."""
    path = shared_dir / "realdata" / "linkedin-export-sanand-2025" / "Comments.csv"
    messages = _oracle_comments(path)
    found = [(name, message) for message in messages if (name := counterpart_name(message))]
    assert 60 <= len(found) <= 100  # about a quarter of the comments answer someone by name
    assert all(message.startswith(name + " ") for name, message in found)
    assert all(re.fullmatch(r"[A-Z][\w'.-]* [A-Z][\w'.-]*", name) for name, _ in found)
    # Greetings and sentences that start with a capitalised word are not taken for names.
    assert not any(name.split()[0] in ("Thanks", "Thank", "Congrats", "Congratulations", "Hi", "Absolutely")
                   for name, _ in found)



def test_collect_leaves_linkedin_accounts_to_the_import(tmp_path):
    from tracker.collect.run import collect

    config = _config(tmp_path)
    result = collect(config, leader_ids=["ada"], env={})
    assert result.accounts == []
    assert rows(config, "SELECT id FROM accounts WHERE platform = 'linkedin'") == [("ada:linkedin",)]


def test_collect_source_linkedin_points_to_the_import(tmp_path):
    config = _config(tmp_path)
    result = CliRunner().invoke(cli, ["--config", str(config.path), "collect", "--source", "linkedin"])
    assert result.exit_code == 2
    assert "no API to collect from" in result.output and "tracker import linkedin" in result.output


def test_a_damaged_zip_member_is_refused(tmp_path):
    config = _config(tmp_path)
    path = _export(tmp_path, name="damaged.zip")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("Comments.csv")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 5
    data[start:start + 20] = b"\xff" * 20  # corrupt the compressed bytes
    path.write_bytes(bytes(data))
    _assert_refused(config, _invoke(config, path), "Comments.csv", "nothing imported")


def test_a_zipped_again_folder_with_desktop_litter_is_read(tmp_path):
    config = _config(tmp_path)
    folder = _export(tmp_path, name="Complete_LinkedInDataExport_04-20-2026", as_zip=False)
    path = tmp_path / "again.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, f"{folder.name}/{file.relative_to(folder).as_posix()}")
        archive.writestr(f"{folder.name}/.DS_Store", b"\0\0")
        archive.writestr(f"__MACOSX/{folder.name}/._Shares.csv", b"\0\x05\x16\x07")
    result = import_linkedin_export(config, "ada", [path])
    assert (result.new_posts, result.new_comments) == (7, 3)


def test_a_long_line_is_refused_with_its_number(monkeypatch):
    import io as stdio

    from tracker.collect import linkedin_read as linkedin

    monkeypatch.setattr(linkedin, "MAX_LINE_CHARS", 10)
    lines = linkedin._lines(stdio.StringIO("short\r\nok\n" + "x" * 11 + "\nend\n", newline=""), "f")
    assert next(lines) == "short\r\n" and next(lines) == "ok\n"
    with pytest.raises(ExportError, match="line 3 is longer than 10 characters"):
        next(lines)


def test_import_starts_a_new_database_only_in_a_folder_that_exists_and_says_so(tmp_path):
    config = _config(tmp_path)
    export = str(_export(tmp_path))
    result = CliRunner().invoke(cli, ["--config", str(config.path), "import", "linkedin", "--leader", "ada", export])
    assert result.exit_code == 0, result.output
    assert f"starting a new database at {config.database} (there was none)" in result.stderr
    again = CliRunner().invoke(cli, ["--config", str(config.path), "import", "linkedin", "--leader", "ada", export])
    assert again.exit_code == 0 and "new database" not in again.output
    text = config.path.read_text(encoding="utf-8").replace('database = "tracker.db"',
                                                           'database = "unmounted/tracker.db"')
    config.path.write_text(text, encoding="utf-8")
    missing = CliRunner().invoke(cli, ["--config", str(config.path), "import", "linkedin", "--leader", "ada", export])
    assert missing.exit_code == 2
    assert f"the database's folder {tmp_path / 'unmounted'} does not exist" in missing.stderr
    assert not (tmp_path / "unmounted").exists()
