"""The embedded demo organisation: a fictional company served by the local X emulator.

Five leaders whose public behaviour differs clearly, over thirteen months:

- Maya Okafor answers customers' questions almost every day;
- Tomás Reyes argues with critics, on the substance;
- Priya Natarajan narrates the product work as it happens;
- James Whitfield only broadcasts announcements and reposts the company;
- Elena Sokolova is almost silent.

Everything is generated from a fixed seed, relative to ``now``, so the demo always shows
the last twelve complete months and the month in progress.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tracker.demo.emulators.x import XDataset
from tracker.demo.linkedin import EXPORTS_DIR as LINKEDIN_EXPORTS_DIR
from tracker.demo.linkedin import HANDLES as LINKEDIN_HANDLES
from tracker.demo.platforms import MASTODON_SERVER, extra_accounts
from tracker.demo.people import (
    ANNOUNCEMENTS, ANSWERS, COLLEAGUE_REPLIES, COMPANY, COMPANY_POSTS, CRITICISMS, DEMO_CLOCK, DEMO_TOKEN,
    DemoLeader, DemoPeer, ELENA_POSTS, LEADERS, NON_ANSWERS, ORGANISATION, ORG_HANDLES, PEERS, PEER_ANNOUNCEMENTS,
    PEER_CRITICISMS, PEER_REBUTTAL, PROGRESS, PROGRESS_THREAD, PUBLIC_USERS, QUESTIONS, QUOTE_REBUTTALS,
    REBUTTALS, TWITTER_EPOCH_MS, TemplateFiller, posting_moments)


def _snowflake(moment: datetime, sequence: int) -> str:
    ms = int(moment.timestamp() * 1000)
    return str(((ms - TWITTER_EPOCH_MS) << 22) + (sequence % 4096))


class _Builder:
    def __init__(self, now: datetime, seed: int):
        self.now = now
        self.rng = random.Random(seed)
        self.filler = TemplateFiller(self.rng)
        self.tweets: list[dict[str, Any]] = []
        self.sequence = 0

    def fill(self, template: str, moment: datetime, same_as_last: bool = False) -> str:
        return self.filler.fill(template, moment, same_as_last)

    def tweet(self, author_id: str, moment: datetime, text: str, *, reply_to: dict[str, Any] | None = None,
              quote: dict[str, Any] | None = None, repost: dict[str, Any] | None = None,
              popularity: int = 20) -> dict[str, Any]:
        self.sequence += 1
        tweet_id = _snowflake(moment, self.sequence)
        tweet: dict[str, Any] = {
            "id": tweet_id, "author_id": author_id, "created_at": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "text": text, "lang": "en", "conversation_id": tweet_id, "edit_history_tweet_ids": [tweet_id],
            "public_metrics": {"retweet_count": self.rng.randint(0, popularity // 4),
                               "reply_count": self.rng.randint(0, popularity // 5),
                               "like_count": self.rng.randint(0, popularity),
                               "quote_count": self.rng.randint(0, popularity // 10),
                               "bookmark_count": 0, "impression_count": popularity * 40},
        }
        if reply_to is not None:
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": reply_to["id"]}]
            tweet["in_reply_to_user_id"] = reply_to["author_id"]
            tweet["conversation_id"] = reply_to["conversation_id"]
        elif quote is not None:
            tweet["referenced_tweets"] = [{"type": "quoted", "id": quote["id"]}]
        elif repost is not None:
            tweet["referenced_tweets"] = [{"type": "retweeted", "id": repost["id"]}]
        self.tweets.append(tweet)
        return tweet

    def reseed(self, seed: int) -> random.Random:
        """A separate random stream from here on, so adding to one part leaves the others as they were."""
        self.rng = self.filler.rng = random.Random(seed)
        return self.rng

    def moments(self, start: datetime, per_week: float) -> list[datetime]:
        return posting_moments(self.rng, start, self.now, per_week)


def _user(user_id: str, username: str, name: str) -> dict[str, Any]:
    return {"id": user_id, "username": username, "name": name, "protected": False, "verified": False,
            "created_at": "2015-03-01T12:00:00.000Z", "description": ""}


def build_dataset(now: datetime | None = None, seed: int = 7) -> XDataset:
    """The demo organisation's thirteen months of posts, as the X emulator serves them."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    first_month = (now.replace(day=1) - timedelta(days=366)).replace(day=1, hour=0, minute=0, second=0)
    builder = _Builder(now, seed)
    users = [_user(leader.user_id, leader.handle, leader.name) for leader in LEADERS]
    users.append(_user(COMPANY[2], COMPANY[0], COMPANY[1]))
    public_ids = {}
    for index, handle in enumerate(PUBLIC_USERS):
        public_ids[handle] = str(1200000000000000000 + index)
        users.append(_user(public_ids[handle], handle, handle.replace("_", " ").title()))
    usernames = {user["id"]: user["username"] for user in users}
    leader = {entry.id: entry for entry in LEADERS}

    def public_post(moment: datetime, template: str, mention: str) -> dict[str, Any]:
        handle = builder.rng.choice(PUBLIC_USERS)
        return builder.tweet(public_ids[handle], moment, f"@{mention} " + builder.fill(template, moment))

    # The order of the calls is the order of the random stream: keep it.
    _add_maya(builder, leader["maya"], first_month, public_post, usernames)
    _add_tomas(builder, leader["tomas"], first_month, public_post, usernames)
    _add_priya_company_and_james(builder, leader["priya"], leader["james"], first_month)
    # Elena: a post every month or two.
    for moment in builder.moments(first_month, 0.2):
        builder.tweet(leader["elena"].user_id, moment, builder.rng.choice(ELENA_POSTS), popularity=40)
    _add_peers(builder, users, public_ids, first_month, seed)
    return XDataset(users=users, tweets=builder.tweets)


_PublicPost = Callable[[datetime, str, str], dict[str, Any]]


def _add_maya(builder: _Builder, maya: DemoLeader, first_month: datetime, public_post: _PublicPost,
              usernames: dict[str, str]) -> None:
    """Maya answers customers' questions most days, usually within a few hours."""
    rng = builder.rng
    for moment in builder.moments(first_month, 6.0):
        # QUESTIONS[i] is answered by ANSWERS[i] (randrange draws as choice did: same stream).
        before = timedelta(hours=rng.uniform(0.5, 8))
        asked = rng.randrange(len(QUESTIONS))
        question = public_post(moment - before, QUESTIONS[asked], maya.handle)
        asker = usernames[question["author_id"]]
        rng.randrange(len(ANSWERS))  # drawn as before, so that the stream is unchanged
        if rng.random() < 0.12:
            text = rng.choice(NON_ANSWERS)
        else:
            text = builder.fill(ANSWERS[asked], moment, same_as_last=True)
        builder.tweet(maya.user_id, moment, f"@{asker} {text}", reply_to=question, popularity=15)
    for moment in builder.moments(first_month, 0.5):
        builder.tweet(maya.user_id, moment, builder.fill(rng.choice(PROGRESS), moment), popularity=30)


def _add_tomas(builder: _Builder, tomas: DemoLeader, first_month: datetime, public_post: _PublicPost,
               usernames: dict[str, str]) -> None:
    """Tomás engages critics in replies and quotes, with reasons."""
    rng = builder.rng
    for moment in builder.moments(first_month, 3.0):
        before = timedelta(hours=rng.uniform(1, 20))
        said = rng.randrange(len(CRITICISMS))  # CRITICISMS[i] is rebutted by REBUTTALS[i]
        critique = public_post(moment - before, CRITICISMS[said], tomas.handle)
        critic = usernames[critique["author_id"]]
        if rng.random() < 0.25:
            builder.tweet(tomas.user_id, moment, builder.fill(rng.choice(QUOTE_REBUTTALS), moment), quote=critique,
                          popularity=60)
        else:
            rng.randrange(len(REBUTTALS))  # drawn as before, so that the random stream is unchanged
            builder.tweet(tomas.user_id, moment, f"@{critic} " + builder.fill(REBUTTALS[said], moment, same_as_last=True),
                          reply_to=critique, popularity=40)
    for moment in builder.moments(first_month, 0.7):
        builder.tweet(tomas.user_id, moment, builder.fill(rng.choice(PROGRESS), moment), popularity=50)


def _add_priya_company_and_james(builder: _Builder, priya: DemoLeader, james: DemoLeader,
                                 first_month: datetime) -> None:
    """Priya narrates the work, sometimes as a thread; James announces, reposts the company
    account and now and then pats a colleague on the back."""
    rng, now, minutes = builder.rng, builder.now, timedelta(minutes=1)
    for moment in builder.moments(first_month, 3.5):
        root = builder.tweet(priya.user_id, moment, builder.fill(rng.choice(PROGRESS), moment), popularity=80)
        if rng.random() < 0.3:
            builder.tweet(priya.user_id, moment + 2 * minutes, builder.fill(rng.choice(PROGRESS_THREAD), moment),
                          reply_to=root, popularity=30)
    company_posts = [builder.tweet(COMPANY[2], moment, builder.fill(rng.choice(COMPANY_POSTS), moment), popularity=200)
                     for moment in builder.moments(first_month, 2.0)]
    for moment in builder.moments(first_month, 2.5):
        builder.tweet(james.user_id, moment, rng.choice(ANNOUNCEMENTS), popularity=300)
    for post in company_posts:
        if rng.random() < 0.6:
            created = datetime.fromisoformat(post["created_at"].replace("Z", "+00:00")) + 30 * minutes
            if created < now:
                builder.tweet(james.user_id, created, f"RT @{COMPANY[0]}: {post['text']}"[:140], repost=post)
    priya_posts = [t for t in builder.tweets if t["author_id"] == priya.user_id and "referenced_tweets" not in t]
    for post in rng.sample(priya_posts, k=min(12, len(priya_posts))):
        created = datetime.fromisoformat(post["created_at"].replace("Z", "+00:00")) + 45 * minutes
        if created < now:
            builder.tweet(james.user_id, created, f"@{priya.handle} " + rng.choice(COLLEAGUE_REPLIES), reply_to=post)


def _add_peers(builder: _Builder, users: list[dict[str, Any]], public_ids: dict[str, str],
               first_month: datetime, seed: int) -> None:
    """The peer cohort's posts, from a random stream of their own (our leaders' are unchanged)."""
    rng = builder.reseed(seed * 1000 + 13)
    users += [_user(peer.user_id, peer.handle, peer.name) for peer in PEERS]
    peer = {entry.id: entry for entry in PEERS}
    handles = {user_id: handle for handle, user_id in public_ids.items()}

    def public_post(moment: datetime, template: str, entry: DemoPeer) -> dict[str, Any]:
        handle = rng.choice(PUBLIC_USERS)
        text = builder.fill(template.replace("{company}", entry.organisation.split()[0]), moment)
        return builder.tweet(public_ids[handle], moment, f"@{entry.handle} {text}")

    # Helix: the CEO answers customers, the CTO takes on critics, the VP Product narrates.
    sofia, kenji, amara = peer["helix-ceo"], peer["helix-cto"], peer["helix-vpp"]
    for moment in builder.moments(first_month, 4.0):
        asked = rng.randrange(len(QUESTIONS))
        question = public_post(moment - timedelta(hours=rng.uniform(1, 30)), QUESTIONS[asked], sofia)
        text = builder.fill(ANSWERS[asked], moment, same_as_last=True)
        builder.tweet(sofia.user_id, moment, f"@{handles[question['author_id']]} {text}", reply_to=question,
                      popularity=25)
    for moment in builder.moments(first_month, 1.0):
        builder.tweet(sofia.user_id, moment, builder.fill(rng.choice(PROGRESS), moment), popularity=60)
    for moment in builder.moments(first_month, 3.0):
        said = rng.randrange(len(PEER_CRITICISMS))
        critique = public_post(moment - timedelta(hours=rng.uniform(1, 20)), PEER_CRITICISMS[said], kenji)
        builder.tweet(kenji.user_id, moment, f"@{handles[critique['author_id']]} "
                      + builder.fill(REBUTTALS[PEER_REBUTTAL[said]], moment, same_as_last=True), reply_to=critique,
                      popularity=40)
    for moment in builder.moments(first_month, 2.5):
        builder.tweet(amara.user_id, moment, builder.fill(rng.choice(PROGRESS), moment), popularity=50)
    # Corvid: announcements from the CEO, a build note now and then from the CTO, the COO quiet.
    victor, rachel, dmitri = peer["corvid-ceo"], peer["corvid-cto"], peer["corvid-coo"]
    for moment in builder.moments(first_month, 3.0):
        builder.tweet(victor.user_id, moment, rng.choice(PEER_ANNOUNCEMENTS).replace("{company}", "Corvid"),
                      popularity=200)
    for moment in builder.moments(first_month, 1.5):
        text = rng.choice(PEER_ANNOUNCEMENTS).replace("{company}", "Corvid") if rng.random() < 0.6 \
            else builder.fill(rng.choice(PROGRESS), moment)
        builder.tweet(rachel.user_id, moment, text, popularity=40)
    for moment in builder.moments(first_month, 0.3):
        builder.tweet(dmitri.user_id, moment, "Great quarter for the Corvid operations team.", popularity=20)


def config_text(api_base_url: str, database: str = "tracker.db", reports_dir: str = "reports",
                platform_urls: dict[str, str] | None = None) -> str:
    """The demo organisation's config file, pointing at running emulators.

    ``platform_urls`` (``bluesky``, ``mastodon``, ``blog``: emulator base URLs) adds the
    leaders' accounts on those platforms.
    """
    lines = [
        "# The demo organisation (written by `tracker demo`). The API URLs below were the",
        "# local emulators of that run; they are not running any more.",
        "[tracker]",
        f'database = "{database}"',
        'timezone = "Europe/London"',
        f'reports_dir = "{reports_dir}"',
        "",
        "[organisation]",
        f'name = "{ORGANISATION}"',
        f"handles = {{ x = [{', '.join(repr(h).replace(chr(39), chr(34)) for h in ORG_HANDLES)}] }}",
        "",
        "[collect]",
        "backfill_days = 0",
        "",
        "[sources.x]",
        f'api_base_url = "{api_base_url}"',
        "retry_backoff = 0.1",
        "",
    ]
    if platform_urls:
        lines += [
            "[sources.bluesky]",
            f'api_base_url = "{platform_urls["bluesky"]}"',
            "retry_backoff = 0.1",
            "",
            "[sources.mastodon]",
            "# The demo's Mastodon server name, answered by the local emulator.",
            f'server_urls = {{ "{MASTODON_SERVER}" = "{platform_urls["mastodon"]}" }}',
            "retry_backoff = 0.1",
            "",
            "[sources.blog]",
            "retry_backoff = 0.1",
            "",
            "[sources.linkedin]",
            "# Maya's and James's LinkedIn data exports, written and imported by the demo.",
            f'exports_dir = "{LINKEDIN_EXPORTS_DIR}"',
            "",
        ]
    return "\n".join(lines + _people_lines(platform_urls))


def _people_lines(platform_urls: dict[str, str] | None) -> list[str]:
    """The ``[[leaders]]`` and ``[[peers]]`` tables of the demo's config."""
    extra = extra_accounts(platform_urls["blog"]) if platform_urls else {}
    lines: list[str] = []
    for entry in LEADERS:
        accounts = {"x": entry.handle, **extra.get(entry.id, {})}
        if platform_urls and entry.id in LINKEDIN_HANDLES:
            accounts["linkedin"] = LINKEDIN_HANDLES[entry.id]
        inline = ", ".join(f'{platform} = "{handle}"' for platform, handle in accounts.items())
        lines += [
            "[[leaders]]",
            f'id = "{entry.id}"',
            f'name = "{entry.name}"',
            f'role = "{entry.role}"',
            f'group = "{entry.group}"',
            f"accounts = {{ {inline} }}",
            "",
        ]
    for peer in PEERS:
        lines += [
            "[[peers]]",
            f'id = "{peer.id}"',
            f'name = "{peer.name}"',
            f'organisation = "{peer.organisation}"',
            f'role = "{peer.role}"',
            f'group = "{peer.group}"',
            f'accounts = {{ x = "{peer.handle}" }}',
            "",
        ]
    return lines


def write_config(folder: Path, api_base_url: str, platform_urls: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tracker.toml"
    path.write_text(config_text(api_base_url, platform_urls=platform_urls), encoding="utf-8")
    return path


@dataclass
class DemoOutcome:
    folder: Path
    config_path: Path
    database: Path
    collect_result: Any
    posts_by_leader: dict[str, int]
    extra_lines: list[str] = field(default_factory=list)
    posts_by_platform: dict[str, int] = field(default_factory=dict)

    def summary_lines(self) -> list[str]:
        lines = [f"Demo organisation: {ORGANISATION} ({len(LEADERS)} leaders, collected from the local "
                 "X, Bluesky, Mastodon and blog emulators, and LinkedIn data exports)"]
        for entry in LEADERS:
            lines.append(f"  {entry.name:<18} @{entry.handle:<14} {self.posts_by_leader.get(entry.id, 0):>5} posts")
        lines.append(f"Peers to compare with ({len(PEERS)} leaders of {len({p.organisation for p in PEERS})} "
                     "other companies, X only):")
        for peer in PEERS:
            lines.append(f"  {peer.name:<18} @{peer.handle:<14} {self.posts_by_leader.get(peer.id, 0):>5} posts"
                         f"  {peer.organisation}")
        if self.posts_by_platform:
            lines.append("Posts per platform: " + ", ".join(f"{platform} {count}" for platform, count
                                                            in sorted(self.posts_by_platform.items())))
        result = self.collect_result
        requests = sum(r.requests for r in result.accounts)
        lines.append(f"Requests made: {requests}; failed accounts: {len(result.failed)}")
        lines.append(f"Database: {self.database}")
        lines.append(f"Config:   {self.config_path}")
        lines += self.extra_lines
        return lines


def run_demo(folder: Path, now: datetime | None = None) -> DemoOutcome:
    """Serve the demo organisation from the X, Bluesky, Mastodon and blog emulators and
    collect it into a fresh database; ``now`` defaults to the fixed ``DEMO_CLOCK``."""
    from contextlib import ExitStack

    from tracker.collect.run import collect
    from tracker.config import load_config
    from tracker.demo.platforms import build_platform_datasets
    from tracker.demo.emulators.blog import BlogEmulator
    from tracker.demo.emulators.bluesky import BlueskyEmulator
    from tracker.demo.emulators.mastodon import MastodonEmulator
    from tracker.demo.emulators.x import XEmulator
    from tracker.collect.sources.x import TOKEN_ENV_VAR

    folder = Path(folder)
    now = now or DEMO_CLOCK
    dataset = build_dataset(now)
    others = build_platform_datasets(dataset, now)
    with ExitStack() as stack:
        emulator = stack.enter_context(XEmulator(dataset, bearer_token=DEMO_TOKEN))
        urls = {"bluesky": stack.enter_context(BlueskyEmulator(others.bluesky)).url,
                "mastodon": stack.enter_context(MastodonEmulator(others.mastodon)).url,
                "blog": stack.enter_context(BlogEmulator(others.blog)).url}
        config_path = write_config(folder, emulator.url, urls)
        config = load_config(config_path)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{config.database}{suffix}").unlink(missing_ok=True)
        result = collect(config, env={TOKEN_ENV_VAR: DEMO_TOKEN})
    # LinkedIn: two leaders' own data exports, dropped in the exports folder and imported.
    from tracker.demo.linkedin import EXPORTS_DIR, write_exports
    from tracker.collect.linkedin import import_dropped_exports

    exports = folder / EXPORTS_DIR
    shutil.rmtree(exports, ignore_errors=True)
    write_exports(exports, dataset, now)
    imported = import_dropped_exports(config)
    from tracker.store import open_db, queries

    db = open_db(config.database)
    try:
        counts = queries.count_posts_by(db, "leader_id")
        by_platform = queries.count_posts_by(db, "platform")
    finally:
        db.close()
    outcome = DemoOutcome(folder, config_path, config.database, result, counts, posts_by_platform=by_platform)
    outcome.extra_lines += [f"LinkedIn export imported: {export.path.relative_to(folder)} ({export.result.new_posts} "
                            f"posts, {export.result.new_comments} comments)"
                            for export in imported if export.result is not None]
    outcome.extra_lines += metrics_lines(config, now)
    outcome.extra_lines += write_demo_report(config, now=now)
    return outcome


def metrics_lines(config: Any, now: datetime | None) -> list[str]:
    """Label the demo's posts, compute the last complete month and describe it."""
    from tracker.metrics.monthly import refresh_metrics
    from tracker.months import last_complete_month

    month = last_complete_month(config.timezone, now)
    rows = [row for row in refresh_metrics(config, month, platforms=["all"], now=now)]
    names = {entry.id: entry.name for entry in LEADERS}
    peer_ids = {peer.id for peer in PEERS}
    lines = [f"Openness, {month} (all platforms; `tracker metrics --month {month}` for the details):"]
    for row in sorted(rows, key=lambda r: -(r["openness_index"] or 0)):
        if row["leader_id"] in peer_ids:
            continue
        share = row["questions_answered_share"]
        # Each share with its own denominator: questions received, and own posts.
        answered = "no questions" if share is None else f"{100 * share:.0f}% of {row['questions_received']} questions"
        progress = "no posts" if row["progress_share"] is None else f"{100 * row['progress_share']:.0f}% of posts"
        flag = " (low sample)" if row["low_sample"] else ""
        lines.append(f"  {names.get(row['leader_id'], row['leader_id']):<18} index {row['openness_index']:>5}"
                     f"  posts {row['posts']:>3}  answers {row['answers']:>3} ({answered})"
                     f"  debates {row['debates']:>3}  progress {progress}{flag}")
    peers = [row["openness_index"] for row in rows if row["leader_id"] in peer_ids and row["openness_index"] is not None]
    if peers:
        cohort = next(row for row in rows if row["leader_id"] not in peer_ids)
        lines.append(f"  Peer cohort ({len(peers)} leaders): median index {cohort['peer_index_median']}, "
                     f"middle half {cohort['peer_index_q1']} to {cohort['peer_index_q3']}")
    return lines


def write_demo_report(config: Any, now: datetime | None = None) -> list[str]:
    """Write the demo organisation's report for the last complete month."""
    from tracker.ops.report_job import write_report

    files = write_report(config, now=now)
    return [f"Report:   {files.pdf}", f"          {len(files.pngs)} charts (PNG) and {files.csv} beside it"]
