"""The words for statuses, in one place for every reader (UI, CLI, dossier, CSV): the
portal's own en_US labels, so a seller sees what Seller Central says."""

from __future__ import annotations

from scrapers.parse.locales import STATUS_LABELS as _PORTAL_LABELS

STATUS_LABELS = _PORTAL_LABELS["en_US"]


def status_label(value: str | None) -> str:
    return STATUS_LABELS.get(value or "", value or "Unknown")
