"""Search over message text matches the words a seller types, not only exact word forms
(migration 5: Porter stemming over unicode61 with diacritics folded)."""

from __future__ import annotations

from companion.read import queries
from companion.read.search import search
from companion.schema import MIGRATIONS, open_db


def _db_with(tmp_path, texts: list[str], subject: str = "Missing reimbursement"):
    db = open_db(tmp_path / "s.db")
    db["cases"].insert({"case_id": "12345678901", "subject": subject,
                        "status": "PendingMerchantAction", "created_at": "2026-01-01T00:00:00Z"})
    for i, text in enumerate(texts):
        db["messages"].insert({"case_id": "12345678901", "message_key": f"m{i}",
                               "sender": "amazon", "sent_at": f"2026-01-0{i + 1}T00:00:00Z",
                               "text": text})
    return db


def test_singular_finds_plural_and_umlauts_fold(tmp_path):
    db = _db_with(tmp_path, ["Please provide supplier invoices from the last 365 days.",
                             "Bitte senden Sie die Sicherheitsdatenblätter.",
                             "Thank you for your patience."])
    found = search(db, "invoice")
    assert found["message_total"] == 1
    snippet = found["messages"][0]["snippet"]
    assert queries.MARK_OPEN + "invoices" + queries.MARK_CLOSE in snippet
    assert search(db, "sicherheitsdatenblatter")["message_total"] == 1
    assert search(db, "reimbursements")["cases"][0]["case_id"] == "12345678901"
    assert search(db, "refund")["message_total"] == 0


def test_migration_rebuilds_an_existing_index(tmp_path):
    """A database made before migration 5 keeps its rows and gains stemmed search."""
    db = _db_with(tmp_path, ["We need the invoices."])
    assert search(db, "invoice")["message_total"] == 1
    db["migrations"].delete_where("number = 5")
    db["messages"].disable_fts()
    db["messages"].enable_fts(["text"], create_triggers=True, tokenize="unicode61")
    assert search(db, "invoice")["message_total"] == 0  # the old, exact-form index
    db.conn.close()
    db = open_db(tmp_path / "s.db")
    assert max(n for n, _, _ in MIGRATIONS) >= 5
    assert search(db, "invoice")["message_total"] == 1
