"""Browser layer: Debian's Chromium, driven by Playwright, against the e2e layer's `agora up`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agora_stack import Stack
from playwright.sync_api import Browser, BrowserContext, Page
from web_support import chromium, new_context


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Not for the session: Playwright's sync API holds an event
    loop on the main thread while it runs, which the asyncio tests after this layer need."""
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
