"""The real app served by uvicorn on a free loopback port (in a thread), over the hand-built
snapshot of ``tests/service_support.py`` with its lists and users, and Debian's Chromium driven by
Playwright. Used by ``tests/test_web*.py``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("HAZLEADS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).parent / "artifacts" / "screenshots"
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def chromium_path() -> str:
    """Debian's Chromium, or a failure that says how to get it (never a silent skip)."""
    path = CHROMIUM if os.path.isabs(CHROMIUM) else shutil.which(CHROMIUM)
    if not path or not os.access(path, os.X_OK):
        pytest.fail(f"Chromium not found at {CHROMIUM}: the browser tests need Debian's chromium package "
                    "(`make browser`, or `apt-get install -y chromium`; set HAZLEADS_CHROMIUM to use another binary)",
                    pytrace=False)
    return path


class LiveServer:
    """``create_app(...)`` under uvicorn in a background thread, bound to 127.0.0.1 on a free port."""

    def __init__(self, app, lifespan: str = "on") -> None:
        """``lifespan="off"``: an app whose start-up already ran (under a TestClient)."""
        import uvicorn

        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan=lifespan, timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])),
                                       name=f"uvicorn-{self.port}", daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        end = time.monotonic() + 120  # the lifespan may warm up (score) first
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > end:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()

    @property
    def rt(self):
        return self.app.state.runtime


@contextlib.contextmanager
def live_service(home: Path, hand: dict, store=None, mlflow_uri: str | None = None):
    """The app over ``hand`` (a ``hand_snapshot``-like dict) with its lists stored (``store(rt)``,
    default the service tests' two lists) and the service tests' users; yields (server, tokens)."""
    from hazleads.settings import Settings
    from serving.app import create_app
    from tests.service_support import make_users, mlflow_env_kept, store_lists

    settings = Settings(home=home / "home", database_url=f"sqlite:///{home / 'web.db'}",
                        mlflow_tracking_uri=mlflow_uri or hand["mlflow_uri"])
    app = create_app(settings, data=hand["path"], warm="off", watch_interval_s=0)
    with mlflow_env_kept(), LiveServer(app) as server:
        rt = server.rt
        rt.use_snapshot(hand["snapshot"], hand["path"], hand["digest"], hand["places"])
        rt.features = hand["features"]
        rt.phase = "ready"
        (store or (lambda r: store_lists(r, hand)))(rt)
        tokens, _ = make_users(rt)
        yield server, tokens


def is_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.hostname in ("127.0.0.1", "localhost", "::1")


def shot(page, name: str, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


class Browse:
    """One browser page on the live service: every request it makes and every script error it
    raises are recorded, so a test can assert that nothing left the machine and nothing broke."""

    def __init__(self, page, base_url: str) -> None:
        self.page, self.base = page, base_url
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("console", lambda m: self.errors.append(f"console: {m.text}")
                if m.type == "error" and "Failed to load resource" not in m.text else None)
        page.set_default_timeout(15_000)

    def goto(self, route: str = "") -> None:
        self.page.goto(f"{self.base}/{route}")

    def sign_in(self, token: str, expect: str = "main h1") -> None:
        self.goto("#/login")
        self.page.fill("#token", token)
        self.page.click("form.signin button[type=submit]")
        self.page.wait_for_selector("#who:not([hidden])")
        self.page.wait_for_selector(expect)

    def route(self, route: str, expect: str) -> None:
        self.page.evaluate("r => { location.hash = r; }", route)
        self.page.wait_for_selector(expect)

    def api_status(self, path: str, method: str = "GET") -> int:
        """The status the API gives this page's own token for ``path`` (a fetch from the page)."""
        return self.page.evaluate(
            """([path, method]) => fetch(path, {method, headers: {Authorization: 'Bearer ' +
                sessionStorage.getItem('hazleads.token')}}).then(r => r.status)""", [path, method])

    def offsite(self) -> list[str]:
        return [u for u in self.requests if not is_loopback(u)]

    def assert_clean(self) -> None:
        assert self.requests, "the page made no request at all"
        assert self.offsite() == [], f"requests left the machine: {self.offsite()[:5]}"
        assert self.errors == [], self.errors[:5]


@contextlib.contextmanager
def chromium():
    """Debian's Chromium under Playwright (headless, a fresh temporary profile, no background traffic)."""
    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def browsing(browser, base_url: str, viewport: dict | None = None, **context_kw):
    """A fresh browser context (own storage) with one recorded page. The browser's locale is
    English on purpose: the page must still open in Chinese. ``viewport``: default 1280×900."""
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, locale="en-US",
                                  timezone_id="Asia/Shanghai", accept_downloads=True, **context_kw)
    try:
        yield Browse(context.new_page(), base_url)
    finally:
        context.close()
