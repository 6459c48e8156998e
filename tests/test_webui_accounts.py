"""The UI across accounts, through Flask's test client: the account in the URL
(``/a/NAME/...``; the first account's pages keep their URLs), the switcher only with more
than one account, no page of one account showing another's data (two accounts with the
same case ids and different subjects, every page a crawl reaches), the All accounts queue
with its account column and filter, and the notifications' badge and list."""

from __future__ import annotations

import html as html_mod
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_db import generate  # noqa: E402

from companion import accounts  # noqa: E402
from companion.notify import store  # noqa: E402
from companion.schema import open_db  # noqa: E402
from webui.app import create_app  # noqa: E402

LINK = re.compile(r'(href|hx-get|hx-post|action|formaction)="(/[^"#]*)')
SWITCHER = re.compile(r'<details class="switcher".*?</details>', re.S)


def _mark(db_path: Path, word: str) -> set[str]:
    """Every subject starts with ``word``; the case ids, as they are."""
    db = open_db(db_path)
    db.execute("update cases set subject = ? || ' ' || subject", [word])
    db.conn.commit()
    ids = {r[0] for r in db.execute("select case_id from cases")}
    db.conn.close()
    return ids


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("accounts-ui")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CASELOG_HOME", str(root))
        mp.delenv("CASELOG_ACCOUNT", raising=False)
        generate(root / "caselog.db", cases=60, messages=600, seed=11, day=True)
        a_ids = _mark(root / "caselog.db", "ALPHA")
        yield root, a_ids


@pytest.fixture(scope="module")
def two(home):
    """The same home with a second account ``shop2``: the same case ids (the same seed),
    every subject BRAVO instead of ALPHA."""
    root, a_ids = home
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CASELOG_HOME", str(root))
        mp.delenv("CASELOG_ACCOUNT", raising=False)
        accounts.add("shop2", portal="http://127.0.0.1:9")
        generate(root / "accounts" / "shop2" / "caselog.db", cases=60, messages=600,
                 seed=11, day=True)
        b_ids = _mark(root / "accounts" / "shop2" / "caselog.db", "BRAVO")
        assert a_ids == b_ids
        yield root, a_ids


def _client(root: Path):
    app = create_app(root / "caselog.db", {"CASELOG_HOME": str(root)})
    return app.test_client()


def test_one_account_shows_no_switcher_and_keeps_its_urls(home, monkeypatch):
    root, _ = home
    monkeypatch.setenv("CASELOG_HOME", str(root))
    client = _client(root)
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="account-switcher"' not in page and "/a/" not in page
    assert client.get("/a/default/cases").status_code == 308
    assert client.get("/a/nobody/").status_code == 404


SEEDS = ["", "timeline", "cases", "cases?owes=yes", "cases?sort=deadline&dir=asc",
         "queue", "queue?group=stale", "queue?group=snoozed", "search?q=the",
         "search?q=invoice", "timeline?q=invoice", "cases?q=invoice",
         "cases.csv", "notifications", "cases/new", "sync/status"]


def _crawl(client, start: str, prefix: str, cap: int = 160) -> dict[str, str]:
    """Pages reached from ``start`` by links, forms and htmx URLs (the switcher left out),
    at most 3 of each shape; each link must stay inside ``prefix``."""
    seen: dict[str, str] = {}
    shapes: Counter = Counter()
    todo = [start + seed for seed in SEEDS]
    while todo and len(seen) < cap:
        url = todo.pop(0)
        if url in seen:
            continue
        r = client.get(url)
        assert r.status_code in (200, 303, 404), (url, r.status_code)
        body = r.get_data(as_text=True) if r.content_type.startswith(("text/", "appl")) \
            else ""
        seen[url] = body
        for attr, link in LINK.findall(SWITCHER.sub("", body)):
            link = html_mod.unescape(link)
            assert link.startswith(prefix) or (prefix == "/" and not link.startswith(
                ("/a/", "/all"))), f"{url} links out of its account: {link}"
            if attr not in ("href", "hx-get") or re.search(r"/static/|dossier|attach", link):
                continue
            shape = re.sub(r"\d+", "N", link.split("?")[0])
            shapes[shape] += 1
            if shapes[shape] <= 3 and link not in seen:
                todo.append(link)
    return seen


def test_no_page_of_one_account_shows_the_others(two, monkeypatch):
    root, ids = two
    monkeypatch.setenv("CASELOG_HOME", str(root))
    client = _client(root)
    some = sorted(ids)[:3]
    b_pages = _crawl(client, "/a/shop2/", "/a/shop2/")
    for cid in some:
        for tail in ("", "/replies"):
            b_pages[f"/a/shop2/cases/{cid}{tail}"] = client.get(
                f"/a/shop2/cases/{cid}{tail}").get_data(as_text=True)
    a_pages = _crawl(client, "/", "/")
    for cid in some:
        a_pages[f"/cases/{cid}"] = client.get(f"/cases/{cid}").get_data(as_text=True)
    assert len(b_pages) >= 25 and len(a_pages) >= 25
    for url, body in b_pages.items():
        assert "ALPHA" not in body, url
    for url, body in a_pages.items():
        assert "BRAVO" not in body, url
    assert "BRAVO" in b_pages[f"/a/shop2/cases/{some[0]}"]
    assert "ALPHA" in a_pages[f"/cases/{some[0]}"]
    # htmx partials keep the account too
    r = client.get("/a/shop2/cases?q=invoice", headers={"HX-Request": "true"})
    assert "ALPHA" not in r.get_data(as_text=True)
    assert r.headers.get("HX-Push-Url", r.headers.get("HX-Replace-Url", "")).startswith(
        "/a/shop2/cases")


def test_switcher_keeps_the_page_and_lists_all_accounts(two, monkeypatch):
    root, _ = two
    monkeypatch.setenv("CASELOG_HOME", str(root))
    client = _client(root)
    page = client.get("/a/shop2/timeline").get_data(as_text=True)
    switcher = SWITCHER.search(page).group(0)
    assert 'href="/timeline"' in switcher and 'href="/all/"' in switcher
    assert re.search(r'href="/a/shop2/timeline"[^>]*aria-current="page"', switcher)
    assert client.get("/a/shop2/all/").status_code == 404


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_all_accounts_queue_merges_with_an_account_column_and_filter(two, monkeypatch):
    root, _ = two
    monkeypatch.setenv("CASELOG_HOME", str(root))
    client = _client(root)
    page = client.get("/all/").get_data(as_text=True)
    rows = re.findall(r'data-testid="all-queue-row" data-account="([^"]+)" '
                      r'data-case="([^"]+)"', page)
    assert {a for a, _ in rows} == {"default", "shop2"}
    assert "ALPHA" in page and "BRAVO" in page
    dues = re.findall(r'<tr data-testid="all-queue-row".*?datetime="([^"]*)"', page, re.S)
    assert dues == sorted(dues)
    for account, cid in rows[:6]:
        root_url = "" if account == "default" else f"/a/{account}"
        assert f'href="{root_url}/cases/{cid}"' in page
    only = client.get("/all/?account=shop2").get_data(as_text=True)
    assert 'data-account="default" data-case' not in only.split('id="all-queue"')[1]
    assert "ALPHA" not in only.split('id="all-queue"')[1]
    r = client.get("/all/?account=shop2", headers={"HX-Request": "true"})
    assert r.get_data(as_text=True).lstrip().startswith("{#") is False
    assert r.headers.get("HX-Push-Url") == "/all/?account=shop2"
    assert client.get("/all/?account=nobody").status_code == 200


def test_notifications_badge_list_and_mark_read_per_account(two, monkeypatch):
    root, ids = two
    monkeypatch.setenv("CASELOG_HOME", str(root))
    cid = sorted(ids)[0]
    for folder, name, n in ((root, "default", 2), (root / "accounts" / "shop2", "shop2", 3)):
        db = open_db(folder / "caselog.db")
        db.execute("delete from notifications")
        db.conn.commit()
        for i in range(n):
            store.record(db, name, kind="reply", key=f"t:{name}:{i}",
                         title=f"{name} title {i}", body="Amazon replied", case_id=cid)
        db.conn.close()
    client = _client(root)
    badge = re.compile(r'data-testid="notify-badge"[^>]*>(\d+)<')
    assert badge.search(client.get("/").get_data(as_text=True)).group(1) == "2"
    b = client.get("/a/shop2/notifications").get_data(as_text=True)
    assert badge.search(b).group(1) == "3" and "default title" not in b
    assert f'href="/a/shop2/cases/{cid}"' in b
    merged = client.get("/all/notifications").get_data(as_text=True)
    assert badge.search(merged).group(1) == "5"
    assert "default title" in merged and "shop2 title" in merged
    one = re.search(r'name="id" value="(\d+)"', b).group(1)
    r = client.post("/a/shop2/notifications/read", data={"id": one, "csrf_token": _csrf(b)})
    assert r.status_code == 303 and r.headers["Location"].endswith("/a/shop2/notifications")
    assert badge.search(client.get("/a/shop2/").get_data(as_text=True)).group(1) == "2"
    assert badge.search(client.get("/").get_data(as_text=True)).group(1) == "2"
    assert client.post("/all/notifications/read", data={}).status_code == 403  # no token
    r = client.post("/all/notifications/read", data={"csrf_token": _csrf(merged)})
    assert r.status_code == 303
    assert not badge.search(client.get("/all/").get_data(as_text=True))
