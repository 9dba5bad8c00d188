from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with `changes` applied (a value of None removes the key)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def sort_header(context, key: str, label: str) -> str:
    """A column header that sorts by `key`, toggling direction, with an arrow on the active column."""
    current = context.get("sort", "")
    active = current.removeprefix("-") == key
    descending = current.startswith("-")
    target = key if (not active or descending) else f"-{key}"
    arrow = ("▼" if descending else "▲") if active else ""
    aria = ("descending" if descending else "ascending") if active else "none"
    href = query_with(context, sort=target, page=None)
    return format_html('<a href="{}" class="sort" aria-sort="{}">{} {}</a>', href, aria, label, arrow)
