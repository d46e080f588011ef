"""HTML post bodies (Mastodon ``content``, blog entries) to plain text, with the stdlib parser.

Paragraphs and line breaks are kept as blank lines and newlines, every tag is dropped and
entities are unescaped, so the classifier sees the words a reader sees. Mastodon wraps
mentions as ``<span class="h-card"><a ...>@<span>user</span></a></span>`` and hides URL
prefixes in ``<span class="invisible">`` (Mastodon's TextFormatter): the invisible parts
stay, so a link reads as the full URL.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

BLOCK_TAGS = {"p", "div", "blockquote", "pre", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "table",
              "section", "article", "header", "footer", "figure"}
LINE_TAGS = {"br", "li", "tr"}
SKIPPED_TAGS = {"script", "style", "template"}


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_TAGS:
            self.skipping += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n\n")
        elif tag in LINE_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """``<p>Hi &amp; bye</p><p>Two<br>lines</p>`` -> ``"Hi & bye\\n\\nTwo\\nlines"``."""
    if not html:
        return ""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts).replace("\r\n", "\n").replace("\xa0", " ")
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
