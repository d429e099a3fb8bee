"""The demo data set seeded in dev and test profiles (SEED_DEMO_DATA=true); never used in production."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoEnterprise:
    credit_code: str
    name: str
    customs_code: str


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    display_name: str
    role: str
    credit_code: str | None


@dataclass(frozen=True)
class DemoCertificate:
    proof_type: str
    certificate_no: str
    holder: DemoEnterprise
    agreement_code: str
    import_country: str
    linked_declarations: tuple[str, ...]


HUAMAO = DemoEnterprise("91310115MA1K4B2X0T", "上海华贸进出口有限公司", "3105960001")
HAILIAN = DemoEnterprise("91330206MA2H7C5D1A", "宁波海联国际贸易有限公司", "3302960002")
ENTERPRISES = (HUAMAO, HAILIAN)

DEMO_PASSWORD = "Demo@2026"
USERS = (
    DemoUser("demo", DEMO_PASSWORD, "张敏", "ENTERPRISE", HUAMAO.credit_code),
    DemoUser("demo2", DEMO_PASSWORD, "李强", "ENTERPRISE", HAILIAN.credit_code),
    DemoUser("officer", "Officer@2026", "王海关", "OFFICER", None),
)


@dataclass(frozen=True)
class DemoCard:
    """A card (卡介质) whose SM2 key is derived from `key_seed`: published here, so for demos and tests only."""

    card_no: str
    username: str
    pin: str
    key_seed: bytes


CARDS = (DemoCard("8800000000001", "demo", "123456", b"xianghui demo card 8800000000001"),)

CERTIFICATES = (
    DemoCertificate("CUSTOMS_CO", "K2631000000001", HUAMAO, "22", "JP", ("310120260000123456",)),
    DemoCertificate("CUSTOMS_CO", "K2631000000002", HUAMAO, "02", "VN", ()),
    DemoCertificate("APPROVED_EXPORTER", "AE2631000000003", HUAMAO, "17", "CH", ("310120260000223344",)),
    DemoCertificate("RULING_DECLARATION", "RD2631000000004", HUAMAO, "19", "KR", ("310120260000334455",)),
    DemoCertificate("CCPIT_CO", "C263100000000005", HUAMAO, "18", "AU", ("310120260000445566",)),
    DemoCertificate("CUSTOMS_CO", "K2633000000901", HAILIAN, "19", "KR", ("310420260000990011",)),
)
