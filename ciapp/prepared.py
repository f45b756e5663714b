"""Querysets compiled to SQL once, then run again with other values.

Django compiles a queryset to SQL every time it runs. For the API's hottest
statements (the token, the repository, a search) compiling costs five to
ten times as much as the database takes to answer. A :class:`Prepared`
compiles its queryset once for each database connection, with stand-in
values where the real ones go, and then runs that SQL with the real values:
the same statement Django would have made, without making it again.

A stand-in must reach the compiled SQL as a parameter of its own, unchanged
(an exact lookup, not ``icontains``, which wraps it in ``%``); compiling
checks this and refuses a queryset where it does not.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)

# How many statements each connection keeps; the least recently used goes.
CACHE_SIZE = 256

_ids = itertools.count()


class Compiled:
    """One compiled statement and how to turn its rows into models."""

    def __init__(
        self,
        sql: str,
        params: list[Any],
        slots: list[int],
        converters: dict[int, tuple[list[Any], Any]],
        connection: BaseDatabaseWrapper,
    ) -> None:
        self.sql = sql
        self.params = params
        self.slots = slots
        self.converters = converters
        self.connection = connection

    def params_with(self, values: Sequence[Any]) -> list[Any]:
        params = list(self.params)
        for position, value in zip(self.slots, values, strict=True):
            params[position] = value
        return params

    def convert(self, row: Sequence[Any]) -> list[Any]:
        values = list(row)
        for position, (functions, expression) in self.converters.items():
            value = values[position]
            for function in functions:
                value = function(value, expression, self.connection)
            values[position] = value
        return values


def stand_ins(kinds: Sequence[type]) -> list[Any]:
    """Values no real call passes, one per slot, of the slot's type."""
    values: list[Any] = []
    for i, kind in enumerate(kinds):
        if kind is int:
            values.append(-7_340_033 - i)
        elif kind is str:
            values.append(f"\x00stand-in {i}\x00")
        else:
            raise ImproperlyConfigured(f"A slot of type {kind.__name__} is not made.")
    return values


def compile_queryset(
    queryset: QuerySet[Any], fields: Sequence[str], slot_values: Sequence[Any]
) -> Compiled:
    """Compile ``queryset``'s rows of ``fields``; find where each slot went."""
    alias = queryset.db
    connection = connections[alias]
    query = queryset.values_list(*fields).query
    compiler = query.get_compiler(alias)
    sql, params = compiler.as_sql()
    params = list(params)
    slots = []
    for value in slot_values:
        found = [
            i
            for i, param in enumerate(params)
            if type(param) is type(value) and param == value
        ]
        if len(found) != 1:
            raise ImproperlyConfigured(
                f"A stand-in reached the SQL {len(found)} times, not once as a "
                f"parameter of its own: {sql}"
            )
        slots.append(found[0])
    columns = [column for column, _, _ in compiler.select[: compiler.col_count]]
    converters = compiler.get_converters(columns)
    return Compiled(sql, params, slots, converters, connection)


def _cache(connection: BaseDatabaseWrapper) -> OrderedDict[Any, Compiled | None]:
    """The statements compiled on this connection (per thread, per alias)."""
    cache: OrderedDict[Any, Compiled | None] | None = getattr(
        connection, "_prepared_statements", None
    )
    if cache is None:
        cache = OrderedDict()
        connection._prepared_statements = cache  # type: ignore[attr-defined]
    return cache


def cached(
    key: Any, compile: Callable[[], Compiled | None], alias: str = DEFAULT_DB_ALIAS
) -> Compiled | None:
    """The statement compiled for ``key`` on this connection; compile it once.

    ``None`` stands for a statement that can match nothing.
    """
    cache = _cache(connections[alias])
    try:
        compiled = cache[key]
    except KeyError:
        compiled = compile()
        cache[key] = compiled
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return compiled


def fetch_first(
    compiled: Compiled | None, values: Sequence[Any], sql: str | None = None
) -> list[Any] | None:
    """The first row of a compiled statement run with ``values``, converted."""
    if compiled is None:
        return None
    with compiled.connection.cursor() as cursor:
        cursor.execute(sql or compiled.sql, compiled.params_with(values))
        row = cursor.fetchone()
    return None if row is None else compiled.convert(row)


def model_fields(model: type[Model]) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


def build(model: type[M], values: Sequence[Any], alias: str = DEFAULT_DB_ALIAS) -> M:
    """A model instance from its concrete fields' values, as Django makes one."""
    return model.from_db(alias, model_fields(model), values)


class Prepared(Generic[M]):
    """A queryset of ``model`` made by ``make(*slots)``, compiled once.

    ``related`` names foreign keys whose objects come in the same row (a
    join), as ``select_related`` would. ``joined`` names other relations the
    queryset joins, such as a ``FilteredRelation``, with their models: each
    becomes an attribute of that name, None where the join found no row.
    """

    def __init__(
        self,
        model: type[M],
        make: Callable[..., QuerySet[M]],
        slots: Sequence[type],
        related: Sequence[str] = (),
        joined: Mapping[str, type[Model]] | None = None,
    ) -> None:
        self.model = model
        self.make = make
        self.slots = list(slots)
        self.related = list(related)
        self.joined = dict(joined or {})
        self.key = ("prepared", next(_ids))

    @cached_property
    def _parts(self) -> list[tuple[str, type[Model], list[str]]]:
        """The models a row holds, with their attribute and fields."""
        parts: list[tuple[str, type[Model], list[str]]] = [
            ("", self.model, model_fields(self.model))
        ]
        targets = []
        for name in self.related:
            target = self.model._meta.get_field(name).related_model
            assert isinstance(target, type) and issubclass(target, Model)
            targets.append((name, target))
        for name, target in [*targets, *self.joined.items()]:
            parts.append((name, target, [f"{name}__{f}" for f in model_fields(target)]))
        return parts

    def _compile(self) -> Compiled | None:
        values = stand_ins(self.slots)
        fields = [f for _, _, names in self._parts for f in names]
        try:
            return compile_queryset(self.make(*values)[:1], fields, values)
        except EmptyResultSet:
            return None

    def first(self, *values: Any) -> M | None:
        row = fetch_first(cached(self.key, self._compile), values)
        if row is None:
            return None
        objects: list[Model | None] = []
        start = 0
        for _, model, names in self._parts:
            part = row[start : start + len(names)]
            start += len(names)
            found = part[names.index(_pk_name(model, names))] is not None
            objects.append(build(model, part) if found else None)
        main = objects[0]
        for (name, _, _), related in zip(self._parts[1:], objects[1:], strict=True):
            setattr(main, name, related)
        return main  # type: ignore[return-value]


def _pk_name(model: type[Model], names: list[str]) -> str:
    """Of ``names`` (a model's fields, maybe behind a prefix), the key's."""
    pk = model._meta.pk
    assert pk is not None
    return names[model_fields(model).index(pk.attname)]
