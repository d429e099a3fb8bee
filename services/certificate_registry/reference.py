"""Reference data (agreements, countries, ports) loaded once from the data files beside this module."""

from __future__ import annotations

from pathlib import Path

import msgspec

from shared.contracts.registry import Agreement, Country, Port

DATA = Path(__file__).parent / "data"


class ReferenceData:
    def __init__(self, directory: Path = DATA) -> None:
        self.agreements = msgspec.json.decode((directory / "agreements.json").read_bytes(), type=list[Agreement])
        self.countries = msgspec.json.decode((directory / "countries.json").read_bytes(), type=list[Country])
        self.ports = msgspec.json.decode((directory / "ports.json").read_bytes(), type=list[Port])
        self.agreement_by_code = {a.code: a for a in self.agreements}
        self.country_by_code = {c.code: c for c in self.countries}
        self.port_by_code = {p.code: p for p in self.ports}

    def search_countries(self, q: str, limit: int) -> list[Country]:
        return _rank(self.countries, q, limit)

    def search_ports(self, q: str, country: str | None, limit: int) -> list[Port]:
        ports = [p for p in self.ports if country is None or p.country == country]
        return _rank(ports, q, limit)


def _rank(items: list, q: str, limit: int) -> list:
    """Exact code first, then prefix matches, then substring matches (code, Chinese, English)."""
    needle = q.strip().lower()
    if not needle:
        return items[:limit]
    scored = []
    for item in items:
        keys = (item.code.lower(), item.name_zh.lower(), item.name_en.lower())
        if keys[0] == needle:
            score = 0
        elif any(k.startswith(needle) for k in keys):
            score = 1
        elif any(needle in k for k in keys):
            score = 2
        else:
            continue
        scored.append((score, item.code, item))
    scored.sort(key=lambda t: (t[0], t[1]))
    return [t[2] for t in scored[:limit]]
