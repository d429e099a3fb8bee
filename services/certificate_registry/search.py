"""Fuzzy search over countries and ports: Chinese substring, full pinyin, pinyin initials, English words and
their initials, and code. Ranked: exact matches, then prefixes, then substrings; within each, a preferred item's
Chinese name or pinyin first (SPEC: `mg` → 美国), then the code, then other Chinese names, then English."""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from pypinyin import Style, lazy_pinyin, pinyin

MAX_READINGS = 16  # combinations of multi-reading characters indexed per name
_WORD = re.compile(r"[a-z0-9]+")


class Named(Protocol):
    code: str
    name_zh: str
    name_en: str


T = TypeVar("T", bound=Named)


def chinese_keys(name: str) -> set[str]:
    """Full pinyin and initials: the phrase-aware reading (重庆 → chongqing, cq) plus other readings of
    multi-reading characters (长滩 → changtan as well as zhangtan), so either way of typing finds it."""
    keys = {"".join(lazy_pinyin(name)), "".join(lazy_pinyin(name, style=Style.FIRST_LETTER))}
    readings = pinyin(name, style=Style.NORMAL, heteronym=True)
    for combo in itertools.islice(itertools.product(*readings), MAX_READINGS):
        keys.add("".join(combo))
        keys.add("".join(syllable[0] for syllable in combo if syllable))
    return {k.lower() for k in keys if k}


def english_keys(name: str) -> set[str]:
    words = _WORD.findall(name.lower())
    return {" ".join(words), "".join(words), "".join(w[0] for w in words)} - {""}


@dataclass(frozen=True)
class _Entry(Generic[T]):
    item: T
    order: tuple[int, str]  # (0 if preferred else 1, code): the tie-break among equal matches
    keys: tuple[str, str, str]  # code, Chinese name + pinyin forms, English forms; each "\0k1\0k2\0"
    haystack: str  # all of them, for the first, cheapest test


def _joined(keys: Iterable[str]) -> str:
    return "\0" + "\0".join(keys) + "\0"


class SearchIndex(Generic[T]):
    """Every test is a substring search in a pre-joined key string, so a query costs microseconds."""

    def __init__(self, items: Iterable[T], preferred: Callable[[T], bool] = lambda item: False) -> None:
        self._entries: list[_Entry[T]] = []
        for item in items:
            code = _joined([item.code.lower()])
            zh = _joined([item.name_zh.lower(), *sorted(chinese_keys(item.name_zh))])
            en = _joined(sorted(english_keys(item.name_en)))
            order = (0 if preferred(item) else 1, item.code)
            self._entries.append(_Entry(item, order, (code, zh, en), code + zh + en))

    def search(self, query: str, limit: int) -> list[T]:
        needle = " ".join(query.strip().lower().split()).replace("\0", "")
        if not needle:
            return [e.item for e in self._entries[:limit]]
        needles = tuple({needle, needle.replace(" ", "")})
        # (tier, patterns): 0 exact key, 1 key prefix, 2 anywhere in a key
        tiers = (
            tuple(f"\0{n}\0" for n in needles),
            tuple(f"\0{n}" for n in needles),
            needles,
        )
        scored = []
        for entry in self._entries:
            if not any(n in entry.haystack for n in needles):
                continue
            scored.append((_rank(entry.keys, tiers, preferred=entry.order[0] == 0), entry.order, entry.item))
        return [t[2] for t in heapq.nsmallest(limit, scored, key=_sort_key)]


def _sort_key(scored: tuple) -> tuple:
    return scored[0], scored[1]


def _rank(keys: tuple[str, str, str], tiers: tuple[tuple[str, ...], ...], *, preferred: bool) -> tuple[int, int]:
    """(tier, source): tier 0 exact, 1 prefix, 2 substring. Within a tier: the Chinese name or its pinyin of a
    preferred item (a common partner), then the code, then any other Chinese name, then English. So `mg` finds
    美国 (mei guo) before Madagascar's code MG, while `jp` still finds 日本 (JP) before 加蓬 (jia peng)."""
    for tier, patterns in enumerate(tiers):
        for source, joined in enumerate(keys):
            if any(pattern in joined for pattern in patterns):
                if source == _CHINESE:
                    return tier, 0 if preferred else 2
                return tier, 1 if source == _CODE else 3
    return 3, 0


_CODE, _CHINESE = 0, 1  # positions in _Entry.keys
