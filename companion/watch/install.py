"""``caselog watch --install``: the platform's own scheduler runs ``caselog watch --once``
every interval, so the watch needs no terminal left open. Linux: a systemd user timer
(where ``systemctl`` is there) or a line in the person's crontab; macOS: a launchd agent
in ``~/Library/LaunchAgents``; Windows: a Task Scheduler task made from XML by
``schtasks``.

A :class:`Plan` is the files to write and the commands to run, built without touching
anything, so ``--print`` shows exactly what ``--install`` would do. Everything is
per user: no root, no administrator.
"""

from __future__ import annotations

import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

NAME = "caselog-watch"              # systemd units, the Task Scheduler task
LABEL = "com.caselog.watch"         # the launchd agent
CRON_MARK = "# caselog watch (caselog watch --install)"
SCHEDULERS = ("systemd", "cron", "launchd", "schtasks")
PLATFORM = sys.platform             # whose scheduler; tests show the others' here


class ScheduleError(RuntimeError):
    """The schedule could not be installed or removed; the message says what to do."""


@dataclass
class Plan:
    scheduler: str
    command: list[str]                                  # what the scheduler runs
    files: dict[Path, str | bytes] = field(default_factory=dict)
    install: list[list[str]] = field(default_factory=list)    # run after writing
    uninstall: list[list[str]] = field(default_factory=list)  # run before removing
    cron_line: str | None = None                        # cron edits the crontab instead
    note: str = ""

    def describe(self) -> str:
        """What --print shows: each file with its text, then the commands."""
        out = [f"# scheduler: {self.scheduler}"]
        for path, text in self.files.items():
            body = text.decode("utf-16") if isinstance(text, bytes) else text
            out += [f"# file {path}", body.rstrip("\n")]
        if self.cron_line:
            out += ["# line added to your crontab (crontab -l shows it)", self.cron_line]
        for cmd in self.install:
            out.append("# then: " + _quote(cmd))
        if self.note:
            out.append("# " + self.note)
        return "\n".join(out) + "\n"


def platform_key(platform: str) -> str:
    if platform.startswith("win"):
        return "win32"
    return "darwin" if platform == "darwin" else "linux"


def default_scheduler(platform: str, env: Mapping[str, str]) -> str:
    platform = platform_key(platform)
    if platform == "win32":
        return "schtasks"
    if platform == "darwin":
        return "launchd"
    return "systemd" if shutil.which("systemctl", path=env.get("PATH")) else "cron"


def caselog_command(platform: str) -> list[str]:
    """The installed ``caselog`` beside this Python (pipx, uv tool and a venv put it
    there), else this Python running the package: either works with no PATH set, as
    schedulers run things. On Windows the windowless ``pythonw`` runs the package where it
    is there, so a console window does not flash up at every round."""
    if platform_key(platform) == "win32":
        quiet = Path(sys.executable).with_name("pythonw.exe")
        if quiet.is_file():
            return [str(quiet), "-m", "companion"]
        script = Path(sys.executable).with_name("caselog.exe")
    else:
        script = Path(sys.executable).with_name("caselog")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "companion"]


def plan(scheduler: str, minutes: int, args: list[str], env: Mapping[str, str],
         home: Path, platform: str = PLATFORM, data: Path | None = None) -> Plan:
    """The files and commands for ``scheduler`` to run ``caselog watch --once ARGS``
    every ``minutes``; the person's CASELOG_HOME goes with it where one is set. ``data``:
    caselog's own folder, for a file the scheduler only reads once (Windows' task XML)."""
    command = [*caselog_command(platform), "watch", "--once", *args]
    caselog_home = env.get("CASELOG_HOME")
    if scheduler == "systemd":
        return _systemd(command, minutes, env, home, caselog_home)
    if scheduler == "cron":
        return _cron(command, minutes, caselog_home)
    if scheduler == "launchd":
        return _launchd(command, minutes, home, caselog_home)
    if scheduler == "schtasks":
        return _schtasks(command, minutes, data or home, caselog_home)
    raise ScheduleError(f"unknown scheduler {scheduler!r}; one of {', '.join(SCHEDULERS)}")


def _quote(cmd: list[str]) -> str:
    return " ".join(shlex.quote(c) for c in cmd)


def _systemd(command, minutes, env, home, caselog_home) -> Plan:
    units = Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "systemd" / "user"
    environment = (f"Environment={_systemd_quote('CASELOG_HOME=' + caselog_home)}\n"
                   if caselog_home else "")
    service = ("[Unit]\nDescription=caselog: sync the seller accounts once and notify\n\n"
               f"[Service]\nType=oneshot\n{environment}"
               f"ExecStart={' '.join(_systemd_quote(c) for c in command)}\n")
    timer = (f"[Unit]\nDescription=caselog watch every {minutes} minutes\n\n"
             f"[Timer]\nOnBootSec=5min\nOnUnitActiveSec={minutes}min\n"
             f"RandomizedDelaySec={max(1, minutes // 10)}min\nPersistent=true\n\n"
             "[Install]\nWantedBy=timers.target\n")
    return Plan("systemd", command,
                files={units / f"{NAME}.service": service, units / f"{NAME}.timer": timer},
                install=[["systemctl", "--user", "daemon-reload"],
                         ["systemctl", "--user", "enable", "--now", f"{NAME}.timer"]],
                uninstall=[["systemctl", "--user", "disable", "--now", f"{NAME}.timer"]],
                note="'loginctl enable-linger' keeps it running while you are logged out")


def _systemd_quote(word: str) -> str:
    if word and all(c.isalnum() or c in "/._-=:+,@" for c in word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%") + '"'


def cron_spec(minutes: int) -> str:
    """A cron schedule for every ``minutes``: cron can count only in steps that divide an
    hour or a day."""
    if minutes < 60 and 60 % minutes == 0:
        return f"*/{minutes} * * * *"
    if minutes % 60 == 0 and 24 % (minutes // 60) == 0:
        hours = minutes // 60
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    raise ScheduleError(f"cron cannot run every {minutes} minutes; choose an interval that "
                        "divides an hour or a day (e.g. 30m, 1h, 6h), or --scheduler systemd")


def _cron(command, minutes, caselog_home) -> Plan:
    prefix = f"CASELOG_HOME={shlex.quote(caselog_home)} " if caselog_home else ""
    line = f"{cron_spec(minutes)}  {prefix}{_quote(command)} >/dev/null 2>&1  {CRON_MARK}"
    return Plan("cron", command, cron_line=line,
                note="the watch keeps its own log under CASELOG_HOME/logs")


def _launchd(command, minutes, home, caselog_home) -> Plan:
    agents = home / "Library" / "LaunchAgents"
    logs = home / "Library" / "Logs"
    agent = {"Label": LABEL, "ProgramArguments": command, "StartInterval": minutes * 60,
             "RunAtLoad": True, "ProcessType": "Background",
             "StandardOutPath": str(logs / "caselog-watch.log"),
             "StandardErrorPath": str(logs / "caselog-watch.log")}
    if caselog_home:
        agent["EnvironmentVariables"] = {"CASELOG_HOME": caselog_home}
    path = agents / f"{LABEL}.plist"
    domain = f"gui/{os.getuid() if hasattr(os, 'getuid') else 501}"
    return Plan("launchd", command, files={path: plistlib.dumps(agent).decode("utf-8")},
                install=[["launchctl", "bootstrap", domain, str(path)]],
                uninstall=[["launchctl", "bootout", f"{domain}/{LABEL}"]])


def _schtasks(command, minutes, folder, caselog_home) -> Plan:
    start = datetime.now().replace(second=0, microsecond=0).isoformat()
    program, *arguments = command
    args_text = " ".join(_windows_quote(a) for a in arguments)
    xml = f"""<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>caselog: sync the seller accounts once and notify</Description>
  </RegistrationInfo>
  <Triggers>
    <TimeTrigger>
      <StartBoundary>{start}</StartBoundary>
      <Repetition>
        <Interval>PT{minutes}M</Interval>
      </Repetition>
      <RandomDelay>PT{max(1, minutes // 10)}M</RandomDelay>
      <Enabled>true</Enabled>
    </TimeTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <StartWhenAvailable>true</StartWhenAvailable>
    <ExecutionTimeLimit>PT2H</ExecutionTimeLimit>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{escape(program)}</Command>
      <Arguments>{escape(args_text)}</Arguments>
    </Exec>
  </Actions>
</Task>
"""
    path = folder / f"{NAME}-task.xml"
    note = ("a Task Scheduler task has no environment of its own: set CASELOG_HOME in "
            "your user environment variables" if caselog_home else "")
    return Plan("schtasks", command, files={path: xml.encode("utf-16")},
                install=[["schtasks", "/Create", "/TN", NAME, "/XML", str(path), "/F"]],
                uninstall=[["schtasks", "/Delete", "/TN", NAME, "/F"]], note=note)


def _windows_quote(arg: str) -> str:
    return subprocess.list2cmdline([arg])


# --- doing it ----------------------------------------------------------------------------

def _run(cmd: list[str], env: Mapping[str, str], input: str | None = None):
    exe = shutil.which(cmd[0], path=env.get("PATH"))
    if exe is None:
        return None
    return subprocess.run([exe, *cmd[1:]], input=input, capture_output=True, text=True,
                          timeout=60, env=dict(env))


def install(p: Plan, env: Mapping[str, str]) -> list[str]:
    """Write the files and run the scheduler's commands; lines saying what was done.
    A scheduler command that is not there (a container without a user session) is said,
    with the command to run later, not an error: the files are in place."""
    done = []
    if p.cron_line:
        _crontab_edit(lambda lines: [*lines, p.cron_line], env)
        return [f"added to your crontab: {p.cron_line}"]
    for path, text in p.files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        done.append(f"wrote {path}")
    for cmd in p.install:
        done.append(_step(cmd, env))
    return done


def uninstall(p: Plan, env: Mapping[str, str]) -> list[str]:
    """Undo :func:`install`: stop the schedule, remove its files (or crontab line)."""
    if p.cron_line is not None:
        removed = _crontab_edit(lambda lines: [ln for ln in lines if CRON_MARK not in ln],
                                env)
        return ["removed the caselog line from your crontab" if removed
                else "your crontab had no caselog line"]
    done = [_step(cmd, env, missing_ok=True) for cmd in p.uninstall]
    for path in p.files:
        if path.exists():
            path.unlink()
            done.append(f"removed {path}")
    if p.scheduler == "systemd":
        done.append(_step(["systemctl", "--user", "daemon-reload"], env, missing_ok=True))
    return done


def _step(cmd: list[str], env: Mapping[str, str], missing_ok: bool = False) -> str:
    shown = _quote(cmd)
    try:
        r = _run(cmd, env)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ScheduleError(f"{shown} failed ({exc}); run it yourself") from None
    if r is None:
        return f"{cmd[0]} is not here; run '{shown}' where it is"
    if r.returncode and not missing_ok:
        said = (r.stderr or r.stdout).strip().splitlines()
        raise ScheduleError(f"{shown} failed: {said[-1] if said else r.returncode}; "
                            "the files are in place, run it again yourself")
    return f"ran {shown}"


def _crontab_edit(change: Callable[[list[str]], list[str]], env: Mapping[str, str]) -> bool:
    """Replace the person's crontab with ``change(lines)`` (a caselog line already there
    is replaced, never doubled); whether a caselog line was there before."""
    current = _run(["crontab", "-l"], env)
    if current is None:
        raise ScheduleError("there is no 'crontab' here; install cron, or use "
                            "--scheduler systemd")
    lines = current.stdout.splitlines() if current.returncode == 0 else []
    had = any(CRON_MARK in ln for ln in lines)
    kept = [ln for ln in lines if CRON_MARK not in ln]
    new = change(kept) if had else change(lines)
    r = _run(["crontab", "-"], env, input="\n".join(new) + "\n")
    if r is None or r.returncode:
        raise ScheduleError("could not write your crontab: "
                            + ((r.stderr or "").strip() if r else "no crontab"))
    return had
