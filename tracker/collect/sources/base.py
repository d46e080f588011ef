"""What a source is: the protocol every platform collector follows, and the store reads it may make."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tracker.domain import Identity, Page


@dataclass(frozen=True)
class StoreView:
    """The only database reads a source makes while it collects; ``collect`` hands it over.

    Sources never open the database: Mastodon asks which replied-to posts are already
    stored (so it fetches only the missing ones), X asks how many billed reads the
    ``[budget]`` cap still allows before each page.
    """

    stored_post_ids: Callable[[Sequence[str]], set[str]]
    reads_remaining: Callable[[], int] | None = None  # None: no read budget on this platform


class Source(Protocol):
    """A platform collector. ``requests`` counts every HTTP request it has sent; ``store_view``
    is set by ``collect`` before the first account."""

    store_view: StoreView | None

    platform: str

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (a plain attribute satisfies this too)."""
        ...

    def resolve(self, handle: str) -> Identity:
        """Look the handle up on the platform (one request)."""
        ...

    def fetch_pages(self, identity: Identity, cursor: dict[str, Any] | None) -> Iterator[Page]:
        """Yield the pages of posts newer than ``cursor``, each with the cursor that follows it."""
        ...
