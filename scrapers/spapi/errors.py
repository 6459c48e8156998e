"""What can go wrong talking to the Selling Partner API, as exceptions a sync can branch on
without knowing HTTP: the person must fix the credentials (``CredentialsRejected`` and its
kinds), the case is not there or not ours (``NotFound``, ``Forbidden``), our request was
wrong (``BadRequest``), Amazon kept refusing for a while (``TransientExhausted``), or an
attachment link is stale or too big (``DownloadExpired``, ``AttachmentTooLarge``).

They sit in the project's one error tree (``scrapers.errors``): rejected credentials are
a ``SessionExpired`` (a sync stops as ``auth``, exit 3), the rest are the portal's
classes of the same meaning, so a sync treats both sources alike. Every message and
``body`` here has passed the client's redactor: no access token, refresh token or client
secret, and never a header of a request we sent.
"""

from __future__ import annotations

from scrapers import errors as base


class SpapiError(base.PortalError):
    """Base of every SP-API client failure; carries what was asked and what came back.

    ``operation`` is the model's operationId (``listCases``, ``getCase``,
    ``listContacts``) or ``lwa`` / ``download``; ``code`` the first error code Amazon gave
    (``InvalidInput``, ``invalid_grant``...), ``request_id`` its ``x-amzn-RequestId``.
    """

    def __init__(self, message: str, *, operation: str = "", url: str = "",
                 status: int | None = None, case_id: str | None = None, body: bytes = b"",
                 code: str | None = None, request_id: str | None = None):
        super().__init__(message, url=url, status=status, case_id=case_id, body=body)
        self.operation, self.code, self.request_id = operation, code, request_id


class CredentialsRejected(SpapiError, base.SessionExpired):
    """The credentials do not work; retrying will not help until a person changes them."""


class InvalidClient(CredentialsRejected):
    """LWA said ``invalid_client`` (401): the app's client id or client secret is wrong."""


class InvalidGrant(CredentialsRejected):
    """LWA said ``invalid_grant`` (400): the refresh token is wrong, expired or revoked
    (the seller removed the app's authorisation); self-authorise the app again."""


class TokenRejected(CredentialsRejected):
    """The API refused a freshly issued access token too (403 twice)."""


class Forbidden(SpapiError, base.Forbidden):
    """403 that is not about the token: the app or account may not see this."""


class NotFound(SpapiError, base.CaseNotFound):
    """404: no such case (or resource) for this account."""


class BadRequest(SpapiError, base.BadRequest):
    """400, 413, 415 or another unexpected 4xx: our request was wrong; ``body`` says why."""


class TransientExhausted(SpapiError, base.TransientExhausted):
    """429, 5xx or network errors went on past the retry budget."""


class DownloadExpired(SpapiError):
    """The attachment link no longer serves the file (it expires 15 minutes after the
    listContacts answer that gave it): list the case's contacts again for a fresh one."""


class AttachmentTooLarge(SpapiError, base.AttachmentTooLarge):
    """The attachment is bigger than the cap; nothing beyond the cap was read."""
