"""Record classes for the modules every command imports, without the ``dataclasses`` module.

``@record`` makes what ``@dataclass`` makes for the options used here: an ``__init__`` taking
the fields in order (defaults and ``field(default_factory=...)`` allowed, ``__post_init__``
called), ``__repr__``, ``__eq__`` over the compared fields, ``__match_args__``, and with
``frozen`` a ``__hash__`` and attributes that cannot be set; with ``slots`` the class gets
``__slots__``. ``replace(obj, **changes)`` and ``fields(obj)`` work like their ``dataclasses``
namesakes.

Why not ``dataclasses``: importing it costs a fresh process ~14 ms (it pulls in ``inspect``,
``ast``, ``dis``, ``tokenize``), and each class ~0.6 ms to build. ``custodian-app reconcile`` on a
cycle of 10,000 transactions takes ~0.1 s in all, so the record classes of the clearing
formats, the catalogue and the settings were a fifth of it (docs/performance.md). Modules
that only the application or a long-running command loads keep using ``dataclasses``.
"""

from __future__ import annotations

from operator import attrgetter

__all__ = ["FrozenRecordError", "field", "fields", "record", "replace"]

_MISSING = object()
_FIELDS = "__record_fields__"


class FrozenRecordError(AttributeError):
    """An attribute of a frozen record was set or deleted."""


class Field:
    """One field of a record class: its name, its default (or factory), whether it takes part
    in ``==`` and ``repr``."""

    __slots__ = ("name", "default", "default_factory", "compare", "repr")

    def __init__(self, default=_MISSING, default_factory=_MISSING, compare=True, repr=True) -> None:
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.repr = repr

    def __repr__(self) -> str:
        return f"Field(name={self.name!r})"


def field(*, default=_MISSING, default_factory=_MISSING, compare: bool = True, repr: bool = True):
    """A field's options, like ``dataclasses.field`` (the subset this project uses)."""
    if default is not _MISSING and default_factory is not _MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, compare, repr)


def fields(obj_or_class) -> tuple[Field, ...]:
    """The record's fields in order."""
    cls = obj_or_class if isinstance(obj_or_class, type) else type(obj_or_class)
    try:
        return getattr(cls, _FIELDS)
    except AttributeError:
        raise TypeError(f"{cls.__name__} is not a record class") from None


def replace(obj, /, **changes):
    """A new record like ``obj`` with ``changes``; ``__init__`` (and ``__post_init__``) run
    again, as with ``dataclasses.replace``."""
    for f in fields(obj):
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return type(obj)(**changes)


def record(cls=None, /, *, frozen: bool = False, slots: bool = False, repr: bool = True,
           eq: bool = True):
    """Class decorator: see the module's docstring."""

    def wrap(cls):
        return _make(cls, frozen, slots, repr, eq)

    return wrap if cls is None else wrap(cls)


def _make(cls, frozen: bool, slots: bool, with_repr: bool, eq: bool):
    if "__init__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: a record makes its own __init__; use __post_init__")
    found: list[Field] = []
    for base in reversed(cls.__mro__[1:]):
        found.extend(getattr(base, _FIELDS, ()) if _FIELDS in base.__dict__ else ())
    by_name = {f.name: f for f in found}
    annotations = cls.__dict__.get("__annotations__")
    if annotations is None:  # Python 3.14 evaluates annotations lazily, outside the dict
        annotations = getattr(cls, "__annotations__", {})
    for name, annotation in annotations.items():
        if str(annotation).strip().startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = cls.__dict__.get(name, _MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        f.name = name
        if type(f.default) in (list, dict, set):
            raise ValueError(f"mutable default {type(f.default).__name__} for field {name}: "
                             "use default_factory")
        by_name[name] = f
    all_fields = tuple(by_name.values())

    # __init__, generated once so that building a million records costs what plain
    # assignments cost.
    names = [f.name for f in all_fields]
    env: dict[str, object] = {"_MISSING": _MISSING, "_set": object.__setattr__}
    params, body, seen_default = [], [], False
    for f in all_fields:
        if f.default is not _MISSING:
            env[f"_d_{f.name}"] = f.default
            params.append(f"{f.name}=_d_{f.name}")
            seen_default = True
        elif f.default_factory is not _MISSING:
            env[f"_f_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            seen_default = True
        else:
            if seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
            params.append(f.name)
        value = f"_f_{f.name}() if {f.name} is _MISSING else {f.name}" \
            if f.default_factory is not _MISSING else f.name
        body.append(f"_set(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n    " + "\n    ".join(body or ["pass"])
    exec(source, env)  # noqa: S102 - our own field names only
    methods: dict[str, object] = {"__init__": env["__init__"], _FIELDS: all_fields,
                                  "__match_args__": tuple(names)}

    shown = [f.name for f in all_fields if f.repr]
    compared = [f.name for f in all_fields if f.compare]
    if with_repr and "__repr__" not in cls.__dict__:
        methods["__repr__"] = _repr_method(shown)
    if eq:
        key = _key(compared)
        if "__eq__" not in cls.__dict__:
            methods["__eq__"] = _eq_method(key)
        # dataclass's rule: a __hash__ of the class's own is kept (a class that defines
        # __eq__ gets __hash__ = None from Python, which is not its own)
        own_hash = "__hash__" in cls.__dict__ and not (
            cls.__dict__["__hash__"] is None and "__eq__" in cls.__dict__)
        if not own_hash:
            # frozen: hashed by the compared fields; mutable and comparable: unhashable
            methods["__hash__"] = _hash_method(key) if frozen else None
    if frozen:
        field_names = frozenset(names)

        def __setattr__(self, name, value):
            if type(self) is new_cls or name in field_names:
                raise FrozenRecordError(f"cannot assign to field {name!r}")
            object.__setattr__(self, name, value)

        def __delattr__(self, name):
            if type(self) is new_cls or name in field_names:
                raise FrozenRecordError(f"cannot delete field {name!r}")
            object.__delattr__(self, name)

        methods["__setattr__"], methods["__delattr__"] = __setattr__, __delattr__
        if slots:  # copy and pickle set a frozen record's slots the way __init__ does
            methods["__getstate__"] = _getstate_method(names)
            methods["__setstate__"] = _setstate_method(names)
    methods["__replace__"] = _replace_method()  # copy.replace (Python 3.13)

    if slots:
        namespace = {k: v for k, v in cls.__dict__.items()
                     if k not in names and k not in ("__dict__", "__weakref__")}
        inherited = {n for b in cls.__mro__[1:] for n in getattr(b, "__slots__", ())}
        namespace["__slots__"] = tuple(n for n in names if n not in inherited)
        namespace.update(methods)
        new_cls = type(cls)(cls.__name__, cls.__bases__, namespace)
        new_cls.__qualname__ = cls.__qualname__
    else:
        new_cls = cls
        for name, value in methods.items():
            setattr(cls, name, value)
        for f in all_fields:  # defaults live in __init__; a Field must not stay on the class
            if isinstance(cls.__dict__.get(f.name), Field):
                if f.default is _MISSING:
                    delattr(cls, f.name)
                else:
                    setattr(cls, f.name, f.default)
    for method in methods.values():
        if callable(method) and hasattr(method, "__qualname__"):
            method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
    return new_cls


def _key(names: list[str]):
    """The compared fields of a record as a tuple."""
    if not names:
        return lambda self: ()
    if len(names) == 1:
        get = attrgetter(names[0])
        return lambda self: (get(self),)
    return attrgetter(*names)


def _eq_method(key):
    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    return __eq__


def _replace_method():
    def __replace__(self, /, **changes):
        return replace(self, **changes)

    return __replace__


def _getstate_method(names: list[str]):
    def __getstate__(self):
        return [getattr(self, name) for name in names]

    return __getstate__


def _setstate_method(names: list[str]):
    def __setstate__(self, state):
        for name, value in zip(names, state):
            object.__setattr__(self, name, value)

    return __setstate__


def _hash_method(key):
    def __hash__(self):
        return hash(key(self))

    return __hash__


def _repr_method(names: list[str]):
    getters = [(name, attrgetter(name)) for name in names]

    def __repr__(self):
        inner = ", ".join(f"{name}={get(self)!r}" for name, get in getters)
        return f"{type(self).__qualname__}({inner})"

    return __repr__
