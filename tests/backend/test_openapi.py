"""docs/openapi.yaml is the interface: it parses, names every route the simulator serves, and
every reply the simulator sends validates against the schema it declares for that status."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path

import jsonschema
import orjson
import pytest
import yaml

from custodian_app.backend.simulator import ROUTES, Faults
from custodian_app.support.resources import resource

from .conftest import TOKEN, make_ledger

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
LEDGER_ROUTE = "/v1/terminals/{terminal_id}/cycles/{cycle_id}/ledger"


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))


def test_it_is_openapi_3_1_and_names_every_route(spec):
    assert spec["openapi"].startswith("3.1.")
    assert spec["info"]["version"] == "1"
    assert ROUTES, "the simulator lists its routes"
    for method, path in ROUTES:
        assert path in spec["paths"], f"{path} is not in docs/openapi.yaml"
        assert method.lower() in spec["paths"][path], f"{method} {path} is not in docs/openapi.yaml"
    assert set(spec["paths"]) == {p for _, p in ROUTES}, "openapi.yaml names a route nobody serves"


def test_path_parameters_match_the_templates(spec):
    for path, item in spec["paths"].items():
        for op in item.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path


def test_every_ref_resolves(spec):
    refs = []

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    assert refs
    for ref in refs:
        node = spec
        for part in ref.removeprefix("#/").split("/"):
            assert part in node, f"unresolved $ref {ref}"
            node = node[part]


def _response_schema(spec: dict, path: str, status: int) -> dict:
    response = spec["paths"][path]["get"]["responses"][str(status)]
    if "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = response["content"]["application/json"]["schema"]
    # resolve "#/components/..." against the OpenAPI document itself
    return {**schema, "components": spec["components"]}


def _get(url: str, token: str | None = TOKEN) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, orjson.loads(reply.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, orjson.loads(exc.read())


def test_the_simulators_replies_follow_the_declared_schemas(spec, simulator):
    host_schema = orjson.loads(resource("schemas", "host-ledger-1.schema.json").read_bytes())
    sim = simulator([make_ledger(25), make_ledger(3, cycle_id="SMALL")], page_size=10)
    base = sim.base_url + "/v1/terminals/NJ-0001/cycles"
    seen = []

    def check(path, url, status, token=TOKEN):
        got_status, body = _get(url, token)
        assert got_status == status, body
        jsonschema.validate(body, _response_schema(spec, path, status))
        seen.append(body)
        return body

    small = check(LEDGER_ROUTE, f"{base}/SMALL/ledger", 200)
    jsonschema.validate(small, host_schema)  # a plain document is exactly host-ledger/1
    first = check(LEDGER_ROUTE, f"{base}/NJ-0001-20261120/ledger?page_size=10", 200)
    assert first["page"]["pages_total"] == 3
    cursor = first["page"]["next_cursor"]
    second = check(LEDGER_ROUTE, f"{base}/NJ-0001-20261120/ledger?page_size=10&cursor={cursor}", 200)
    assert second["format"] == "host-ledger-page/1"
    check(LEDGER_ROUTE, f"{base}/NJ-0001-20261120/ledger?cursor=forged", 400)
    check(LEDGER_ROUTE, f"{base}/NJ-0001-20261120/ledger?page_size=x", 400)
    check(LEDGER_ROUTE, f"{base}/NJ-0001-20261120/ledger", 401, token="wrong")
    check(LEDGER_ROUTE, f"{base}/NOPE/ledger", 404)
    check(LEDGER_ROUTE, sim.base_url + "/v1/terminals/NJ-9/cycles/X/ledger", 404)
    check("/v1/health", sim.base_url + "/v1/health", 200)
    check("/v1/health", sim.base_url + "/v1/health", 401, token="wrong")
    failing = simulator(faults=Faults(fail_first=1))
    check(LEDGER_ROUTE, failing.base_url + "/v1/terminals/NJ-0001/cycles/NJ-0001-20261120/ledger", 500)
    assert len(seen) == 11


def test_a_schema_violation_is_caught_by_the_declared_schema(spec):
    # guards the test above against a schema that accepts anything
    bad = {
        "format": "host-ledger/1",
        "terminal_id": "T",
        "cycle_id": "C",
        "currency": "CNY",
        "totals": {
            "loaded_amount": 100.0,
            "withdrawals": {"count": 0, "amount": "0.00"},
            "deposits": {"count": 0, "amount": "0.00"},
        },
        "transactions": [],
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, _response_schema(spec, LEDGER_ROUTE, 200))
