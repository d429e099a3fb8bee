"""Sessions most end-to-end modules share: each module logs in once as the demo enterprise user and the officer."""

from __future__ import annotations

import httpx
import pytest

from tests.support import login


@pytest.fixture(scope="module")
def demo(stack) -> httpx.Client:
    return login(stack.gateway_url)


@pytest.fixture(scope="module")
def officer(stack) -> httpx.Client:
    return login(stack.gateway_url, "officer", "Officer@2026")
