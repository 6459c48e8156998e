"""Is a process that left its pid in the database (a sync) or in the archive (a writer)
still running? Asked by the store, the archive and the UI, answered in one place, on
every system psutil knows (not only where there is a /proc)."""

from __future__ import annotations

import psutil


def pid_alive(pid: int | None) -> bool:
    """Is a caselog process with this pid still running? (A reused pid that now belongs
    to something else does not count, where the system lets us read its command line.)"""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = " ".join(proc.cmdline())
    except psutil.NoSuchProcess:
        return False
    except (psutil.AccessDenied, OSError):
        return True
    return "companion" in cmdline or "caselog" in cmdline
