"""The ATM agent's sources as its status reports them (docs/protocol.md, Common.Status
``sources``; docs/agent.md): the application's reading of them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """One source of the ATM agent as its status reports it (docs/protocol.md, Common.Status):
    ``state`` ok | lost | error | off, and the agent's words in English and Chinese."""

    name: str
    state: str
    english: str = ""
    chinese: str = ""


def parse_sources(raw) -> dict[str, SourceHealth]:
    """The status's ``sources`` object; anything malformed in it is left out (it is advice)."""
    out: dict[str, SourceHealth] = {}
    if not isinstance(raw, dict):
        return out
    for name, entry in raw.items():
        if isinstance(name, str) and isinstance(entry, dict) and isinstance(entry.get("state"), str):
            en, zh = entry.get("en"), entry.get("zh")
            out[name] = SourceHealth(
                name, entry["state"], en if isinstance(en, str) else "", zh if isinstance(zh, str) else ""
            )
    return out
