import datetime as dt
import math

from django import template
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def user_name(user) -> str:
    """{{ statement.approved_by|user_name }}: full name, else login, else "—" (no user)."""
    from teams.selectors.organisation import user_display_name

    return user_display_name(user=user or None)


@register.filter
def minutes(value: dt.timedelta | None) -> int:
    """Whole minutes of a duration, rounded up (a lockout of 90 s reads "2 minutes")."""
    return math.ceil(value.total_seconds() / 60) if value else 0


@register.filter
def get_field(form, name: str):
    """form|get_field:"name" → the bound field, for forms whose fields are built at run time."""
    return form[name]


@register.simple_tag
def select_field(bound_field) -> str:
    """A single select of flat choices (no option groups, no per-option attributes), rendered in
    Python: Django renders each option through the template engine (tens of microseconds each),
    which made the dashboards' filter form (a hundred options) the slowest part of a page. The
    options and their selection are the widget's own (`optgroups`), so for such a field the markup
    means the same as `{{ form.field }}` (tested)."""
    widget = bound_field.field.widget
    extra = bound_field.build_widget_attrs({"id": bound_field.auto_id} if bound_field.auto_id else {}, widget)
    attrs = widget.build_attrs(widget.attrs, {"name": bound_field.html_name, **extra})
    groups = widget.optgroups(bound_field.html_name, widget.format_value(bound_field.value()))
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (option["value"], mark_safe(" selected") if option["selected"] else "", option["label"])
            for _group, group_options, _index in groups
            for option in group_options
        ),
    )
    return format_html("<select{}>{}</select>", flatatt({k: v for k, v in attrs.items() if v is not False}), options)
