"""The demo organisation beyond X: Bluesky, Mastodon and Priya's blog.

Same people, same behaviour, other channels, generated from a fixed seed relative to
``now`` (a separate random stream, so the X dataset of ``tracker.demo.run`` is unchanged):

- Maya answers customers' questions on Bluesky and on Mastodon too;
- Tomás argues with critics on Mastodon, with reasons;
- Priya cross-posts some of her X progress notes to Bluesky a few hours later (the same
  text: the combined metrics count each once) and writes a build-log blog post about twice
  a month.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from tracker.demo.emulators import bluesky as bsky
from tracker.demo.emulators import mastodon as masto
from tracker.demo.emulators.blog import BlogDataset, BlogFeed, FeedEntry
from tracker.demo.emulators.x import XDataset
from tracker.demo.people import (ANSWERS, CRITICISMS, LEADERS, NON_ANSWERS, PROGRESS, PROGRESS_THREAD, QUESTIONS,
                                 REBUTTALS, TemplateFiller, posting_moments)

MASTODON_SERVER = "robots.example"  # .example is reserved for fiction (RFC 2606)
BLOG_PATH = "/priya/feed.xml"
BLUESKY_HANDLES = {"maya": "maya-okafor.bsky.example", "priya": "priya-builds.bsky.example"}
MASTODON_HANDLES = {"maya": f"maya@{MASTODON_SERVER}", "tomas": f"treyes@{MASTODON_SERVER}"}
BLOG_LEADERS = ("priya",)
PUBLIC = ["robofan_ana", "dev_kwame", "lina_makes", "ops_guru_raj", "tech_skeptic", "sam_critic", "olga_ai",
          "warehouse_wendy"]


@dataclass
class PlatformDatasets:
    bluesky: bsky.BlueskyDataset
    mastodon: masto.MastodonDataset
    blog: BlogDataset


def _bsky_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _snowflake(moment: datetime, sequence: int) -> str:
    # Mastodon ids: milliseconds << 16 plus a sequence (mastodon lib/mastodon/snowflake.rb).
    return str((int(moment.timestamp() * 1000) << 16) + sequence % 65536)


def _build_bluesky(rng: random.Random, text: TemplateFiller, first: datetime, now: datetime,
                   x_dataset: XDataset) -> bsky.BlueskyDataset:

    names = {leader.id: leader.name for leader in LEADERS}
    actors = {leader_id: bsky.actor(f"did:plc:northwind{leader_id}", handle, names[leader_id])
              for leader_id, handle in BLUESKY_HANDLES.items()}
    public = {name: bsky.actor(f"did:plc:public{index:04d}", f"{name.replace('_', '-')}.bsky.example",
                               name.replace("_", " ").title()) for index, name in enumerate(PUBLIC)}
    feeds: dict[str, list[dict[str, Any]]] = {a["did"]: [] for a in actors.values()}
    counter = iter(range(1, 10**9))

    def rkey() -> str:
        return f"3l{next(counter):011d}"

    # Maya answers questions on Bluesky about twice a week.
    maya = actors["maya"]
    for moment in posting_moments(rng, first, now, 2.0):
        asker = public[rng.choice(PUBLIC)]
        asked = moment - timedelta(hours=rng.uniform(0.5, 6))
        index = rng.randrange(len(QUESTIONS))  # QUESTIONS[i] is answered by ANSWERS[i]
        question = bsky.post_view(asker, rkey(), f"@{maya['handle']} " + text.fill(QUESTIONS[index], asked),
                                  _bsky_time(asked))
        rng.randrange(len(ANSWERS))  # drawn as before, so that the random stream is unchanged
        answer = bsky.post_view(maya, rkey(), text.fill(ANSWERS[index], moment, same_as_last=True), _bsky_time(moment),
                                reply=question, counts=(0, rng.randint(0, 3), rng.randint(1, 25), 0))
        feeds[maya["did"]].append(bsky.feed_item(answer, parent=question))

    # Priya cross-posts about 40% of her X progress notes, 1 to 6 hours later, same words.
    priya = actors["priya"]
    priya_x = next(leader.user_id for leader in LEADERS if leader.id == "priya")
    for tweet in x_dataset.tweets:
        if tweet["author_id"] != priya_x or tweet.get("referenced_tweets") or rng.random() > 0.4:
            continue
        moment = datetime.fromisoformat(tweet["created_at"].replace("Z", "+00:00")) + timedelta(hours=rng.uniform(1, 6))
        if moment >= now:
            continue
        root = bsky.post_view(priya, rkey(), tweet["text"], _bsky_time(moment),
                              counts=(rng.randint(0, 4), rng.randint(0, 8), rng.randint(5, 80), 0))
        feeds[priya["did"]].append(bsky.feed_item(root))
        if rng.random() < 0.25:
            later = moment + timedelta(minutes=3)
            follow = bsky.post_view(priya, rkey(), text.fill(rng.choice(PROGRESS_THREAD), later), _bsky_time(later),
                                    reply=root)
            feeds[priya["did"]].append(bsky.feed_item(follow, parent=root))
    # ... and now and then a Bluesky-only note, sometimes quoting a customer's post.
    for moment in posting_moments(rng, first, now, 0.5):
        note = text.fill(rng.choice(PROGRESS), moment)
        if rng.random() < 0.3:
            fan = public[rng.choice(PUBLIC[:4])]
            shared = bsky.post_view(fan, rkey(), "Our site just switched to the new Northwind route planner.",
                                    _bsky_time(moment - timedelta(hours=2)))
            post = bsky.post_view(priya, rkey(), note, _bsky_time(moment), quote=shared)
        else:
            post = bsky.post_view(priya, rkey(), note, _bsky_time(moment))
        feeds[priya["did"]].append(bsky.feed_item(post))
    return bsky.BlueskyDataset(actors=[*actors.values(), *public.values()], feeds=feeds)


def _build_mastodon(rng: random.Random, text: TemplateFiller, first: datetime, now: datetime) -> masto.MastodonDataset:

    names = {leader.id: leader.name for leader in LEADERS}
    leaders = {"maya": masto.account("109000000000000001", "maya", names["maya"], MASTODON_SERVER),
               "tomas": masto.account("109000000000000002", "treyes", names["tomas"], MASTODON_SERVER)}
    public = [masto.account(str(109100000000000000 + index), name, name.replace("_", " ").title(), MASTODON_SERVER)
              for index, name in enumerate(PUBLIC)]
    statuses: list[dict[str, Any]] = []
    sequence = iter(range(1, 10**9))

    def post(author: dict[str, Any], moment: datetime, words: str, **options: Any) -> dict[str, Any]:
        entity = masto.status(author, _snowflake(moment, next(sequence)), moment, words, **options)
        statuses.append(entity)
        return entity

    def html(words: str, mention: dict[str, Any] | None = None) -> str:
        # Mastodon's own markup: mentions as h-card spans, one <p> per paragraph.
        prefix = (f'<span class="h-card" translate="no"><a href="{mention["url"]}" class="u-url mention">'
                  f'@<span>{mention["username"]}</span></a></span> ') if mention else ""
        return f"<p>{prefix}{words.replace('&', '&amp;').replace('<', '&lt;')}</p>"

    maya, tomas = leaders["maya"], leaders["tomas"]
    for moment in posting_moments(rng, first, now, 1.5):
        asker = rng.choice(public)
        asked = moment - timedelta(hours=rng.uniform(0.5, 8))
        index = rng.randrange(len(QUESTIONS))  # QUESTIONS[i] is answered by ANSWERS[i]
        question = post(asker, asked, html(text.fill(QUESTIONS[index], asked), maya))
        if rng.random() < 0.1:
            words = rng.choice(NON_ANSWERS)
        else:
            rng.randrange(len(ANSWERS))  # drawn as before, so that the random stream is unchanged
            words = text.fill(ANSWERS[index], moment, same_as_last=True)
        post(maya, moment, html(words, asker), reply_to=question, counts=(0, 1, rng.randint(1, 20), 0))
    for moment in posting_moments(rng, first, now, 2.0):
        critic = rng.choice([a for a in public if a["username"] in ("tech_skeptic", "sam_critic", "olga_ai")])
        said = moment - timedelta(hours=rng.uniform(1, 20))
        point = rng.randrange(len(CRITICISMS))  # CRITICISMS[i] is rebutted by REBUTTALS[i]
        critique = post(critic, said, html(text.fill(CRITICISMS[point], said), tomas))
        if rng.random() < 0.2:
            post(tomas, moment, html("Respectfully, the numbers say otherwise: our incident rate fell 40% year "
                                     "on year. Happy to walk through the method."), quote=critique)
        else:
            rng.randrange(len(REBUTTALS))  # drawn as before, so that the random stream is unchanged
            post(tomas, moment, html(text.fill(REBUTTALS[point], moment, same_as_last=True), critic), reply_to=critique,
                 counts=(rng.randint(0, 5), rng.randint(0, 4), rng.randint(2, 40), 0))
    for moment in posting_moments(rng, first, now, 0.3):
        fan = rng.choice(public[:4])
        shared = post(fan, moment - timedelta(hours=3), html("Installed the new Northwind charging dock today. "
                                                             "Setup took ten minutes."))
        post(tomas, moment, "", reblog=shared)
    return masto.MastodonDataset(MASTODON_SERVER, [*leaders.values(), *public], statuses)


def _build_blog(rng: random.Random, text: TemplateFiller, first: datetime, now: datetime) -> BlogDataset:

    entries = []
    for number, moment in enumerate(posting_moments(rng, first, now, 0.45), start=1):
        paragraphs = [text.fill(rng.choice(PROGRESS), moment) for _ in range(3)]
        paragraphs.append(text.fill(rng.choice(PROGRESS_THREAD), moment))
        body = "".join(f"<p>{p.replace('&', '&amp;')}</p>" for p in paragraphs)
        entries.append(FeedEntry(title=f"Build log #{number}: what the product team did this fortnight",
                                 link=f"https://priya.example/blog/build-log-{number}", html=body,
                                 published=moment, author="Priya Natarajan"))
    feed = BlogFeed("Priya builds", "https://priya.example/blog/", kind="atom", entries=entries)
    return BlogDataset({BLOG_PATH: feed})


def build_platform_datasets(x_dataset: XDataset, now: datetime | None = None, seed: int = 7) -> PlatformDatasets:
    """The demo organisation's Bluesky, Mastodon and blog data, consistent with ``x_dataset``."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    first = (now.replace(day=1) - timedelta(days=366)).replace(day=1, hour=0, minute=0, second=0)
    rng = random.Random(seed + 1000)
    text = TemplateFiller(rng)
    return PlatformDatasets(_build_bluesky(rng, text, first, now, x_dataset),
                            _build_mastodon(rng, text, first, now), _build_blog(rng, text, first, now))


def extra_accounts(blog_base_url: str) -> dict[str, dict[str, str]]:
    """leader id -> {platform: handle} for the non-X accounts of the demo leaders."""
    accounts: dict[str, dict[str, str]] = {}
    for leader_id, handle in BLUESKY_HANDLES.items():
        accounts.setdefault(leader_id, {})["bluesky"] = handle
    for leader_id, handle in MASTODON_HANDLES.items():
        accounts.setdefault(leader_id, {})["mastodon"] = handle
    for leader_id in BLOG_LEADERS:
        accounts.setdefault(leader_id, {})["blog"] = blog_base_url.rstrip("/") + BLOG_PATH
    return accounts
