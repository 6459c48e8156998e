"""Python as caselog meets it on Windows and macOS, simulated on Linux: put this folder on
PYTHONPATH (with PYTHONIOENCODING=cp1252 for a Windows console) and every Python process
started from there, the children caselog starts included, lacks what those platforms lack:

- ``fcntl`` and ``resource`` (Windows has neither): importing them fails as it does there;
- ``os.fchmod`` (Windows before Python 3.13);
- ``/proc`` (Windows and macOS), for caselog's own code only: a library that reads it
  on Linux because it is Linux (psutil) has its own way on each platform and keeps it.

Loaded by ``site`` at start-up, before any caselog module."""

import builtins
import io
import os
import sys

# psutil reads ``resource`` on Linux because it is Linux; on Windows and macOS it has its
# own backend. Load it before hiding, like /proc below: only caselog's own code loses them.
try:
    import psutil  # noqa: F401
except ImportError:
    pass

for _name in ("fcntl", "resource"):
    sys.modules[_name] = None  # type: ignore[assignment]  # import raises ModuleNotFoundError

if hasattr(os, "fchmod"):
    del os.fchmod

_OURS = ("companion", "scrapers", "webui", "fixtures")


def _from_caselog() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.split(".")[0] in _OURS:
            return True
        if not name.startswith(("pathlib", "os", "io", "builtins", "sitecustomize")):
            return False
        frame = frame.f_back
    return False


def _hidden(path) -> bool:
    try:
        text = os.fsdecode(path) if not isinstance(path, int) else ""
    except TypeError:
        return False
    return (text == "/proc" or text.startswith("/proc/")) and _from_caselog()


def _guard(fn):
    def guarded(path, *args, **kwargs):
        if _hidden(path):
            raise FileNotFoundError(2, "No such file or directory (no /proc here)", path)
        return fn(path, *args, **kwargs)
    guarded.__wrapped__ = fn
    return guarded


builtins.open = io.open = _guard(builtins.open)
for _fn in ("open", "stat", "lstat", "listdir", "scandir", "readlink"):
    setattr(os, _fn, _guard(getattr(os, _fn)))
os.environ["CASELOG_SIMULATED_ELSEWHERE"] = "1"
