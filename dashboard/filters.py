"""The dashboard's FilterSet over jobs, driven by the search language."""

from __future__ import annotations

import django_filters
from django import forms

from ciapp.models import Job, JobQuerySet
from ciapp.search import InvalidQuery, Query, parse


class SearchField(forms.CharField):
    """A search box whose cleaned value is a parsed :class:`Query`."""

    def to_python(self, value: object) -> Query:  # type: ignore[override]
        text = super().to_python(value)
        try:
            return parse(text or "")
        except InvalidQuery as e:
            raise forms.ValidationError(e.message, code="invalid_query")


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
