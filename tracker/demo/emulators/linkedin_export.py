"""Write a LinkedIn data export in LinkedIn's own format, quirks included (tests, demo, benchmark).

The zip (or folder) holds ``Profile.csv``, ``Shares.csv`` and ``Comments.csv`` plus a few
of the other files a full archive has. The CSV is written by hand, as LinkedIn does it:

- a multi-line ``ShareCommentary`` is one quoted field whose inner lines are each wrapped
  in quotes again (``"first""`` / ``""middle""`` / ``""last"``);
- an empty field is ``""``; other fields are quoted only when they hold a comma or a quote;
- quotes inside a ``Comments.csv`` message are backslash-escaped (``\\"``), not doubled;
- rows are written in the order given, so repeated rows stay repeated.

Rows are written one at a time, so a large export is produced without holding it in memory.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

SHARES_HEADER = "Date,ShareLink,ShareCommentary,SharedUrl,MediaUrl,Visibility"
COMMENTS_HEADER = "Date,Link,Message"
PROFILE_HEADER = ("First Name,Last Name,Maiden Name,Address,Birth Date,Headline,Summary,Industry,Zip Code,"
                  "Geo Location,Twitter Handles,Websites,Instant Messengers")
# Other files of a full archive: present so an import meets the real layout, never read.
OTHER_FILES = {
    "Connections.csv": "Notes:\n\"Connections you added yourself.\"\n\nFirst Name,Last Name,URL,Email Address,"
                       "Company,Position,Connected On\n",
    "Reactions.csv": "Date,Type,Link\n",
    "Articles/Articles/.keep.html": "<html></html>\n",
}


@dataclass(frozen=True)
class Share:
    date: str  # "YYYY-MM-DD HH:MM:SS", UTC
    link: str  # https://www.linkedin.com/feed/update/urn%3Ali%3Ashare%3A<id>
    text: str
    shared_url: str = ""
    media_url: str = ""
    visibility: str = "MEMBER_NETWORK"


@dataclass(frozen=True)
class Comment:
    date: str
    link: str  # the post commented on: .../urn%3Ali%3Aactivity%3A<id>
    message: str


def share_link(kind: str, number: int) -> str:
    return f"https://www.linkedin.com/feed/update/urn%3Ali%3A{kind}%3A{number}"


def _plain(value: str) -> str:
    if value == "":
        return '""'
    if any(c in value for c in ',"\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def commentary_field(text: str) -> str:
    """``ShareCommentary`` as LinkedIn writes it: every inner line wrapped in quotes again."""
    if "\n" not in text:
        return _plain(text)
    return '"' + '""\n""'.join(line.replace('"', '""') for line in text.split("\n")) + '"'


def message_field(text: str) -> str:
    """A ``Comments.csv`` message: quoted when needed, inner quotes backslash-escaped."""
    if text == "":
        return '""'
    if any(c in text for c in ',"\n'):
        return '"' + text.replace('"', '\\"') + '"'
    return text


def share_line(share: Share) -> str:
    return ",".join([share.date, share.link, commentary_field(share.text), _plain(share.shared_url),
                     _plain(share.media_url), share.visibility]) + "\n"


def comment_line(comment: Comment) -> str:
    return f"{comment.date},{comment.link},{message_field(comment.message)}\n"


def _write(stream: IO[str], header: str, lines: Iterable[str]) -> None:
    stream.write(header + "\n")
    for line in lines:
        stream.write(line)


def write_export(path: Path, shares: Iterable[Share], comments: Iterable[Comment],
                 profile: tuple[str, str] | None = None, *, as_zip: bool = True) -> Path:
    """Write the export as a zip at ``path`` (or, ``as_zip=False``, a folder); returns ``path``."""
    files: list[tuple[str, str, Iterable[str]]] = []
    if profile is not None:
        files.append(("Profile.csv", PROFILE_HEADER,
                      [f"{_plain(profile[0])},{_plain(profile[1])},,,,Leader,,,,,,,\n"]))
    files.append(("Shares.csv", SHARES_HEADER, (share_line(share) for share in shares)))
    files.append(("Comments.csv", COMMENTS_HEADER, (comment_line(comment) for comment in comments)))
    if as_zip:
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, header, lines in files:
                with archive.open(name, "w") as raw, _text(raw) as stream:
                    _write(stream, header, lines)
            for name, content in OTHER_FILES.items():
                archive.writestr(name, content)
        return path
    path.mkdir(parents=True, exist_ok=True)
    for name, header, lines in files:
        with open(path / name, "w", encoding="utf-8", newline="") as stream:
            _write(stream, header, lines)
    for name, content in OTHER_FILES.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(content, encoding="utf-8")
    return path


def _text(raw: IO[bytes]) -> IO[str]:
    import io

    return io.TextIOWrapper(raw, encoding="utf-8", newline="")
