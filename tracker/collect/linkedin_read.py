"""Reading a LinkedIn data export: finding its files, reading its CSVs, checking them,
and turning rows into posts. Pure: no database (``tracker.collect.linkedin`` saves them).

The file formats, and why they are read the way they are, are described in
``tracker.collect.linkedin``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import IO

from tracker.config import Config
from tracker.domain import Post, PostKind, utc_iso
from tracker.errors import InputError

PLATFORM = "linkedin"
FILE_NAMES = {"shares.csv": "shares", "comments.csv": "comments", "profile.csv": "profile"}
HEADERS = {
    "shares": ("Date", "ShareLink", "ShareCommentary", "SharedUrl", "MediaUrl", "Visibility"),
    "comments": ("Date", "Link", "Message"),
}
PROFILE_COLUMNS = ("First Name", "Last Name")
# LinkedIn caps a post at 3,000 characters and a comment at 1,250; a longer line is no
# export of theirs. Lines are read with this bound, so a huge field never fills memory.
MAX_LINE_CHARS = 100_000
# A full export holds dozens of CSV files and an Articles/ folder of HTML; nothing else.
ZIP_MEMBER = re.compile(r"\.(csv|html?|txt)$", re.IGNORECASE)
MAX_ZIP_MEMBERS = 10_000
OS_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
# The post's URN in a link, plain or percent-encoded (urn%3Ali%3Ashare%3A<id>).
URN = re.compile(r"urn(?::|%3[Aa])li(?::|%3[Aa])(share|ugcPost|activity|article)(?::|%3[Aa])(\d+)")
# Archive names: Basic_LinkedInDataExport_07-13-2025.zip (MM-DD-YYYY), or an ISO date.
US_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{2})-(\d{2})-(\d{4})(?!\d)")
ISO_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


class ExportError(InputError):
    """The files are not a readable LinkedIn export (bad quoting, header, size, zip members)."""


Opener = Callable[[], IO[bytes]]
# What reading a file or a zip member raises when it is damaged, encrypted or compressed
# in a way zipfile cannot read.
UNREADABLE = (OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError)


@dataclass
class ExportFiles:
    """The export's files found under the given paths: kind -> (display name, binary opener)."""

    label: str
    files: dict[str, tuple[str, Opener]] = field(default_factory=dict)
    archive_date: str | None = None

    def add(self, kind: str, name: str, opener: Opener) -> None:
        if kind in self.files:
            raise ExportError(f"{name}: a second {name.rsplit('/', 1)[-1]} (already have {self.files[kind][0]}); "
                              "give one export at a time")
        self.files[kind] = (name, opener)


@dataclass(frozen=True)
class ExportScan:
    """What the checking pass learnt: row counts, URNs on differing rows, the covered span, the name."""

    shares: int
    comments: int
    ambiguous_urns: frozenset[str]
    first_at: str | None
    last_at: str | None
    profile_name: str | None


# --- finding the files --------------------------------------------------------------------------

def archive_date_from_name(name: str) -> str | None:
    """The date in an export's file name (``..._07-13-2025.zip`` or ``...2025-07-13...``), as
    the stored UTC text of that day's start; None when the name holds no valid date (pure)."""
    stem = PurePosixPath(name).name
    for pattern, order in ((ISO_DATE_IN_NAME, (0, 1, 2)), (US_DATE_IN_NAME, (2, 0, 1))):
        match = pattern.search(stem)
        if match:
            parts = match.groups()
            year, month, day = (int(parts[i]) for i in order)
            try:
                return utc_iso(datetime(year, month, day, tzinfo=timezone.utc))
            except ValueError:
                return None
    return None


def _check_member(path: Path, info: zipfile.ZipInfo) -> None:
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        raise ExportError(f"{path}: the zip member {name!r} points outside the archive (path traversal): "
                          "not a LinkedIn export, nothing imported")
    if info.is_dir():
        return
    mode = info.external_attr >> 16
    if mode & 0o170000 == 0o120000:
        raise ExportError(f"{path}: the zip member {name!r} is a symbolic link: not a LinkedIn export, "
                          "nothing imported")
    if parts and (parts[0] == "__MACOSX" or parts[-1] in OS_LITTER):
        return  # what a desktop adds when the folder is zipped again: never read
    if not ZIP_MEMBER.search(name):
        raise ExportError(f"{path}: unexpected zip member {name!r} (a LinkedIn export holds only .csv, .html "
                          "and .txt files): nothing imported")


def _member_opener(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Opener:
    return lambda: archive.open(info)


def _add_zip(found: ExportFiles, path: Path, stack: ExitStack) -> None:
    try:
        archive = stack.enter_context(zipfile.ZipFile(path))
    except (zipfile.BadZipFile, OSError) as error:
        raise ExportError(f"{path}: not a zip file ({error})") from None
    members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise ExportError(f"{path}: {len(members)} zip members, more than a LinkedIn export has "
                          f"({MAX_ZIP_MEMBERS}): nothing imported")
    for info in members:
        _check_member(path, info)
    for info in members:
        kind = FILE_NAMES.get(PurePosixPath(info.filename).name.lower())
        if kind and not info.is_dir() and not info.filename.startswith("__MACOSX/"):
            found.add(kind, f"{path}:{info.filename}", _member_opener(archive, info))
    found.archive_date = found.archive_date or archive_date_from_name(path.name)


def _add_file(found: ExportFiles, path: Path) -> None:
    kind = FILE_NAMES.get(path.name.lower())
    if kind is None:
        raise ExportError(f"{path}: not an export file (expected Shares.csv, Comments.csv or Profile.csv, "
                          "the export's zip, or its folder)")
    found.add(kind, str(path), lambda: open(path, "rb"))


@contextmanager
def open_export(paths: Sequence[str | Path]) -> Iterator[ExportFiles]:
    """The export's files under ``paths`` (its zip, its unpacked folder, or the CSV files)."""
    given = [Path(p) for p in paths]
    found = ExportFiles(", ".join(str(p) for p in given))
    with ExitStack() as stack:
        for path in given:
            if path.is_dir():
                for child in sorted(path.iterdir()):
                    if child.is_file() and child.name.lower() in FILE_NAMES:
                        _add_file(found, child)
                found.archive_date = found.archive_date or archive_date_from_name(path.name)
            elif path.suffix.lower() == ".zip":
                _add_zip(found, path, stack)
            elif path.is_file():
                _add_file(found, path)
            else:
                raise ExportError(f"{path}: no such file or folder")
        if "shares" not in found.files and "comments" not in found.files:
            raise ExportError(f"{found.label}: no Shares.csv or Comments.csv: not a LinkedIn data export "
                              "(request the full archive, see the README)")
        yield found


# --- reading the CSV files ------------------------------------------------------------------

def _lines(stream: IO[str], name: str) -> Iterator[str]:
    number = 0
    while True:
        line = stream.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise ExportError(f"{name}: line {number} is longer than {MAX_LINE_CHARS:,} characters: not a "
                              "LinkedIn export (its posts are at most 3,000 characters), nothing imported")
        # A backslash-escaped quote (Comments.csv) becomes the CSV's own doubled quote.
        yield line.replace('\\"', '""') if '\\"' in line else line


def iter_rows(opener: Opener, name: str,
              header: Sequence[str] | None) -> Generator[tuple[int, list[str]], None, None]:
    """(line number, fields) of every data row; ExportError for a wrong header or broken CSV.

    ``header``: the exact columns expected; None accepts any header (its row is yielded
    first, with line number 1).
    """
    try:
        with opener() as raw:
            stream = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            reader = csv.reader(_lines(stream, name), strict=True)
            try:
                first = next(reader, None)
                if first is None:
                    raise ExportError(f"{name}: empty file (expected the header {','.join(header or ())})")
                if header is None:
                    yield 1, first
                elif tuple(first) != tuple(header):
                    raise ExportError(f"{name}: wrong header {','.join(first)[:200]!r} (expected "
                                      f"{','.join(header)}): not this LinkedIn export file, nothing imported")
                width = len(first)
                for row in reader:
                    if len(row) != width:
                        raise ExportError(f"{name}: line {reader.line_num}: {len(row)} fields, expected {width} "
                                          "(broken quoting?): nothing imported")
                    yield reader.line_num, row
            except csv.Error as error:
                raise ExportError(f"{name}: line {reader.line_num}: broken CSV quoting ({error}): "
                                  "nothing imported") from None
    except UnicodeDecodeError as error:
        raise ExportError(f"{name}: not UTF-8 text ({error.reason} at byte {error.start}): nothing imported") from None
    except UNREADABLE as error:
        raise ExportError(f"{name}: cannot be read ({error}): nothing imported") from None


def unwrap_text(value: str) -> str:
    """A field as the leader wrote it: LinkedIn's extra quotes around inner lines removed (pure).

    Only a multi-line value whose first line ends with a quote, last line starts with one and
    every line between is quote-wrapped is unwrapped; anything else is returned unchanged.
    """
    if "\n" not in value:
        return value
    separator = "\r\n" if "\r\n" in value else "\n"
    first, *middle, last = value.split(separator)
    if not (first.endswith('"') and last.startswith('"')):
        return value
    for line in middle:
        if len(line) < 2 or line[0] != '"' or line[-1] != '"':
            return value
    return separator.join([first[:-1], *(line[1:-1] for line in middle), last[1:]])


def parse_export_date(value: str) -> str:
    """``2025-07-01 14:33:22`` (UTC) -> ``2025-07-01T14:33:22Z`` (pure; ValueError if malformed)."""
    if not DATE.match(value):
        raise ValueError(f"expected YYYY-MM-DD HH:MM:SS, got {value[:40]!r}")
    datetime.fromisoformat(value)  # a real date and time
    return f"{value[:10]}T{value[11:]}Z"


def _stored_date(value: str) -> str:
    # A date the checking pass has already parsed (parse_export_date): only reformatted.
    return f"{value[:10]}T{value[11:]}Z"


def _urn(link: str) -> tuple[str, str] | None:
    match = URN.search(link)
    return (match.group(1), match.group(2)) if match else None


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]


def normalize_name(name: str) -> str:
    """A person's name for comparison: Unicode-normalized, case-folded, spaces collapsed (pure)."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


# --- the counterpart of a comment ------------------------------------------------------------

# A LinkedIn reply in a comment thread starts with the answered person's display name, as
# plain text. A name is taken only when the comment starts with two name-like words (a
# capital then lower-case letters, in any alphabet, parts joined by - or ' as in O'Brien or
# Jean-Claude; or initials such as "J." or "RJ") followed by more text, and neither word is
# a common word that starts sentences ("Thanks Maya", "Great Point ...").
_INITIALS = re.compile(r"^[A-Z]{1,3}\.?$")
_TWO_WORDS = re.compile(r"[^\W\d_][\w'’.-]* [^\W\d_][\w'’.-]* \S")
_NAME_PARTS = re.compile(r"[-'’]")
_NOT_NAMES = frozenset("""
a about absolutely actually after agree agreed ah all also am an and any anyway are as at awesome
be because been best big both but by can congrats congratulations could dear did do does done
dont each even every exactly excellent fantastic fascinating for from get glad go good great ha
had happy has have he hello her here hey hi him his how however i if in indeed interesting is it
its just kudos let like lol looking lots love lovely many may maybe me more most much my nice no
nope not now of oh ok okay on one only or our out perhaps please pls really right same see she
should so some sorry such super sure thank thanks that the their them then there these they this
those thx to too true truly up very was we well were what when where which who why will with wow
would yeah yes yet you your
""".split())


def _is_name_word(word: str) -> bool:
    if _INITIALS.match(word):
        return True
    *leading, last = _NAME_PARTS.split(word)
    # O' and Jean- parts: a capital and lower-case letters; the last part has a lower-case
    # letter and at most one more capital (McDonald), so SHOUTED words are no names.
    if not all(part[:1].isupper() and part.isalpha() and (part[1:] == "" or part[1:].islower())
               for part in leading):
        return False
    rest = last[1:]
    return (last[:1].isupper() and last.isalpha() and any(c.islower() for c in rest)
            and sum(c.isupper() for c in rest) <= 1)


def counterpart_name(message: str) -> str | None:
    """The person a thread reply is addressed to, from the name it starts with, else None (pure)."""
    if not _TWO_WORDS.match(message):  # cheap first look: two words of letters, then more text
        return None
    first, second, _ = message.split(" ", 2)
    if not (_is_name_word(first) and _is_name_word(second)):
        return None
    if first.rstrip(".").lower() in _NOT_NAMES or second.rstrip(".").lower() in _NOT_NAMES:
        return None
    return f"{first} {second}"


def colleague_counterparts(config: Config) -> set[str]:
    """``organisation|linkedin:<name>`` of every configured leader and peer, as ``counterpart_name``
    would find them: a comment answering a colleague is internal, not an answer to the public.
    The organisation is '' for the organisation's own leaders, a peer's company for a peer
    (the form ``metrics._organisation_users`` lists)."""
    found = {(leader.organisation, counterpart_name(f"{leader.name} .")) for leader in config.tracked}
    return {f"{organisation}|{PLATFORM}:{name}" for organisation, name in found if name}


# --- normalizing -----------------------------------------------------------------------------

def share_native_id(date: str, link: str, text: str, ambiguous_urns: frozenset[str]) -> str:
    """``share:<id>`` (the URN) when it names one post of the export (its rows, if repeated,
    are identical), else a hash of date, link and text, so that distinct rows on one link
    stay apart. ``ambiguous_urns``: the URNs that sit on differing rows."""
    urn = _urn(link)
    if urn is not None and f"{urn[0]}:{urn[1]}" not in ambiguous_urns:
        return f"{urn[0]}:{urn[1]}"
    return f"post:{_hash(date, link, text)}"


def normalize_share(row: Sequence[str], ambiguous_urns: frozenset[str]) -> Post:
    """One ``Shares.csv`` row, already checked by ``scan_export``, as a Post (pure)."""
    date, link, commentary, shared_url, media_url, visibility = row
    text = unwrap_text(commentary)
    return Post(
        platform=PLATFORM,
        native_id=share_native_id(date, link, text, ambiguous_urns),
        created_at=_stored_date(date),
        text=text,
        # A reshare without text of its own is a repost; every other share is the leader's post.
        kind=PostKind.ORIGINAL if text.strip() else PostKind.REPOST,
        url=link or None,
    )


def normalize_comment(row: Sequence[str]) -> Post:
    """One checked ``Comments.csv`` row as a reply whose parent (the post at ``Link``) is unknown (pure)."""
    date, link, message = row
    text = unwrap_text(message)
    urn = _urn(link)
    parent = f"{PLATFORM}:{urn[0]}:{urn[1]}" if urn else f"{PLATFORM}:link:{_hash(link)}"
    return Post(
        platform=PLATFORM,
        native_id=f"comment:{_hash(date, link, text)}",
        created_at=_stored_date(date),
        text=text,
        kind=PostKind.REPLY,
        in_reply_to_id=parent,
        in_reply_to_user_id=counterpart_name(text),
        url=link or None,
    )


# --- the checking pass ------------------------------------------------------------------------

def export_fingerprint(found: ExportFiles) -> str:
    """SHA-256 of the export's files' bytes: the same export under another name is the same."""
    digest = hashlib.sha256()
    for kind in sorted(found.files):
        name, opener = found.files[kind]
        digest.update(kind.encode())
        try:
            with opener() as stream:
                for chunk in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(chunk)
        except UNREADABLE as error:
            raise ExportError(f"{name}: cannot be read ({error}): nothing imported") from None
    return digest.hexdigest()


def scan_export(found: ExportFiles) -> ExportScan:
    """Read every file once, checking all of it; raise ExportError on the first problem."""
    counts = {"shares": 0, "comments": 0}
    # URN -> the first row's (date, text); a URN seen again with another is ambiguous.
    urn_rows: dict[str, tuple[str, str]] = {}
    ambiguous: set[str] = set()
    first_at: str | None = None
    last_at: str | None = None
    for kind, header in HEADERS.items():
        if kind not in found.files:
            continue
        name, opener = found.files[kind]
        for line, row in iter_rows(opener, name, header):
            try:
                moment = parse_export_date(row[0])
            except ValueError as error:
                raise ExportError(f"{name}: line {line}: Date: {error}: nothing imported") from None
            if first_at is None or moment < first_at:
                first_at = moment
            if last_at is None or moment > last_at:
                last_at = moment
            if kind == "shares":
                urn = _urn(row[1])
                if urn is not None:
                    key = f"{urn[0]}:{urn[1]}"
                    if urn_rows.setdefault(key, (row[0], row[2])) != (row[0], row[2]):
                        ambiguous.add(key)
            counts[kind] += 1
    profile_name = None
    if "profile" in found.files:
        name, opener = found.files["profile"]
        with closing(iter_rows(opener, name, None)) as rows:
            _, header_row = next(rows)
            header = tuple(header_row)
            missing = [column for column in PROFILE_COLUMNS if column not in header]
            if missing:
                raise ExportError(f"{name}: wrong header (no {', '.join(missing)} column): nothing imported")
            for _, row in rows:
                values = dict(zip(header, row))
                profile_name = " ".join(v.strip() for v in (values["First Name"], values["Last Name"])
                                        if v.strip())
                break
    return ExportScan(counts["shares"], counts["comments"], frozenset(ambiguous),
                      first_at, last_at, profile_name)


def check_profile(config: Config, leader_id: str, found: ExportFiles, scan: ExportScan) -> None:
    """Refuse an export whose Profile.csv names someone other than the configured leader."""
    if scan.profile_name is None:
        return
    leader = config.leader(leader_id)
    if normalize_name(scan.profile_name) != normalize_name(leader.name):
        raise ExportError(
            f"{found.files['profile'][0]}: this export is of {scan.profile_name!r}, not of leader {leader_id!r} "
            f"({leader.name!r} in {config.path}): nothing imported (check the file, or the leader's name)")
