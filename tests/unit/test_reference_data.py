"""Reference data on the real files: integrity, and fuzzy search by Chinese, pinyin, initials, English, code."""

from __future__ import annotations

import pytest

from services.certificate_registry.reference import ReferenceData
from services.certificate_registry.search import chinese_keys

ISSUE_AGREEMENTS = {
    "01",
    "02",
    "03",
    "04",
    "07",
    "08",
    "10",
    "11",
    "12",
    "13",
    "14",
    "15",
    "16",
    "17",
    "18",
    "19",
    "20",
    "21",
    "22",
    "23",
    "24",
    "25",
    "26",
    "28",
}


@pytest.fixture(scope="module")
def ref() -> ReferenceData:
    return ReferenceData()


def names(items) -> list[str]:
    return [i.name_zh for i in items]


def test_data_files_are_complete_and_consistent(ref: ReferenceData) -> None:
    assert len(ref.countries) == 249 and len(ref.country_by_code) == 249
    assert len(ref.ports) >= 300 and len(ref.port_by_code) == len(ref.ports)
    assert all(p.country in ref.country_by_code for p in ref.ports)
    assert all(len(p.code) == 5 and p.code.startswith(p.country) for p in ref.ports)
    assert set(ref.agreement_by_code) == ISSUE_AGREEMENTS
    assert ref.agreement_by_code["22"].name_zh.endswith("（RCEP）")


@pytest.mark.parametrize(
    ("code", "short_name"),
    [
        ("KR", "韩国"),
        ("KP", "朝鲜"),
        ("KH", "柬埔寨"),
        ("US", "美国"),
        ("LA", "老挝"),
        ("IR", "伊朗"),
        ("HK", "中国香港"),
    ],
)
def test_country_names_are_the_short_customs_forms(ref: ReferenceData, code: str, short_name: str) -> None:
    assert ref.country_by_code[code].name_zh == short_name


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("美", "美国"),  # Chinese substring
        ("meiguo", "美国"),  # full pinyin
        ("hanguo", "韩国"),
        ("south korea", "韩国"),  # English
        ("jp", "日本"),  # code
        ("柬", "柬埔寨"),
    ],
)
def test_country_search_finds_it_first(ref: ReferenceData, query: str, expected: str) -> None:
    assert names(ref.search_countries(query, 10))[0] == expected


def test_a_common_partners_initials_rank_above_an_exact_code(ref: ReferenceData) -> None:
    found = names(ref.search_countries("mg", 10))
    assert found[0] == "美国"  # SPEC: mg → 美国 (mei guo), a common partner
    assert found[1] == "马达加斯加"  # then MG, an exact code, before less common equal initials such as 蒙古
    assert found.index("马达加斯加") < found.index("蒙古")


@pytest.mark.parametrize(("query", "expected"), [("jp", "日本"), ("gb", "英国")])
def test_an_exact_code_ranks_above_a_less_common_countrys_initials(
    ref: ReferenceData, query: str, expected: str
) -> None:
    assert names(ref.search_countries(query, 10))[0] == expected  # not 加蓬 (jia peng), 古巴 (gu ba)


@pytest.mark.parametrize(
    ("country", "query", "expected"),
    [
        ("VN", "hcm", "胡志明市"),  # English initials: Ho Chi Minh City
        ("VN", "huzhiming", "胡志明市"),
        ("CN", "cq", "重庆"),  # multi-reading 重: chong, not zhong
        ("CN", "chongqing", "重庆"),
        ("CN", "xm", "厦门"),  # multi-reading 厦: xia, not sha
        ("CN", "changsha", "长沙"),
        ("US", "changtan", "长滩"),  # 长 read chang although the phrase dictionary says zhang
        ("KR", "KRPUS", "釜山"),
        ("JP", "yokohama", "横滨"),
    ],
)
def test_port_search_within_a_country(ref: ReferenceData, country: str, query: str, expected: str) -> None:
    found = ref.search_ports(query, country, 10)
    assert found and found[0].name_zh == expected
    assert all(p.country == country for p in found)


def test_ranking_is_exact_then_prefix_then_substring(ref: ReferenceData) -> None:
    assert names(ref.search_countries("几内亚", 5))[0] == "几内亚"  # exact before 几内亚比绍, 赤道几内亚 …
    found = names(ref.search_countries("亚", 60))
    starts = [n for n in found if n.startswith("亚")]
    assert starts and found[: len(starts)] == starts  # every prefix match before any mere substring match
    assert all("亚" in n for n in found)


def test_unknown_country_has_no_ports_and_nonsense_finds_nothing(ref: ReferenceData) -> None:
    assert ref.search_ports("", "ZZ", 10) == []
    assert ref.search_countries("qqqqzzzz", 10) == []
    assert len(ref.search_ports("", "JP", 100)) >= 3


def test_multi_reading_characters_index_every_reading() -> None:
    assert {"chongqing", "cq"} <= chinese_keys("重庆")
    assert {"xiamen", "xm"} <= chinese_keys("厦门")
    assert {"changtan", "ct", "zhangtan"} <= chinese_keys("长滩")
