"""Generate a realistic caselog database without a portal, straight into the declared schema.

The UI benchmarks need 10,000 cases and 100,000 messages, far more than a browser sync
could fill in reasonable time, and the UI tests need a quick database with hostile
content before the sync exists. Data are seeded and deterministic: the same arguments
give the same database.

Usage:
    python benchmarks/make_db.py OUT.db --cases 10000 --messages 100000 --seed 7
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from companion.schema import open_db  # noqa: E402

CATEGORIES = [
    "Account Health", "Listings and Catalog", "FBA Inventory and Reimbursement",
    "Brand Registry and IP", "Product Safety and Compliance", "Payments",
    "Orders and Shipping",
]
MAX_THREAD = 200  # the portal contract's longest thread
STATUSES = [  # (status, weight)
    ("PendingAmazonAction", 20), ("PendingMerchantAction", 15), ("Answered", 15),
    ("Reopened", 5), ("Resolved", 30), ("Closed", 15),
]
SUBJECTS = [
    "Listing {asin} suppressed for missing information",
    "SKU {sku} shows as stranded inventory",
    "Reimbursement request for shipment {ship}",
    "Inventory lost at fulfilment centre, shipment {ship}",
    "Account health: policy violation notice",
    "Invoice verification for {asin}",
    "Brand registry: trademark application for my brand",
    "Safety data sheet requested for {asin}",
    "Payment hold on disbursement",
    "Order {order} marked delivered but customer says not received",
    "Ungating request for restricted category",
]
HOSTILE_SUBJECTS = [
    "<script>alert('subject-xss')</script> listing removed",
    "<img src=x onerror=alert('img-xss')> photo request",
    "Réclamation über 払い戻し 📦 \"quoted\" & <b>bold</b>",
]
AMAZON_LINES = [
    "Hello,\nThank you for contacting Amazon Seller Support.",
    "To proceed, please provide invoices from the last 365 days showing the supplier "
    "name, address, phone number and website.",
    "Please send a plan of action with the root cause, the corrective actions you took "
    "and the preventive measures you will take.",
    "We have reviewed your case and reimbursed the units lost in shipment {ship}.",
    "Could you provide proof of delivery or the tracking number for order {order}?",
    "We need a letter of authorization from the brand owner to approve this listing.",
    "Please upload a safety data sheet not older than five years for {asin}.",
    "Your listing {asin} has been reinstated. We consider this case resolved.",
    "We are still investigating and will reply within 48 hours.",
    "Please provide photos of the product and its packaging showing the brand name.",
]
SELLER_LINES = [
    "Hi, our listing {asin} was suppressed yesterday and we do not know why.",
    "Please find attached the invoice from our supplier for {asin}.",
    "Shipment {ship} shows 12 units received out of 20 sent. Please investigate.",
    "We have attached our plan of action. Root cause: an outdated packaging label.",
    "It has been a week without an answer, could you please look at this case?",
    "Tracking number 1Z999AA10123456784 for order {order}.",
    "SKU {sku} ({asin}) shows 0 units available although shipment {ship} was received.",
    "Danke für Ihre Antwort. 請求書を添付します。 🙏",
]
# Sellers on amazon.co.jp, .cn and .kr write in scripts without spaces between words
# (Korean has spaces, but particles cling to words): a share of the cases reads so, ids
# and all, so that search by part of a word is measured on text like theirs.
CJK = {
    "ja": {
        "subjects": [
            "出品停止の解除について（ASIN: {asin}）",
            "納品プラン {ship} の受領数が合いません",
            "返金請求について",
            "商標登録の確認をお願いします",
            "請求書の確認 {asin}",
            "注文 {order} の配送状況について",
        ],
        "amazon": [
            "お問い合わせいただきありがとうございます。",
            "仕入先の請求書をご提出ください。",
            "納品プラン {ship} の調査を開始しました。",
            "ご不便をおかけして申し訳ございません。",
            "出品 {asin} を再開しました。",
        ],
        "seller": [
            "請求書を添付します。",
            "注文番号 {order} の配送状況を確認してください。",
            "在庫が納品プラン {ship} で紛失しています。",
            "商品 {asin} の出品が停止されました。",
        ],
    },
    "zh": {
        "subjects": [
            "商品 {asin} 被下架的申诉",
            "货件 {ship} 丢失赔偿申请",
            "关于账户付款暂停",
        ],
        "amazon": [
            "感谢您联系亚马逊卖家支持。",
            "请提供供应商发票。",
            "我们已经为货件 {ship} 办理了赔偿。",
        ],
        "seller": [
            "我们已附上发票。",
            "货件 {ship} 少收了 8 件。",
            "商品 {asin} 的库存显示为零。",
        ],
    },
    "ko": {
        "subjects": [
            "배송 {ship} 재고 분실 문의",
        ],
        "amazon": [
            "판매자 지원에 문의해 주셔서 감사합니다.",
        ],
        "seller": [
            "송장을 첨부합니다.",
            "재고가 {ship} 배송에서 분실되었습니다.",
        ],
    },
}
LANGS = [("en", 90), ("ja", 6), ("zh", 3), ("ko", 1)]
# What breaks a narrow screen: a long link, an unbroken token, preformatted lines.
LONG_BODY = (
    "<p>See https://sellercentral.amazon.com/gp/help/external/G200421970?" + "x" * 180 + "</p>"
    "<pre>Shipment  Units  Received\nFBA15HX7KQ2D   20     12   " + "=" * 120 + "</pre>"
    "<p><code>" + "A1B2C3D4" * 30 + "</code></p>")
LONG_TEXT = "See https://sellercentral.amazon.com/gp/help/external/G200421970?" + "x" * 180

HOSTILE_BODIES = [
    "<script>alert('body-xss')</script>Please check the attached file.",
    '<img src=x onerror="alert(\'img-body\')"><a href="javascript:alert(1)">click me</a>',
    '<iframe src="https://evil.example/"></iframe><p onclick="alert(2)">Styled</p>'
    '<style>body{display:none}</style>',
]


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


ID_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
SKU_WORDS = ["MUG", "TEE", "LAMP", "CASE", "BAG", "KNIFE", "SOCK"]


def fill(template: str, rng: random.Random) -> str:
    """A line with ids shaped as Seller Central shows them: ASIN ``B0`` + 8, shipment
    ``FBA15`` + 7, order ``113-1234567-1234567``, SKU as sellers name them."""
    return template.format(
        asin="B0" + "".join(rng.choice(ID_CHARS) for _ in range(8)),
        ship="FBA1" + str(rng.randint(5, 8)) + "".join(rng.choice(ID_CHARS) for _ in range(7)),
        order=f"{rng.randint(111, 114)}-{rng.randint(10**6, 10**7 - 1)}-"
              f"{rng.randint(10**6, 10**7 - 1)}",
        sku=f"{rng.choice(SKU_WORDS)}-{rng.choice(ID_CHARS)}{rng.randint(10, 99)}-"
            f"{rng.randint(100, 9999)}",
    )


def case_ids(n: int, seed: int) -> list[str]:
    """Unique case ids of 8 to 14 digits, most of 11 (PORTAL.md v2), spread like real
    ones rather than counting up, so that a prefix narrows the way it would."""
    rng = random.Random(seed * 1009 + 17)
    out: list[str] = []
    seen: set[str] = set()
    lengths = [8, 9, 10, 11, 11, 11, 11, 11, 12, 13, 14]
    while len(out) < n:
        length = rng.choice(lengths)
        cid = str(rng.randint(10 ** (length - 1), 10**length - 1))
        if cid not in seen:
            seen.add(cid)
            out.append(cid)
    return out


def to_html(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.split("\n"))


def generate(path: str | Path, cases: int = 300, messages: int = 3000, seed: int = 7,
             hostile: bool = True, portal: str = "http://127.0.0.1:8731",
             now: datetime | None = None, day: bool = False) -> Path:
    """Write a database at ``path`` (replacing it) and return the path. ``day``: also
    what a seller's day leaves (``seller_day``), which home's queue reads."""
    path = Path(path)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    rng = random.Random(seed)
    now = now or datetime.now(UTC).replace(microsecond=0)
    db = open_db(path)
    # Message counts per case: skewed, a few long threads, mean messages/cases.
    weights = [rng.paretovariate(1.5) for _ in range(cases)]
    scale = max(messages - cases, 0) / sum(weights)
    counts = [min(MAX_THREAD, 1 + int(w * scale)) for w in weights]
    diff = min(messages, cases * MAX_THREAD) - sum(counts)
    i = 0
    while diff != 0 and cases:
        j = i % cases
        if diff > 0 and counts[j] < MAX_THREAD:
            counts[j] += 1
            diff -= 1
        elif counts[j] > 1:
            counts[j] -= 1
            diff += 1
        i += 1
    statuses = [s for s, _ in STATUSES]
    status_weights = [w for _, w in STATUSES]
    sync_id = 1
    case_rows, msg_rows, att_rows, hist_rows, change_rows = [], [], [], [], []
    ids = case_ids(cases, seed)
    # Languages and ids draw from their own streams: the English data stay as they were.
    lang_rng = random.Random(seed * 31 + 5)
    langs, lang_weights = zip(*LANGS, strict=True)
    for n in range(cases):
        case_id = ids[n]
        created = now - timedelta(days=rng.uniform(0, 400), seconds=rng.randint(0, 86400))
        status = rng.choices(statuses, status_weights)[0]
        category = rng.choice(CATEGORIES)
        subject = fill(rng.choice(SUBJECTS), rng)
        lang = lang_rng.choices(langs, lang_weights)[0]
        if lang != "en":
            subject = fill(lang_rng.choice(CJK[lang]["subjects"]), lang_rng)
        if hostile and n % 97 == 3:
            subject = HOSTILE_SUBJECTS[(n // 97) % len(HOSTILE_SUBJECTS)]
        t = created
        last_amazon = None
        span = (now - created).total_seconds()
        for k in range(counts[n]):
            if k:
                t = t + timedelta(seconds=rng.uniform(0.05, 1.6) * span / counts[n] / 2)
                if t > now:
                    t = now - timedelta(seconds=counts[n] - k)
            # Seller opens; then mostly alternate, ending on Amazon unless the seller owes.
            sender = "seller" if k % 2 == 0 else "amazon"
            if k == counts[n] - 1 and k:
                sender = "amazon" if status in ("PendingMerchantAction", "Answered",
                                                "Resolved", "Closed") else "seller"
            lines = AMAZON_LINES if sender == "amazon" else SELLER_LINES
            text = "\n".join(fill(rng.choice(lines), rng) for _ in range(rng.randint(1, 4)))
            if lang != "en":
                own = CJK[lang][sender]
                text = "\n".join(fill(lang_rng.choice(own), lang_rng)
                                 for _ in range(lang_rng.randint(1, 3)))
            body = to_html(text)
            if hostile and (n * 17 + k) % 389 == 11:
                body, text = LONG_BODY, LONG_TEXT
            if hostile and (n * 31 + k) % 211 == 5:
                body = HOSTILE_BODIES[(n + k) % len(HOSTILE_BODIES)]
                text = "Please check the attached file. click me Styled"
            key = f"{case_id}{k:04d}"
            msg_rows.append({
                "case_id": case_id, "message_key": key, "contact_id": key,
                "sender": sender,
                "sender_address": None if sender == "amazon" else "seller@example.com",
                "sent_at": iso(t), "html": body, "text": text, "truncated": 0,
                "capture_id": None,
            })
            if sender == "amazon":
                last_amazon = iso(t)
            if rng.random() < 0.06:
                name = rng.choice(["invoice.pdf", "photo.jpg", "plan-of-action.docx",
                                   "<b>odd</b> name.txt"])
                att_rows.append({
                    "case_id": case_id, "attachment_id": f"a{key}", "message_key": key,
                    "name": name, "size": rng.randint(1000, 900_000),
                    "content_type": "application/octet-stream", "local_path": None,
                    "sha256": None,
                })
        first_seen = iso(created + timedelta(hours=1))
        case_rows.append({
            "case_id": case_id, "portal": portal, "subject": subject, "status": status,
            "category": category, "tags": json.dumps([category]), "created_at": iso(created),
            "last_amazon_reply_at": last_amazon, "primary_email": "seller@example.com",
            "can_edit": int(status not in ("Resolved", "Closed")),
            "can_reopen": int(status in ("Resolved", "Closed")), "escalated": 0,
            "total_messages": counts[n], "captured_messages": counts[n], "fully_captured": 1,
            "in_lobby": int(rng.random() > 0.02), "first_seen_at": first_seen,
            "last_listed_at": iso(now), "last_captured_at": iso(now), "last_error": None,
            "source": "json",
        })
        hist_rows.append({"case_id": case_id, "status": "PendingAmazonAction",
                          "previous_status": None, "observed_at": first_seen,
                          "sync_id": sync_id})
        if status != "PendingAmazonAction":
            hist_rows.append({"case_id": case_id, "status": status,
                              "previous_status": "PendingAmazonAction",
                              "observed_at": iso(min(t + timedelta(hours=2), now)),
                              "sync_id": sync_id + 1})
        if n % 50 == 0:
            change_rows.append({"sync_id": sync_id + 1, "case_id": case_id,
                                "kind": rng.choice(["new_reply", "status_change", "new_case"]),
                                "detail": json.dumps({"status": status}), "at": iso(now)})
    if case_rows:
        change_rows.append({"sync_id": sync_id + 1, "case_id": case_rows[-1]["case_id"],
                            "kind": "failure", "detail": json.dumps({"error": "HTTP 500"}),
                            "at": iso(now)})
    with db.conn:
        db["cases"].insert_all(case_rows, batch_size=1000)
        db["messages"].insert_all(msg_rows, batch_size=1000)
        db["attachments"].insert_all(att_rows, batch_size=1000)
        db["status_history"].insert_all(hist_rows, batch_size=1000)
        db["changes"].insert_all(change_rows, batch_size=1000)
        for sid, when in ((1, now - timedelta(days=1)), (2, now - timedelta(minutes=5))):
            db["syncs"].insert({
                "id": sid, "portal": portal, "mode": "full" if sid == 1 else "incremental",
                "state": "ok", "started_at": iso(when), "finished_at": iso(when),
                "pid": None, "total": cases, "done": cases, "listed": cases,
                "requests": cases * 2, "error": None,
                "summary": json.dumps({"new_cases": 0, "seed": seed}),
            })
    if day:
        seller_day(db, random.Random(f"day:{seed}"), case_rows, msg_rows, att_rows, now)
    from companion.queue import derive

    derive.refresh(db)  # what a sync stores after saving (home's queue, the reminders)
    db.execute("ANALYZE")
    db.conn.close()
    return path


def seller_day(db, rng: random.Random, case_rows: list, msg_rows: list, att_rows: list,
               now: datetime) -> None:
    """What syncs and a seller's day leave besides the thread, so that home's queue is
    measured on what it really reads: the asks of every Amazon message (scanned, as the
    sync's ``refresh_after_sync`` stores them), Amazon's call-backs (one case in ten,
    some still to come), replies marked sent (3% of the cases owing an answer), snoozes
    and "nothing to do" marks (2% of the open cases, some undone) and a last look at
    home."""
    from companion.replies.asks import detect_in_messages

    asks, scanned = [], []
    for m in msg_rows:
        if m["sender"] != "amazon":
            continue
        for a in detect_in_messages([m]):
            asks.append({"case_id": m["case_id"], **a})
        scanned.append({"case_id": m["case_id"], "message_key": m["message_key"],
                        "text_sha1": hashlib.sha1((m["text"] or "").encode()).hexdigest(),
                        "scanned_at": iso(now)})
    calls, drafts, events, marks = [], [], [], []
    open_ = [c for c in case_rows if c["status"] not in ("Resolved", "Closed")]
    owing = 0
    for n, c in enumerate(case_rows):
        if n % 10 == 3:
            start = now + timedelta(days=rng.uniform(-20, 7))
            start = start.replace(second=0)
            calls.append({"case_id": c["case_id"], "appointment_id": f"ap-{n}",
                          "status": "SCHEDULED" if start > now else "COMPLETED",
                          "earliest": iso(start), "latest": iso(start + timedelta(hours=2)),
                          "phone": "+1 206 555 0100", "seen_at": iso(now)})
        owing += c["status"] == "PendingMerchantAction"
        if c["status"] == "PendingMerchantAction" and owing % 30 == 2:
            at = iso(now - timedelta(hours=rng.uniform(1, 48)))
            body = "Please find attached the invoices you asked for.\nKind regards"
            drafts.append({"id": len(drafts) + 1, "case_id": c["case_id"],
                           "situation": "asked", "template": "asked.j2", "body": body,
                           "state": "sent", "revision": 1, "created_at": at,
                           "updated_at": at, "ready_at": at, "sent_at": at})
            events.append({"case_id": c["case_id"], "draft_id": len(drafts), "at": at,
                           "kind": "draft_sent", "detail": json.dumps({"situation": "asked"})})
    for n, c in enumerate(open_):
        if n % 50 == 7:
            marks.append({"case_id": c["case_id"], "kind": "snooze" if n % 100 == 7
                          else "nothing", "until": iso(now + timedelta(days=3)),
                          "until_amazon": 1, "amazon_at": c["last_amazon_reply_at"],
                          "status": c["status"], "wanted": "answer", "label": "Answer Amazon",
                          "at": iso(now - timedelta(hours=n % 24)),
                          "undone_at": iso(now) if n % 150 == 7 else None})
    with db.conn:
        db["case_asks"].insert_all(asks, batch_size=1000, replace=True)
        db["asks_scanned"].insert_all(scanned, batch_size=1000, replace=True)
        db["appointments"].insert_all(calls, batch_size=1000)
        db["drafts"].insert_all(drafts, batch_size=1000)
        db["draft_events"].insert_all(events, batch_size=1000)
        db["queue_marks"].insert_all(marks, batch_size=1000)
        newest = db.execute("select coalesce(max(id), 0) from changes").fetchone()[0]
        db["home_looks"].insert({"at": iso(now - timedelta(hours=6)),
                                 "change_id": newest // 2})


def digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-hostile", action="store_true")
    ap.add_argument("--portal", default="http://127.0.0.1:8731")
    ap.add_argument("--day", action="store_true",
                    help="also asks, call-backs, sent replies, snoozes and a last look")
    args = ap.parse_args(argv)
    generate(args.out, args.cases, args.messages, args.seed, not args.no_hostile, args.portal,
             day=args.day)
    print(args.out)


if __name__ == "__main__":
    main()
