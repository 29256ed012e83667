"""What goes wrong on the simulated line, and what the simulator counted."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Faults:
    """What goes wrong on the simulated line. Byte counts are bytes the ATM has sent."""

    corrupt: float = 0.0  # probability that a byte (either direction) is flipped
    drop: float = 0.0  # probability that a byte (either direction) is lost
    stall_after: int | None = None  # go silent once, after this many bytes...
    stall_seconds: float = 2.0  # ...for this long
    disconnect_after: int | None = None  # pull the cable once, after this many bytes...
    down_seconds: float = 0.5  # ...and put it back after this long
    reboot_after: int | None = None  # reboot once (session lost, same cycle)
    reboot_seconds: float = 0.3
    mid_frame: bool = False  # the cable pull or reboot waits until it cuts a frame in two
    seed: int = 0


@dataclass(slots=True)
class SimStats:
    bytes_out: int = 0
    bytes_in: int = 0
    sessions: int = 0
    refusals: int = 0
    commands: int = 0
    corrupted: int = 0
    dropped: int = 0
    stalls: int = 0
    disconnects: int = 0
    reboots: int = 0
    nosessions: int = 0  # NOSESSION answers sent (an application slow to notice gets many)
    bad_messages: int = 0
    broken_sessions: int = 0  # sessions dropped because their stream could not be read
    cancelled: int = 0
    exchanges: int = 0
    names: list[str] = field(default_factory=list)
    cursors: list[tuple[str, int]] = field(default_factory=list)  # (read command, cursor asked)
