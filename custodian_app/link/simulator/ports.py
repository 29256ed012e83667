"""Where the simulated ATM's bytes go: a pseudo-terminal it creates, or an existing serial
device. The pty is POSIX-only; its terminal modules are imported where it is made, so this
module imports on Windows too."""

from __future__ import annotations

import os

from custodian_app.link.errors import LinkError


class PtyPort:
    """Our end (master) of a pseudo-terminal pair; we keep the other end open too, so the
    client may close and reopen it without the master seeing a hang-up."""

    def __init__(self) -> None:
        import tty  # POSIX only: imported when a pty is made, never at import

        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo, no line editing: a clean 8-bit line for the client
        os.set_blocking(self.master, False)
        self.device = os.ttyname(self.slave)

    def fileno(self) -> int:
        return self.master

    def read(self) -> bytes:
        try:
            return os.read(self.master, 65536)
        except BlockingIOError:
            return b""

    def write(self, data: bytes) -> int:
        try:
            return os.write(self.master, data)
        except BlockingIOError:
            return 0

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


class DevicePort:
    """An existing serial device (e.g. one end of a socat pair), through pyserial."""

    def __init__(self, path: str, baud: int) -> None:
        import serial

        self._serial_mod = serial
        try:
            self.port = serial.serial_for_url(path, baudrate=baud, timeout=0, write_timeout=0, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkError(f"the simulator cannot open {path}: {exc}") from exc
        self.device = path

    def fileno(self) -> int:
        return self.port.fileno()

    def read(self) -> bytes:
        try:
            return bytes(self.port.read(self.port.in_waiting or 1))
        except self._serial_mod.SerialException as exc:
            raise OSError(str(exc)) from exc

    def write(self, data: bytes) -> int:
        try:
            return self.port.write(data) or 0
        except self._serial_mod.SerialTimeoutException:
            return 0
        except self._serial_mod.SerialException as exc:
            raise OSError(str(exc)) from exc

    def close(self) -> None:
        try:
            self.port.close()
        except Exception:
            pass


class PolledPort(DevicePort):
    """A pyserial port served without select(): Windows COM ports (and, in tests, a pty)."""

    def waiting(self) -> bool:
        try:
            return bool(self.port.in_waiting)
        except (self._serial_mod.SerialException, OSError):
            return True  # let the read find out and report the port gone

    def fileno(self) -> int:
        raise OSError("a polled port has no descriptor to select() on")
