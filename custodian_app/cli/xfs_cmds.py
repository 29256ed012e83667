"""The XFS4IoT commands: simulate-xfs4iot, xfs4iot-read. See custodian_app.cli.main.

Exit status: 0 ok; 2 usage, invalid input, a refused or failed command; 3 the XFS4IoT service
cannot be reached (connection, TLS, timeout, socket dropped).
"""

from __future__ import annotations

import argparse
import sys

from custodian_app.cli.common import EXIT_LINK, EXIT_OK, EXIT_USAGE, cannot_write, fail, until_stopped


def register(sub) -> None:
    """Add this group's commands to the custodian-app parser."""
    p = sub.add_parser(
        "simulate-xfs4iot",
        help="serve an ATM ledger's cash units as an XFS4IoT service (for tests and demos)",
        description="Serve the XFS4IoT service publisher, a cash service (Storage, "
        "CashManagement) and a card reader on 127.0.0.1, the cash units taken from "
        "an atm-ledger/1 file, until Ctrl-C. Prints the publisher's URL on stdout "
        "when ready.",
    )
    p.add_argument(
        "--ledger", required=True, metavar="ATM.json", help="the atm-ledger/1 file whose units to serve"
    )
    p.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    p.add_argument(
        "--style",
        choices=("2021", "2023"),
        default="2023",
        help="message header style: 2021 (completion code in the payload) or 2023 "
        "(version and completion code in the header); default 2023",
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="COMMAND=FAULT",
        help="make a command misbehave: FAULT is no-answer, deaf, hardware-error, "
        "drop, slow, refuse or garbage; COMMAND a name such as Storage.GetStorage, or * (repeatable)",
    )
    p.add_argument(
        "--slow",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds a 'slow' command waits before completing (2)",
    )
    p.add_argument("--tls-cert", metavar="FILE", help="serve wss:// with this PEM certificate")
    p.add_argument("--tls-key", metavar="FILE", help="its PEM key")
    p.set_defaults(func=simulate_xfs4iot)

    p = sub.add_parser(
        "xfs4iot-read",
        help="read the ATM's cash units from its XFS4IoT service into atm-ledger/1 units",
        description="Find the cash service through the XFS4IoT service publisher, read its "
        "storage units (Storage.GetStorage) and write them as atm-ledger/1 units, "
        "with what the ATM says of each count. Exit status: 0 ok, 2 a refused or "
        "failed command, 3 the service cannot be reached.",
    )
    p.add_argument(
        "--url", required=True, help="the service publisher, e.g. wss://atm-nj-0001:5846/xfs4iot/v1.0"
    )
    p.add_argument("--out", required=True, metavar="UNITS.json", help="where to write the units")
    p.add_argument("--ca-bundle", metavar="FILE", help="PEM CA certificate(s) to trust for wss://")
    p.add_argument(
        "--style",
        choices=("2021", "2023"),
        default="2023",
        help="header style of the commands sent (2023); replies of either style are read",
    )
    p.add_argument("--currency", metavar="CODE", help="the currency of units that name none (mixed bins)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S", help="seconds per command (10)")
    p.set_defaults(func=xfs4iot_read)


def simulate_xfs4iot(args: argparse.Namespace) -> int:
    import ssl

    from custodian_app.domain import formats
    from custodian_app.support import files
    from custodian_app.xfs4iot.simulator import SimulatorThread

    name = "simulate-xfs4iot"
    faults = {}
    for spec in args.fault:
        command, sep, fault = spec.partition("=")
        if not sep or not command:
            return fail(
                f"--fault {spec!r}: write COMMAND=FAULT, e.g. Storage.GetStorage=no-answer", command=name
            )
        faults[command] = fault
    if bool(args.tls_cert) != bool(args.tls_key):
        return fail("give both --tls-cert and --tls-key, or neither", command=name)
    try:
        ledger = files.read_atm_ledger(args.ledger)
        ctx = None
        if args.tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(args.tls_cert, args.tls_key)
        units = formats.atm_ledger_to_dict(ledger)["units"]
        sim = SimulatorThread(
            units, style=args.style, port=args.port, ssl_context=ctx, faults=faults, slow_seconds=args.slow
        ).start()
    except (formats.FormatError, ValueError, OSError, ssl.SSLError) as exc:
        return fail(exc, command=name)
    with until_stopped() as stop:
        try:
            print(sim.publisher_url, flush=True)
            print(
                f"serving {len(units)} unit(s) of {args.ledger} at {sim.publisher_url}; Ctrl-C to stop",
                file=sys.stderr,
                flush=True,
            )
            while not stop.wait(1.0):
                pass
        finally:
            sim.stop()
    print(f"stopped after {len(sim.simulator.received)} command(s)", file=sys.stderr)
    return EXIT_OK


def xfs4iot_read(args: argparse.Namespace) -> int:
    from custodian_app.support import files
    from custodian_app.xfs4iot.client import XfsStorageClient
    from custodian_app.xfs4iot.errors import (
        XfsConnectionLost,
        XfsError,
        XfsTimeout,
        XfsUnreachable,
    )

    name = "xfs4iot-read"
    try:
        with XfsStorageClient(
            args.url, style=args.style, timeout=args.timeout, ca_bundle=args.ca_bundle, currency=args.currency
        ) as xfs:
            readings = xfs.read_storage()
            service = xfs.service_url
    except (XfsUnreachable, XfsTimeout, XfsConnectionLost) as exc:
        return fail(exc, EXIT_LINK, command=name)
    except XfsError as exc:
        return fail(exc, EXIT_USAGE, command=name)
    doc = {
        "units": [r.unit for r in readings],
        "xfs4iot": {
            "publisher": args.url,
            "service": service,
            "units": {
                r.unit["id"]: {
                    "name": r.name,
                    "accuracy": r.accuracy,
                    "status": r.status,
                    "replenishmentStatus": r.replenishment_status,
                    "derivedCount": r.derived_count,
                    "countTrusted": r.count_trusted,
                    "untrusted": list(r.untrusted),
                }
                for r in readings
            },
        },
    }
    try:
        files.write_document(args.out, doc)
    except OSError as exc:
        return fail(cannot_write(args.out, exc), command=name)
    doubtful = [r.unit["id"] for r in readings if not r.count_trusted]
    print(
        f"{len(readings)} unit(s) read from {service}"
        + (f"; count note by note: {', '.join(doubtful)}" if doubtful else "")
    )
    return EXIT_OK
