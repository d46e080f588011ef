"""Shared helpers for the ops tests: demo configs pointing at a running emulator."""

from __future__ import annotations

from pathlib import Path

from tracker.demo.run import config_text


def write_demo_config(folder: Path, api_base_url: str, extra: str = "") -> Path:
    """The demo organisation's config plus ``extra`` TOML tables, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tracker.toml"
    text = config_text(api_base_url)
    # Extra tables go before the first [[leaders]] so they stay top-level tables.
    head, sep, tail = text.partition("[[leaders]]")
    path.write_text(head + extra + "\n" + sep + tail, encoding="utf-8")
    return path
