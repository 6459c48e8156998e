"""A stand-in for a desktop's notification daemon (org.freedesktop.Notifications) on a
D-Bus session bus, for the desktop channel's test. dbus-fast reads the D-Bus signature of
each argument from its annotation, hence the annotations that are not Python types."""
# ruff: noqa: F722, F821, UP037, N802

from dbus_fast.service import ServiceInterface, method, signal


class NotificationServer(ServiceInterface):
    def __init__(self):
        super().__init__("org.freedesktop.Notifications")
        self.got: list[tuple[str, str, str]] = []

    @method()
    def Notify(self, app: "s", replaces: "u", icon: "s", summary: "s", body: "s",
               actions: "as", hints: "a{sv}", timeout: "i") -> "u":
        self.got.append((app, summary, body))
        return len(self.got)

    @method()
    def GetCapabilities(self) -> "as":
        return ["body"]

    @method()
    def CloseNotification(self, nid: "u"):
        pass

    @method()
    def GetServerInformation(self) -> "ssss":
        return ["stand-in", "caselog", "1", "1.2"]

    @signal()
    def NotificationClosed(self) -> "uu":
        return [0, 0]
