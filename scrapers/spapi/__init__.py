"""The second source: Amazon's Selling Partner API for Support (2025-02-01).

Capture (``SpapiClient``: raw answers, paced to the usage plan), then parse
(``parse_list_cases``, ``parse_case``, ``parse_list_contacts``: pure, bytes in, records
out). Self-contained: nothing here imports ``companion`` or ``fixtures``.

The HTTP layer, decided after reading amzn-sp-api 1.13.0's code and trying it:

- The three operations go through the SDK's generated ``SupportApi``
  (``*_with_http_info`` with ``_preload_content=False``): it takes any endpoint (a region
  or ``http://127.0.0.1:PORT``), hands back the raw bytes, status and headers, and keeps
  paths and parameters in step with Amazon's model. Its costs are contained in
  ``transport``: it configures logging when imported and per ``Configuration`` (undone;
  imported only on first use), its pool follows redirects with the token header and
  retries connection errors unseen (replaced by one that does neither).
- Its LWA token cache is not used (``lwa`` says why: it reports ``invalid_client`` and
  ``invalid_grant`` as ``server_error``, after 14 s of blocking retries, and cannot drop
  a refused token). The token exchange is one form POST over urllib3, the library the
  SDK itself runs on, as are attachment downloads (presigned links, no SDK operation,
  and no token may go there).
- Nothing here logs or keeps a token, the refresh token, the client secret or a header
  of a request; whatever a server echoes back is redacted.
"""

from scrapers.spapi.capture import Capture
from scrapers.spapi.client import SpapiClient
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
