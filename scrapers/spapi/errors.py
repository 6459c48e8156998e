"""What can go wrong talking to the Selling Partner API, as exceptions a sync can branch on
without knowing HTTP: the person must fix the credentials (``CredentialsRejected`` and its
kinds), the case is not there or not ours (``NotFound``, ``Forbidden``), our request was
wrong (``BadRequest``), Amazon kept refusing for a while (``TransientExhausted``), or an
attachment link is stale or too big (``DownloadExpired``, ``AttachmentTooLarge``).

These are the client's own classes for now; they will be wired under the project's error
model later. Every message and ``body`` here has passed the client's redactor: no access
token, refresh token or client secret, and never a header of a request we sent.
"""

from __future__ import annotations


class SpapiError(RuntimeError):
    """Base of every SP-API client failure; carries what was asked and what came back.

    ``operation`` is the model's operationId (``listCases``, ``getCase``,
    ``listContacts``) or ``lwa`` / ``download``; ``code`` the first error code Amazon gave
    (``InvalidInput``, ``invalid_grant``...), ``request_id`` its ``x-amzn-RequestId``.
    """

    def __init__(self, message: str, *, operation: str = "", url: str = "",
                 status: int | None = None, case_id: str | None = None, body: bytes = b"",
                 code: str | None = None, request_id: str | None = None):
        super().__init__(message)
        self.operation, self.url, self.status, self.case_id = operation, url, status, case_id
        self.body, self.code, self.request_id = body, code, request_id


class CredentialsRejected(SpapiError):
    """The credentials do not work; retrying will not help until a person changes them."""


class InvalidClient(CredentialsRejected):
    """LWA said ``invalid_client`` (401): the app's client id or client secret is wrong."""


class InvalidGrant(CredentialsRejected):
    """LWA said ``invalid_grant`` (400): the refresh token is wrong, expired or revoked
    (the seller removed the app's authorisation); self-authorise the app again."""


class TokenRejected(CredentialsRejected):
    """The API refused a freshly issued access token too (403 twice)."""


class Forbidden(SpapiError):
    """403 that is not about the token: the app or account may not see this."""


class NotFound(SpapiError):
    """404: no such case (or resource) for this account."""


class BadRequest(SpapiError):
    """400, 413, 415 or another unexpected 4xx: our request was wrong; ``body`` says why."""


class TransientExhausted(SpapiError):
    """429, 5xx or network errors went on past the retry budget."""


class DownloadExpired(SpapiError):
    """The attachment link no longer serves the file (it expires 15 minutes after the
    listContacts answer that gave it): list the case's contacts again for a fresh one."""


class AttachmentTooLarge(SpapiError):
    """The attachment is bigger than the cap; nothing beyond the cap was read."""
