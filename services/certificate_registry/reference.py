"""Reference data (agreements, countries, ports) loaded once from the data files beside this module."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from services.certificate_registry.search import SearchIndex
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
        self.ports_by_country: dict[str, list[Port]] = {}
        for port in self.ports:
            self.ports_by_country.setdefault(port.country, []).append(port)
        common = frozenset(json.loads((directory / "common-partners.json").read_bytes())["countries"])
        self._countries = SearchIndex(self.countries, lambda country: country.code in common)
        self._ports = {code: SearchIndex(ports) for code, ports in self.ports_by_country.items()}
        self._all_ports = SearchIndex(self.ports, lambda port: port.country in common)

    def search_countries(self, q: str, limit: int) -> list[Country]:
        return self._countries.search(q, limit)

    def search_ports(self, q: str, country: str | None, limit: int) -> list[Port]:
        if country is None:
            return self._all_ports.search(q, limit)
        index = self._ports.get(country)
        return index.search(q, limit) if index else []
