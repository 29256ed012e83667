"""The backend commands: fetch-host, simulate-host, import-host. See custodian_app.cli.main.

Exit status: 0 ok; 2 usage, invalid input or a refused reply (token, ids, hostile content);
3 the backend cannot be reached (network, timeout, TLS, repeated server errors).
"""

from __future__ import annotations

import argparse
import os
import sys

from custodian_app.cli.common import EXIT_LINK, EXIT_OK, EXIT_USAGE, cannot_write, fail, until_stopped

TOKEN_ENV = "CUSTODIAN_BACKEND_TOKEN"
URL_ENV = "CUSTODIAN_BACKEND_URL"


def register(sub) -> None:
    """Add this group's commands to the custodian-app parser."""
    p = sub.add_parser(
        "fetch-host",
        help="fetch the backend's ledger (host-ledger/1) for a terminal's cycle",
        description="Fetch the bank backend's ledger for one terminal's clearing cycle over HTTPS, "
        "validate it whole, and write it as host-ledger/1. Exit status: 0 ok, 2 usage "
        "or a refused reply, 3 the backend cannot be reached.",
    )
    p.add_argument(
        "--url",
        help="the backend's base URL, e.g. https://backend.bank.example:8443 "
        f"(default: env {URL_ENV}, then the settings' backend.url)",
    )
    p.add_argument("--terminal", required=True, metavar="ID", help="the terminal id, as the ATM reports it")
    p.add_argument(
        "--cycle", required=True, metavar="ID", help="the clearing cycle id, as the ATM reports it"
    )
    p.add_argument(
        "--token",
        help=f"the bearer token; better from the environment ({TOKEN_ENV}) or "
        "the settings, which other users cannot see in the process list",
    )
    p.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help="PEM file of the CA certificate(s) to trust "
        "for the backend (default: the settings' "
        "backend.ca_bundle, else the system's)",
    )
    p.add_argument(
        "--client-cert", metavar="FILE", help="PEM client certificate, for a backend that wants mutual TLS"
    )
    p.add_argument("--client-key", metavar="FILE", help="its PEM key (if not in the certificate file)")
    p.add_argument("--currency", metavar="CODE", help="refuse a ledger in another currency (the ATM's)")
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="seconds per request (default: the settings' backend.timeout)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=3,
        metavar="N",
        help="retries on connection errors and server errors (3)",
    )
    p.add_argument("--page-size", type=int, default=5000, metavar="N", help="records per page (5000)")
    p.add_argument("--out", required=True, metavar="HOST.json", help="where to write the ledger")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=fetch_host)

    p = sub.add_parser(
        "host-health",
        help="check the backend connection: URL, certificate and token",
        description="Ask the backend's health endpoint, as the settings page's Test button does: "
        "checks the URL, the TLS certificate (and client certificate) and the token. "
        "Exit status: 0 ok, 2 token refused or not the clearing interface, 3 unreachable.",
    )
    p.add_argument("--url", help=f"the backend's base URL (default: env {URL_ENV}, then the settings)")
    p.add_argument("--token", help=f"the bearer token (default: env {TOKEN_ENV}, then the settings)")
    p.add_argument("--ca-bundle", metavar="FILE", help="PEM CA certificate(s) to trust")
    p.add_argument("--client-cert", metavar="FILE", help="PEM client certificate (mutual TLS)")
    p.add_argument("--client-key", metavar="FILE", help="its PEM key")
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="seconds (default: settings)")
    p.add_argument("--retries", type=int, default=0, metavar="N", help="retries (0)")
    p.set_defaults(func=host_health)

    p = sub.add_parser(
        "simulate-host",
        help="serve host-ledger/1 files as the bank backend (for tests and demos)",
        description="Serve the backend's clearing interface (/v1) on 127.0.0.1 from host-ledger/1 "
        "files until Ctrl-C. Prints the base URL on stdout when ready.",
    )
    p.add_argument(
        "--ledger",
        action="append",
        required=True,
        metavar="HOST.json",
        help="a host-ledger/1 file or settlement CSV to serve (repeatable)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    p.add_argument("--token", help="require this bearer token")
    p.add_argument("--page-size", type=int, default=None, metavar="N", help="largest page served (1000)")
    p.add_argument("--slow", type=float, default=0.0, metavar="S", help="delay every reply by S seconds")
    p.add_argument("--slow-first", type=int, default=None, metavar="N", help="... only the first N")
    p.add_argument(
        "--fail-first", type=int, default=0, metavar="N", help="answer 500 to the first N requests"
    )
    p.add_argument(
        "--fail-rate", type=float, default=0.0, metavar="P", help="then answer 500 with probability P"
    )
    p.add_argument(
        "--drop-first",
        type=int,
        default=0,
        metavar="N",
        help="close the connection of the first N requests without a reply",
    )
    p.add_argument("--truncate", action="store_true", help="cut every ledger reply in half")
    p.add_argument(
        "--cut-first",
        type=int,
        default=0,
        metavar="N",
        help="the first N ledger replies lose their connection halfway through the body",
    )
    p.add_argument("--tls-cert", metavar="CERT", help="serve HTTPS with this PEM certificate (chain)")
    p.add_argument("--tls-key", metavar="KEY", help="... and this PEM key")
    p.add_argument(
        "--tls-client-ca", metavar="CA", help="require client certificates signed by this PEM CA (mutual TLS)"
    )
    p.set_defaults(func=simulate_host)

    p = sub.add_parser(
        "import-host",
        help="import the backend's settlement file (host-ledger/1 JSON or settlement CSV)",
        description="Read the backend's settlement file for a terminal's cycle (host-ledger/1 JSON, "
        "or the settlement CSV of docs/backend-api.md in UTF-8 or GB18030) and write it "
        "as host-ledger/1. A bad row is reported with its line; nothing is written then.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--terminal", metavar="ID", help="the terminal id, if the file does not say it")
    p.add_argument("--cycle", metavar="ID", help="the cycle id, if the file does not say it")
    p.add_argument("--currency", metavar="CODE", help="the currency, if the file does not say it")
    p.add_argument("--out", required=True, metavar="HOST.json", help="where to write the ledger")
    p.set_defaults(func=import_host)


def _backend_failure(command: str, exc: Exception) -> int:
    """Report a BackendError: exit 3 when the backend could not be reached or kept failing,
    2 when it answered and refused (token, ids, a bad reply)."""
    from custodian_app.backend.errors import BackendServerError, BackendUnreachable

    status = EXIT_LINK if isinstance(exc, (BackendUnreachable, BackendServerError)) else EXIT_USAGE
    return fail(exc, status, command=command)


def _client(command: str, args: argparse.Namespace):
    """A BackendClient from the options, then the environment, then the application's settings
    (so a script talks to the backend exactly as the application would). Returns (client, None)
    or (None, exit status) after printing why."""
    from custodian_app.backend.client import BackendClient
    from custodian_app.backend.errors import BackendError
    from custodian_app.domain.errors import CustodianError

    url, token, ca_bundle, timeout = args.url, args.token, args.ca_bundle, args.timeout
    url = url or os.environ.get(URL_ENV) or None
    token = token if token is not None else os.environ.get(TOKEN_ENV) or None
    try:
        from custodian_app.settings.config import load_settings

        settings = load_settings()
    except CustodianError as exc:
        if url is None:
            return None, fail(f"cannot read the settings ({exc}); give --url", command=command)
    else:
        url = url or settings.backend_url or None
        timeout = timeout if timeout is not None else settings.backend_timeout
        if url == settings.backend_url:  # the configured token goes only to its own backend
            token = token if token is not None else settings.backend_token or None
            ca_bundle = ca_bundle or settings.backend_ca_bundle or None
    if not url:
        return None, fail(f"give the backend URL with --url, {URL_ENV} or the settings", command=command)
    options = {"page_size": args.page_size} if getattr(args, "page_size", None) else {}
    try:
        return BackendClient(
            url,
            token=token,
            ca_bundle=ca_bundle,
            timeout=timeout if timeout is not None else 10.0,
            retries=args.retries,
            client_cert=args.client_cert,
            client_key=args.client_key,
            **options,
        ), None
    except (BackendError, ValueError) as exc:
        return None, fail(exc, command=command)


def fetch_host(args: argparse.Namespace) -> int:
    from custodian_app.backend.errors import BackendError
    from custodian_app.domain import formats
    from custodian_app.support import files

    client, status = _client("fetch-host", args)
    if client is None:
        return status
    try:
        ledger = client.fetch_ledger(args.terminal, args.cycle, expect_currency=args.currency)
    except BackendError as exc:
        return _backend_failure("fetch-host", exc)
    try:
        files.write_document(args.out, formats.host_ledger_to_dict(ledger))
    except OSError as exc:
        return fail(cannot_write(args.out, exc), command="fetch-host")
    if not args.quiet:
        print(
            f"{ledger.terminal_id} {ledger.cycle_id}: {len(ledger.transactions)} backend record(s) "
            f"written to {args.out}"
        )
    return EXIT_OK


def host_health(args: argparse.Namespace) -> int:
    from custodian_app.backend.errors import BackendError

    client, status = _client("host-health", args)
    if client is None:
        return status
    try:
        health = client.health()
    except BackendError as exc:
        return _backend_failure("host-health", exc)
    token = {True: "accepted", False: "not sent", None: "not required"}[health.authenticated]
    print(
        f"{client.base_url}: {health.status}, interface v{health.api_version}, token {token}"
        + (f", server time {health.server_time}" if health.server_time else "")
    )
    return EXIT_OK if health.status == "ok" else EXIT_LINK


def simulate_host(args: argparse.Namespace) -> int:

    from custodian_app.backend.errors import BackendError
    from custodian_app.backend.simulator import DEFAULT_PAGE_SIZE, BackendSimulator, Faults, tls_context
    from custodian_app.domain.formats import FormatError

    if bool(args.tls_cert) != bool(args.tls_key):
        return fail("give both --tls-cert and --tls-key, or neither", command="simulate-host")
    faults = Faults(
        delay=args.slow,
        delay_first=args.slow_first,
        fail_first=args.fail_first,
        fail_rate=args.fail_rate,
        drop_first=args.drop_first,
        truncate=args.truncate,
        cut_first=args.cut_first,
    )
    try:
        if args.tls_client_ca and not args.tls_cert:
            return fail("--tls-client-ca needs --tls-cert and --tls-key", command="simulate-host")
        ssl_context = (
            tls_context(args.tls_cert, args.tls_key, client_ca=args.tls_client_ca) if args.tls_cert else None
        )
        sim = BackendSimulator(
            args.ledger,
            host=args.host,
            port=args.port,
            token=args.token,
            page_size=args.page_size or DEFAULT_PAGE_SIZE,
            ssl_context=ssl_context,
            faults=faults,
        )
        url = sim.start()
    except (FormatError, BackendError, ValueError) as exc:
        return fail(exc, command="simulate-host")
    with until_stopped() as stop:
        try:
            print(url, flush=True)
            print(
                f"serving {len(args.ledger)} ledger(s) at {url}; Ctrl-C to stop", file=sys.stderr, flush=True
            )
            while not stop.wait(1.0):
                pass
        finally:
            sim.stop()
    print(f"stopped after {len(sim.requests)} request(s)", file=sys.stderr)
    return EXIT_OK


def import_host(args: argparse.Namespace) -> int:
    from custodian_app.backend.errors import SettlementError
    from custodian_app.backend.settlement import import_settlement
    from custodian_app.domain import formats
    from custodian_app.support import files

    try:
        ledger = import_settlement(
            args.file, terminal_id=args.terminal, cycle_id=args.cycle, currency=args.currency
        )
    except SettlementError as exc:
        return fail(exc, command="import-host")
    try:
        files.write_document(args.out, formats.host_ledger_to_dict(ledger))
    except OSError as exc:
        return fail(cannot_write(args.out, exc), command="import-host")
    print(
        f"{ledger.terminal_id} {ledger.cycle_id}: {len(ledger.transactions)} backend record(s) "
        f"imported from {args.file} and written to {args.out}"
    )
    return EXIT_OK
