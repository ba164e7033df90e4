"""The short form of a User-Agent for the list of signed-in browsers."""

from __future__ import annotations

import pytest

from opora.kit.user_agent import BrowserName, describe_user_agent

FIREFOX_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
EDGE_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)
YANDEX_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 YaBrowser/24.12.1.1 Mobile Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
CHROMIUM_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chromium/130.0.0.0 Chrome/130.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (FIREFOX_WIN, BrowserName("Firefox", "Windows")),
        (CHROME_MAC, BrowserName("Chrome", "macOS")),
        (EDGE_WIN, BrowserName("Edge", "Windows")),
        (YANDEX_ANDROID, BrowserName("Yandex Browser", "Android")),
        (SAFARI_IPHONE, BrowserName("Safari", "iOS")),
        (CHROMIUM_LINUX, BrowserName("Chromium", "Linux")),
        ("python-httpx/0.28.1", BrowserName("", "")),
        ("", BrowserName("", "")),
    ],
)
def test_describe_user_agent(header: str, expected: BrowserName) -> None:
    assert describe_user_agent(header) == expected
