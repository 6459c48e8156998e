"""A seller's Support API credentials (a self-authorised app's LWA client id, client
secret and refresh token), kept per API endpoint, never printed.

Where: the operating system's keyring when one works (macOS Keychain, Windows Credential
Locker, a Secret Service on a Linux desktop: the ``keyring`` library decides), else a
file under ``CASELOG_HOME/credentials/`` readable by the owner only, as the saved browser
sessions are. A machine without a desktop (a server, CI, this one) has no working keyring
and gets the file. ``CASELOG_KEYRING=0`` asks for the file anyway. Every value loaded is
registered with ``companion.redact`` so no message can ever show it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from companion.folders import DEFAULT, Account, chosen, open_private
from companion.redact import remember_secret

SERVICE = "caselog-spapi"


def _service(account: Account) -> str:
    """The keyring's service name: one per seller account, so two accounts on the same
    endpoint never share credentials (``default`` keeps the name it always had)."""
    return SERVICE if account.name == DEFAULT else f"{SERVICE}:{account.name}"


@dataclass(frozen=True)
class Saved:
    endpoint: str                 # the API's base URL
    token_endpoint: str           # the LWA token endpoint
    client_id: str
    client_secret: str
    refresh_token: str

    def __repr__(self) -> str:
        return f"Saved(endpoint={self.endpoint!r}, client_id={self.client_id!r})"


def endpoint_key(endpoint: str) -> str:
    """A file- and keyring-safe name for one endpoint."""
    return re.sub(r"[^a-z0-9.\-]+", "_", endpoint.lower().split("://", 1)[-1]).strip("_")


# keyring's backends in the words the seller's system uses for them.
BACKEND_NAMES = {
    "keyring.backends.macOS": "the macOS Keychain",
    "keyring.backends.Windows": "the Windows Credential Locker",
    "keyring.backends.SecretService": "the Secret Service (GNOME Keyring or KWallet)",
    "keyring.backends.kwallet": "KWallet",
    "keyring.backends.libsecret": "the Secret Service (libsecret)",
}


def _keyring():
    """The keyring, if a working one is there: not keyring's "fail" or "null" backends
    (no keyring on this machine: a server, a container) nor an empty chain."""
    if os.environ.get("CASELOG_KEYRING", "1") == "0":
        return None
    try:  # optional: without a working keyring the credentials file is the store
        import keyring
        from keyring.backends import chainer, fail, null
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, (fail.Keyring, null.Keyring)) or (
            isinstance(backend, chainer.ChainerBackend) and not backend.backends):
        return None
    return keyring


def keyring_name(ring) -> str:
    """Which keyring: "the macOS Keychain", ... (a chain names its first backend)."""
    backend = ring.get_keyring()
    inner = getattr(backend, "backends", None)
    if inner:
        backend = inner[0]
    module = type(backend).__module__
    return BACKEND_NAMES.get(module, f"the system keyring ({getattr(backend, 'name', module)})")


def file_path(endpoint: str, account: Account | None = None) -> Path:
    """Where the file store keeps an account's credentials for an endpoint (this
    process's account when none is given)."""
    return (account or chosen()).credentials / f"spapi-{endpoint_key(endpoint)}.json"


def save(creds: Saved, account: Account | None = None) -> str:
    """Store, and say where (for the seller: the keyring by name, e.g. "the macOS
    Keychain", or the file's path when no keyring works here)."""
    for value in (creds.client_secret, creds.refresh_token):
        remember_secret(value)
    data = json.dumps(creds.__dict__)
    account = account or chosen()
    ring = _keyring()
    if ring is not None:
        try:
            ring.set_password(_service(account), endpoint_key(creds.endpoint), data)
            return keyring_name(ring)
        except Exception:  # a locked or refusing keyring: fall back to the file
            pass
    path = file_path(creds.endpoint, account)
    tmp = path.with_name(path.name + ".tmp")
    with open_private(tmp, "w") as fh:
        fh.write(data)
    os.replace(tmp, path)
    why = "CASELOG_KEYRING=0" if os.environ.get("CASELOG_KEYRING") == "0" else \
        "no system keyring works here"
    return f"{path} (readable by you only; {why})"


def load(endpoint: str, account: Account | None = None) -> Saved | None:
    """The credentials an account saved for this endpoint, or None."""
    account = account or chosen()
    raw = None
    ring = _keyring()
    if ring is not None:
        try:
            raw = ring.get_password(_service(account), endpoint_key(endpoint))
        except Exception:
            raw = None
    if raw is None:
        try:
            raw = file_path(endpoint, account).read_text(encoding="utf-8")
        except OSError:
            return None
    try:
        creds = Saved(**json.loads(raw))
    except (ValueError, TypeError):
        return None
    remember_secret(creds.client_secret)
    remember_secret(creds.refresh_token)
    return creds


def forget(endpoint: str, account: Account | None = None) -> None:
    """Remove an account's credentials for an endpoint from the keyring and the file."""
    account = account or chosen()
    ring = _keyring()
    if ring is not None:
        try:
            ring.delete_password(_service(account), endpoint_key(endpoint))
        except Exception:  # nothing stored there, or a keyring that refuses
            pass
    file_path(endpoint, account).unlink(missing_ok=True)


def configured(account: Account | None = None) -> list[str]:
    """Endpoints with credentials in the file store (the keyring cannot be listed)."""
    folder = (account or chosen()).home() / "credentials"
    out = []
    for path in sorted(folder.glob("spapi-*.json")) if folder.is_dir() else []:
        try:
            out.append(json.loads(path.read_text(encoding="utf-8"))["endpoint"])
        except (OSError, ValueError, KeyError):
            continue
    return out
