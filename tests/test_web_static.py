"""The web page's files without a browser: served at / and /static/ without a token (and nothing
else is), with a policy that keeps the page on its own origin; no file names another host; every
UI string the scripts use exists in Chinese and English."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import serving
from serving.api.routes.pages import STATIC

JS = sorted((STATIC / "js").glob("*.js"))
TEXT_FILES = [STATIC / "index.html", STATIC / "css" / "app.css", STATIC / "icon.svg", *JS]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from hazleads.settings import Settings
    from serving.app import create_app

    home = tmp_path_factory.mktemp("static")
    app = create_app(Settings(home=home, database_url=f"sqlite:///{home / 'db.sqlite'}"), warm="off", watch_interval_s=0)
    with TestClient(app) as c:
        yield c


def test_the_page_and_its_files_are_public_and_stay_on_their_origin(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/js/app.js">' in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp and "script-src 'self'" in csp
    for path in ["/static/js/app.js", *(f"/static/js/{p.name}" for p in JS), "/static/css/app.css", "/static/i18n.json",
                 "/static/icon.svg"]:
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["x-content-type-options"] == "nosniff"
    assert "javascript" in client.get("/static/js/app.js").headers["content-type"]


def test_only_the_page_is_public(client):
    assert client.get("/static/nope.js").status_code == 404
    assert client.get("/static/../v1/me").status_code in (401, 404)
    assert client.get("/static").status_code == 401
    assert client.get("/v1/me").status_code == 401
    assert client.get("/index.html").status_code == 401
    assert client.post("/").status_code == 405


def test_no_file_names_another_host():
    allowed = {"http://www.w3.org/2000/svg"}  # the SVG namespace, never fetched
    for f in TEXT_FILES:
        hosts = set(re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'`)]*", f.read_text(encoding="utf-8"))) - allowed
        assert hosts == set(), f"{f.name} names {hosts}"
    assert not re.search(r"@import|url\(", (STATIC / "css" / "app.css").read_text(encoding="utf-8"))


def test_every_ui_string_exists_in_both_languages():
    strings = json.loads((STATIC / "i18n.json").read_text(encoding="utf-8"))
    assert set(strings["zh"]) == set(strings["en"])
    code = "\n".join(p.read_text(encoding="utf-8") for p in JS)
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    used = set(re.findall(r"\bt\(\s*\"([\w.]+)\"", code)) | set(re.findall(r"section\(\s*\"([\w.]+)\"", code))
    used |= set(re.findall(r"\[\s*\"(\w+\.[\w.]+)\",\s", code))  # facts([["key", value]])
    used |= set(re.findall(r"title: \"([\w.]+)\"", code))  # the lists' titles and column heads
    for head in re.findall(r"head: \[([^\]]+)\]", code):
        used |= set(re.findall(r"\"([\w.]+)\"", head))
    used |= set(re.findall(r'data-i18n="([\w.]+)"', html)) | set(re.findall(r'data-i18n-attr="\w[\w-]*:([\w.]+)"', html))
    for template in re.findall(r"t\(`(\w+)\.\$\{", code):  # t(`filter.${name}`): every key of that prefix exists
        assert any(k.startswith(f"{template}.") for k in strings["zh"]), template
    assert len(used) > 150
    assert sorted(used - set(strings["zh"])) == []


def test_the_installed_package_carries_the_page():
    assert STATIC == Path(serving.__file__).parent / "static"
    for name in ("index.html", "i18n.json", "css/app.css", "js/app.js", "js/map.js", "js/charts.js"):
        assert (STATIC / name).is_file(), name
