"""Config rules for the Bluesky, Mastodon and blog accounts and settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tracker.config import load_config, parse_config
from tracker.errors import ConfigError

BASE = """[organisation]
name = "Org"
{extra}
[[leaders]]
id = "ada"
name = "Ada"
accounts = {{ {accounts} }}
"""


def _parse(accounts, extra=""):
    return parse_config(BASE.format(accounts=accounts, extra=extra), Path("t.toml"))


def test_handles_are_checked_and_normalized():
    config = _parse('bluesky = "@Ada.Example.COM", mastodon = "@ada@Mastodon.social", '
                    'blog = "https://ada.example.com/feed.xml"')
    assert config.leaders[0].accounts == {"bluesky": "ada.example.com", "mastodon": "ada@Mastodon.social",
                                          "blog": "https://ada.example.com/feed.xml"}
    assert _parse('bluesky = "did:plc:abc123"').leaders[0].accounts == {"bluesky": "did:plc:abc123"}


@pytest.mark.parametrize("accounts, message", [
    ('bluesky = "not a handle"', "leaders[0].accounts.bluesky: expected a Bluesky handle"),
    ('mastodon = "ada"', "leaders[0].accounts.mastodon: expected a Mastodon address user@server"),
    ('blog = "ftp://x"', "leaders[0].accounts.blog: expected the http(s) URL of the blog's RSS or Atom feed"),
])
def test_bad_handles_name_the_key(accounts, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        _parse(accounts)


def test_settings_defaults_and_overrides():
    config = _parse('x = "ada"')
    assert config.bluesky.api_base_url == "https://public.api.bsky.app" and config.bluesky.page_size == 100
    assert config.mastodon.base_url("mastodon.social") == "https://mastodon.social"
    config = _parse('x = "ada"', '[sources.mastodon]\nserver_urls = { "Example.Social" = "http://127.0.0.1:8/" }\n'
                                 '[sources.bluesky]\npage_size = 20\n')
    assert config.mastodon.base_url("example.social") == "http://127.0.0.1:8"
    assert config.bluesky.page_size == 20


@pytest.mark.parametrize("extra, message", [
    ("[sources.bluesky]\npage_size = 500\n", "sources.bluesky.page_size: expected a whole number from 1 to 100"),
    ('[sources.mastodon]\nserver_urls = { a = "nope" }\n', "sources.mastodon.server_urls: expected a table of"),
    ("[sources.blog]\nspeed = 1\n", "sources.blog.speed: unknown key"),
])
def test_bad_settings_name_the_key(extra, message):
    with pytest.raises(ConfigError, match=message):
        _parse('x = "ada"', extra)


def test_the_example_config_is_valid():
    config = load_config(Path(__file__).resolve().parents[1] / "config" / "tracker.toml")
    assert set(config.leaders[0].accounts) == {"x", "bluesky", "mastodon", "blog"}
