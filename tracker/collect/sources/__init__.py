"""Platform sources. One module per platform; only that module imports its SDK.

``build_source`` is the single place that maps a platform name to its collector, so adding
a platform is one module plus one line in ``SOURCE_FACTORIES``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from tracker.config import Config
from tracker.collect.sources.base import Source


def _build_x(config: Config, env: Mapping[str, str], **options: Any) -> Source:
    from tracker.collect.sources.x import XSource

    return XSource.from_config(config, env, **options)


def _build_bluesky(config: Config, env: Mapping[str, str], **options: Any) -> Source:
    from tracker.collect.sources.bluesky import BlueskySource

    return BlueskySource.from_config(config, env, **options)


def _build_mastodon(config: Config, env: Mapping[str, str], **options: Any) -> Source:
    from tracker.collect.sources.mastodon import MastodonSource

    return MastodonSource.from_config(config, env, **options)


def _build_blog(config: Config, env: Mapping[str, str], **options: Any) -> Source:
    from tracker.collect.sources.blog import BlogSource

    return BlogSource.from_config(config, env, **options)


SOURCE_FACTORIES: dict[str, Callable[..., Source]] = {
    "x": _build_x,
    "bluesky": _build_bluesky,
    "mastodon": _build_mastodon,
    "blog": _build_blog,
}


def build_source(platform: str, config: Config, env: Mapping[str, str] | None = None,
                 **options: Any) -> Source:
    """Create the collector for ``platform`` with credentials from ``env`` (default os.environ)."""
    return SOURCE_FACTORIES[platform](config, os.environ if env is None else env, **options)
