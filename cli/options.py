"""Option parsing shared by commands."""

from __future__ import annotations

import click


def parse_mapping(text: str | None, option: str) -> dict[str, str]:
    """``"tv=tv_S,search"`` -> ``{"tv": "tv_S", "search": "search"}`` (name = column)."""
    if not text:
        return {}
    mapping = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, _, column = item.partition("=")
        name, column = name.strip(), (column.strip() or name.strip())
        if not name:
            raise click.BadParameter(f"empty channel name in {item!r}", param_hint=option)
        if name in mapping:
            raise click.BadParameter(f"channel {name!r} is named twice", param_hint=option)
        mapping[name] = column
    return mapping


def parse_list(text: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (text or "").split(",") if item.strip())
