"""Shared by the documented-replies tests: five cases on a real SQLite file (one where
Amazon asked for invoices and a plan of action, one waiting on Amazon, a closed one, an
account-health appeal, a resolved one), sample files, and a Flask test client over it.
Test modules wrap ``seeded_db`` and ``web_client`` in their own fixtures."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from companion.schema import open_db

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
ASKING = ("Hello from Amazon Selling Partner Support,\nWe reviewed your appeal.\nTo proceed, "
          "please provide invoices from your supplier dated within the last 365 days. We need a "
          "plan of action that explains the root cause of the issue.\nBest regards,\nAmazon")
PDF = b"%PDF-1.4\n%test\n1 0 obj<<>>endobj\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _t(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_case(db, case_id, subject, status, category, messages, created=None):
    db["cases"].insert({"case_id": case_id, "subject": subject, "status": status,
                        "category": category, "created_at": created or _t(30),
                        "can_reopen": 1})
    for n, (sender, days_ago, text) in enumerate(messages):
        db["messages"].insert({"case_id": case_id, "message_key": f"{case_id}-{n}",
                               "sender": sender, "sent_at": _t(days_ago), "text": text,
                               "html": text.replace("\n", "<br>")})


def seeded_db(home):
    """The five cases in ``home/caselog.db``."""
    conn = open_db(home / "caselog.db")
    add_case(conn, "10000000001", "Appeal: listing deactivated for B0ABCDEFGH",
             "PendingMerchantAction", "Listings and Catalog",
             [("seller", 10, "Our listing B0ABCDEFGH was removed, order 113-1234567-7654321."),
              ("amazon", 2, ASKING)])
    add_case(conn, "10000000002", "Lost inventory in shipment FBA15XK2LM9",
             "PendingAmazonAction", "FBA Inventory and Reimbursement",
             [("seller", 12, "Shipment FBA15XK2LM9 was delivered but units are missing.")],
             created=_t(40))
    add_case(conn, "10000000003", "Listing deactivated again for B0ABCDEFGH",
             "Closed", "Listings and Catalog",
             [("seller", 60, "Again B0ABCDEFGH."), ("amazon", 3, "This case is closed.")],
             created=_t(90))
    add_case(conn, "10000000004", "Request to reinstate selling privileges",
             "PendingMerchantAction", "Account Health",
             [("amazon", 1, "Your appeal must include a Plan of Action: (1) the root cause, (2) "
               "the actions you took. Please send copies of invoices from the last 365 days.")])
    add_case(conn, "10000000005", "Disbursement on hold", "Resolved", "Payments",
             [("amazon", 5, "Your disbursement has been released.")])
    return conn



def web_client(home, db):
    """A Flask test client of the UI over ``db`` (committed first)."""
    from webui.app import create_app

    db.conn.commit()
    app = create_app(home / "caselog.db", {"CASELOG_HOME": str(home)})
    c = app.test_client()
    c.environ_base["HTTP_HOST"] = "127.0.0.1"
    return c


def page_token(client, case_id="10000000001") -> tuple[str, str]:
    """(the CSRF token, the case page's HTML)."""
    html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1), html


def draft_id(html: str) -> str:
    """The draft id the page's editor posts ('' while the draft is only computed)."""
    return re.search(r'name="draft_id" value="(\d*)"', html).group(1)


@contextmanager
def companion_db(home: Path) -> Iterator:
    """A connection for setting a test's state up through the companion library, with
    CASELOG_HOME pointing at ``home`` (evidence files go there)."""
    old = os.environ.get("CASELOG_HOME")
    os.environ["CASELOG_HOME"] = str(home)
    db = open_db(home / "caselog.db")
    try:
        yield db
    finally:
        db.conn.close()
        if old is None:
            del os.environ["CASELOG_HOME"]
        else:
            os.environ["CASELOG_HOME"] = old
