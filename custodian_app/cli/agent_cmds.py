"""``custodian-app atm-agent``: the ATM side of the maintenance port, on the ATM's own PC,
served from its XFS4IoT service, electronic journal and FSN files (docs/agent.md)."""

from __future__ import annotations

import sys

from custodian_app.cli.common import EXIT_LINK, EXIT_OK, EXIT_USAGE, fail


def register(sub) -> None:
    """Add this group's commands to the custodian-app parser."""
    from custodian_app.cli.link_cmds import _baud

    p = sub.add_parser(
        "atm-agent",
        help="serve the maintenance port on the ATM's PC from XFS4IoT, the journal and FSN",
        description="Run on the ATM's own PC: serve the maintenance-port protocol on a serial port "
        "(COM3, /dev/ttyS0) to the branch PC's custodian-app, with the unit counters from "
        "the ATM's XFS4IoT service, the ledger from its electronic journal and the "
        "banknote serials from its FSN files; the new cycle is loaded through the "
        "XFS4IoT exchange. A source that is lost is named in the status the branch PC "
        "shows; the rest is still served. Stops on Ctrl-C or SIGTERM. "
        "Exit status: 0 stopped, 2 usage, 3 the port failed.",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--port", metavar="DEVICE", help="the serial port: COM3 on Windows, /dev/ttyS0 on Linux"
    )
    where.add_argument(
        "--link", metavar="PATH", help="make a pseudo-terminal and a symlink to it at PATH (tests, the demo)"
    )
    p.add_argument("--baud", type=_baud, default=115200, metavar="N", help="line speed (default 115200)")
    p.add_argument(
        "--xfs4iot",
        metavar="URL",
        help="the ATM's XFS4IoT service publisher, e.g. wss://localhost:5846/xfs4iot/v1.0",
    )
    p.add_argument(
        "--ca-bundle", metavar="F", help="PEM file of the CA that signed the service's certificate"
    )
    p.add_argument(
        "--xfs4iot-style",
        choices=("2021", "2023"),
        default=None,
        help="header style of the XFS4IoT messages sent (default 2023)",
    )
    p.add_argument(
        "--xfs4iot-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds an XFS4IoT command may take (default 10)",
    )
    p.add_argument("--journal", metavar="DIR", help="the folder of the electronic journal files")
    p.add_argument(
        "--dialect", metavar="NAME", help="the journal's dialect: ncr, hyosung, grg, or a bank's own"
    )
    p.add_argument(
        "--accept-gaps",
        action="store_true",
        help="serve the ledger although some journal lines match no rule (listed in the ledger)",
    )
    p.add_argument("--fsn", metavar="DIR", help="the folder of the FSN banknote serial files")
    p.add_argument("--terminal-id", metavar="ID", help="the terminal, when the journal does not name it")
    p.add_argument(
        "--check-interval",
        type=float,
        default=5.0,
        metavar="S",
        help="how often the sources are checked in the background (default 5 s)",
    )
    p.add_argument(
        "--polled",
        action="store_true",
        help="look at the port every 2 ms instead of waiting on it (always so on Windows)",
    )
    p.set_defaults(func=run_agent)


def run_agent(args) -> int:
    import os
    import signal
    import threading

    from custodian_app.agent.real import AtmPcSource
    from custodian_app.journal import JournalError
    from custodian_app.link.errors import LinkError
    from custodian_app.link.simulator import AtmSimulator
    from custodian_app.settings.config import SettingsError, load_settings

    if bool(args.journal) != bool(args.dialect):
        return fail("--journal and --dialect go together: the journal folder and its dialect", EXIT_USAGE)
    if args.ca_bundle and not args.xfs4iot:
        return fail("--ca-bundle belongs to --xfs4iot", EXIT_USAGE)
    if args.check_interval <= 0 or args.xfs4iot_timeout <= 0:
        return fail("--check-interval and --xfs4iot-timeout must be more than 0 seconds", EXIT_USAGE)
    try:
        success = load_settings().success_code_set()
    except SettingsError as exc:
        return fail(str(exc), EXIT_USAGE)
    try:
        source = AtmPcSource(
            xfs4iot_url=args.xfs4iot,
            ca_bundle=args.ca_bundle,
            journal_dir=args.journal,
            dialect=args.dialect,
            fsn_dir=args.fsn,
            terminal_id=args.terminal_id,
            success_codes=success,
            accept_gaps=args.accept_gaps,
            check_interval=args.check_interval,
            xfs_timeout=args.xfs4iot_timeout,
            xfs_style=args.xfs4iot_style,
        )
    except (JournalError, ValueError) as exc:
        return fail(f"cannot start the agent: {exc}", EXIT_USAGE)
    agent = AtmSimulator(source, baud=args.baud, polled=args.polled or os.name == "nt")
    stop = threading.Event()
    old = signal.signal(signal.SIGTERM, lambda _s, _f: stop.set())
    try:
        try:
            if args.link:
                where = agent.start_on_pty(link=args.link)
            else:
                agent.serve_device(args.port)
                where = args.port
        except (LinkError, OSError) as exc:
            return fail(f"cannot open the maintenance port: {exc}", EXIT_LINK)
        states = ", ".join(f"{n} {s.state}" for n, s in source.states().items())
        print(
            f"ATM agent on {where} ({agent.device}) at {args.baud} baud; sources: {states}; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        try:
            while not stop.wait(0.2):
                if agent.wait(0):
                    break
        except KeyboardInterrupt:
            pass
    finally:
        signal.signal(signal.SIGTERM, old)
        agent.stop()
    if agent.error is not None:
        return fail(f"the agent failed: {agent.error}", EXIT_LINK)
    return EXIT_OK
