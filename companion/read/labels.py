"""The words for statuses and channels, in one place for every reader (UI, CLI, dossier,
CSV): the portal's own en_US labels, so a seller sees what Seller Central says, never an
API value such as ``PendingMerchantAction`` or the Support API's ``PENDING_MERCHANT_ACTION``
(a case first seen through the Support API keeps that API's status until the portal
speaks of it)."""

from __future__ import annotations

from scrapers.parse.locales import STATUS_LABELS as _PORTAL_LABELS

STATUS_LABELS = _PORTAL_LABELS["en_US"]
# The Support API's four statuses (SPAPI.md), in the words of the portal statuses they
# stand for. Kept apart from STATUS_LABELS, which lists the statuses a filter may ask for.
SPAPI_STATUS_LABELS = {"PENDING_AMAZON_ACTION": "Work in progress",
                       "PENDING_MERCHANT_ACTION": "Needs your attention",
                       "RESOLVED": "Resolved", "TRANSFERRED": "Transferred"}

# What Seller Central shows on a chat or a call (PORTAL.md section 3, v2); an e-mail has
# no word of its own, as on the portal.
CHANNEL_LABELS = {"chat": "Chat", "phone": "Phone call"}
CHANNELS = ("email", "chat", "phone")

# Statuses in which nobody waits on anybody in this case any more. A transferred case
# belongs here: Amazon tracks it in the case that continues it.
DONE_STATUSES = ("Resolved", "Closed", "Transferred")


def status_label(value: str | None) -> str:
    """The seller's word for a stored status of either source; a value neither source is
    known to send is shown as it is rather than hidden."""
    value = value or ""
    return STATUS_LABELS.get(value) or SPAPI_STATUS_LABELS.get(value) or value or "Unknown"


def channel_of(value: str | None) -> str:
    """A stored channel as one of ``CHANNELS``: rows written before migration 7 have
    none and are e-mails."""
    return value if value in CHANNELS else "email"


def channel_label(value: str | None) -> str:
    """"Chat", "Phone call", or "" for an e-mail."""
    return CHANNEL_LABELS.get(channel_of(value), "")
