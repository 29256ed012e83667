"""The serial ports of this computer, for the port chooser and ``custodian-app ports``."""

from __future__ import annotations


def list_ports() -> list[tuple[str, str]]:
    """(device, description) of every serial port pyserial sees, sorted by device.

    USB adapters show their product name (e.g. "USB-Serial Controller"); a port pyserial knows
    nothing about is described as "n/a"."""
    from serial.tools import list_ports as _lp

    out = []
    for info in _lp.comports():
        desc = info.description or "n/a"
        if info.manufacturer and info.manufacturer not in desc:
            desc = f"{desc} ({info.manufacturer})"
        out.append((info.device, desc))
    return sorted(out)
