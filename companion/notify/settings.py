"""Notification settings: ``CASELOG_HOME/notify.toml`` for every account, and an account's
own ``CASELOG_HOME/accounts/NAME/notify.toml``, whose keys win over the shared file's (for
the account ``default`` the two are one file)::

    desktop = true          # a desktop notification where this machine has a desktop
    include_text = false    # add the new message's text (its first 1,000 characters)
    urls = [                # any channel apprise knows (https://github.com/caronc/apprise)
      "ntfy://my-shop-cases",
      "mailto://me:app-password@gmail.com",
      "json://127.0.0.1:8080/",
    ]

With no file: desktop notifications only, without message text. The URLs may hold
passwords and tokens: the file is kept owner-only (tightened when read), its URLs are
registered as secrets, and a channel is only ever named by apprise's privacy form.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from companion import folders as homes
from companion.redact import remember_secret

FILE = "notify.toml"


class NotifyConfigError(ValueError):
    """A settings file caselog cannot use (the message names the file and the problem)."""


@dataclass(frozen=True)
class Settings:
    desktop: bool = True
    include_text: bool = False
    urls: tuple[str, ...] = field(default_factory=tuple)
    files: tuple[str, ...] = field(default_factory=tuple)  # the files read


def _read(path: Path) -> dict:
    if not path.is_file():
        return {}
    homes.tighten(path, homes.PRIVATE_FILE)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise NotifyConfigError(f"{path}: {exc}") from exc
    for key in ("desktop", "include_text"):
        if key in data and not isinstance(data[key], bool):
            raise NotifyConfigError(f"{path}: {key} must be true or false")
    urls = data.get("urls", [])
    if isinstance(urls, str):
        urls = [urls]
    if "urls" in data and (not isinstance(urls, list)
                           or not all(isinstance(u, str) for u in urls)):
        raise NotifyConfigError(f"{path}: urls must be a list of notification URLs")
    if "urls" in data:
        data["urls"] = [u.strip() for u in urls if u.strip()]
    return data


def load(account_folder: Path | None = None) -> Settings:
    """The settings for an account (the chosen one by default): the shared file, then
    the account's own over it, key by key."""
    shared = homes.top() / FILE
    own = (account_folder or homes.home()) / FILE
    merged: dict = {}
    files = []
    for path in dict.fromkeys((shared, own)):  # one file for ``default``
        data = _read(path)
        if data:
            files.append(str(path))
        merged.update({k: v for k, v in data.items() if k in ("desktop", "include_text",
                                                               "urls")})
    urls = tuple(merged.get("urls", ()))
    for url in urls:
        remember_secret(url)
    return Settings(desktop=merged.get("desktop", True),
                    include_text=merged.get("include_text", False), urls=urls,
                    files=tuple(files))
