"""The portal's theme (portal/src/theme.css) keeps WCAG 2.1 AA contrast: each colour Element Plus draws text in,
on each background it draws that text on (issue 18). The browser suite's axe-core checks the screens as rendered;
this checks the variables themselves, states axe does not see (hover, toasts, tags of every type) included."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

THEME = Path(__file__).resolve().parents[2] / "portal" / "src" / "theme.css"
WHITE, PAGE, FILL, REQUIRED = "#ffffff", "#f0f2f5", "#f5f7fa", "#fdf6c3"  # card, page, table stripe, 必填 yellow
TYPES = ["primary", "success", "warning", "danger", "error", "info"]


def variables() -> dict[str, str]:
    block = re.search(r"html:root\s*\{(.*?)\n\}", THEME.read_text(), re.S)
    assert block, "theme.css has no html:root block"
    return dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", block.group(1)))


def ratio(a: str, b: str) -> float:
    def luminance(color: str) -> float:
        channels = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_theme_sets_every_shade_of_every_type() -> None:
    found = variables()
    for kind in TYPES:
        for suffix in ("", "-light-3", "-light-5", "-light-7", "-light-8", "-light-9", "-dark-2"):
            assert f"--el-color-{kind}{suffix}" in found, f"--el-color-{kind}{suffix} missing"


@pytest.mark.parametrize("kind", TYPES)
def test_each_type_reads_at_4_5_to_1(kind: str) -> None:
    v = variables()
    color = v[f"--el-color-{kind}"]
    pairs = {
        "white text on a solid button": (WHITE, color),
        "white text on a hovered button": (WHITE, v[f"--el-color-{kind}-light-3"]),
        "white text on a pressed button": (WHITE, v[f"--el-color-{kind}-dark-2"]),
        "text (link, tab, field hint) on a card": (color, WHITE),
        "hovered link on a card": (v[f"--el-color-{kind}-light-3"], WHITE),
        "text on the page background": (color, PAGE),
        "text in a tag, an alert or a toast": (color, v[f"--el-color-{kind}-light-9"]),
        "text on a plain button's hover fill": (color, v[f"--el-color-{kind}-light-9"]),
    }
    weak = {what: round(ratio(*pair), 2) for what, pair in pairs.items() if ratio(*pair) < 4.5}
    assert not weak, f"{kind}: below 4.5:1: {weak}"


def test_grey_text_and_boundaries() -> None:
    v = variables()
    for name in (
        "--el-text-color-primary",
        "--el-text-color-regular",
        "--el-text-color-secondary",
        "--el-text-color-placeholder",
    ):
        for background in (WHITE, PAGE, FILL, REQUIRED):
            assert ratio(v[name], background) >= 4.5, (name, background, round(ratio(v[name], background), 2))
    # The frame of an input, a select, a checkbox or a default button against the card it stands on (1.4.11).
    for name in ("--el-border-color", "--el-border-color-hover"):
        assert ratio(v[name], WHITE) >= 3, (name, round(ratio(v[name], WHITE), 2))
    # The focus ring: primary on light surfaces, white on the blue header (#1f6fc5) and menu (#0f3a6b).
    for background in (WHITE, PAGE, FILL):
        assert ratio(v["--el-color-primary"], background) >= 3
    for dark in ("#1f6fc5", "#0f3a6b", "#0b4a8b"):
        assert ratio(WHITE, dark) >= 4.5
