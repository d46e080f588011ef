"""Shared pieces of the Bluesky, Mastodon and blog tests: a config on disk, runs, DB reads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tracker.collect.run import CollectResult, collect
from tracker.config import Config, load_config
from tracker.store import open_db


class Sleeps(list):
    """An injected ``sleep`` that records the requested waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def write_config(tmp_path: Path, accounts: dict[str, dict[str, str]], sources: str = "",
                 backfill_days: int = 0) -> Config:
    lines = ["[tracker]", 'database = "tracker.db"', "", "[organisation]", 'name = "Test Org"', "",
             "[collect]", f"backfill_days = {backfill_days}", "", sources, ""]
    for leader_id, leader_accounts in accounts.items():
        inline = ", ".join(f'{platform} = "{handle}"' for platform, handle in leader_accounts.items())
        lines += ["[[leaders]]", f'id = "{leader_id}"', f'name = "{leader_id.title()}"',
                  f"accounts = {{ {inline} }}", ""]
    path = tmp_path / "tracker.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return load_config(path)


def run(config: Config, sleeps: Sleeps | None = None, clock: Any = None, **options: Any) -> CollectResult:
    source_options: dict[str, Any] = {"sleep": sleeps if sleeps is not None else Sleeps()}
    if clock is not None:
        source_options["clock"] = clock
    return collect(config, env={}, source_options=source_options, **options)


def rows(config: Config, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    db = open_db(config.database)
    try:
        return [tuple(row) for row in db.execute(sql, params).fetchall()]
    finally:
        db.close()


def post_ids(config: Config) -> list[str]:
    return [row[0] for row in rows(config, "SELECT id FROM posts ORDER BY id")]


def cursor(config: Config, account_id: str) -> dict[str, Any] | None:
    import json

    found = rows(config, "SELECT value FROM cursors WHERE account_id = ?", [account_id])
    return json.loads(found[0][0]) if found else None


def collect_killed_mid_walk(config: Config, emulator: Any, timeout: float = 60.0) -> int:
    """Run ``tracker collect`` in a child process and SIGKILL it while a request is held.

    The emulator must have a ``hang`` fault armed on the request to die on. Returns the
    child's exit status (negative: killed by that signal).
    """
    env = {**os.environ, "TRACKER_CONFIG": str(config.path)}
    child = subprocess.Popen([sys.executable, "-m", "tracker", "collect", "--no-summary"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not emulator.hanging.wait(timeout):
            raise AssertionError("the collection never reached the held request")
        child.send_signal(signal.SIGKILL)
        return child.wait(timeout)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        emulator.release()
