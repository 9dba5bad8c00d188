"""HR's appraisal template pages: the list (built-ins marked, versions, where each is used), a
template as it reads, and the editor (create, edit, copy, retire, preview on a past month).

HR and administrators write; store managers and team leads read the templates they may use when
they open a cycle; staff never see templates (403). A template outside the viewer's stores
answers 404. Thin: parse, call one service or selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from metrics.formatting import percent_display
from metrics.registry import KPI_BY_KEY
from perfmgmt.common.periods import month_previous
from reviews.models import AppraisalTemplate, Dimension, ItemKind, RaterRole, ScoringRule
from reviews.selectors.sheets import bands_text, rule_text
from reviews.selectors.templates import (
    template_current,
    template_cycles,
    template_in_final_use,
    template_list,
    template_preview,
    template_versions,
)
from reviews.services.templates import (
    appraisal_template_copy,
    appraisal_template_create,
    appraisal_template_retire,
    appraisal_template_update,
    appraisal_templates_ensure,
)
from reviews.template_forms import (
    Editor,
    PreviewForm,
    editor_blank,
    editor_errors,
    editor_from_post,
    editor_from_spec,
    editor_prototypes,
    editor_spec,
    kpi_choices,
    store_choices,
)
from reviews.template_spec import template_spec_cleaned, template_spec_of, template_spec_validate
from teams.selectors.scoping import (
    Viewer,
    store_list,
    team_list,
    viewer_edits_appraisal_templates,
    viewer_reads_appraisal_templates,
)
from teams.web import viewer_for_request

PREVIEW, SAVE = "preview", "save"


def _reader(request: HttpRequest) -> Viewer:
    viewer = viewer_for_request(request=request)
    if not viewer_reads_appraisal_templates(viewer=viewer):
        raise PermissionDenied(_("Appraisal templates are for HR, store managers and team leads."))
    return viewer


def _editor_check(request: HttpRequest) -> Viewer:
    viewer = viewer_for_request(request=request)
    if not viewer_edits_appraisal_templates(viewer=viewer):
        raise PermissionDenied(_("Only HR and administrators edit appraisal templates."))
    return viewer


@login_required
def template_list_view(request: HttpRequest) -> HttpResponse:
    viewer = _reader(request)
    if not AppraisalTemplate.objects.exists():
        appraisal_templates_ensure()
    show_retired = request.GET.get("retired") == "1"
    templates = template_list(viewer=viewer).order_by("-key", "name_zh", "version")
    if not show_retired:
        templates = templates.filter(retired_at__isnull=True)
    return render(request, "reviews/template_list.html", {
        "templates": list(templates), "show_retired": show_retired,
        "edits": viewer_edits_appraisal_templates(viewer=viewer),
        "retired_count": template_list(viewer=viewer).filter(retired_at__isnull=False).count(),
    })  # fmt: skip


def _template_get(request: HttpRequest, viewer: Viewer, pk: int) -> AppraisalTemplate:
    return get_object_or_404(template_list(viewer=viewer), pk=pk)


@login_required
def template_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _reader(request)
    template = _template_get(request, viewer, pk)
    dimensions = list(Dimension.objects.filter(template=template).prefetch_related("items").order_by("order", "pk"))
    rows = []
    for dimension in dimensions:
        items = []
        for item in sorted(dimension.items.all(), key=lambda i: (i.order, i.pk)):
            kpi = KPI_BY_KEY.get(item.kpi_key) if item.kind == ItemKind.KPI else None
            raters = [(RaterRole(role).label, percent_display(weight, places=2)) for role, weight in (
                (RaterRole.MANAGER, item.manager_weight), (RaterRole.SELF, item.self_weight),
                (RaterRole.PEER, item.peer_weight)) if weight > 0]  # fmt: skip
            items.append({"item": item, "kpi": kpi, "rule": rule_text(item=item, kpi=kpi) if kpi else "",
                          "raters": raters, "weight": percent_display(item.weight, places=2)})  # fmt: skip
        rows.append({"dimension": dimension, "items": items, "weight": percent_display(dimension.weight, places=2)})
    bands = [(b, percent_display(b.guide, places=2)) for b in template.bands]
    return render(request, "reviews/template_detail.html", {
        "template": template, "dimensions": rows, "versions": template_versions(template=template),
        "current": template_current(template=template),
        "cycles": template_cycles(viewer=viewer, template=template)[:50],
        "final_use": template_in_final_use(template=template), "edits": viewer_edits_appraisal_templates(viewer=viewer),
        "bands_text": bands_text(bands=template.bands), "bands": bands,
    })  # fmt: skip


def _editor_page(request: HttpRequest, viewer: Viewer, *, template: AppraisalTemplate | None, editor: Editor,
                 preview_form: PreviewForm | None = None, preview=None, status: int = 200) -> HttpResponse:  # fmt: skip
    teams = team_list(viewer=viewer).select_related("store").order_by("store__name", "name")
    if preview_form is None:
        preview_form = PreviewForm(teams=teams, month=month_previous(timezone.localdate()))
    return render(request, "reviews/template_edit.html", {
        "template": template, "editor": editor, "kpis": kpi_choices(),
        "stores": store_choices(store_list(viewer=viewer).order_by("name")),
        "kinds": ItemKind.choices, "rules": ScoringRule.choices, "preview_form": preview_form, "preview": preview,
        "final_use": template is not None and template_in_final_use(template=template),
        "blank": editor_prototypes(),
    }, status=status)  # fmt: skip


def _editor_post(request: HttpRequest, viewer: Viewer, template: AppraisalTemplate | None) -> HttpResponse:
    """Preview or save what the page sent: errors beside their fields, nothing written unless saved."""
    editor = editor_from_post(data=request.POST)
    spec = editor_spec(editor=editor)
    teams = team_list(viewer=viewer).select_related("store")
    preview_form = PreviewForm(request.POST if request.POST.get("action") == PREVIEW else None, teams=teams,
                               month=month_previous(timezone.localdate()))  # fmt: skip
    if spec.store_id and not store_list(viewer=viewer).filter(pk=spec.store_id).exists():
        editor.add_error("store", _("Choose a store from the list."))
    try:
        template_spec_validate(spec=template_spec_cleaned(spec=spec))
    except ValidationError as error:
        editor_errors(editor=editor, error=error)
    if editor.has_errors:
        return _editor_page(request, viewer, template=template, editor=editor, preview_form=preview_form, status=400)
    if request.POST.get("action") == PREVIEW:
        if not preview_form.is_valid():
            return _editor_page(request, viewer, template=template, editor=editor, preview_form=preview_form,
                                status=400)  # fmt: skip
        preview = template_preview(spec=spec, team=preview_form.cleaned_data["team"],
                                   month=preview_form.cleaned_data["month"])  # fmt: skip
        return _editor_page(request, viewer, template=template, editor=editor, preview_form=preview_form,
                            preview=preview)  # fmt: skip
    try:
        if template is None:
            saved = appraisal_template_create(actor=request.user, spec=spec)
        else:
            saved = appraisal_template_update(actor=request.user, template=template, spec=spec)
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            editor_errors(editor=editor, error=error)
        else:
            for text in error.messages:
                editor.add_error("", text)
        return _editor_page(request, viewer, template=template, editor=editor, preview_form=preview_form, status=400)
    if template is not None and saved.pk != template.pk:
        text = _("Saved as version %(version)s: finalised cycles keep version %(old)s, new cycles use the new one.")
        messages.success(request, text % {"version": saved.version, "old": template.version})
    else:
        messages.success(request, _("The template %(name)s is saved.") % {"name": saved.name})
    return redirect("reviews:template_detail", pk=saved.pk)


@login_required
def template_create_view(request: HttpRequest) -> HttpResponse:
    viewer = _editor_check(request)
    if request.method == "POST":
        return _editor_post(request, viewer, None)
    return _editor_page(request, viewer, template=None, editor=editor_blank())


@login_required
def template_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _editor_check(request)
    template = _template_get(request, viewer, pk)
    if template.retired:
        current = template_current(template=template)
        messages.warning(request, _("This version is retired and cannot change; its current version is shown."))
        if current.pk == template.pk:
            return redirect("reviews:template_detail", pk=template.pk)
        return redirect("reviews:template_edit", pk=current.pk)
    if request.method == "POST":
        return _editor_post(request, viewer, template)
    return _editor_page(
        request, viewer, template=template, editor=editor_from_spec(spec=template_spec_of(template=template))
    )


@login_required
@require_POST
def template_copy_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _editor_check(request)
    template = _template_get(request, viewer, pk)
    copy = appraisal_template_copy(actor=request.user, template=template)
    messages.success(request, _("%(name)s is a copy you can now edit.") % {"name": copy.name})
    return redirect("reviews:template_edit", pk=copy.pk)


@login_required
@require_POST
def template_retire_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = _editor_check(request)
    template = _template_get(request, viewer, pk)
    try:
        appraisal_template_retire(actor=request.user, template=template)
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("%(name)s is retired: it is no longer offered for new cycles; its cycles keep "
                                    "it.") % {"name": template.name})  # fmt: skip
    return redirect("reviews:template_detail", pk=template.pk)
