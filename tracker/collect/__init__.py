"""Collect: pull public posts from each platform's API, or import an archive or export."""
