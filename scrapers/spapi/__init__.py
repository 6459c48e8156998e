"""The second source: Amazon's Selling Partner API for Support (2025-02-01).

Capture (``SpapiClient``: raw answers, paced to the usage plan), then parse
(``parse_list_cases``, ``parse_case``, ``parse_list_contacts``: pure, bytes in, records
out). Self-contained: nothing here imports ``companion`` or ``fixtures``, and Amazon's SDK
is imported only when a client first calls the API (see ``transport``).
"""

from scrapers.spapi.client import Capture, SpapiClient
from scrapers.spapi.errors import (
    AttachmentTooLarge,
    BadRequest,
    CredentialsRejected,
    DownloadExpired,
    Forbidden,
    InvalidClient,
    InvalidGrant,
    NotFound,
    SpapiError,
    TokenRejected,
    TransientExhausted,
)
from scrapers.spapi.lwa import LWA_TOKEN_URL, REGIONS, LwaCredentials, resolve_endpoint
from scrapers.spapi.parse import api_errors, parse_case, parse_list_cases, parse_list_contacts
from scrapers.spapi.plan import GET_CASE, LIST_CASES, LIST_CONTACTS, TokenBucket, UsagePlan

__all__ = [
    "SpapiClient", "Capture", "LwaCredentials", "resolve_endpoint", "REGIONS", "LWA_TOKEN_URL",
    "parse_list_cases", "parse_case", "parse_list_contacts", "api_errors",
    "UsagePlan", "TokenBucket", "LIST_CASES", "GET_CASE", "LIST_CONTACTS",
    "SpapiError", "CredentialsRejected", "InvalidClient", "InvalidGrant", "TokenRejected",
    "Forbidden", "NotFound", "BadRequest", "TransientExhausted", "DownloadExpired",
    "AttachmentTooLarge",
]
