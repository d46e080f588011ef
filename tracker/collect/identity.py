"""A person's word that an account stopped as ``identity_changed`` is still its leader's."""

from __future__ import annotations

from tracker import store
from tracker.config import Config
from tracker.errors import TrackerError


def accept_identity(config: Config, leader_id: str, platform: str) -> str:
    """Let the next collect resolve the account's handle again and collect it; return its id.

    Raises ConfigError for an unknown leader, and TrackerError when the account is not
    stopped by an identity change (nothing to confirm).
    """
    config.leader(leader_id)
    account = store.account_id(leader_id, platform)
    db = store.open_db(config.database, create=False)
    try:
        accepted = store.save_identity_accepted(db, account)
    finally:
        db.close()
    if not accepted:
        raise TrackerError(f"{account} is not stopped by an identity change: nothing to confirm")
    return account
