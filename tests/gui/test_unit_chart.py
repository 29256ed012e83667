"""The cassette chart on the read page: cassettes empty, bins fill."""

from __future__ import annotations

from custodian_app.domain.formats import Unit
from custodian_app.gui.models import UnitLevelsChart

OUT0 = {"presented": 0, "rejected": 0, "distributed": 0, "unknown": 0}
IN0 = {"deposited": 0, "retracted": 0, "rejected": 0}


def test_cassettes_are_drawn_against_their_load_and_bins_against_the_largest_load(qtbot):
    chart = UnitLevelsChart()
    qtbot.addWidget(chart)
    chart.set_units(
        [
            Unit("CST1", "cashOut", "CNY", 10000, 2000, dict(OUT0, presented=500), dict(IN0)),
            Unit("CST2", "recycling", "CNY", 5000, 800, dict(OUT0), dict(IN0)),
            Unit("REJ1", "reject", "CNY", None, 0, dict(OUT0), dict(IN0, rejected=8)),
            Unit("RTR1", "retract", "CNY", None, 0, dict(OUT0), dict(IN0, retracted=35)),
        ]
    )
    assert chart.levels() == [("CST1", 1500, 2000), ("CST2", 800, 800), ("REJ1", 8, 2000), ("RTR1", 35, 2000)]
    assert [chart.is_bin(i) for i in range(4)] == [False, False, True, True]
    chart.resize(400, 240)
    assert not chart.grab().isNull()  # paints without error for both kinds
