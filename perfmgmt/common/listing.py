"""Sorting and pagination for list pages, driven by the query string so views stay bookmarkable."""

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

PAGE_SIZE = 25


def queryset_sort(
    *, request: HttpRequest, queryset: QuerySet, fields: dict[str, str], default: str
) -> tuple[QuerySet, str]:
    """Order by `?sort=key` or `?sort=-key` where key is one of `fields` (key → ORM path)."""
    requested = request.GET.get("sort", default)
    key = requested.removeprefix("-")
    if key not in fields:
        requested, key = default, default.removeprefix("-")
    prefix = "-" if requested.startswith("-") else ""
    return queryset.order_by(f"{prefix}{fields[key]}", "pk"), requested


def queryset_paginate(*, request: HttpRequest, queryset: QuerySet, per_page: int = PAGE_SIZE) -> Page:
    """The requested page; a page number past the end or not a number gives the nearest valid page."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))
