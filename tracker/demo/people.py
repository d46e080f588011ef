"""The demo's people and the words they post: one owner for every channel the demo fills.

Each channel (X in ``run``, Bluesky, Mastodon and the blog in ``platforms``, LinkedIn in
``linkedin``) draws from these lists and these helpers, with its own random stream.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

ORGANISATION = "Northwind Robotics"
ORG_HANDLES = ("northwind", "northwindhelp")
DEMO_TOKEN = "demo-bearer-token"  # the emulator's own; no real credential is involved
TWITTER_EPOCH_MS = 1288834974657  # snowflake ids: https://github.com/twitter-archive/snowflake
# The demo's clock: its data, its "last complete month" and so its output are the same on
# every machine and every day, so the README can show exactly what `tracker demo` prints.
DEMO_CLOCK = datetime(2026, 11, 10, 12, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class DemoLeader:
    id: str
    name: str
    role: str
    group: str
    handle: str
    user_id: str


LEADERS = (
    DemoLeader("maya", "Maya Okafor", "Chief Customer Officer", "Customer", "maya_okafor", "1100000000000000001"),
    DemoLeader("tomas", "Tomás Reyes", "Chief Technology Officer", "Engineering", "treyes_cto", "1100000000000000002"),
    DemoLeader("priya", "Priya Natarajan", "VP Product", "Product", "priya_builds", "1100000000000000003"),
    DemoLeader("james", "James Whitfield", "Chief Executive Officer", "Executive", "jwhitfield", "1100000000000000004"),
    DemoLeader("elena", "Elena Sokolova", "Chief Financial Officer", "Finance", "esokolova_cfo", "1100000000000000005"),
)
COMPANY = ("northwind", "Northwind Robotics", "1100000000000000100")


@dataclass(frozen=True)
class DemoPeer(DemoLeader):
    organisation: str = ""


# The peer cohort: leaders of two other fictional companies, to compare with. Helix works
# out loud (answers, debates, build notes); Corvid broadcasts.
PEERS = (
    DemoPeer("helix-ceo", "Sofia Lind", "Chief Executive Officer", "Helix", "sofia_helix", "1300000000000000001",
             "Helix Automation"),
    DemoPeer("helix-cto", "Kenji Watanabe", "Chief Technology Officer", "Helix", "kenji_helix", "1300000000000000002",
             "Helix Automation"),
    DemoPeer("helix-vpp", "Amara Osei", "VP Product", "Helix", "amara_builds", "1300000000000000003",
             "Helix Automation"),
    DemoPeer("corvid-ceo", "Victor Hale", "Chief Executive Officer", "Corvid", "victorhale", "1300000000000000004",
             "Corvid Logistics"),
    DemoPeer("corvid-cto", "Rachel Stone", "Chief Technology Officer", "Corvid", "rstone_corvid",
             "1300000000000000005", "Corvid Logistics"),
    DemoPeer("corvid-coo", "Dmitri Volkov", "Chief Operating Officer", "Corvid", "dvolkov_ops", "1300000000000000006",
             "Corvid Logistics"),
)
PEER_CRITICISMS = [
    "{company}'s robots are overhyped. {product} still fails in cold warehouses and nobody admits it.",
    "Honestly {product} is a step backwards. The old version was more reliable.",
    "Your {feature} claims don't hold up. Our pilot saw half the throughput you advertised.",
]
PEER_REBUTTAL = (0, 1, 3)  # the REBUTTALS answering each of PEER_CRITICISMS
PEER_ANNOUNCEMENTS = [
    "Proud to announce that {company} has been named a top logistics brand of the year!",
    "Excited for what is coming next at {company}. Big things ahead.",
    "Congratulations to the {company} family on another record quarter.",
    "Honoured to join the panel on the future of supply chains this week.",
]

PUBLIC_USERS = [
    "robofan_ana", "dev_kwame", "lina_makes", "ops_guru_raj", "hannah_k", "marco_builds", "tech_skeptic",
    "farmtech_joe", "warehouse_wendy", "li_wei_eng", "sam_critic", "nadia_reports", "pete_automates",
    "olga_ai", "chris_in_logistics", "amara_codes", "ben_reviews", "gwen_ops", "yusuf_dev", "ivy_analyst",
]

PRODUCTS = ["the R2 arm", "the fleet dashboard", "the picking robot", "the charging dock", "the safety scanner",
            "the mobile app", "the route planner", "the firmware"]
FEATURES = ["offline mode", "battery reporting", "multi-site support", "the API", "collision alerts",
            "export to CSV", "remote updates", "night shift scheduling"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]

QUESTIONS = [
    "When will {feature} be available for {product}?",
    "Does {product} work without a network connection?",
    "How do I reset {product} after a firmware update?",
    "Is there a way to get {feature} on older units?",
    "What is the maximum payload of {product}?",
    "Can {product} run two shifts on one charge?",
    "How long does delivery of {product} take to Europe right now?",
    "Any plans to support {feature} in {product}?",
]
ANSWERS = [
    "{feature} ships for {product} in {month}; existing units get it through a remote update, no site visit needed.",
    "Yes. {product} keeps working offline and syncs its logs once the connection is back, usually within a minute.",
    "Hold the service button for ten seconds, then pick the previous firmware in the menu. The full steps are in the help centre under Updates.",
    "Older units from 2023 onward can get {feature}; earlier ones need the new controller board, which we swap for free.",
    "The rated payload is 25 kg at full reach and 40 kg close to the base. The spec sheet has the curve.",
    "On the standard battery it runs about 14 hours, so two shifts with a 30 minute top-up at lunch.",
    "Right now it is three to four weeks to most of Europe; we are adding a warehouse in Rotterdam to bring that down to one.",
    "Yes, {feature} is on the roadmap for {product} next quarter. We are testing it with three customers now.",
]
NON_ANSWERS = ["Thanks so much!", "🙏", "Appreciate you!", "Great to hear, thank you"]

CRITICISMS = [
    "Northwind's robots are overhyped. {product} still fails in cold warehouses and nobody admits it.",
    "Honestly {product} is a step backwards. The old version was more reliable.",
    "Automation like this just cuts jobs. Why should anyone trust Northwind on safety?",
    "Your {feature} claims don't hold up. Our pilot saw half the throughput you advertised.",
    "Closed firmware is a mistake. Customers should be able to audit what {product} does.",
]
REBUTTALS = [
    "I disagree, but it is a fair challenge. Our cold-room tests at -20°C show {product} within 3% of normal throughput; the failures you saw came from an old sensor we replaced in the spring.",
    "I don't think that's right: field data from 400 sites shows fewer stoppages than the old version, because the new gearbox removed the main failure mode. Happy to share the numbers.",
    "That is not what the evidence says. The sites using our robots added jobs last year, mostly in maintenance and supervision, and every unit passed an independent safety audit.",
    "Fair point on the pilot, but the advertised figure assumes {feature} is on; with it off you get roughly half, which matches what you saw. We should make that clearer.",
    "I disagree that closed firmware is the issue, though audits matter: we publish the safety logic and an external lab reviews every release. I'd rather open more of it, and we are discussing how.",
]
QUOTE_REBUTTALS = [
    "This claim keeps coming up, so here is the data: our incident rate fell 40% year on year. Happy to debate the method.",
    "I respectfully disagree with this take. The reason is simple: the numbers from our customer sites say otherwise.",
]
PROGRESS = [
    "We shipped {feature} for {product} today. It took the team four months and 2,000 hours of testing.",
    "Milestone: {product} passed 1 million picks in production this week. Next up is {feature}.",
    "Work in progress: the team is rebuilding {feature} for {product}. First beta goes to five customers in {month}.",
    "Lesson learned this sprint: our first design of {feature} was too slow, so we rewrote the planner and cut latency by half.",
    "Our team finished the field trial of {product} at three farms. Results: 12% fewer stops, and we are fixing the two bugs they found.",
    "This week we started building {feature} into {product}. Plan: beta in {month}, general release a month later.",
    "We released version {version} of {product} today with {feature} and 30 fixes reported by customers.",
]
PROGRESS_THREAD = [
    "Details: the hardest part was calibration, which we now do automatically on start-up.",
    "If you run {product}, the update arrives over the next two weeks. Tell us what breaks.",
]
ANNOUNCEMENTS = [
    "Proud to announce that Northwind Robotics has been named one of the most innovative companies of the year!",
    "Excited to welcome our new partners to the Northwind family. The future of automation is bright.",
    "Congratulations to the whole Northwind team on an incredible quarter. Onwards!",
    "Honoured to speak at the Future of Work summit next week. See you there!",
    "At Northwind, we believe automation should make work safer and more human.",
    "Thrilled to share that Northwind is expanding. Stay tuned for big news!",
]
COMPANY_POSTS = [
    "Meet {product}: built for the toughest warehouses. Learn more on our website.",
    "Northwind Robotics is hiring! Join a team that builds robots people trust.",
    "Catch us at the logistics expo this month, booth 12.",
]
ELENA_POSTS = [
    "Quarterly results are out. Thank you to our customers and investors for their trust.",
    "Good conversation today on financing growth in hardware companies.",
]
COLLEAGUE_REPLIES = ["Great work team, proud of you all!", "Well done, this is huge."]


def posting_moments(rng: random.Random, start: datetime, now: datetime, per_week: float) -> list[datetime]:
    """Random posting times from ``start`` to ``now``, about ``per_week`` a week, in daytime."""
    out = []
    day = start
    while day < now:
        if rng.random() < per_week / 7:
            moment = day.replace(hour=rng.randint(7, 20), minute=rng.randint(0, 59), second=rng.randint(0, 59))
            if moment < now:
                out.append(moment)
        day += timedelta(days=1)
    return out


class TemplateFiller:
    """Fills a post template with a product and feature drawn from ``rng``."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.last: tuple[str, str] = ("", "")

    def fill(self, template: str, moment: datetime, same_as_last: bool = False) -> str:
        """``same_as_last`` keeps the previous fill's product and feature (an answer speaks of
        what the question asked), drawing all the same so that the random stream, and every
        other post, stays as it was."""
        month = MONTHS[moment.month % 12]  # "next month" reads naturally in plans
        drawn = (self.rng.choice(PRODUCTS), self.rng.choice(FEATURES))
        product, feature = self.last if same_as_last else drawn
        self.last = (product, feature)
        return template.format(product=product, feature=feature, month=month,
                               version=f"{moment.year % 100}.{moment.month}")
