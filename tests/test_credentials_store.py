"""Where ``caselog login --spapi`` keeps the credentials: the system's keyring where one
works, named as the seller's system names it; the owner-only file where keyring has only
its "fail" or "null" backend (a server, a container, this machine), saying so."""

from __future__ import annotations

import stat

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null

from companion import credentials

CREDS = credentials.Saved("https://sellingpartnerapi-eu.amazon.com", "https://lwa.example/o2",
                          "amzn1.application-oa2-client.x", "amzn1.oa2-cs.v1.secret",
                          "Atzr|refresh")


class Memory(KeyringBackend):
    """A keyring that works, in memory."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def set_password(self, service, username, password):
        self.store[service, username] = password

    def get_password(self, service, username):
        return self.store.get((service, username))

    def delete_password(self, service, username):
        self.store.pop((service, username), None)


@pytest.fixture
def backend(caselog_home, monkeypatch):
    monkeypatch.delenv("CASELOG_KEYRING", raising=False)
    monkeypatch.delenv("CASELOG_ACCOUNT", raising=False)
    before = keyring.get_keyring()
    yield lambda b: keyring.set_keyring(b) or b
    keyring.set_keyring(before)


def test_a_working_keyring_is_used_and_named(backend, caselog_home):
    ring = backend(Memory())
    where = credentials.save(CREDS)
    assert where.startswith("the system keyring (") and "Memory" in where
    assert not (caselog_home / "credentials").exists() or not list(
        (caselog_home / "credentials").iterdir())
    assert credentials.load(CREDS.endpoint) == CREDS and len(ring.store) == 1
    credentials.forget(CREDS.endpoint)
    assert credentials.load(CREDS.endpoint) is None and not ring.store


def test_the_platforms_keyrings_have_the_sellers_names(monkeypatch):
    monkeypatch.setattr(Memory, "__module__", "keyring.backends.macOS")
    assert credentials.keyring_name(type("K", (), {"get_keyring": Memory})) == \
        "the macOS Keychain"
    monkeypatch.setattr(Memory, "__module__", "keyring.backends.Windows")
    assert credentials.keyring_name(type("K", (), {"get_keyring": Memory})) == \
        "the Windows Credential Locker"


@pytest.mark.parametrize("none", [fail.Keyring, null.Keyring])
def test_without_a_working_keyring_the_file_is_owner_only(backend, caselog_home, none):
    backend(none())
    where = credentials.save(CREDS)
    path = caselog_home / "credentials" / f"spapi-{credentials.endpoint_key(CREDS.endpoint)}.json"
    assert where == f"{path} (readable by you only; no system keyring works here)"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert credentials.load(CREDS.endpoint) == CREDS
    assert CREDS.client_secret not in where and CREDS.refresh_token not in where
