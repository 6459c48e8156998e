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

# Who acts next, in both vocabularies: every reader asks these groups (in Python, or in
# SQL through ``sql_in``) and never names a status of one source alone, so a case only
# the Support API has seen is read as the portal's would be.
# The Support API says PENDING_MERCHANT_ACTION for the portal's Answered too (SPAPI.md);
# a case the portal never showed cannot tell them apart, so it counts as waiting on the
# seller ("Needs your attention"): an answer looked at needlessly costs less than one
# missed.
WAITING_ON_SELLER = ("PendingMerchantAction", "PENDING_MERCHANT_ACTION")
WAITING_ON_AMAZON = ("PendingAmazonAction", "Reopened", "PENDING_AMAZON_ACTION")
# Amazon answered and the case can be reopened for a while: the portal's word only.
ANSWERED = ("Answered",)
# Amazon's answer ended the case; the Support API says RESOLVED for Resolved and Closed.
RESOLVED = ("Resolved", "Closed", "RESOLVED")
# Amazon tracks a transferred case in the case that continues it: no reply, no reopening.
TRANSFERRED = ("Transferred", "TRANSFERRED")
# Statuses in which nobody waits on anybody in this case any more.
DONE = RESOLVED + TRANSFERRED

# The portal status each Support API status stands for, for code that branches on one
# status (a draft's situation, the case page). PENDING_MERCHANT_ACTION: see above;
# RESOLVED is Resolved, not Closed: caselog offers no reopen window it cannot know of.
_PORTAL_STATUS = {"PENDING_AMAZON_ACTION": "PendingAmazonAction",
                  "PENDING_MERCHANT_ACTION": "PendingMerchantAction",
                  "RESOLVED": "Resolved", "TRANSFERRED": "Transferred"}


def portal_status(value: str | None) -> str | None:
    """The portal's status for a stored status of either source (a portal status, or
    one neither source is known to send, as it is)."""
    return _PORTAL_STATUS.get(value, value) if value else value


def same_status(value: str) -> tuple[str, ...]:
    """Every stored status that means the portal status ``value`` (a filter's "Work in
    progress" also finds the Support API's PENDING_AMAZON_ACTION)."""
    return (value, *(k for k, v in _PORTAL_STATUS.items() if v == value))


def sql_in(group: tuple[str, ...]) -> str:
    """``('A', 'B')`` for SQL's ``IN``, built from a group above so that queries name
    no status of their own (the values are constants here, never user input)."""
    return "(" + ", ".join("'" + s.replace("'", "''") + "'" for s in group) + ")"


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
