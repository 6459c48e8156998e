"""What Amazon asked for: evidence requests found in its messages, each with the exact
sentence that asked.

Detection is deliberately conservative, because a checklist item that Amazon never asked
for sends a seller hunting for the wrong document. A sentence (or a clause of one) counts
as an ask only when it names a kind of evidence AND carries a request cue ("please
provide", "send us", "we require", an imperative "Submit ...", a lead-in ending in ":"
followed by a list), and no negation cancels it ("you do not need to send invoices",
"we have already received your invoices"). Mere mentions ("the invoices you provided
were reviewed") never count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Evidence kinds: key, human label, phrasings (regexes, case-insensitive). Order matters
# only for display; a sentence may hold several kinds ("invoices and a plan of action").
KINDS: list[tuple[str, str, list[str]]] = [
    ("plan_of_action", "Plan of action", [
        r"plan\s+of\s+action", r"\bPOA\b", r"root\s+causes?", r"corrective\s+actions?",
        r"corrective\s+(?:and|&)\s+preventi(?:ve|ative)",
        r"preventi(?:ve|ative)\s+(?:measures|actions|steps)",
        r"steps\s+(?:you\s+(?:have\s+)?(?:taken|will\s+take)|taken)\s+to\s+(?:prevent|resolve|address|fix)",
        r"(?:explain|explanation\s+of)\s+(?:what|how)\s+(?:caused|happened|led\s+to)",
        r"action\s+plan", r"appeal\s+letter",
    ]),
    ("invoices", "Invoices", [
        r"\binvoices?\b", r"proof\s+of\s+purchase", r"purchase\s+receipts?",
        r"receipts?\s+from\s+(?:your\s+)?(?:supplier|manufacturer|distributor|wholesaler)",
        r"supply[\s-]+chain\s+documents?", r"supply[\s-]+chain\s+documentation",
        r"\bRechnung(?:en)?\b",
    ]),
    ("letter_of_authorization", "Letter of authorization", [
        r"letters?\s+of\s+authori[sz]ation", r"\bLOAs?\b", r"authori[sz]ation\s+letters?",
        r"licen[cs]e\s+agreements?", r"licensing\s+agreements?",
        r"(?:written\s+)?(?:permission|authori[sz]ation)\s+from\s+the\s+(?:brand|rights?|trademark)"
        r"(?:\s+owner|\s+holder)?",
        r"proof\s+(?:that\s+)?you\s+are\s+authori[sz]ed\s+to\s+sell",
    ]),
    ("proof_of_delivery", "Proof of delivery", [
        r"proofs?\s+of\s+delivery", r"\bPODs?\b", r"delivery\s+confirmations?",
        r"signed\s+delivery\s+receipts?", r"bills?\s+of\s+lading", r"\bBOLs?\b",
        r"carrier\s+(?:receipts?|confirmations?)", r"delivery\s+receipts?",
        r"evidence\s+(?:that|of)\s+(?:the\s+)?(?:shipment|package|inventory|units?)\s+"
        r"(?:was\s+|were\s+)?delivered",
    ]),
    ("safety_data_sheet", "Safety data sheet", [
        r"safety\s+data\s+sheets?", r"\bM?SDSs?\b", r"material\s+safety\s+data\s+sheets?",
        r"Sicherheitsdatenbl[aä]tt(?:er)?",
    ]),
    ("test_report", "Test reports and certificates", [
        r"test(?:ing)?\s+reports?", r"lab(?:oratory)?\s+(?:test\s+)?(?:reports?|results)",
        r"certificates?\s+of\s+(?:conformity|compliance|analysis)", r"\b(?:CPC|GCC|DoC)\b",
        r"compliance\s+(?:certificates?|documents?|documentation)",
        r"declarations?\s+of\s+conformity", r"safety\s+certificates?",
    ]),
    ("photos", "Photos", [
        r"\b(?:photos?|photographs?|pictures?|images?)\b"
        r"(?!\s+of\s+(?:the|each|every)\s+(?:full\s+)?(?:page|document|invoice|letter)s?\b)",
    ]),
    ("tracking_number", "Tracking numbers", [
        r"tracking\s+(?:numbers?|IDs?|information|details|codes?)", r"carrier\s+tracking",
        r"\bPRO\s+numbers?\b", r"Sendungsnummer(?:n)?",
    ]),
    ("shipment_details", "Shipment details", [
        r"\bshipment\s+IDs?\b(?!\s*:?\s*FBA)", r"packing\s+lists?",
        r"number\s+of\s+(?:cartons|boxes|pallets)",
        r"carton\s+(?:count|contents)", r"box\s+content(?:s)?\s+information",
    ]),
    ("bank_statement", "Bank statement or proof of address", [
        r"bank\s+(?:account\s+)?statements?", r"utility\s+bills?", r"proof\s+of\s+address",
        r"proof\s+of\s+(?:bank\s+)?account\s+ownership",
    ]),
    ("trademark", "Trademark registration", [
        r"trademark\s+(?:registration|certificate|number)s?",
        r"registration\s+(?:number|certificate)\s+(?:of|for)\s+(?:the|your)\s+trademark",
        r"proof\s+of\s+(?:brand|trademark)\s+ownership",
    ]),
]

# Request cues: polite requests, needs, and imperatives at the start of a clause.
_CUES = [
    r"\b(?:please|kindly)\s+(?:[\w’']+\s+){0,3}?(?:provide|send|submit|attach|upload|include|"
    r"share|forward|reply|respond|give|explain|describe|furnish|supply|email)\b",
    r"\bbitte\b.*\b(?:senden|schicken|einreichen|reichen|übermitteln|laden|stellen)\b",
    r"\b(?:we|amazon)\s+(?:will\s+)?(?:still\s+|also\s+|now\s+|first\s+)?"
    r"(?:need|require|request)s?\b",
    r"\b(?:we\s+)?(?:would\s+)?(?:need|require)\s+(?:you|the\s+following)\b",
    r"\bwe\s+(?:are\s+)?(?:asking|requesting)\b", r"\bwe\s+ask\s+(?:that\s+)?you\b",
    r"\b(?:is|are)\s+(?:required|needed)\b",
    r"\bmust\s+(?:include|contain|be\s+accompanied)\b",
    r"\brequired\s+(?:documents?|information)\b",
    r"\byou\s+(?:must|need\s+to|will\s+need\s+to|should|have\s+to)\s+"
    r"(?:provide|send|submit|attach|upload|include|share|forward|reply|respond|explain|give)\b",
    r"\b(?:can|could|would)\s+you\s+(?:please\s+)?"
    r"(?:provide|send|submit|attach|upload|include|share|forward|explain|give)\b",
    r"\b(?:provide|send|submit|attach|upload|include|share|forward)\s+(?:us|amazon)\b",
    r"^(?:\W*)(?:(?:instead|also|then|and|additionally|finally|now),?\s+)?"
    r"(?:provide|send|submit|attach|upload|include|share|forward|reply\s+with|"
    r"respond\s+with|explain|describe)\b",
    r"\b(?:to|in\s+order\s+to)\s+(?:proceed|continue|reinstate|resolve|complete|process|"
    r"investigate|review|reactivate|release|restore|unblock|verify|reconcile)\b[^.]*?,\s*(?:provide|send|submit|attach|upload|include|"
    r"share|we\s+need)\b",
    r"\bwhat\s+we\s+need\b", r"\bthe\s+following\s+(?:documents?|information|items?)\b",
    r"\blooking\s+forward\s+to\s+receiving\b", r"\bawait(?:ing)?\s+your\b",
]

# Negations that cancel a request in the same clause.
_NEGATIONS = [
    r"\b(?:do|does|did|will)\s*(?:n['’]t|not)\s+(?:need|have)\s+to\b",
    r"\bdon['’]t\s+(?:need|have)\s+to\b", r"\bno\s+need\s+(?:to|for)\b", r"\bneed\s+not\b",
    r"\b(?:do|does|will)\s*(?:n['’]t|not)\s+(?:require|need|want)\b",
    r"\bnot\s+(?:be\s+)?(?:required|necessary|needed)\b", r"\bno\s+longer\s+(?:need|require)",
    r"\b(?:do\s+not|don['’]t|never)\s+(?:send|provide|submit|attach|upload|include|resend)\b",
    r"\b(?:already|previously)\s+(?:received|provided|submitted|sent|reviewed)\b",
    r"\bthanks?(?:\s+you)?\s+for\s+(?:providing|sending|submitting|uploading|attaching|your)\b",
    r"\bwe\s+(?:have\s+)?(?:received|reviewed|verified|accepted)\b",
    r"\bno\s+(?:further|additional|other)\s+(?:information|documents?|documentation|action|"
    r"evidence)\b",
    r"\bnicht\s+(?:erforderlich|notwendig)\b",
    # advice for next time ("please ensure future invoices include ...") asks for nothing now
    r"\bfuture\s+(?:invoices?|shipments?|orders?|listings?|documents?|submissions?)\b",
    r"\b(?:in\s+(?:the\s+)?future|going\s+forward|next\s+time)\b",
]

_CUE_RE = re.compile("|".join(_CUES), re.I)
_NEG_RE = re.compile("|".join(_NEGATIONS), re.I)
_KIND_RES = [(key, label, re.compile("|".join(pats), re.I)) for key, label, pats in KINDS]
LABELS = {key: label for key, label, _ in KINDS}

# Sentence ends: . ! ? (and the CJK full stop) followed by space; hard line breaks.
# Common abbreviations ("e.g.", "i.e.", "No.") do not end a sentence.
_SENT_SPLIT = re.compile(
    r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)(?<!\bNo\.)(?<!\bNr\.)(?<!\bz\.B\.)(?<!\bca\.)"
    r"(?<=[.!?。！？])\s+(?=\S)"
)
# Clauses that may carry their own polarity: "..., but ...", "; ", "however".
_CLAUSE_SPLIT = re.compile(r";\s+|,?\s+but\s+|,?\s+however,?\s+|,?\s+instead,?\s+", re.I)
_BULLET = re.compile(r"^\s*(?:[-*•·‣–]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+")


@dataclass(frozen=True)
class Ask:
    kind: str          # key from KINDS
    label: str
    sentence: str      # the exact sentence (or list line) that asked
    position: int      # order of the ask within its message


def _units(text: str):
    """(sentence, is_list_item) for each sentence, in order. A list item is a bulleted
    line, or a short line that is one sentence by itself: HTML lists (``<li>``) reach us
    as plain lines without bullets."""
    for line in (text or "").splitlines():
        bullet = _BULLET.match(line)
        prefix = bullet.group(0).strip() + " " if bullet else ""
        parts = [" ".join(p.split()) for p in
                 _SENT_SPLIT.split(line[bullet.end():] if bullet else line)]
        parts = [p for p in parts if p]
        for i, part in enumerate(parts):
            short_line = len(parts) == 1 and len(part) <= 100
            yield (prefix + part if i == 0 else part), bool(bullet) or short_line


def sentences(text: str) -> list[str]:
    """Split plain text into sentences and list lines, whitespace-trimmed, empties dropped.
    Abbreviations like "e.g." may split a sentence; each half still keeps its words."""
    return [sentence for sentence, _ in _units(text)]


def _clause_is_ask(clause: str, inherited_cue: bool) -> bool:
    if _NEG_RE.search(clause):
        return False
    return inherited_cue or bool(_CUE_RE.search(_BULLET.sub("", clause)))


def detect(text: str) -> list[Ask]:
    """Asks in one message's plain text, in the order they appear; one ask per kind per
    message (the first sentence that asked for it)."""
    asks: list[Ask] = []
    seen: set[str] = set()
    lead_in = False  # a request sentence ending in ":" makes the following list lines asks
    for sentence, list_item in _units(text):
        if lead_in and not list_item:
            lead_in = False
        inherited = lead_in and list_item and not sentence.endswith(":")
        for clause in _CLAUSE_SPLIT.split(sentence):
            if not _clause_is_ask(clause, inherited):
                continue
            found = []  # kinds in the order the clause names them
            for key, label, rx in _KIND_RES:
                m = rx.search(clause)
                if m and key not in seen:
                    found.append((m.start(), key, label))
            for _, key, label in sorted(found):
                seen.add(key)
                asks.append(Ask(key, label, sentence, len(asks)))
        if sentence.endswith(":") and _CUE_RE.search(sentence) and not _NEG_RE.search(sentence):
            lead_in = True
    return asks


def detect_in_messages(messages) -> list[dict]:
    """Asks from Amazon's messages (dicts with sender, text, message_key, sent_at), oldest
    first; each ask dict carries the message it came from."""
    out = []
    for msg in messages:
        if msg.get("sender") != "amazon":
            continue
        for ask in detect(msg.get("text") or ""):
            out.append({
                "kind": ask.kind, "label": ask.label, "sentence": ask.sentence,
                "position": ask.position, "message_key": msg.get("message_key"),
                "sent_at": msg.get("sent_at"),
            })
    return out
