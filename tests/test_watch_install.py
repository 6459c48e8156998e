"""``caselog watch --install / --uninstall / --print``: each platform's own scheduler.

--print is shown for every platform (the platform name patched, in-process); --install
and --uninstall run for real on Linux through the CLI in a subprocess, into a fake HOME
and XDG folders, with ``systemctl`` and ``crontab`` stand-ins on PATH that record what
they were asked (the real ones would change this machine's schedule)."""

from __future__ import annotations

import os
import plistlib
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from companion.cli.watch import watch
from companion.watch import install as sched
from fixtures.harness import run_caselog


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    monkeypatch.setenv("CASELOG_HOME", str(tmp_path / "me" / "caselog home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("CASELOG_ACCOUNT", raising=False)
    return tmp_path / "me"


def printed(monkeypatch, platform: str, *args: str) -> str:
    monkeypatch.setattr(sched, "PLATFORM", platform)
    r = CliRunner().invoke(watch, ["--print", *args])
    assert r.exit_code == 0, r.output
    return r.output


def test_print_on_windows_is_a_task_scheduler_task(monkeypatch, home):
    out = printed(monkeypatch, "win32", "--all", "--every", "1h")
    assert "# scheduler: schtasks" in out
    assert f"# file {home / 'caselog home' / 'caselog-watch-task.xml'}\n" in out
    xml = out.split("# file ", 1)[1].split("\n", 1)[1].split("\n# then:")[0]
    task = ET.fromstring(xml.replace('encoding="UTF-16"', ""))
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    assert task.findtext(".//t:Repetition/t:Interval", namespaces=ns) == "PT60M"
    assert task.findtext(".//t:Exec/t:Arguments", namespaces=ns).endswith("watch --once --all")
    assert task.findtext(".//t:MultipleInstancesPolicy", namespaces=ns) == "IgnoreNew"
    assert "schtasks /Create /TN caselog-watch /XML" in out
    assert "CASELOG_HOME in your user environment" in out
    assert not list(home.rglob("*.xml"))  # --print writes nothing


def test_print_on_macos_is_a_launchd_agent(monkeypatch, home):
    out = printed(monkeypatch, "darwin", "--account", "shop2", "--every", "45m")
    assert "# scheduler: launchd" in out
    path = home / "Library/LaunchAgents/com.caselog.watch.plist"
    assert f"# file {path}" in out
    body = out.split(f"# file {path}\n", 1)[1].split("\n# then:")[0]
    agent = plistlib.loads(body.encode())
    assert agent["Label"] == "com.caselog.watch" and agent["StartInterval"] == 45 * 60
    assert agent["ProgramArguments"][-4:] == ["watch", "--once", "--account", "shop2"]
    assert agent["EnvironmentVariables"] == {"CASELOG_HOME": str(home / "caselog home")}
    assert f"launchctl bootstrap gui/{os.getuid()} {path}" in out
    assert not path.exists()


def test_print_on_linux_is_a_systemd_timer_or_a_cron_line(monkeypatch, home):
    out = printed(monkeypatch, "linux", "--all", "--scheduler", "systemd")
    assert f"# file {home}/.config/systemd/user/caselog-watch.timer" in out
    assert "OnUnitActiveSec=30min" in out and "Type=oneshot" in out
    assert f'Environment="CASELOG_HOME={home}/caselog home"' in out
    assert "systemctl --user enable --now caselog-watch.timer" in out
    out = printed(monkeypatch, "linux", "--all", "--scheduler", "cron", "--every", "2h")
    line = out.splitlines()[2]
    assert line.startswith("0 */2 * * *  CASELOG_HOME=") and "watch --once --all" in line
    r = CliRunner().invoke(watch, ["--print", "--scheduler", "cron", "--every", "45m"])
    assert r.exit_code == 1 and "cron cannot run every 45 minutes" in r.output


def fake_tool(bin_: Path, name: str, script: str) -> None:
    path = bin_ / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_install_and_uninstall_a_systemd_timer_on_linux(tmp_path):
    home, bin_, log = tmp_path / "me", tmp_path / "bin", tmp_path / "systemctl.log"
    bin_.mkdir()
    fake_tool(bin_, "systemctl", f'echo "$@" >> "{log}"\n')
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "CASELOG_HOME": str(tmp_path / "data"), "PATH": f"{bin_}:{os.environ['PATH']}"}
    r = run_caselog("watch", "--install", "--all", "--every", "1h", env=env)
    assert r.returncode == 0, r.stderr
    units = tmp_path / "config/systemd/user"
    service = (units / "caselog-watch.service").read_text()
    assert "watch --once --all" in service and "OnUnitActiveSec=60min" in (
        units / "caselog-watch.timer").read_text()
    assert log.read_text().splitlines() == ["--user daemon-reload",
                                            "--user enable --now caselog-watch.timer"]
    r = run_caselog("watch", "--uninstall", env=env)
    assert r.returncode == 0, r.stderr
    assert not list(units.iterdir())
    assert log.read_text().splitlines()[2:] == ["--user disable --now caselog-watch.timer",
                                                "--user daemon-reload"]


def test_install_without_systemctl_leaves_the_units_and_says_what_to_run(tmp_path):
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    env = {"HOME": str(tmp_path / "me"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "PATH": str(bin_)}
    r = run_caselog("watch", "--install", "--scheduler", "systemd", env=env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "config/systemd/user/caselog-watch.timer").is_file()
    assert "systemctl is not here; run 'systemctl --user enable --now" in r.stdout


def test_install_and_uninstall_a_cron_line_keeps_the_persons_own_lines(tmp_path):
    bin_, table = tmp_path / "bin", tmp_path / "crontab.txt"
    bin_.mkdir()
    table.write_text("0 9 * * 1  /usr/bin/backup\n")
    fake_tool(bin_, "crontab", f'if [ "$1" = "-l" ]; then cat "{table}"; '
                               f'else cat > "{table}"; fi\n')
    env = {"HOME": str(tmp_path / "me"), "PATH": f"{bin_}:{os.environ['PATH']}"}
    for _ in range(2):  # a second install replaces the line, never doubles it
        r = run_caselog("watch", "--install", "--all", "--scheduler", "cron", env=env)
        assert r.returncode == 0, r.stderr
    lines = table.read_text().splitlines()
    assert lines[0] == "0 9 * * 1  /usr/bin/backup" and len(lines) == 2
    assert lines[1].startswith("*/30 * * * *  ") and "watch --once --all" in lines[1]
    r = run_caselog("watch", "--uninstall", "--scheduler", "cron", env=env)
    assert r.returncode == 0 and "removed the caselog line" in r.stdout
    assert table.read_text().splitlines() == ["0 9 * * 1  /usr/bin/backup"]
