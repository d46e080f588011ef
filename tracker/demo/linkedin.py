"""The demo organisation on LinkedIn: two leaders' own data exports, in LinkedIn's format.

Generated from a fixed seed relative to ``now`` (its own random stream, so the other demo
datasets are unchanged), written as the zips LinkedIn sends, with the format's quirks
(multi-line posts with re-quoted lines, a row repeated, one link on two rows, a reshare
without text, backslash-escaped quotes in comments), and imported by ``tracker demo``
through the exports folder like a real monthly routine:

- Maya writes a few posts a month and answers people in the comments, naming them;
- James posts his announcements on LinkedIn too, a few hours after X (the same text: the
  combined metrics count each once), and comments little more than congratulations.

All names and texts are fictional, written for the demo.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tracker.demo.emulators.linkedin_export import Comment, Share, share_link, write_export
from tracker.demo.emulators.x import XDataset
from tracker.demo import people
from tracker.demo.people import posting_moments

EXPORTS_DIR = "linkedin-exports"
HANDLES = {"maya": "maya-okafor-northwind", "james": "james-whitfield-northwind"}
PROFILES = {"maya": ("Maya", "Okafor"), "james": ("James", "Whitfield")}
# People who comment on the leaders' posts (fictional).
COMMENTERS = ["Lena Fischer", "Omar Haddad", "Sofia Marino", "Daniel Mensah", "Hiroshi Tanaka", "Aisha Bello",
              "Pavel Novak", "Grace Liu", "Mateo Alvarez", "Ingrid Larsen", "Kofi Asante", "Nina Petrova"]

MAYA_POSTS = [
    "Three things our support team learnt this quarter:\n\n1. Most questions come in the first week after "
    "delivery.\n2. A two-minute video beats a ten-page manual.\n3. \"Offline\" means different things on "
    "different sites.\n\nWhat would you add?",
    "We visited a warehouse in Rotterdam that runs {product} on two shifts.\n\nThe night team found a problem "
    "we had never seen in testing, and we fixed it together that week.\n\nAsk me anything about it below.",
    "Customer question of the month: \"How long does {feature} take to roll out?\"\n\nShort answer: a remote "
    "update, about 20 minutes per site, no visit needed.",
    "I answer every comment on my posts myself. If I miss yours, tell me, I want to know.",
    "Our help centre now has a page for every error code of {product}. Tell me which one is still unclear.",
]
MAYA_ANSWERS = [
    "{name} Yes, {feature} ships for {product} on {month} 14; existing units get it through a remote update.",
    "{name} The next training session for {product} is on {month} 3, online, and the recording goes to the help "
    "centre.",
    "{name} Good question. Hold the service button for ten seconds, then pick the previous firmware in the "
    "menu. The help centre has the full steps under \"Updates\".",
    "{name} It runs about 14 hours on the standard battery, so two shifts with a short top-up at lunch.",
    "{name} Older units from 2023 onward can get it; earlier ones need the new controller board, which we "
    "swap for free.",
    "{name} Three to four weeks to most of Europe right now; the Rotterdam warehouse should bring that down "
    "to one.",
]
MAYA_SOCIAL = ["Thanks, {first}!", "Thank you {first}, that means a lot to the team.",
               "Congratulations {first}! Well deserved."]
JAMES_POSTS = [
    "Proud to welcome our new partners in logistics. Together we will automate the busiest warehouses in "
    "Europe.",
    "Northwind Robotics has been named one of the year's most innovative companies. Thank you to every "
    "customer and every colleague.",
]
JAMES_COMMENTS = ["Congratulations to the whole team!", "Proud of this team.", "Well done, {first}!"]


def _export_date(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")




def build_exports(x_dataset: XDataset, now: datetime | None = None,
                  seed: int = 11) -> dict[str, tuple[list[Share], list[Comment]]]:
    """Each LinkedIn leader's shares and comments, newest first as in a real export."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    end = now - timedelta(days=1)  # the export was requested yesterday
    first = (now.replace(day=1) - timedelta(days=366)).replace(day=1, hour=0, minute=0, second=0)
    rng = random.Random(seed)
    sequence = [7_300_000_000_000_000_000]

    def link(kind: str) -> str:
        sequence[0] += rng.randint(1_000, 9_000_000)
        return share_link(kind, sequence[0])

    def fill(template: str, moment: datetime) -> str:
        return template.format(product=rng.choice(people.PRODUCTS), feature=rng.choice(people.FEATURES),
                               month=people.MONTHS[moment.month % 12], name="{name}", first="{first}")

    # Maya: posts, and many answers to named people in the comments.
    shares: list[Share] = []
    comments: list[Comment] = []
    for moment in posting_moments(rng, first, end, 1.2):
        shares.append(Share(_export_date(moment), link("share"), fill(rng.choice(MAYA_POSTS), moment)))
    for moment in posting_moments(rng, first, end, 4.0):
        person = rng.choice(COMMENTERS)
        if rng.random() < 0.75:
            text = fill(rng.choice(MAYA_ANSWERS), moment).format(name=person)
        else:
            text = rng.choice(MAYA_SOCIAL).format(first=person.split()[0])
        comments.append(Comment(_export_date(moment), link("activity"), text))
    # The format's quirks: a reshare without text, one post repeated, one link on two rows.
    reshare = first + timedelta(days=40, hours=9)
    shares.append(Share(_export_date(reshare), link("share"), "", "https://northwind.example/news/rotterdam"))
    repeated = Share(_export_date(first + timedelta(days=75, hours=10)), link("share"),
                     "Our customer day is next week.\n\nBring your hardest questions.")
    shares += [repeated] * 3
    shared_link = link("ugcPost")
    shares += [Share(_export_date(first + timedelta(days=100, hours=8)), shared_link, "Slides from today's talk."),
               Share(_export_date(first + timedelta(days=100, hours=9)), shared_link, "And the recording.")]
    exports = {"maya": (_newest_first(shares), _newest_first(comments))}

    # James: his X announcements again on LinkedIn a few hours later, and congratulations.
    james = next(entry for entry in people.LEADERS if entry.id == "james")
    shares, comments = [], []
    for tweet in x_dataset.tweets:
        created = datetime.fromisoformat(tweet["created_at"].replace("Z", "+00:00"))
        if (tweet["author_id"] == james.user_id and not tweet.get("referenced_tweets")
                and created < end - timedelta(hours=6) and created >= first and rng.random() < 0.6):
            shares.append(Share(_export_date(created + timedelta(hours=rng.randint(1, 5))), link("share"),
                                tweet["text"]))
    for moment in posting_moments(rng, first, end, 0.5):
        shares.append(Share(_export_date(moment), link("share"), rng.choice(JAMES_POSTS)))
    for moment in posting_moments(rng, first, end, 0.7):
        comments.append(Comment(_export_date(moment), link("activity"),
                                rng.choice(JAMES_COMMENTS).format(first=rng.choice(COMMENTERS).split()[0])))
    exports["james"] = (_newest_first(shares), _newest_first(comments))
    return exports


def _newest_first(items: list) -> list:
    return sorted(items, key=lambda item: item.date, reverse=True)


def write_exports(folder: Path, x_dataset: XDataset, now: datetime | None = None) -> list[Path]:
    """Write each leader's export as LinkedIn names it, in a subfolder named after the leader."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    name = f"Complete_LinkedInDataExport_{(now - timedelta(days=1)).strftime('%m-%d-%Y')}.zip"
    paths = []
    for leader_id, (shares, comments) in build_exports(x_dataset, now).items():
        paths.append(write_export(folder / leader_id / name, shares, comments, PROFILES[leader_id]))
    return paths
