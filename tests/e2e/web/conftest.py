"""Browser layer: Debian's Chromium, driven by Playwright, against the e2e layer's `agora up`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agora_stack import Stack
from playwright.sync_api import Browser, BrowserContext, Page
from web_support import chromium, new_context


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with chromium() as (_, running):
        yield running


@pytest.fixture
def context(browser: Browser, stack: Stack) -> Iterator[BrowserContext]:
    """A fresh browser profile on the shop for one test."""
    fresh = new_context(browser, stack.gateway)
    try:
        yield fresh
    finally:
        fresh.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()
