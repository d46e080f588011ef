"""Type structure of JSON values, for checking emulator answers against recorded responses."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def structure(value: Any) -> Any:
    """Keys, nesting and value types; a list becomes the sorted set of its items' structures."""
    if isinstance(value, dict):
        return {key: structure(item) for key, item in value.items()}
    if isinstance(value, list):
        return sorted({json.dumps(structure(item), sort_keys=True) for item in value})
    return "null" if value is None else type(value).__name__


def missing_or_mistyped(built: Any, recorded: Any, path: str = "") -> list[str]:
    """Paths in ``built`` that ``recorded`` lacks or types differently (nulls match anything)."""
    problems: list[str] = []
    if isinstance(built, dict):
        if not isinstance(recorded, dict):
            return [f"{path}: object vs {type(recorded).__name__}"]
        for key, item in built.items():
            if key not in recorded:
                problems.append(f"{path}.{key}: not in the recorded response")
            else:
                problems += missing_or_mistyped(item, recorded[key], f"{path}.{key}")
    elif isinstance(built, list):
        if recorded is not None and not isinstance(recorded, list):
            return [f"{path}: array vs {type(recorded).__name__}"]
        if built and recorded:
            problems += missing_or_mistyped(built[0], recorded[0], f"{path}[0]")
    elif built is not None and recorded is not None and type(built) is not type(recorded):
        problems.append(f"{path}: {type(built).__name__} vs {type(recorded).__name__}")
    return problems


def merged(examples: list[Any]) -> Any:
    """One value with every key seen in any of ``examples`` (first non-null value wins)."""
    result: Any = None
    for example in examples:
        result = _merge(result, example)
    return result


def _merge(left: Any, right: Any) -> Any:
    if left is None:
        return right
    if isinstance(left, dict) and isinstance(right, dict):
        out = dict(left)
        for key, value in right.items():
            out[key] = _merge(out.get(key), value)
        return out
    if isinstance(left, list) and isinstance(right, list):
        items = left + right
        return [merged(items)] if items else []
    return left


def recorded_loader(shared_dir: Path, platform: str) -> Callable[[str], tuple[Any, Any]]:
    """``load(name)`` -> (body, meta) of a recorded response in the reference data (skips when absent)."""
    folder = shared_dir / "fixtures" / "recorded" / platform
    if not folder.is_dir():
        pytest.skip(f"no recorded {platform} responses")

    def load(name: str) -> tuple[Any, Any]:
        return (json.loads((folder / f"{name}.json").read_text()),
                json.loads((folder / f"{name}.meta.json").read_text()))

    return load
