"""Transport: bytes in, bytes out over a serial port (pyserial), nothing else.

Opened with ``serial.serial_for_url(url, exclusive=True)`` so a second program cannot open the
same port behind our back, and so that test URLs (``loop://``, ``socket://``) work too. The
modem control lines (DTR/RTS) are left alone: on a pseudo-terminal they raise, and the ATM's
maintenance port does not use them. pyserial's exceptions become LinkError subclasses here.
"""

from __future__ import annotations

import errno
import select
import time

import serial

from custodian_app.link.errors import LinkClosed, LinkTimeout, PortError


class SerialTransport:
    def __init__(self, url: str, baud: int = 115200, *, write_timeout: float = 5.0) -> None:
        self.url = url
        self.baud = baud
        self.write_timeout = write_timeout
        self._port: serial.SerialBase | None = None
        self._fd: int | None = None
        self.bytes_in = 0
        self.bytes_out = 0

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def open(self) -> None:
        if self._port is not None:
            return
        try:
            port = serial.serial_for_url(
                self.url, baudrate=self.baud, timeout=0, write_timeout=self.write_timeout, exclusive=True
            )
        except FileNotFoundError as exc:
            raise PortError(
                f"serial port {self.url} does not exist; check the cable and the "
                "port name (custodian-app ports lists them)"
            ) from exc
        except serial.SerialException as exc:
            text = str(exc)
            if "exclusively lock" in text or getattr(exc, "errno", None) in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise PortError(
                    f"serial port {self.url} is in use by another program; close it and retry"
                ) from exc
            if getattr(exc, "errno", None) == errno.ENOENT or "No such file" in text:
                raise PortError(
                    f"serial port {self.url} does not exist; check the cable and the "
                    "port name (custodian-app ports lists them)"
                ) from exc
            if getattr(exc, "errno", None) == errno.EACCES or "Permission denied" in text:
                raise PortError(
                    f"no permission to open {self.url}; ask IT to add this user to the "
                    "serial port group (dialout)"
                ) from exc
            raise PortError(f"cannot open serial port {self.url}: {text}") from exc
        except (OSError, ValueError) as exc:
            raise PortError(f"cannot open serial port {self.url}: {exc}") from exc
        self._port = port
        try:
            self._fd = port.fileno()
        except Exception:  # URL handlers (loop://, socket://) have no file descriptor
            self._fd = None

    def _require(self) -> serial.SerialBase:
        if self._port is None:
            raise LinkClosed(f"the serial port {self.url} is not open")
        return self._port

    def _lost(self, exc: OSError) -> LinkClosed:
        """The error for a port that failed in use, for read and write alike."""
        hint = "; check the cable, then retry" if isinstance(exc, serial.SerialException) else ""
        return LinkClosed(f"the connection to the ATM on {self.url} was lost ({exc}){hint}")

    def read(self, timeout: float) -> bytes:
        """Whatever has arrived, waiting up to ``timeout`` seconds for the first byte."""
        port = self._require()
        try:
            data = port.read(port.in_waiting or 1)
            if not data and timeout > 0:
                if self._fd is not None:
                    ready, _, _ = select.select([self._fd], [], [], timeout)
                    if ready:
                        data = port.read(port.in_waiting or 1)
                else:
                    end = time.monotonic() + timeout
                    while not data and time.monotonic() < end:
                        time.sleep(0.002)
                        data = port.read(port.in_waiting or 1)
            if data and port.in_waiting:
                data += port.read(port.in_waiting)
        except OSError as exc:  # pyserial's SerialException is an OSError too
            raise self._lost(exc) from exc
        self.bytes_in += len(data)
        return bytes(data)

    def write(self, data: bytes) -> None:
        port = self._require()
        try:
            port.write(data)
        except serial.SerialTimeoutException as exc:
            raise LinkTimeout(f"writing to {self.url} timed out; the line is blocked") from exc
        except OSError as exc:  # pyserial's SerialException is an OSError too
            raise self._lost(exc) from exc
        self.bytes_out += len(data)

    def set_baud(self, baud: int) -> None:
        port = self._require()
        try:
            port.baudrate = baud
        except (serial.SerialException, ValueError, OSError) as exc:
            raise PortError(f"cannot switch {self.url} to {baud} baud: {exc}") from exc
        self.baud = baud

    def close(self) -> None:
        port, self._port, self._fd = self._port, None, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass  # closing a port that already went away

    def __enter__(self) -> SerialTransport:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
