"""The engine and the readers run two ways: with the C accelerator (``_ledgerscan``) and in
pure Python (a machine without a C compiler). Modules that use the ``engine`` fixture run
every test both ways."""

from __future__ import annotations

import os

import pytest

from custodian_app.domain import formats

NATIVE = formats.native


@pytest.fixture(scope="module", params=["native", "python"])
def engine(request):
    if request.param == "native" and NATIVE is None:
        if os.environ.get("CUSTODIAN_REQUIRE_NATIVE"):
            pytest.fail(
                "the C accelerator custodian_app.domain._ledgerscan is not built "
                "(CUSTODIAN_REQUIRE_NATIVE is set): is a C compiler installed?"
            )
        pytest.skip("the C accelerator is not built on this machine")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(formats, "native", NATIVE if request.param == "native" else None)
        yield request.param
