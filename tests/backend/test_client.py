"""The backend client against the real simulator on loopback: content, faults, errors, TLS."""

from __future__ import annotations

import logging
import threading
import time

import orjson
import pytest

from custodian_app.backend.client import BackendClient
from custodian_app.backend.errors import (
    BackendAuthError,
    BackendCancelled,
    BackendError,
    BackendMismatch,
    BackendNotFound,
    BackendReplyError,
    BackendRequestError,
    BackendServerError,
    BackendTimeout,
    BackendTLSError,
    BackendUnreachable,
)
from custodian_app.backend.simulator import BackendSimulator, Faults, tls_context
from custodian_app.domain import formats
from custodian_app.domain.errors import CustodianError

from .conftest import TOKEN, make_ledger

LEDGER_PATH = "/v1/terminals/NJ-0001/cycles/NJ-0001-20261120/ledger"
T, C = "NJ-0001", "NJ-0001-20261120"


def client(sim: BackendSimulator, **options) -> BackendClient:
    options.setdefault("token", TOKEN)
    options.setdefault("backoff", 0.01)
    options.setdefault("timeout", 5.0)
    return BackendClient(sim.base_url, **options)


# ------------------------------------------------------------------------------ content


def test_fetched_ledger_equals_the_served_file(simulator, ledger, tmp_path):
    path = tmp_path / "host.json"
    path.write_bytes(formats.dumps(formats.host_ledger_to_dict(ledger), indent=True))
    sim = simulator([path])
    got = client(sim).fetch_ledger(T, C)
    assert got == ledger
    assert formats.dumps(formats.host_ledger_to_dict(got), indent=True) == path.read_bytes()
    assert sim.request_count(LEDGER_PATH) == 1


def test_a_large_ledger_comes_in_pages_and_is_assembled_whole(simulator):
    big = make_ledger(103)
    sim = simulator([big], page_size=10)
    seen = []
    got = client(sim).fetch_ledger(T, C, progress=lambda *a: seen.append(a))
    assert got == big
    assert sim.request_count(LEDGER_PATH) == 11
    # progress: bytes never go back, pages counted up to the announced total
    assert [b for b, _, _ in seen] == sorted(b for b, _, _ in seen)
    assert seen[-1][1:] == (11, 11)
    assert {p for _, _, p in seen if p is not None} == {11}


def test_the_client_may_ask_for_smaller_pages_than_the_server_sends(simulator):
    big = make_ledger(30)
    sim = simulator([big], page_size=1000)
    assert client(sim, page_size=7).fetch_ledger(T, C) == big
    assert sim.request_count(LEDGER_PATH) == 5


def test_an_empty_ledger_is_one_page(simulator):
    empty = make_ledger(0)
    sim = simulator([empty], page_size=5)
    assert client(sim).fetch_ledger(T, C) == empty


def test_several_ledgers_are_served_by_terminal_and_cycle(simulator):
    a, b = make_ledger(3), make_ledger(4, terminal_id="SH-0009", cycle_id="SH-0009-20261121")
    sim = simulator([a, b])
    c = client(sim)
    assert c.fetch_ledger("SH-0009", "SH-0009-20261121") == b
    assert c.fetch_ledger(T, C) == a


def test_health_says_whether_the_token_is_accepted(simulator):
    sim = simulator()
    h = client(sim).health()
    assert (h.status, h.api_version, h.authenticated) == ("ok", "1", True)
    with pytest.raises(BackendAuthError):
        client(sim, token="wrong-token").health()
    assert client(sim, token=None).health().authenticated is False


# ------------------------------------------------------------------------------ faults


def test_a_slow_backend_times_out(simulator):
    sim = simulator(faults=Faults(delay=3.0))
    with pytest.raises(BackendTimeout, match="did not answer within 0.3 s") as info:
        client(sim, timeout=0.3, retries=0).fetch_ledger(T, C)
    assert isinstance(info.value, BackendUnreachable)


def test_a_slow_first_reply_is_retried_to_success(simulator, ledger):
    sim = simulator([ledger], faults=Faults(delay=30.0, delay_first=1))
    assert client(sim, timeout=1.0, retries=1).fetch_ledger(T, C) == ledger
    assert sim.request_count(LEDGER_PATH) == 2


def test_a_slow_backend_within_the_timeout_is_fine(simulator, ledger):
    sim = simulator([ledger], faults=Faults(delay=0.2))
    assert client(sim, timeout=5.0, retries=0).fetch_ledger(T, C) == ledger


def test_server_errors_are_retried_then_succeed(simulator, ledger):
    sim = simulator([ledger], faults=Faults(fail_first=2))
    assert client(sim, retries=3).fetch_ledger(T, C) == ledger
    assert [r.status for r in sim.requests] == [500, 500, 200]


def test_server_errors_beyond_the_retries_are_an_error(simulator):
    sim = simulator(faults=Faults(fail_first=10))
    with pytest.raises(BackendServerError, match="3 tries") as info:
        client(sim, retries=2).fetch_ledger(T, C)
    assert info.value.status == 500 and info.value.code == "internal"
    assert sim.request_count(LEDGER_PATH) == 3


def test_random_server_errors_are_ridden_out(simulator):
    big = make_ledger(60)
    sim = simulator([big], page_size=10, faults=Faults(fail_rate=0.3, seed=4))
    assert client(sim, retries=8).fetch_ledger(T, C) == big
    assert any(r.status == 500 for r in sim.requests)


def test_a_dropped_connection_is_retried(simulator, ledger):
    sim = simulator([ledger], faults=Faults(drop_first=2))
    assert client(sim, retries=2).fetch_ledger(T, C) == ledger
    assert [r.status for r in sim.requests] == [0, 0, 200]


def test_dropped_connections_beyond_the_retries_mean_unreachable(simulator):
    sim = simulator(faults=Faults(drop_first=5))
    with pytest.raises(BackendUnreachable, match="cannot reach the backend"):
        client(sim, retries=1).fetch_ledger(T, C)
    assert sim.request_count() == 2


def test_a_truncated_body_is_refused_as_a_whole_and_not_retried(simulator):
    sim = simulator(faults=Faults(truncate=True))
    with pytest.raises(BackendReplyError, match="not valid JSON") as info:
        client(sim, retries=3).fetch_ledger(T, C)
    assert info.value.path == "$"
    assert sim.request_count(LEDGER_PATH) == 1


def test_a_truncated_page_refuses_the_whole_ledger(simulator):
    sim = simulator([make_ledger(30)], page_size=10, faults=Faults(truncate=True, truncate_first=None))
    with pytest.raises(BackendReplyError, match="first page"):
        client(sim).fetch_ledger(T, C)


def test_nothing_listening_means_unreachable():
    sim = BackendSimulator([make_ledger()])
    url = sim.start()
    sim.stop()  # the port is free again: nothing answers there
    with pytest.raises(BackendUnreachable, match="cannot reach the backend") as info:
        BackendClient(url, retries=1, backoff=0.01).fetch_ledger(T, C)
    assert "ConnectionRefused" in str(info.value)


# ------------------------------------------------------------------------------ 4xx


def test_a_refused_token_says_to_check_the_settings_and_is_not_retried(simulator):
    sim = simulator()
    for token in ("wrong-token", None):
        with pytest.raises(BackendAuthError, match="check the backend token in the settings"):
            client(sim, token=token, retries=3).fetch_ledger(T, C)
    assert sim.request_count(LEDGER_PATH) == 2
    assert [r.status for r in sim.requests] == [401, 401]


def test_an_unknown_terminal_or_cycle_is_named_and_not_retried(simulator):
    sim = simulator()
    with pytest.raises(BackendNotFound, match="no terminal 'NJ-0404'") as info:
        client(sim, retries=3).fetch_ledger("NJ-0404", C)
    assert info.value.terminal_id == "NJ-0404" and info.value.cycle_id is None
    with pytest.raises(BackendNotFound, match="no cycle 'NJ-0001-19990101' for terminal 'NJ-0001'") as info:
        client(sim, retries=3).fetch_ledger(T, "NJ-0001-19990101")
    assert info.value.cycle_id == "NJ-0001-19990101"
    assert sim.request_count() == 2


def test_ids_are_escaped_into_the_path(simulator):
    odd = make_ledger(3, terminal_id="NJ/01 ?x", cycle_id="../health")
    sim = simulator([odd])
    assert client(sim).fetch_ledger("NJ/01 ?x", "../health") == odd
    with pytest.raises(BackendNotFound):
        client(sim).fetch_ledger("../../v1/health", C)
    assert sim.request_count("/v1/health") == 0


def test_other_client_errors_are_not_retried(simulator):
    sim = simulator()
    sim.serve_raw(T, C, b'{"error": {"code": "bad_request", "message": "nope"}}', status=400)
    with pytest.raises(BackendRequestError, match="HTTP 400 bad_request: nope") as info:
        client(sim, retries=3).fetch_ledger(T, C)
    assert info.value.status == 400
    assert sim.request_count() == 1


# ------------------------------------------------------------------------------ hostile replies


def _doc(ledger=None) -> dict:
    return formats.host_ledger_to_dict(ledger or make_ledger())


@pytest.mark.parametrize(
    "body, path, words",
    [
        (b"<html>Service temporarily replaced</html>", "$", "not valid JSON"),
        (b"[1, 2, 3]", "$", "expected a JSON object"),
        (formats.dumps({**_doc(), "format": "host-ledger/2"}), "$.format", "unsupported version"),
        (formats.dumps({**_doc(), "format": "atm-ledger/1"}), "$.format", "expected 'host-ledger/1'"),
        (formats.dumps({k: v for k, v in _doc().items() if k != "totals"}), "$", "'totals' is missing"),
        (
            orjson.dumps({**_doc(), "transactions": [{**_doc()["transactions"][0], "amount": 100.0}]}),
            "$.transactions[0].amount",
            "money must be a string",
        ),
        (formats.dumps({**_doc(), "transactions": "all of them"}), "$.transactions", "expected an array"),
    ],
)
def test_hostile_replies_are_refused_as_a_whole(simulator, body, path, words):
    sim = simulator()
    sim.serve_raw(T, C, body)
    with pytest.raises(BackendReplyError, match=words) as info:
        client(sim, retries=3).fetch_ledger(T, C)
    assert info.value.path == path
    assert "refused as a whole" in str(info.value)
    assert sim.request_count() == 1  # a bad reply is not retried


def test_a_full_card_number_is_refused_without_echoing_it(simulator):
    doc = _doc()
    doc["transactions"][4]["card"] = "6222020123451234"
    sim = simulator()
    sim.serve_raw(T, C, formats.dumps(doc))
    with pytest.raises(BackendReplyError, match="must be masked") as info:
        client(sim).fetch_ledger(T, C)
    assert info.value.path == "$.transactions[4].card"
    assert "6222020123451234" not in str(info.value)
    assert "6222020123451234" not in repr(info.value.args)


def test_a_huge_reply_is_refused_before_it_is_read(simulator):
    sim = simulator()
    sim.serve_raw(T, C, b" " * 3_000_000 + formats.dumps(_doc()))
    with pytest.raises(BackendReplyError, match="beyond the limit of 1000000 bytes"):
        client(sim, max_reply_bytes=1_000_000).fetch_ledger(T, C)


def test_a_huge_reply_without_length_is_cut_off_at_the_limit(simulator):
    sim = simulator()
    sim.serve_raw(T, C, b" " * 3_000_000 + formats.dumps(_doc()), chunked=True)
    seen = []
    with pytest.raises(BackendReplyError, match="beyond the limit of 1000000 bytes"):
        client(sim, max_reply_bytes=1_000_000).fetch_ledger(T, C, progress=lambda *a: seen.append(a))
    assert max(b for b, _, _ in seen) <= 1_000_000


@pytest.mark.parametrize("key, value", [("terminal_id", "NJ-0002"), ("cycle_id", "NJ-0001-20261119")])
def test_a_ledger_of_another_terminal_or_cycle_is_refused(simulator, key, value):
    sim = simulator()
    sim.serve_raw(T, C, formats.dumps({**_doc(), key: value}))
    with pytest.raises(BackendMismatch, match=f"\\$.{key} is '{value}', not") as info:
        client(sim).fetch_ledger(T, C)
    assert info.value.path == f"$.{key}"


def test_a_ledger_in_another_currency_than_the_atm_is_refused(simulator):
    sim = simulator([make_ledger(currency="HKD")])
    with pytest.raises(BackendMismatch, match="'HKD', not 'CNY' as the ATM has"):
        client(sim).fetch_ledger(T, C, expect_currency="CNY")
    assert client(sim).fetch_ledger(T, C, expect_currency="HKD").currency == "HKD"


def test_a_page_that_is_not_a_page_refuses_the_whole_ledger(simulator):
    # the first page announces more; the backend then answers the same thing again
    first = {**_doc(), "page": {"index": 0, "pages_total": 3, "transactions_total": 36, "next_cursor": "abc"}}
    sim = simulator()
    sim.serve_raw(T, C, formats.dumps(first))
    with pytest.raises(BackendReplyError, match="page 2: \\$.format: expected 'host-ledger-page/1'"):
        client(sim).fetch_ledger(T, C)


def test_paging_that_does_not_add_up_is_refused(simulator):
    first = {**_doc(), "page": {"index": 0, "pages_total": 1, "transactions_total": 999, "next_cursor": None}}
    sim = simulator()
    sim.serve_raw(T, C, formats.dumps(first))
    with pytest.raises(BackendReplyError, match="announced 1 page\\(s\\) and 999 transaction"):
        client(sim).fetch_ledger(T, C)


def test_a_stale_cursor_is_refused_by_the_simulator(simulator):
    import urllib.error
    import urllib.request

    sim = simulator(token=None)
    url = f"{sim.base_url}{LEDGER_PATH}?page_size=5"
    with urllib.request.urlopen(url, timeout=5) as reply:
        cursor = orjson.loads(reply.read())["page"]["next_cursor"]
    sim.add_ledger(make_ledger(14))  # the backend's books changed in between
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{url}&cursor={cursor}", timeout=5)
    with info.value as reply:
        assert reply.status == 400
        assert orjson.loads(reply.read())["error"]["code"] == "bad_cursor"


# ------------------------------------------------------------------------------ cancellation


def test_cancel_between_pages_keeps_nothing(simulator):
    sim = simulator([make_ledger(50)], page_size=10)
    cancel = threading.Event()

    def progress(received, pages_done, pages_total):
        if pages_done == 2:
            cancel.set()

    with pytest.raises(BackendCancelled, match="cancelled"):
        client(sim).fetch_ledger(T, C, progress=progress, cancel=cancel)
    assert sim.request_count(LEDGER_PATH) == 2


def test_cancel_interrupts_the_wait_between_retries(simulator):
    sim = simulator(faults=Faults(fail_first=100))
    cancel = threading.Event()
    done = threading.Event()
    outcome = []

    def run():
        try:
            client(sim, retries=5, backoff=60.0).fetch_ledger(T, C, cancel=cancel)
        except BackendError as exc:
            outcome.append(exc)
        done.set()

    worker = threading.Thread(target=run)
    worker.start()
    deadline_ok = False
    # wait until the first 500 has been answered, then cancel during the 60 s backoff
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if sim.request_count() >= 1 and sim.requests[0].status == 500:
            deadline_ok = True
            break
        done.wait(0.01)
    cancel.set()
    assert done.wait(10), "cancel did not interrupt the backoff"
    worker.join()
    assert deadline_ok and isinstance(outcome[0], BackendCancelled)
    assert sim.request_count() == 1


# ------------------------------------------------------------------------------ the token


def test_the_token_is_never_logged_nor_in_errors(simulator, caplog):
    caplog.set_level(logging.DEBUG)
    texts = []
    sim = simulator(faults=Faults(fail_first=1, drop_first=0))
    c = client(sim, retries=2)
    c.fetch_ledger(T, C)
    c.health()
    texts.append(repr(c))
    for make, exc_type in [
        (lambda: client(sim, token=TOKEN + "x").fetch_ledger(T, C), BackendAuthError),
        (lambda: client(sim).fetch_ledger("NJ-0404", C), BackendNotFound),
        (
            lambda: BackendClient("http://127.0.0.1:9/", token=TOKEN, retries=0).fetch_ledger(T, C),
            BackendUnreachable,
        ),
        (lambda: BackendClient("http://user:pw@127.0.0.1/", token=TOKEN), BackendError),
        (lambda: BackendClient(sim.base_url, token=TOKEN + "\n"), BackendError),
    ]:
        with pytest.raises(exc_type) as info:
            make()
        texts += [str(info.value), repr(info.value)]
    assert caplog.records, "nothing was logged: the check would be empty"
    assert any("GET" in r.getMessage() for r in caplog.records)
    for text in [caplog.text, *texts]:
        assert TOKEN not in text
        assert TOKEN[4:12] not in text


# ------------------------------------------------------------------------------ TLS and URLs


def test_tls_verification_fails_without_the_ca_and_passes_with_it(simulator, test_ca, ledger):
    sim = simulator([ledger], ssl_context=tls_context(test_ca["cert"], test_ca["key"]))
    assert sim.base_url.startswith("https://127.0.0.1:")
    with pytest.raises(BackendTLSError, match="certificate could not be verified.*CA bundle"):
        client(sim, retries=3).fetch_ledger(T, C)
    assert sim.request_count() == 0  # refused at the handshake, not retried
    c = client(sim, ca_bundle=test_ca["ca"])
    assert c.fetch_ledger(T, C) == ledger
    assert c.health().status == "ok"


def test_a_missing_or_bad_ca_bundle_is_a_clear_error(tmp_path):
    with pytest.raises(BackendError, match="does not exist; check the CA bundle"):
        BackendClient("https://backend.bank.example", ca_bundle=tmp_path / "nope.pem")
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(BackendError, match="cannot be loaded"):
        BackendClient("https://backend.bank.example", ca_bundle=bad)


def test_plain_http_is_refused_beyond_loopback():
    with pytest.raises(BackendError, match="refusing plain http to backend.bank.example"):
        BackendClient("http://backend.bank.example:8080", token="x")
    BackendClient("http://backend.bank.example:8080", allow_plain_http=True)
    BackendClient("http://localhost:8080")
    with pytest.raises(BackendError, match="not an http\\(s\\) URL"):
        BackendClient("ftp://backend.bank.example")


def test_a_base_url_with_a_prefix_and_version_is_understood():
    c = BackendClient("https://bank.example/atm-clearing/v1/")
    assert c.base_url == "https://bank.example/atm-clearing"


def test_errors_belong_to_the_custodian_tree():
    for exc_type in (
        BackendUnreachable,
        BackendTimeout,
        BackendTLSError,
        BackendServerError,
        BackendAuthError,
        BackendNotFound,
        BackendRequestError,
        BackendReplyError,
        BackendMismatch,
        BackendCancelled,
    ):
        assert issubclass(exc_type, BackendError) and issubclass(exc_type, CustodianError)


def test_a_redirect_is_not_followed(simulator):
    sim = simulator()
    sim.serve_raw(T, C, b"", status=302)
    with pytest.raises(BackendRequestError, match="redirects are not followed") as info:
        client(sim, retries=3).fetch_ledger(T, C)
    assert info.value.status == 302
    assert sim.request_count() == 1


def test_health_at_a_wrong_url_says_to_check_it(simulator):
    sim = simulator()
    c = BackendClient(sim.base_url + "/not-the-api", token=TOKEN, retries=3, backoff=0.01)
    with pytest.raises(BackendRequestError, match="does not exist .HTTP 404.; check the backend URL"):
        c.health()
    assert sim.request_count() == 1


def test_a_client_from_the_settings(simulator, ledger, test_ca):
    from custodian_app.settings.config import Settings

    sim = simulator([ledger], ssl_context=tls_context(test_ca["cert"], test_ca["key"]))
    settings = Settings(
        backend_url=sim.base_url,
        backend_token=TOKEN,
        backend_ca_bundle=str(test_ca["ca"]),
        backend_timeout=7.0,
    )
    c = BackendClient.from_settings(settings, retries=0)
    assert (c.timeout, c.retries, c.ca_bundle) == (7.0, 0, str(test_ca["ca"]))
    assert c.fetch_ledger(T, C) == ledger
    with pytest.raises(BackendError, match="no backend URL is configured"):
        BackendClient.from_settings(Settings())


def test_a_connection_lost_mid_body_is_retried(simulator):
    big = make_ledger(40)
    sim = simulator([big], page_size=10, faults=Faults(cut_first=2))
    seen = []
    assert client(sim, retries=2).fetch_ledger(T, C, progress=lambda *a: seen.append(a)) == big
    assert sim.request_count(LEDGER_PATH) == 6  # two cut, then four pages
    assert seen[-1][1:] == (4, 4)


def test_a_connection_lost_mid_body_every_time_is_unreachable(simulator):
    sim = simulator(faults=Faults(cut_first=10))
    with pytest.raises(BackendUnreachable, match="IncompleteRead"):
        client(sim, retries=1).fetch_ledger(T, C)


def test_mutual_tls_with_the_simulator(simulator, test_ca, ledger):
    sim = simulator(
        [ledger], ssl_context=tls_context(test_ca["cert"], test_ca["key"], client_ca=test_ca["ca"])
    )
    base = {"ca_bundle": test_ca["ca"], "retries": 0}
    # refused with a TLS alert at the handshake: BackendTLSError, a kind of BackendUnreachable
    with pytest.raises(BackendUnreachable):
        client(sim, **base).fetch_ledger(T, C)
    with pytest.raises(BackendUnreachable):
        client(sim, client_cert=test_ca["rogue_cert"], client_key=test_ca["rogue_key"], **base).fetch_ledger(
            T, C
        )
    assert sim.request_count() == 0  # refused at the handshake
    good = client(sim, client_cert=test_ca["client_cert"], client_key=test_ca["client_key"], **base)
    assert good.fetch_ledger(T, C) == ledger


def test_a_refused_client_certificate_is_named_and_not_retried(test_ca):
    """Against a TLS server whose refusal reaches the client as an alert (TLS 1.2, as many bank
    gateways still speak): a plain ssl socket server on loopback that requires a client
    certificate from the test CA."""
    import socket
    import ssl

    ctx = tls_context(test_ca["cert"], test_ca["key"], client_ca=test_ca["ca"])
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)  # so that the accept loop notices the end of the test
    port = listener.getsockname()[1]
    handshakes = []
    over = threading.Event()

    def serve():
        while not over.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            with raw:
                raw.settimeout(5)
                try:
                    with ctx.wrap_socket(raw, server_side=True) as tls:
                        tls.recv(1024)
                        handshakes.append("ok")
                except (ssl.SSLError, OSError):
                    handshakes.append("refused")

    server = threading.Thread(target=serve)
    server.start()
    try:
        for options in ({}, {"client_cert": test_ca["rogue_cert"], "client_key": test_ca["rogue_key"]}):
            c = BackendClient(
                f"https://127.0.0.1:{port}",
                token=TOKEN,
                ca_bundle=test_ca["ca"],
                retries=3,
                backoff=0.01,
                timeout=5,
                **options,
            )
            with pytest.raises(BackendTLSError, match="refused the TLS connection .*client certificate"):
                c.fetch_ledger(T, C)
    finally:
        over.set()
        server.join(10)
        listener.close()
    assert handshakes == ["refused", "refused"]  # one try each: not retried


def test_a_bad_client_certificate_is_a_clear_error(tmp_path, test_ca):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(BackendError, match="client certificate .* cannot be loaded"):
        BackendClient("https://backend.bank.example", ca_bundle=test_ca["ca"], client_cert=bad)
    with pytest.raises(BackendError, match="client key without a client certificate"):
        BackendClient("https://backend.bank.example", client_key=bad)


def test_a_ledger_that_changes_between_pages_is_fetched_again_whole(simulator):
    before, after = make_ledger(30), make_ledger(33)
    sim = simulator([before], page_size=10)
    changed = []

    def progress(received, pages_done, pages_total):
        if pages_done == 1 and not changed:  # the backend books three more records now
            changed.append(sim.add_ledger(after))

    got = client(sim).fetch_ledger(T, C, progress=progress)
    assert got == after  # never a mix of the two
    assert [r.status for r in sim.requests] == [200, 400, 200, 200, 200, 200]


def test_a_ledger_that_keeps_changing_is_refused(simulator):
    sim = simulator([make_ledger(30)], page_size=10)
    n = [30]

    def progress(received, pages_done, pages_total):
        if pages_done == 1:
            n[0] += 1
            sim.add_ledger(make_ledger(n[0]))

    with pytest.raises(BackendReplyError, match="kept changing"):
        client(sim).fetch_ledger(T, C, progress=progress)


def test_a_simulator_on_a_busy_port_says_so_and_leaks_nothing(simulator):
    first = simulator()
    second = BackendSimulator([make_ledger()], port=first.port)
    with pytest.raises(BackendError, match=f"could not start on 127.0.0.1:{first.port}"):
        second.start()
    second.stop()  # harmless after a failed start


def test_a_card_number_in_a_server_error_is_not_logged(simulator, caplog):
    caplog.set_level(logging.DEBUG)
    sim = simulator()
    sim.serve_raw(
        T, C, b'{"error": {"code": "internal", "message": "failed on 6222020123451234"}}', status=500
    )
    with pytest.raises(BackendServerError) as info:
        client(sim, retries=1).fetch_ledger(T, C)
    assert "retrying" in caplog.text
    assert "6222020123451234" not in caplog.text + str(info.value)


@pytest.mark.parametrize(
    "n, server_page, client_page",
    [
        (1, 1, 1),
        (10, 10, 5000),
        (11, 10, 5000),
        (20, 10, 3),
        (9, 10, 10),
        (25, 4, 7),
    ],
)
def test_page_boundaries(simulator, n, server_page, client_page):
    ledger = make_ledger(n)
    sim = simulator([ledger], page_size=server_page)
    pages = []
    got = client(sim, page_size=client_page).fetch_ledger(T, C, progress=lambda *a: pages.append(a[1:]))
    assert got == ledger
    size = min(server_page, client_page)
    expected_pages = max(1, -(-n // size))
    assert sim.request_count(LEDGER_PATH) == expected_pages
    assert pages[-1] == (expected_pages, expected_pages)


# ------------------------------------------------------------------------------ issue 18


def test_a_backend_error_that_repeats_the_token_never_shows_it(simulator, caplog):
    caplog.set_level(logging.DEBUG)
    token = "TOKSECRET-41f0-9b2e-only-here"
    sim = simulator(token=token)
    sim.serve_raw(
        T,
        C,
        orjson.dumps({"error": {"code": "internal", "message": f"token Bearer {token} refused"}}),
        status=500,
    )
    with pytest.raises(BackendServerError) as info:
        client(sim, token=token, retries=1).fetch_ledger(T, C)
    shown = [str(info.value), repr(info.value), *map(str, info.value.args), caplog.text]
    assert "retrying" in caplog.text and "refused" in str(info.value)  # the server's words are kept
    for text in shown:
        assert token not in text
    assert "<secret withheld>" in str(info.value)


class _Trickler:
    """A loopback HTTP server that announces a large reply and then sends it at about 200
    bytes a second (20 bytes every 0.1 s), until the client goes or 30 s have passed."""

    def __init__(self) -> None:
        import socket

        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.stop = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.server.settimeout(10)
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
            )
            ends = time.monotonic() + 30
            while not self.stop.is_set() and time.monotonic() < ends:
                try:
                    conn.sendall(b" " * 20)
                except OSError:
                    return  # the client gave up
                self.sent += 20
                self.stop.wait(0.1)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.server.close()


def test_a_backend_trickling_its_reply_ends_at_the_deadline():
    trickle = _Trickler()
    try:
        c = BackendClient(
            f"http://127.0.0.1:{trickle.port}",
            token=TOKEN,
            timeout=5.0,
            retries=3,
            backoff=0.01,
            deadline=1.0,
        )
        with pytest.raises(BackendTimeout) as info:
            c.fetch_ledger(T, C)
    finally:
        trickle.close()
    assert trickle.sent > 0  # it did trickle: each read got bytes well within the 5 s timeout
    text = str(info.value)
    assert "within the deadline of 1 s" in text and "too slowly" in text and "nothing was kept" in text


def test_a_fetch_within_the_deadline_is_untouched(simulator, ledger):
    sim = simulator([ledger], page_size=4)
    assert client(sim, deadline=60.0).fetch_ledger(T, C) == ledger


def test_the_deadline_must_be_positive(simulator):
    with pytest.raises(ValueError):
        client(simulator(), deadline=0)
