"""Peers: [[peers]] config, the cohort's quartiles and each leader's percentile (pure parts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.config import parse_config
from tracker.errors import ConfigError
from tracker.metrics.peers import add_peer_positions, percentile_rank, quartiles

BASE = '''
[organisation]
name = "Northwind"

[[leaders]]
id = "maya"
name = "Maya"
accounts = { x = "maya" }
'''


def test_peers_parse_with_their_organisation_and_are_not_leaders():
    config = parse_config(BASE + '''
[[peers]]
id = "sofia"
name = "Sofia Lind"
organisation = "Helix Automation"
role = "CEO"
accounts = { x = "@sofia_helix", bluesky = "sofia.bsky.social" }
''', Path("t.toml"))
    assert [leader.id for leader in config.leaders] == ["maya"]
    (peer,) = config.peers
    assert peer.organisation == "Helix Automation" and peer.is_peer
    assert peer.accounts == {"x": "sofia_helix", "bluesky": "sofia.bsky.social"}
    assert [leader.id for leader in config.tracked] == ["maya", "sofia"]
    assert config.leader("sofia") is peer and not config.leaders[0].is_peer


def test_peer_problems_are_named_with_their_key_path():
    with pytest.raises(ConfigError) as error:
        parse_config(BASE + '''
[[peers]]
id = "maya"
name = "Another Maya"
accounts = { x = "not a handle" }
''', Path("t.toml"))
    message = str(error.value)
    assert "peers[0].organisation: missing" in message
    assert "peers[0].id: duplicate id 'maya'" in message and "first used by leaders[0]" in message
    assert "peers[0].accounts.x: expected an X username" in message


def test_an_account_is_under_one_leader_or_peer_only():
    with pytest.raises(ConfigError) as error:
        parse_config(BASE + '''
[[peers]]
id = "sofia"
name = "Sofia Lind"
organisation = "Helix Automation"
accounts = { x = "Maya" }
''', Path("t.toml"))
    assert "peers[0].accounts.x: 'Maya' is already the x account of leaders[0]" in str(error.value)


def test_linkedin_colleagues_are_named_within_their_own_organisation():
    from tracker.collect.linkedin import colleague_counterparts

    config = parse_config(BASE + '''
[[leaders]]
id = "grace"
name = "Grace Hopper"
accounts = { x = "grace_hopper" }

[[peers]]
id = "sofia"
name = "Sofia Lind"
organisation = "Helix Automation"
accounts = { x = "sofia_helix" }
''', Path("t.toml"))
    # The form metrics._organisation_users lists: our leader under '', a peer under its company.
    assert colleague_counterparts(config) == {"|linkedin:Grace Hopper", "Helix Automation|linkedin:Sofia Lind"}


def test_quartiles_and_percentiles_by_hand():
    assert quartiles([10.0, 20.0, 30.0, 40.0, 50.0]) == (20.0, 30.0, 40.0)
    assert quartiles([10.0, 20.0]) == (12.5, 15.0, 17.5)
    assert quartiles([7.0]) == (7.0, 7.0, 7.0)
    assert percentile_rank(60.0, [10, 20, 30, 40]) == 100.0
    assert percentile_rank(5.0, [10, 20, 30, 40]) == 0.0
    # Two below, one level (counts half), one above: 2.5 of 4.
    assert percentile_rank(30.0, [10, 20, 30, 40]) == 62.5


def _row(leader_id, index, coverage="full", platform="all"):
    return {"leader_id": leader_id, "month": "2026-02", "platform": platform, "coverage": coverage,
            "openness_index": index, "component_answer": index, "component_debate": 0.0,
            "component_progress": 100.0 - index if index is not None else None, "component_presence": 50.0}


def test_positions_against_the_cohort_leave_a_peer_out_of_its_own_cohort():
    rows = [_row("own", 35.0), _row("p1", 10.0), _row("p2", 20.0), _row("p3", 40.0), _row("p4", 50.0),
            _row("gone", None, coverage="none"), _row("p5", None, coverage="none"), _row("own", 35.0, platform="x")]
    add_peer_positions(rows, {"p1", "p2", "p3", "p4", "p5"})
    own, p1, gone, own_x = rows[0], rows[1], rows[5], rows[7]
    assert own["peer_count"] == 4  # p5 has no data that month
    assert (own["peer_index_q1"], own["peer_index_median"], own["peer_index_q3"]) == (17.5, 30.0, 42.5)
    assert own["peer_index_percentile"] == 50.0 and own["peer_answer_percentile"] == 50.0
    assert own["peer_progress_percentile"] == 50.0  # 65 against 90, 80, 60, 50
    assert own["peer_debate_percentile"] == 50.0  # level with every peer
    # A peer is compared with the three others.
    assert p1["peer_count"] == 3 and p1["peer_index_percentile"] == 0.0 and p1["peer_index_median"] == 40.0
    # No data: the cohort is shown, the leader is not placed.
    assert gone["peer_index_median"] == 30.0 and gone["peer_index_percentile"] is None
    # Another platform has no peer rows: nothing to compare with.
    assert own_x["peer_count"] == 0 and own_x["peer_index_median"] is None and own_x["peer_index_percentile"] is None
