"""ATM link commands: ``read-atm``, ``ports``, ``simulate-atm``. See custodian_app.cli.main."""

from __future__ import annotations

import argparse
import sys

from custodian_app.cli.common import EXIT_LINK, EXIT_OK, cannot_write, fail


def register(sub) -> None:
    """Add this group's commands to the custodian-app parser."""
    p = sub.add_parser(
        "read-atm",
        help="read the ATM's ledger over its maintenance port into an atm-ledger/1 file",
        description="Read the current cycle (totals, units, transactions, banknote records) "
        "from the ATM's maintenance port and write it as atm-ledger/1. "
        "Progress goes to standard error; nothing is written if the read fails. "
        "Exit status: 0 ok, 2 usage, 3 link failure.",
    )
    p.add_argument(
        "--port", required=True, metavar="DEVICE", help="serial device or pyserial URL, e.g. /dev/ttyUSB0"
    )
    p.add_argument(
        "--baud",
        type=_baud,
        default=None,
        metavar="N",
        help="line speed (default: serial.baud of the settings, normally 115200)",
    )
    p.add_argument("--out", required=True, metavar="ATM.json", help="where to write the ledger")
    p.add_argument("--no-notes", action="store_true", help="skip the banknote records (冠字号)")
    p.add_argument(
        "--max-frame",
        type=_frame_size,
        default=4096,
        metavar="N",
        help="largest frame to offer, 128 to 65535 (default 4096; smaller on a noisy line)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="give up reconnecting after S seconds without the ATM (default 30)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress on standard error")
    p.set_defaults(func=read_atm)

    p = sub.add_parser(
        "ports",
        help="list the serial ports of this computer",
        description="List serial ports with their descriptions (device, tab, description).",
    )
    p.set_defaults(func=ports)

    p = sub.add_parser(
        "simulate-atm",
        help="play an ATM on a serial port or pseudo-terminal, from an atm-ledger/1 file",
        description="Serve the ATM side of the maintenance-port protocol from an atm-ledger/1 "
        "file until interrupted. Output is paced to the line speed (8N1).",
    )
    p.add_argument("--ledger", required=True, metavar="ATM.json", help="the atm-ledger/1 to serve")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--port", metavar="DEVICE", help="an existing serial device or pty end (e.g. from socat)"
    )
    where.add_argument("--link", metavar="PATH", help="create a pseudo-terminal and a symlink to it at PATH")
    p.add_argument(
        "--baud", type=_baud, default=115200, metavar="N", help="line speed to pace at (default 115200)"
    )
    p.add_argument(
        "--no-pace",
        action="store_true",
        help="send as fast as the pty takes it instead of at the line speed (demos)",
    )
    p.add_argument(
        "--corrupt", type=_probability, default=0.0, metavar="P", help="flip each byte with probability P"
    )
    p.add_argument(
        "--drop", type=_probability, default=0.0, metavar="P", help="lose each byte with probability P"
    )
    p.add_argument("--stall-after", type=_count, metavar="N", help="go silent once after sending N bytes")
    p.add_argument(
        "--stall-seconds", type=float, default=2.0, metavar="S", help="how long a stall lasts (default 2)"
    )
    p.add_argument("--disconnect-after", type=_count, metavar="N", help="pull the cable once after N bytes")
    p.add_argument(
        "--down-seconds", type=float, default=0.5, metavar="S", help="how long the cable stays out"
    )
    p.add_argument("--reboot-after", type=_count, metavar="N", help="reboot once after N bytes (same cycle)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the fault dice")
    p.add_argument(
        "--page-size", type=_count, default=500, metavar="N", help="records per page (default 500)"
    )
    p.set_defaults(func=simulate_atm)


def _baud(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a line speed: {text!r}") from None
    if not 50 <= value <= 20_000_000:
        raise argparse.ArgumentTypeError(f"line speed {value} is out of range (50 to 20000000)")
    return value


def _frame_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a frame size: {text!r}") from None
    if not 128 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"frame size {value} must be from 128 to 65535")
    return value


def _probability(text: str) -> float:
    try:
        value = float(text)  # a probability, not money
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a probability: {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"probability {value} must be from 0 up to (not including) 1")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


class _Progress:
    """One line on standard error, rewritten in place when it is a terminal."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.last = ""

    def __call__(self, nbytes: int, done: int, total: int, eta: float | None) -> None:
        if self.quiet:
            return
        pct = 100 * done // total if total else 100
        left = "" if eta is None else f", about {eta:.0f} s left"
        line = f"read {done}/{total} records ({pct}%), {nbytes} bytes{left}"
        if line == self.last:
            return
        self.last = line
        if self.tty:
            print("\r" + line.ljust(70), end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.tty and not self.quiet and self.last:
            print(file=sys.stderr)


def read_atm(args) -> int:
    import os

    from custodian_app.domain.formats import atm_ledger_to_dict
    from custodian_app.link.client import AtmClient
    from custodian_app.link.errors import LinkError
    from custodian_app.support.files import write_document

    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        return fail(f"cannot write {args.out}: the folder {folder} does not exist or is not writable")
    if args.baud is None:
        args.baud = _settings_baud()
    progress = _Progress(args.quiet)
    try:
        with AtmClient(
            args.port, baud=args.baud, reconnect_timeout=args.timeout, max_frame=args.max_frame
        ) as atm:
            status = atm.connect()
            if not args.quiet:
                print(
                    f"ATM {status.terminal_id}, cycle {status.cycle_id} ({status.cycle_state}), "
                    f"{status.transaction_count} transactions, {status.note_count} banknote records; "
                    f"protocol {status.protocol_version}, {status.compression}",
                    file=sys.stderr,
                )
            for source in status.troubled_sources:  # the agent lost one of its sources: say so always
                print(
                    f"the ATM agent reports: {source.english or source.name + ' ' + source.state}",
                    file=sys.stderr,
                )
            ledger = atm.read_ledger(progress=progress, notes=not args.no_notes)
    except LinkError as exc:
        progress.done()
        return fail(f"reading the ATM failed: {exc}", EXIT_LINK)
    progress.done()
    try:
        write_document(args.out, atm_ledger_to_dict(ledger))
    except OSError as exc:
        return fail(cannot_write(args.out, exc))
    if not args.quiet:
        print(
            f"wrote {args.out}: {len(ledger.transactions)} transactions, "
            f"{len(ledger.notes or ())} banknote records",
            file=sys.stderr,
        )
    return EXIT_OK


def _settings_baud() -> int:
    """The line speed the settings name (serial.baud); 115200 if they cannot be read."""
    from custodian_app.domain.errors import CustodianError
    from custodian_app.settings.config import load_settings

    try:
        return int(load_settings().serial_baud) or 115200
    except (CustodianError, OSError, ValueError, TypeError):
        return 115200


def ports(args) -> int:
    from custodian_app.link.ports import list_ports

    found = list_ports()
    if not found:
        print("no serial ports found", file=sys.stderr)
    for device, description in found:
        print(f"{device}\t{description}")
    return EXIT_OK


def simulate_atm(args) -> int:
    import signal
    import threading

    from custodian_app.domain.formats import FormatError
    from custodian_app.link.errors import LinkError
    from custodian_app.link.simulator import AtmSimulator, Faults
    from custodian_app.support.files import read_atm_ledger

    try:
        ledger = read_atm_ledger(args.ledger)
    except FormatError as exc:
        return fail(exc)
    faults = Faults(
        corrupt=args.corrupt,
        drop=args.drop,
        stall_after=args.stall_after,
        stall_seconds=args.stall_seconds,
        disconnect_after=args.disconnect_after,
        down_seconds=args.down_seconds,
        reboot_after=args.reboot_after,
        seed=args.seed,
    )
    sim = AtmSimulator(ledger, baud=args.baud, faults=faults, page_size=args.page_size, pace=not args.no_pace)
    stop = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()

    old = signal.signal(signal.SIGTERM, on_signal)
    try:
        try:
            if args.link:
                where = sim.start_on_pty(link=args.link)
            else:
                sim.serve_device(args.port)
                where = args.port
        except (LinkError, OSError) as exc:
            return fail(f"cannot start the simulator: {exc}", EXIT_LINK)
        print(
            f"simulating ATM {ledger.terminal_id}, cycle {ledger.cycle_id}, on {where} "
            f"({sim.device}) at {args.baud} baud; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        try:
            while not stop.wait(0.2):
                if sim.wait(0):
                    break
        except KeyboardInterrupt:
            pass
    finally:
        signal.signal(signal.SIGTERM, old)
        sim.stop()
    if sim.error is not None:
        return fail(f"the simulator failed: {sim.error}", EXIT_LINK)
    return EXIT_OK
