"""The clearing flow as a plain state machine, without Qt (the wizard only renders it)."""

from __future__ import annotations

import pytest

from custodian_app.domain.flow import (
    RESUME_STEP,
    ClearingFlow,
    FlowError,
    Missing,
    State,
    Step,
    mismatch_key,
)
from custodian_app.domain.formats import (
    CashPosition,
    ClearingResult,
    Mismatch,
    TotalsItem,
    parse_atm_ledger,
    parse_host_ledger,
)

TOTALS = {
    "loaded_amount": "200000.00",
    "withdrawals": {"count": 0, "amount": "0.00"},
    "deposits": {"count": 0, "amount": "0.00"},
}


def atm_ledger(terminal="NJ-0001", cycle="NJ-0001-20261120"):
    counters_out = {"presented": 0, "rejected": 0, "distributed": 0, "unknown": 0}
    counters_in = {"deposited": 0, "retracted": 0, "rejected": 0}
    return parse_atm_ledger(
        {
            "format": "atm-ledger/1",
            "terminal_id": terminal,
            "cycle_id": cycle,
            "currency": "CNY",
            "opened_at": "2026-11-20T08:00:00+08:00",
            "closed_at": None,
            "totals": TOTALS,
            "units": [
                {
                    "id": "CST1",
                    "type": "cashOut",
                    "currency": "CNY",
                    "value": "100.00",
                    "initial": 2000,
                    "out": counters_out,
                    "in": counters_in,
                },
                {
                    "id": "RTR1",
                    "type": "retract",
                    "currency": "CNY",
                    "value": None,
                    "initial": 0,
                    "out": counters_out,
                    "in": counters_in,
                },
            ],
            "transactions": [],
        }
    )


def host_ledger(cycle="NJ-0001-20261120"):
    return parse_host_ledger(
        {
            "format": "host-ledger/1",
            "terminal_id": "NJ-0001",
            "cycle_id": cycle,
            "currency": "CNY",
            "totals": TOTALS,
            "transactions": [],
        }
    )


def result(mismatches=()):
    return ClearingResult(
        "NJ-0001",
        "NJ-0001-20261120",
        "CNY",
        [TotalsItem("loaded_amount", 20000000, 20000000)],
        CashPosition(20000000, 20000000),
        list(mismatches),
    )


def flow_at(step: Step) -> ClearingFlow:
    """A flow walked honestly up to ``step``."""
    f = ClearingFlow()
    walk = [
        (Step.SIGN_IN, lambda: f.record_sign_in("alice", "bob")),
        (Step.CONNECT, lambda: f.record_atm_status("NJ-0001", "NJ-0001-20261120", "ready")),
        (Step.READ_ATM, lambda: f.record_atm_ledger(atm_ledger())),
        (Step.COUNT, lambda: f.record_counts({"CST1": 20000000, "RTR1": 0})),
        (Step.BACKEND, lambda: f.record_host_ledger(host_ledger())),
        (Step.RECONCILE, lambda: f.record_result(result())),
        (Step.REPORT, lambda: f.record_sign_off("carol")),
        (Step.NEW_CYCLE, lambda: f.record_new_cycle({"CST1": 2000}, "NJ-0001-20261122")),
    ]
    for s, do in walk:
        if s == step:
            return f
        assert f.step is s
        do()
        f.advance()
    return f


def test_a_whole_clearing_walks_every_state_in_order():
    f = ClearingFlow()
    seen = [f.state]
    f.record_sign_in("alice", "bob")
    seen.append(f.state)
    f.advance()
    f.record_atm_status("NJ-0001", "NJ-0001-20261120", "ready")
    seen.append(f.state)
    f.advance()
    f.record_atm_ledger(atm_ledger())
    seen.append(f.state)
    f.advance()
    f.record_counts({"CST1": 20000000, "RTR1": 0})
    seen.append(f.state)
    f.advance()
    f.record_host_ledger(host_ledger())
    seen.append(f.state)
    f.advance()
    f.record_result(result())
    seen.append(f.state)
    f.advance()
    seen.append(f.state)
    f.record_sign_off("carol")
    seen.append(f.state)
    f.advance()
    f.record_new_cycle({"CST1": 2000}, "NJ-0001-20261122")
    seen.append(f.state)
    assert f.advance() is Step.DONE
    seen.append(f.state)
    assert seen == [
        None,
        State.SIGNED_IN,
        State.SIGNED_IN,
        State.ATM_READ,
        State.COUNTED,
        State.BACKEND_FETCHED,
        State.RECONCILED,
        State.REVIEWED,
        State.SIGNED,
        State.NEW_CYCLE_STARTED,
        State.CLOSED,
    ]
    assert f.finished and not f.can_advance()


@pytest.mark.parametrize(
    "step, missing",
    [
        (Step.SIGN_IN, Missing.TWO_CUSTODIANS),
        (Step.CONNECT, Missing.ATM_STATUS),
        (Step.READ_ATM, Missing.ATM_LEDGER),
        (Step.COUNT, Missing.COUNTS),
        (Step.BACKEND, Missing.HOST_LEDGER),
        (Step.RECONCILE, Missing.RESULT),
        (Step.REPORT, Missing.SUPERVISOR),
        (Step.NEW_CYCLE, Missing.EXCHANGE),
    ],
)
def test_next_is_refused_until_the_step_has_what_it_needs(step, missing):
    f = flow_at(step)
    assert f.missing() == [missing]
    assert not f.can_advance()
    with pytest.raises(FlowError, match=missing.text.split()[1]):
        f.advance()
    assert f.step is step


@pytest.mark.parametrize("a, b", [("alice", "alice"), ("alice", " ALICE "), ("alice", ""), ("", "")])
def test_dual_custody_needs_two_different_people(a, b):
    f = ClearingFlow()
    with pytest.raises(FlowError):
        f.record_sign_in(a, b)
    assert f.custodians is None and f.state is None


def test_skipping_the_count_needs_a_reason_which_is_kept():
    f = flow_at(Step.COUNT)
    for blank in ("", "   ", "x"):
        with pytest.raises(FlowError, match="why"):
            f.skip_counts(blank)
    assert not f.can_advance()
    f.skip_counts("  坏钞箱锁故障  ")
    assert f.count_skip_reason == "坏钞箱锁故障" and f.counts is None
    assert f.state is State.COUNTED and f.counts_document() is None
    assert f.advance() is Step.BACKEND


def test_counts_need_every_unit_and_integer_money():
    f = flow_at(Step.COUNT)
    with pytest.raises(FlowError, match="RTR1"):
        f.record_counts({"CST1": 100})
    with pytest.raises(FlowError, match="XYZ"):
        f.record_counts({"CST1": 100, "RTR1": 0, "XYZ": 5})
    with pytest.raises(TypeError):
        f.record_counts({"CST1": 100.0, "RTR1": 0})
    with pytest.raises(FlowError, match="negative"):
        f.record_counts({"CST1": -1, "RTR1": 0})
    f.record_counts({"RTR1": 5000, "CST1": 100})
    doc = f.counts_document()
    assert doc.units == {"CST1": 100, "RTR1": 5000} and doc.counted_by == ["alice", "bob"]
    assert doc.total == 5100


def test_a_host_ledger_of_another_cycle_is_refused():
    f = flow_at(Step.BACKEND)
    with pytest.raises(FlowError, match="another clearing"):
        f.record_host_ledger(host_ledger(cycle="NJ-0001-20261121"))
    assert f.host is None


def test_a_ledger_of_another_atm_than_the_connected_one_is_refused():
    f = flow_at(Step.READ_ATM)
    with pytest.raises(FlowError, match="not the connected"):
        f.record_atm_ledger(atm_ledger(terminal="NJ-0002", cycle="NJ-0002-1"))


def test_facts_belong_to_their_step():
    f = flow_at(Step.CONNECT)
    with pytest.raises(FlowError, match="count step"):
        f.record_counts({"CST1": 1, "RTR1": 0})


def test_back_never_goes_past_the_atm_read_or_the_signature():
    assert not flow_at(Step.CONNECT).can_go_back()  # sign-in is final: abandon to change people
    f = flow_at(Step.READ_ATM)
    assert f.go_back() is Step.CONNECT  # before the read: another port
    assert not flow_at(Step.COUNT).can_go_back()
    f = flow_at(Step.RECONCILE)
    f.record_result(result())
    assert f.go_back() is Step.BACKEND
    assert f.go_back() is Step.COUNT
    assert not f.can_go_back()
    f = flow_at(Step.NEW_CYCLE)
    assert not f.can_go_back()
    with pytest.raises(FlowError):
        f.go_back()


def test_changing_the_counts_makes_the_result_stale():
    f = flow_at(Step.REPORT)
    assert f.state is State.REVIEWED
    f.go_back()
    f.go_back()
    f.go_back()
    assert f.step is Step.COUNT and f.result is not None and not f.reviewed
    f.record_counts({"CST1": 1, "RTR1": 0})
    assert f.result is None  # the result depended on the counts
    assert f.state is State.BACKEND_FETCHED  # the backend's ledger stays valid
    f.advance()
    f.advance()
    assert f.step is Step.RECONCILE and f.missing() == [Missing.RESULT]


def test_back_from_the_report_withdraws_the_review():
    f = flow_at(Step.REPORT)
    f.go_back()
    assert f.state is State.RECONCILED and f.step is Step.RECONCILE


def test_the_supervisor_is_not_a_custodian():
    f = flow_at(Step.REPORT)
    with pytest.raises(FlowError, match="supervisor must not"):
        f.record_sign_off("Bob")
    f.record_sign_off("carol")
    with pytest.raises(FlowError, match="signed"):
        f.set_remark("x", "too late")


def test_remarks_are_kept_per_mismatch_and_removed_when_blank():
    m = Mismatch("RETRACTED", "000107", "withdrawal", 50000, 50000, None, 50000)
    f = flow_at(Step.RECONCILE)
    f.record_result(result([m]))
    f.set_remark(mismatch_key(m), "  客户已联系 ")
    assert f.remarks == {mismatch_key(m): "客户已联系"}
    f.set_remark(mismatch_key(m), " ")
    assert f.remarks == {}


def test_the_exchange_needs_every_cassette_and_some_cash():
    f = flow_at(Step.NEW_CYCLE)
    with pytest.raises(FlowError, match="CST1"):
        f.record_new_cycle({}, "C2")
    with pytest.raises(FlowError, match="no cash loaded"):
        f.record_new_cycle({"CST1": 0}, "C2")
    with pytest.raises(TypeError):
        f.record_new_cycle({"CST1": 1.5}, "C2")
    f.record_new_cycle({"CST1": 2000}, "C2")
    assert f.state is State.NEW_CYCLE_STARTED and f.loaded == {"CST1": 2000}


def test_abandon_needs_a_reason_and_ends_the_session():
    f = flow_at(Step.BACKEND)
    with pytest.raises(FlowError, match="why"):
        f.abandon("")
    f.abandon("后台系统维护")
    assert f.state is State.ABANDONED and f.finished
    with pytest.raises(FlowError, match="abandoned"):
        f.advance()
    with pytest.raises(FlowError):
        f.abandon("again")


def test_abandon_is_refused_once_the_supervisor_signed():
    f = flow_at(Step.NEW_CYCLE)
    with pytest.raises(FlowError, match="signed"):
        f.abandon("too late")


def test_headless_closes_after_the_result():
    f = flow_at(Step.RECONCILE)
    f.headless = True
    with pytest.raises(FlowError):
        f.close()  # no result yet
    f.record_result(result())
    f.close()
    assert f.state is State.CLOSED


@pytest.mark.parametrize("state", [s for s in RESUME_STEP])
def test_resumption_asks_the_same_custodians_then_continues_where_it_stopped(state):
    f = ClearingFlow.resumed(
        state,
        custodians=("alice", "bob"),
        atm=atm_ledger(),
        counts={"CST1": 1, "RTR1": 0},
        host=host_ledger(),
        result=result(),
        supervisor="carol",
        loaded={"CST1": 2000},
        new_cycle_id="C2",
    )
    assert f.step is Step.SIGN_IN
    assert f.state is state
    with pytest.raises(FlowError, match="same two custodians"):
        f.record_sign_in("alice", "dave")
    f.record_sign_in("bob", "alice")
    assert f.advance() is RESUME_STEP[state]
    if state is State.NEW_CYCLE_STARTED:
        assert f.state is State.CLOSED


def test_resumption_refuses_a_stored_session_that_lacks_its_facts():
    with pytest.raises(FlowError, match="lacks"):
        ClearingFlow.resumed("counted", custodians=("alice", "bob"), atm=atm_ledger())
    with pytest.raises(FlowError, match="cannot be resumed"):
        ClearingFlow.resumed("closed", custodians=("alice", "bob"))


def test_a_reviewed_session_without_a_stored_result_resumes_at_reconcile():
    f = ClearingFlow.resumed(
        "reviewed",
        custodians=("alice", "bob"),
        atm=atm_ledger(),
        counts=None,
        count_skip_reason="no time",
        host=host_ledger(),
    )
    f.record_sign_in("alice", "bob")
    assert f.advance() is Step.RECONCILE and f.missing() == [Missing.RESULT]


def test_a_resumed_session_past_the_read_reconnects_without_re_reading():
    f = ClearingFlow.resumed(
        "signed",
        custodians=("alice", "bob"),
        atm=atm_ledger(),
        counts={"CST1": 1, "RTR1": 0},
        host=host_ledger(),
        result=result(),
        supervisor="carol",
    )
    f.record_sign_in("alice", "bob")
    assert f.advance() is Step.NEW_CYCLE
    assert not f.can_go_back()


def test_editing_a_name_after_signing_in_withdraws_the_sign_in():
    f = ClearingFlow()
    f.record_sign_in("alice", "bob")
    assert f.can_advance()
    f.withdraw_sign_in()
    assert not f.can_advance() and f.custodians is None
    resumed = ClearingFlow.resumed("signed_in", custodians=("alice", "bob"))
    resumed.record_sign_in("alice", "bob")
    resumed.withdraw_sign_in()
    assert resumed.custodians == ("alice", "bob") and not resumed.authenticated


def test_a_mismatch_key_tells_items_apart():
    a = Mismatch("TOTALS_INCONSISTENT", None, None, None, None, None, 0, side="atm", item="deposits.count")
    b = Mismatch("TOTALS_INCONSISTENT", None, None, None, None, None, 0, side="host", item="deposits.count")
    assert mismatch_key(a) != mismatch_key(b)


# -- the ledger in two parts: the core first, the banknote records after ----------------


def with_notes(ledger, notes=None):
    """The same ledger with its banknote records (as the read delivers it at the end)."""
    import dataclasses

    return dataclasses.replace(ledger, notes=list(notes or []))


def flow_with_core() -> tuple[ClearingFlow, object]:
    f = flow_at(Step.READ_ATM)
    core = atm_ledger()
    assert core.notes is None
    f.record_atm_core(core)
    return f, core


def test_the_core_is_enough_to_count_and_fetch_but_not_to_reconcile():
    f, core = flow_with_core()
    assert f.core_read and not f.ledger_complete and f.notes_pending
    assert f.state is State.SIGNED_IN  # the store gets nothing until the whole ledger is in
    assert f.can_advance() and not f.can_go_back()  # past the read: no way back to another port
    f.advance()
    f.record_counts({"CST1": 20000000, "RTR1": 0})
    assert f.counts_document().cycle_id == core.cycle_id
    f.advance()
    f.record_host_ledger(host_ledger())
    assert f.state is State.SIGNED_IN
    f.advance()
    assert f.step is Step.RECONCILE
    assert f.missing() == [Missing.ATM_NOTES] and not f.can_advance()
    with pytest.raises(FlowError, match="banknote records"):
        f.record_result(result())
    f.record_atm_ledger(with_notes(core))  # it arrives while the custodians wait on Reconcile
    assert f.ledger_complete and not f.notes_pending and f.atm.notes == []
    assert f.state is State.BACKEND_FETCHED  # now the store takes the ledger, counts, backend
    assert f.missing() == [Missing.RESULT]
    f.record_result(result())
    assert f.can_advance()


def test_a_read_that_fails_after_the_core_blocks_the_reconciliation_until_a_retry():
    f, core = flow_with_core()
    f.advance()
    f.skip_counts("坏钞")
    f.advance()
    f.record_host_ledger(host_ledger())
    f.advance()
    f.record_atm_read_failed("the cable was pulled")
    assert not f.notes_pending and f.missing() == [Missing.ATM_READ_FAILED]
    with pytest.raises(FlowError):
        f.record_result(result())
    # the retry's core comes back (the same), then the whole ledger
    f.record_atm_core(atm_ledger())
    assert f.notes_pending and f.atm_read_error is None and f.missing() == [Missing.ATM_NOTES]
    f.record_atm_ledger(with_notes(atm_ledger()))
    assert f.missing() == [Missing.RESULT]


def test_a_failure_before_the_core_keeps_nothing():
    f = flow_at(Step.READ_ATM)
    f.record_atm_read_failed("no answer")
    assert f.atm_read_error is None and f.missing() == [Missing.ATM_LEDGER]


def test_the_complete_ledger_must_be_the_one_whose_core_was_counted():
    import dataclasses

    f, core = flow_with_core()
    f.advance()
    other_cycle = atm_ledger(cycle="NJ-0001-20261121")
    with pytest.raises(FlowError, match="counted against"):
        f.record_atm_ledger(with_notes(other_cycle))
    changed = dataclasses.replace(core, units=core.units[:1], notes=[])
    with pytest.raises(FlowError, match="changed between reads"):
        f.record_atm_ledger(changed)
    with pytest.raises(FlowError, match="changed between reads"):
        f.record_atm_core(dataclasses.replace(core, units=core.units[:1]))
    assert f.atm is None
    f.record_atm_ledger(with_notes(core))
    with pytest.raises(FlowError, match="already"):
        f.record_atm_ledger(with_notes(core))


def test_the_core_belongs_to_the_read_step():
    f = flow_at(Step.CONNECT)
    with pytest.raises(FlowError, match="read_atm"):
        f.record_atm_core(atm_ledger())
    with pytest.raises(FlowError):
        f.record_atm_ledger(with_notes(atm_ledger()))


def test_a_core_of_another_atm_than_the_connected_one_is_refused():
    f = flow_at(Step.READ_ATM)
    with pytest.raises(FlowError, match="connected"):
        f.record_atm_core(atm_ledger(terminal="NJ-0002", cycle="NJ-0002-20261120"))
    assert not f.core_read


def test_a_journal_clearing_resumed_once_signed_ends_at_the_report():
    """Read from the ATM's journal files there is no line for the exchange: a signed session
    resumes on the report, and Next there ends it (the cash is loaded at the ATM itself)."""
    kw = dict(
        custodians=("alice", "bob"),
        atm=atm_ledger(),
        counts={"CST1": 1, "RTR1": 0},
        host=host_ledger(),
        result=result(),
        supervisor="carol",
    )
    f = ClearingFlow.resumed("signed", atm_from_journal=True, **kw)
    f.record_sign_in("alice", "bob")
    assert f.advance() is Step.REPORT
    assert f.next_step() is Step.DONE
    assert f.advance() is Step.DONE and f.state is State.CLOSED
    # the same session read over the cable goes on to the new cycle, and cannot close before it
    g = ClearingFlow.resumed("signed", **kw)
    g.record_sign_in("alice", "bob")
    assert g.advance() is Step.NEW_CYCLE
    with pytest.raises(FlowError):
        g.close()
