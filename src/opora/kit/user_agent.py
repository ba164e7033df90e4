"""A User-Agent header in short form ("Firefox", "Windows") for lists of signed-in browsers.

Only the common browsers and systems are told apart; anything else is "" (the template
says "unknown"). The order of the checks matters: Edge, Opera and Yandex claim to be
Chrome, Chrome claims to be Safari, Android claims to be Linux.
"""

from __future__ import annotations

from typing import NamedTuple

_BROWSERS: tuple[tuple[str, str], ...] = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("OPR/", "Opera"),
    ("YaBrowser/", "Yandex Browser"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
)

_SYSTEMS: tuple[tuple[str, str], ...] = (
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


class BrowserName(NamedTuple):
    browser: str
    system: str


def describe_user_agent(header: str) -> BrowserName:
    """``BrowserName("Firefox", "Windows")``; unknown parts are ""."""
    browser = next((name for mark, name in _BROWSERS if mark in header), "")
    system = next((name for mark, name in _SYSTEMS if mark in header), "")
    return BrowserName(browser, system)
