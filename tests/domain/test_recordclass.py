"""``recordclass.record`` behaves like ``dataclasses.dataclass`` for the options the project
uses: each test builds the same class both ways and compares them."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from custodian_app.domain import formats, recordclass
from custodian_app.domain.recordclass import FrozenRecordError, field, record


def _both(make):
    """The class ``make(decorator, field)`` defines, once as a dataclass, once as a record."""
    return make(dataclasses.dataclass, dataclasses.field), make(record, field)


def _point(decorate, fld, **options):
    @decorate(**options)
    class Point:
        x: int
        y: int = 0
        tags: list = fld(default_factory=list)
        source: str = fld(default="<here>", compare=False)

    return Point


@pytest.mark.parametrize("options", [{}, {"slots": True}, {"frozen": True, "slots": True}, {"repr": False}])
def test_a_record_is_built_compared_and_shown_like_a_dataclass(options):
    dc, rc = _both(lambda d, f: _point(d, f, **options))
    for args, kwargs in [((1,), {}), ((1, 2), {}), ((1,), {"y": 5, "tags": ["a"]}),
                         ((), {"x": 3, "source": "file.json"})]:
        a, b = dc(*args, **kwargs), rc(*args, **kwargs)
        assert [getattr(b, f.name) for f in recordclass.fields(b)] == \
               [getattr(a, f.name) for f in dataclasses.fields(a)]
        if options.get("repr", True):
            assert repr(b) == repr(a)
        assert (b == rc(*args, **kwargs)) is (a == dc(*args, **kwargs)) is True
    # ``source`` is not compared; the others are
    assert rc(1, source="a") == rc(1, source="b") and dc(1, source="a") == dc(1, source="b")
    assert rc(1) != rc(2) and rc(1, tags=["t"]) != rc(1)
    assert rc(1).__eq__(dc(1)) is NotImplemented  # another class: Python decides (False)
    assert rc.__match_args__ == dc.__match_args__ == ("x", "y", "tags", "source")
    # each instance gets its own list from the factory
    first, second = rc(1), rc(1)
    first.tags.append("x")  # (frozen forbids setting a field, not changing a list)
    assert second.tags == []


def test_mutable_records_are_unhashable_and_frozen_ones_hash_their_compared_fields():
    with pytest.raises(TypeError):
        hash(_point(record, field)(1))
    def frozen_point(decorate, fld):
        @decorate(frozen=True, slots=True)
        class Point:
            x: int
            y: int = 0
            tags: tuple = ()
            source: str = fld(default="<here>", compare=False)

        return Point

    FrozenDC, Frozen = _both(frozen_point)
    assert hash(Frozen(1, 2, source="a")) == hash(Frozen(1, 2, source="b"))
    assert hash(Frozen(1, 2)) == hash(FrozenDC(1, 2))  # both hash the tuple of compared fields
    assert len({Frozen(1), Frozen(1), Frozen(2)}) == 2
    p = Frozen(1)
    with pytest.raises(FrozenRecordError, match="'x'"):
        p.x = 2
    with pytest.raises(AttributeError):
        del p.y
    assert p.x == 1


def test_slots_mean_no_instance_dict_and_no_stray_attributes():
    Point = _point(record, field, slots=True)
    p = Point(1)
    assert Point.__slots__ == ("x", "y", "tags", "source") and not hasattr(p, "__dict__")
    with pytest.raises(AttributeError):
        p.z = 1
    p.y = 7  # a mutable record's fields can be set
    assert p.y == 7


def test_arguments_are_checked_like_a_functions():
    Point = _point(record, field, slots=True)
    with pytest.raises(TypeError):
        Point()
    with pytest.raises(TypeError):
        Point(1, z=2)
    with pytest.raises(TypeError):
        Point(1, 2, [], "s", "extra")


def test_replace_and_fields():
    calls = []

    @record
    class Setting:
        name: str
        value: str = ""

        def __post_init__(self) -> None:
            calls.append(self.name)
            self.value = self.value.strip()

    s = Setting("a", " v ")
    t = recordclass.replace(s, name="b")
    assert (s.name, s.value, t.name, t.value) == ("a", "v", "b", "v")
    assert calls == ["a", "b"]  # __post_init__ ran for the copy as well
    assert [f.name for f in recordclass.fields(Setting)] == ["name", "value"]
    with pytest.raises(TypeError):
        recordclass.replace(s, nope=1)
    with pytest.raises(TypeError, match="not a record"):
        recordclass.fields(object())


def test_bad_definitions_are_refused_when_the_class_is_made():
    with pytest.raises(ValueError, match="default_factory"):
        @record
        class Bad:
            items: list = []  # noqa: RUF012 - the point of the test

    with pytest.raises(TypeError, match="follows default"):
        @record
        class Order:
            a: int = 0
            b: int

    with pytest.raises(ValueError):
        field(default=1, default_factory=int)


def test_frozen_slotted_records_copy_and_pickle_like_dataclasses():
    from custodian_app.domain.catalogue import CategoryInfo, Text

    text = Text("吞钞", "Retracted")
    info = CategoryInfo("RETRACTED", text, Text("a", "b"), Text("c", "d"))
    for value in (text, info):
        assert pickle.loads(pickle.dumps(value)) == value
        assert copy.copy(value) == value and copy.deepcopy(value) == value
    with pytest.raises(FrozenRecordError):
        copy.copy(text).zh = "x"  # the copy is frozen too


def test_a_class_keeps_its_own_hash_and_a_frozen_class_with_its_own_eq_is_hashed():
    def make(decorate, fld):
        @decorate(frozen=True, slots=True)
        class Own:
            a: int

            def __hash__(self) -> int:
                return 42

        @decorate(frozen=True)
        class WithEq:
            a: int

            def __eq__(self, other: object) -> bool:
                return isinstance(other, WithEq) and other.a % 10 == self.a % 10

        return Own, WithEq

    (dc_own, dc_eq), (rc_own, rc_eq) = _both(make)
    assert hash(rc_own(1)) == hash(dc_own(1)) == 42
    assert hash(rc_eq(3)) == hash(dc_eq(3)) and rc_eq(3) == rc_eq(13)


def test_a_record_refuses_an_init_of_its_own():
    with pytest.raises(TypeError, match="__post_init__"):
        @record
        class Mine:
            a: int

            def __init__(self) -> None:
                self.a = 1


def test_a_slotted_subclass_adds_only_its_own_slots():
    @record(slots=True)
    class Base:
        a: int

    @record(slots=True)
    class Child(Base):
        b: int = 0

    assert Child.__slots__ == ("b",) and Child(1, 2) == Child(1, 2) and Child(1).a == 1
    assert [f.name for f in recordclass.fields(Child)] == ["a", "b"]


def test_class_variables_are_not_fields():
    from typing import ClassVar

    @record
    class Counted:
        limit: ClassVar[int] = 3
        n: int = 0

    assert [f.name for f in recordclass.fields(Counted)] == ["n"] and Counted.limit == 3


def test_copy_replace_works_through_dunder_replace():
    cp = formats.CashPosition(100, 90)
    assert cp.__replace__(counted=95) == formats.CashPosition(100, 90, 95)


def test_records_copy_and_pickle():
    tx = formats.AtmTransaction("000001", "2026-11-20T09:00:00+08:00", "withdrawal", "622202******1234",
                                10000, "00", "H1", False, taken=10000)
    assert pickle.loads(pickle.dumps(tx)) == tx
    assert copy.deepcopy(tx) == tx and copy.copy(tx) is not tx
    ledger = formats.HostLedger("T", "C", "CNY", formats.Totals(0, formats.TypeTotals(0, 0),
                                                                formats.TypeTotals(0, 0)), [])
    other = recordclass.replace(ledger, cycle_id="D")
    assert other.cycle_id == "D" and ledger.cycle_id == "C" and other.totals is ledger.totals


def test_the_formats_records_are_not_dataclasses_and_keep_their_shape():
    # the point of recordclass: the modules every command imports do without dataclasses
    assert not dataclasses.is_dataclass(formats.AtmTransaction)
    assert [f.name for f in recordclass.fields(formats.AtmTransaction)] == [
        "tsn", "time", "type", "card", "amount", "host_code", "host_ref", "reversed",
        "taken", "retracted", "deposited", "returned"]
    cp = formats.CashPosition(100, 90)
    assert (cp.counted, cp.difference) == (None, 10)
