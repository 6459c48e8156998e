"""The template sandbox's memory cap on each platform: set where the platform has
``RLIMIT_AS`` (Linux), skipped where ``resource`` is missing (Windows) or refuses it
(macOS), never failing the render there. Fakes stand in for ``resource``: setting the real
limit here would cap the test process itself."""

from __future__ import annotations

import types

from companion.replies import sandbox


def fake_resource(refuse: bool):
    calls = []

    def setrlimit(which, limits):
        calls.append((which, limits))
        if refuse:
            raise ValueError("current limit exceeds maximum limit")  # what macOS says

    return types.SimpleNamespace(RLIMIT_AS=9, setrlimit=setrlimit), calls


def test_linux_caps_the_address_space(monkeypatch):
    res, calls = fake_resource(refuse=False)
    monkeypatch.setattr(sandbox, "resource", res)
    assert sandbox.cap_memory() is True
    assert calls == [(9, (sandbox.CHILD_MEMORY, sandbox.CHILD_MEMORY))]


def test_macos_refusing_rlimit_as_is_not_a_crash(monkeypatch):
    res, calls = fake_resource(refuse=True)
    monkeypatch.setattr(sandbox, "resource", res)
    assert sandbox.cap_memory() is False and len(calls) == 1


def test_windows_without_resource_has_the_time_limit_only(monkeypatch):
    monkeypatch.setattr(sandbox, "resource", None)
    assert sandbox.cap_memory() is False
    assert sandbox.CHILD_SECONDS > sandbox.RENDER_SECONDS  # the parent still ends the child
