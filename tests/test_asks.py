"""Ask detection, table-driven: many phrasings Amazon uses (and the simulated portal's),
plus negatives that must never become an ask."""

from __future__ import annotations

import pytest

from companion.replies.asks import KINDS, detect, detect_in_messages, sentences

POSITIVE = [
    # (text, expected kinds in order)
    ("Please provide invoices from the last 365 days.", ["invoices"]),
    ("Please send us copies of your supplier invoices dated within the last 365 days.",
     ["invoices"]),
    ("To reinstate your account, provide invoices covering your sales in the last 12 months.",
     ["invoices"]),
    ("We need proof of purchase for the units listed below.", ["invoices"]),
    ("Submit purchase receipts from your supplier.", ["invoices"]),
    ("Could you please attach the invoices for these items?", ["invoices"]),
    ("Kindly upload your invoices and a plan of action.", ["invoices", "plan_of_action"]),
    ("Please submit a plan of action that explains the root cause of the issue.",
     ["plan_of_action"]),
    ("We require a POA describing corrective and preventive actions.", ["plan_of_action"]),
    ("Please explain the root cause, the corrective actions you have taken, and the "
     "preventive measures you will implement.", ["plan_of_action"]),
    ("You must provide a plan of action to reactivate your selling privileges.",
     ["plan_of_action"]),
    ("Send us a letter of authorization from the brand owner.", ["letter_of_authorization"]),
    ("Please provide a Letter of Authorisation (LOA) from the rights owner.",
     ["letter_of_authorization"]),
    ("We need a copy of your license agreement with the manufacturer.",
     ["letter_of_authorization"]),
    ("Please provide proof of delivery for shipment FBA15ABC123.", ["proof_of_delivery"]),
    ("Can you send the bill of lading or a signed delivery receipt?", ["proof_of_delivery"]),
    ("To investigate further, please provide the POD and the carrier's tracking number.",
     ["proof_of_delivery", "tracking_number"]),
    ("Please provide the safety data sheet (SDS) for this product.", ["safety_data_sheet"]),
    ("We require an MSDS issued within the last 5 years.", ["safety_data_sheet"]),
    ("Please send photos of the product and its packaging.", ["photos"]),
    ("Could you share clear pictures of the label?", ["photos"]),
    ("Please reply with the tracking numbers for these orders.", ["tracking_number"]),
    ("Provide tracking information for the inbound shipment.", ["tracking_number"]),
    ("Please provide a test report from an ISO 17025 accredited laboratory.", ["test_report"]),
    ("We need a Certificate of Conformity for this product.", ["test_report"]),
    ("Please submit your trademark registration certificate.", ["trademark"]),
    ("Bitte senden Sie uns die Rechnungen der letzten 365 Tage.", ["invoices"]),
    # a lead-in ending in ":" makes the list below it asks
    ("To proceed, we need the following documents:\n- Invoices from the last 365 days\n"
     "- A plan of action\n- Photos of the packaging", ["invoices", "plan_of_action", "photos"]),
    ("Please provide the following:\n1. Proof of delivery\n2. Tracking numbers",
     ["proof_of_delivery", "tracking_number"]),
    # an HTML list (<li>) arrives as plain lines without bullets
    ("Please provide the following:\nInvoices from the last 365 days\nA letter of "
     "authorization\nThank you.", ["invoices", "letter_of_authorization"]),
    # the list after a lead-in ends at the first ordinary paragraph
    ("Please provide the following:\nA plan of action\n\nWe looked at the file you sent "
     "and found it complete. Photos of the product are in our file.", ["plan_of_action"]),
    # a negated clause next to a real request: only the real one counts
    ("You do not need to send invoices, but please provide a plan of action.",
     ["plan_of_action"]),
    ("Thank you for providing the invoices. Please also send photos of the product.",
     ["photos"]),
    ("Please do not send invoices; instead, send a plan of action.", ["plan_of_action"]),
    ("We do not require invoices, but please upload the safety data sheet.",
     ["safety_data_sheet"]),
]

# The simulated portal's phrasings (fixtures/corpus.py AMAZON_ASKS), copied with their
# fields filled, so that a change there cannot silently weaken this table.
PORTAL = [
    ("To proceed, please provide invoices from your supplier dated within the last 365 days "
     "that show the quantity purchased.", ["invoices"]),
    ("Please send copies of invoices or receipts from the last 365 days covering at least 40 "
     "units of B0ABCDEFGH.", ["invoices"]),
    ("We need a plan of action that explains the root cause of the issue, the corrective "
     "actions you have taken and the preventive measures you will take.", ["plan_of_action"]),
    ("Your appeal must include a Plan of Action: (1) the root cause, (2) the actions you took "
     "to resolve it, and (3) the steps you will take to prevent it from happening again.",
     ["plan_of_action"]),
    ("Please provide a letter of authorization from the brand owner allowing you to sell "
     "Nordwind products.", ["letter_of_authorization"]),
    ("Attach a Letter of Authorisation (LOA) signed by the rights owner, including their "
     "contact details.", ["letter_of_authorization"]),
    ("Please provide proof of delivery (POD) for shipment FBA15XK2LM9, for example a signed "
     "delivery receipt.", ["proof_of_delivery"]),
    ("Please send the carrier's proof of delivery and the bill of lading for shipment ID "
     "FBA15XK2LM9.", ["proof_of_delivery"]),
    ("Provide the Safety Data Sheet (SDS) for B0ABCDEFGH, section 1 to 16, in English.",
     ["safety_data_sheet"]),
    ("We require a current safety data sheet and an exemption sheet for the product SKU-7.",
     ["safety_data_sheet"]),
    ("Please upload clear product photos showing all sides of the packaging, the label and the "
     "barcode.", ["photos"]),
    ("Send us photos of the product and its packaging, including the brand name and the "
     "manufacturer's address.", ["photos"]),
    ("Please give us the tracking numbers for the units you shipped, e.g. 1Z999AA10123456784.",
     ["tracking_number"]),
    ("Kindly provide the tracking ID and the carrier name for order 113-1234567-7654321.",
     ["tracking_number"]),
    ("We need the shipment ID, the number of cartons and the bill of lading (BOL) to open an "
     "investigation.", ["shipment_details", "proof_of_delivery"]),
    ("Please provide the Shipment ID and the packing list so that we can reconcile the units "
     "received.", ["shipment_details"]),
    ("To release your disbursement, provide a bank statement dated within the last 180 days "
     "that shows your name and account number.", ["bank_statement"]),
    ("Please send a utility bill or bank statement issued in the last 90 days as proof of "
     "address.", ["bank_statement"]),
    ("Provide a test report from an ISO 17025 accredited laboratory showing compliance with "
     "the applicable safety standard.", ["test_report"]),
    ("Please provide a Certificate of Conformity and the supplier's contact details.",
     ["test_report"]),
    ("We were unable to verify the invoice you provided. Please send invoices that include the "
     "supplier's name, address, phone number and website.", ["invoices"]),
    ("We still need the bill of lading for this shipment.", ["proof_of_delivery"]),
    ("Amazon also requires the invoices for these units.", ["invoices"]),
    # a whole portal message: greeting, two asks, signature
    ("Hello from Amazon Selling Partner Support,\nWe reviewed your appeal.\nTo proceed, please "
     "provide invoices from your supplier dated within the last 365 days. We need a plan of "
     "action that explains the root cause of the issue.\nBest regards,\nAmazon Selling Partner "
     "Support", ["invoices", "plan_of_action"]),
]

NEGATIVE = [
    # the portal's messages that ask for nothing (AMAZON_OTHER) and a resend request
    "The document you sent is not legible. Please send a PDF or a clear photo of the full page.",
    "Thank you for contacting Amazon Selling Partner Support. I have forwarded your case to "
    "the responsible team and will update you as soon as I hear back.",
    "We have reviewed the information you provided and we have accepted your appeal.",
    "We're sorry, but the documents you provided do not meet our requirements.",
    "Our investigation team has confirmed that 4 units were lost in the fulfilment centre.",
    "Please send the carrier's reply to shipment ID FBA15XK2LM9 questions by email.",
    "You do not need to send invoices.",
    "We do not require invoices at this time.",
    "We don't need a letter of authorization for this brand.",
    "Invoices are not needed for this review.",
    "You don't have to provide a plan of action for this issue.",
    "There is no need to send proof of delivery.",
    "A letter of authorization is not required for this ASIN.",
    "We have received your invoices and they are under review.",
    "Thank you for submitting your plan of action.",
    "The invoices you provided were reviewed.",
    "Your plan of action has been accepted.",
    "Please note that pro forma invoices are not accepted.",
    "Do not send photos of the product at this time.",
    "We reviewed the safety data sheet you uploaded.",
    "Your shipment was delivered on March 3.",
    "Invoices are reviewed within 48 hours.",
    "No further information is required at this time.",
    "If you have questions about your account, contact Seller Support.",
    "We have already received the tracking numbers.",
    "Please allow 3 to 5 business days for us to review your case.",
    "This case will be closed automatically if we do not hear from you.",
    "Hello, thank you for contacting Amazon Seller Support.",
    "We have reinstated your listing.",
    # advice for next time, not a request now
    "Please ensure future invoices include the supplier's phone number.",
    "In the future, please include the tracking numbers with every shipment.",
    "Going forward, please attach photos of the packaging to your listings.",
    # the portal's policy boilerplate, appended to many messages: a condition ("to
    # appeal"), not a request; counting it would put a plan of action on every case
    "Sellers who repeatedly violate our policies may lose their selling privileges, and funds "
    "may be held. To appeal, submit a plan of action that explains what caused the issue, "
    "what you have done to fix it, and what you will do to make sure it does not happen again.",
    "",
]


@pytest.mark.parametrize("text,kinds", POSITIVE + PORTAL)
def test_asks_found(text, kinds):
    asks = detect(text)
    assert [a.kind for a in asks] == kinds
    for a in asks:  # the source sentence is quoted exactly from the text
        assert a.sentence in " ".join(text.split())


@pytest.mark.parametrize("text", NEGATIVE)
def test_no_invented_asks(text):
    assert detect(text) == []


def test_source_sentence_is_the_one_that_asked():
    text = ("Hello from Amazon. We reviewed your account. Please provide invoices from the "
            "last 365 days. Thank you.")
    (ask,) = detect(text)
    assert ask.sentence == "Please provide invoices from the last 365 days."


def test_one_ask_per_kind_per_message():
    text = "Please provide invoices. Please also include invoices for ASIN B0ABCDEFGH."
    assert [a.kind for a in detect(text)] == ["invoices"]


def test_sentences_split_lines_and_stops():
    assert sentences("One. Two!\n\nThree?  Four") == ["One.", "Two!", "Three?", "Four"]


def test_only_amazon_messages_count():
    msgs = [
        {"sender": "seller", "text": "Please send me the invoices you want.", "message_key": "a"},
        {"sender": "amazon", "text": "Please send invoices.", "message_key": "b",
         "sent_at": "2026-01-01T00:00:00Z"},
    ]
    asks = detect_in_messages(msgs)
    assert [(a["kind"], a["message_key"]) for a in asks] == [("invoices", "b")]


def test_every_kind_has_a_checklist():
    from companion.replies.library import load_library

    lib = load_library(None)
    covered = {k for cl in lib.values() for k in cl["asks"]}
    assert {key for key, _, _ in KINDS} <= covered


def test_the_portals_own_corpus():
    """Every way the simulated portal asks is found; nothing it says otherwise is taken
    for an ask. Read from fixtures (tests may; companion never does)."""
    from fixtures import corpus

    fields = {"asin": "B0ABCDEFGH", "order": "113-1234567-7654321", "sku": "SKU-AB12-01",
              "shipment": "FBA15XK2LM9", "tracking": "1Z999AA10123456784",
              "date": "2026-03-01", "amount": "$12.00", "brand": "Nordwind", "days": "5",
              "qty": "40", "n": "1"}
    missed = [t for t in corpus.AMAZON_ASKS
              if not detect(t.format(**fields)) and "not legible" not in t]
    assert missed == []
    quiet = corpus.AMAZON_OTHER + [corpus.POLICY] + corpus.GREETINGS + corpus.SIGNATURES
    invented = [(t, [a.kind for a in detect(t.format(**fields))]) for t in quiet
                if detect(t.format(**fields))]
    assert invented == []
