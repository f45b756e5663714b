"""The dashboard's FilterSet over jobs, driven by the search language."""

from __future__ import annotations

import django_filters
from django import forms

from ciapp.models import Job, JobQuerySet
from ciapp.search import InvalidQuery, Query, parse


class InvalidSearch(forms.ValidationError):
    """A search that does not parse; ``term`` is the part to point at."""

    def __init__(self, error: InvalidQuery) -> None:
        super().__init__(error.message, code="invalid_query")
        self.term = error.term


class SearchField(forms.CharField):
    """A search box whose cleaned value is a parsed :class:`Query`."""

    def to_python(self, value: object) -> Query:  # type: ignore[override]
        text = super().to_python(value)
        try:
            return parse(text or "")
        except InvalidQuery as e:
            raise InvalidSearch(e)


class SearchFilter(django_filters.Filter):
    field_class = SearchField

    def filter(self, qs: JobQuerySet, value: Query | None) -> JobQuerySet:
        if value is None or not value.terms:
            return qs
        return qs.matching(value)


class JobFilter(django_filters.FilterSet):
    q = SearchFilter(label="Search", required=False, strip=True)

    class Meta:
        model = Job
        fields: list[str] = []

    @property
    def query(self) -> Query | None:
        """The parsed search, or None when it is invalid."""
        if not self.is_valid():
            return None
        query: Query | None = self.form.cleaned_data.get("q")
        return query

    @property
    def text(self) -> str:
        """The search as typed, for putting back into the search bar."""
        value = self.data.get("q", "")
        return value if isinstance(value, str) else ""

    @property
    def invalid(self) -> InvalidSearch | None:
        """The error of an invalid search, or None."""
        if self.is_valid():
            return None
        for error in self.form.errors.as_data().get("q", []):
            if isinstance(error, InvalidSearch):
                return error
        return None
