"""Appraisal pages: the overview of a month's cycles, a cycle (members, state, calibration guide,
data changes since finalisation, audit trail), the manager's review, the member's self review,
the appraisal itself and its printable sheet, and the member's own list.

Thin: parse the query or the form, call the appraisal selectors or services, render. What a viewer
may not see answers 404; what their role may never do answers 403. The services decide what may
change in which state; their refusals are shown on the page."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from perfmgmt.common.listing import PAGE_SIZE
from perfmgmt.common.periods import month_last, month_next, month_previous
from reviews.forms import (
    WITHDRAW,
    AdvanceForm,
    CycleForm,
    DecisionForm,
    OverviewFilterForm,
    RatingsForm,
)
from reviews.models import (
    Appraisal,
    AppraisalTemplate,
    Cycle,
    CycleState,
    DecisionKind,
    Item,
    ItemKind,
    RaterRole,
)
from reviews.selectors.appraisals import (
    MANAGER_EDITABLE,
    PEER_EDITABLE,
    SELF_EDITABLE,
    appraisal_list,
    cycle_list,
    viewer_decides_items,
    viewer_is_peer,
    viewer_rates_as_manager,
)
from reviews.selectors.cycle_pages import appraisal_mine, cycle_overview, cycle_page
from reviews.selectors.sheets import appraisal_neighbours, appraisal_ratings, appraisal_sheet, bands_text
from reviews.services.cycles import cycle_advance, cycle_create, item_decision_set, item_decision_withdraw
from reviews.services.ratings import RatingInput, RatingRefused, appraisal_ratings_save
from reviews.services.templates import appraisal_templates_ensure
from teams.models import Store
from teams.selectors.scoping import (
    Viewer,
    store_list_for_cycles,
    team_list_for_cycles,
    viewer_manages_cycle,
    viewer_opens_cycles,
    viewer_runs_appraisals,
    viewer_sees_cycle,
)
from teams.web import viewer_for_request

MOVED = {
    CycleState.SELF_REVIEW: gettext_lazy("Self review started: members can rate themselves now."),
    CycleState.MANAGER_REVIEW: gettext_lazy("Manager review started: self ratings are closed."),
    CycleState.CALIBRATION: gettext_lazy("Calibration started: changes now need a reason."),
    CycleState.FINALISED: gettext_lazy("The cycle is finalised: scores and KPI values are frozen."),
    CycleState.PUBLISHED: gettext_lazy("The cycle is published: members can see their appraisals."),
}


def _errors_of(error: ValidationError | PermissionDenied) -> list[str]:
    if isinstance(error, ValidationError):
        return list(error.messages)
    return [str(error)] if str(error) else [_("You may not do this.")]


def _appraisal_get(request: HttpRequest, pk: int) -> Appraisal:
    viewer = viewer_for_request(request=request)
    return get_object_or_404(
        appraisal_list(viewer=viewer).select_related("cycle__template", "cycle__store", "cycle__team", "member"),
        pk=pk,
    )


def _dashboard_query(cycle: Cycle) -> str:
    return f"preset=custom&start={cycle.month:%Y-%m-%d}&end={month_last(cycle.month):%Y-%m-%d}"


# --- the overview -----------------------------------------------------------------------------------


def _cycle_form(viewer: Viewer, *, month: dt.date, request: HttpRequest | None = None, data=None,
                store: Store | None = None) -> CycleForm:  # fmt: skip
    """The "Open a cycle" form; the built-in templates are made the first time it is shown."""
    if not AppraisalTemplate.objects.exists():
        appraisal_templates_ensure()
    if data is not None:
        return CycleForm(data, viewer=viewer)
    team = None
    if request is not None:
        team = team_list_for_cycles(viewer=viewer).filter(pk=_int(request.GET.get("new_team"))).first()
        store = store_list_for_cycles(viewer=viewer).filter(pk=_int(request.GET.get("new_store"))).first() or store
    return CycleForm(viewer=viewer, initial=CycleForm.initial_for(month=month, store=store, team=team))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@login_required
def overview_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    if not viewer_opens_cycles(viewer=viewer):
        return redirect("reviews:mine")
    stores = store_list_for_cycles(viewer=viewer)
    filters = OverviewFilterForm(request.GET or None, stores=stores)
    month = store = None
    if filters.is_bound:
        if filters.is_valid():
            month, store = filters.cleaned_data["month"], filters.cleaned_data["store"]
        else:
            messages.warning(request, _("That month or store could not be used; the defaults are shown."))
    month = month or month_previous(timezone.localdate())
    if store is None and len(stores) == 1 and not request.GET.get("store"):
        store = stores[0]
    overview = cycle_overview(viewer=viewer, month=month, store=store)
    page = Paginator(overview.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    shown = OverviewFilterForm(initial={"month": month, "store": store}, stores=stores)
    form = _cycle_form(viewer, month=month, request=request, store=store)
    return render(request, "reviews/overview.html", {
        "filters": shown, "month": month, "store": store, "page": page, "summary": overview.summary,
        "form": form, "open_form": any(request.GET.get(k) for k in ("new", "new_team", "new_store")),
        "language": get_language(), "previous_month": month_previous(month), "today": timezone.localdate(),
        "next_month": month_next(month),
    })  # fmt: skip


@login_required
def cycle_create_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    if not viewer_opens_cycles(viewer=viewer):
        raise PermissionDenied(_("Appraisal cycles are opened by HR, the store's managers or the team's lead."))
    month = month_previous(timezone.localdate())
    if request.method != "POST":
        return render(request, "reviews/cycle_form.html", {"form": _cycle_form(viewer, month=month, request=request)})
    form = _cycle_form(viewer, month=month, data=request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            cycle = cycle_create(
                viewer=viewer, user=request.user, store=data["store"], team=data["team"], month=data["month"],
                template=data["template"], deadlines=form.deadlines(),
            )  # fmt: skip
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for name, errors in error.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                form.add_error(None, error.messages)
        except PermissionDenied as error:
            form.add_error(None, _errors_of(error))
        else:
            count = cycle.appraisals.count()
            if count:
                messages.success(request, _("The cycle is open with %(count)s members. Start self review when "
                                            "you are ready.") % {"count": count})  # fmt: skip
            else:
                messages.warning(request, _("The cycle is open but nobody was in the team that month: check the "
                                            "team's members."))  # fmt: skip
            return redirect("reviews:cycle", pk=cycle.pk)
    return render(request, "reviews/cycle_form.html", {"form": form}, status=400)


# --- a cycle ----------------------------------------------------------------------------------------


@login_required
def cycle_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    cycle = get_object_or_404(cycle_list(viewer=viewer), pk=pk)
    if not viewer_sees_cycle(viewer=viewer, store_id=cycle.store_id, team_id=cycle.team_id):
        raise PermissionDenied(_("Only HR and the team's managers see the whole cycle."))
    page = cycle_page(viewer=viewer, cycle=cycle, sort=request.GET.get("sort", "name"),
                      audit_page=request.GET.get("page"))  # fmt: skip
    return render(request, "reviews/cycle.html", {
        "cycle": cycle, "reopen_form": AdvanceForm(initial={"to": CycleState.CALIBRATION}), **page.as_context(),
    })  # fmt: skip


@login_required
@require_POST
def cycle_advance_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    cycle = get_object_or_404(cycle_list(viewer=viewer), pk=pk)
    if not viewer_sees_cycle(viewer=viewer, store_id=cycle.store_id, team_id=cycle.team_id):
        raise PermissionDenied(_("Only HR and the team's managers move a cycle on."))
    form = AdvanceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a state to move the cycle to."))
        return redirect("reviews:cycle", pk=cycle.pk)
    to, reason = form.cleaned_data["to"], form.cleaned_data["reason"]
    reopening = cycle.locked and to == CycleState.CALIBRATION
    try:
        cycle = cycle_advance(viewer=viewer, user=request.user, cycle=cycle, to=to, reason=reason)
    except (ValidationError, PermissionDenied) as error:
        for text in _errors_of(error):
            messages.error(request, text)
        return redirect(reverse("reviews:cycle", args=[cycle.pk]) + ("#reopen" if reopening else "#actions"))
    if reopening:
        messages.success(request, _("The cycle is back in calibration; scores follow the data again until it is "
                                    "finalised."))  # fmt: skip
    else:
        messages.success(request, str(MOVED[to]))
    return redirect("reviews:cycle", pk=cycle.pk)


# --- the manager's review and the self review -------------------------------------------------------


def _save_ratings(form: RatingsForm, *, viewer: Viewer, user, appraisal: Appraisal, role: str) -> None:
    """Save what changed, all of it or nothing (one service); its refusals are put on the form."""
    ratings = [RatingInput(item=item, score=form.cleaned_data[f"score_{item.pk}"],
                           comment=form.cleaned_data[f"note_{item.pk}"]) for item in form.changed_items()]  # fmt: skip
    comment = form.cleaned_data["comment"] if "comment" in form.changed_data else None
    try:
        appraisal_ratings_save(viewer=viewer, user=user, appraisal=appraisal, role=role, ratings=ratings,
                               comment=comment, reason=form.cleaned_data.get("reason", "") or "")  # fmt: skip
    except RatingRefused as error:
        if hasattr(error, "error_dict"):
            for name, errors in error.message_dict.items():
                if name in ("score", "item") and error.item is not None:
                    name = f"score_{error.item.pk}"
                form.add_error(name if name in form.fields else None, errors)
        else:
            form.add_error(None, error.messages)


@login_required
def review_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    appraisal = _appraisal_get(request, pk)
    cycle = appraisal.cycle
    manages = viewer_manages_cycle(viewer=viewer, store_id=cycle.store_id, team_id=cycle.team_id)
    if not (manages or viewer.sees_everything):
        raise PermissionDenied(_("Only the team's managers and HR review an appraisal."))
    can_rate = viewer_rates_as_manager(viewer=viewer, cycle=cycle)
    can_comment = manages and cycle.state in MANAGER_EDITABLE
    sheet = appraisal_sheet(appraisal=appraisal)

    def make_form(data=None) -> RatingsForm:
        form = RatingsForm(data, items=sheet.rating_items,
                           ratings=appraisal_ratings(appraisal=appraisal, role=RaterRole.MANAGER),
                           comment=appraisal.manager_comment, editable=data is not None or can_rate,
                           comment_label=_("Manager's comment"),
                           reason_required=cycle.state == CycleState.CALIBRATION)  # fmt: skip
        form.fields["comment"].disabled = not can_comment
        return form

    status = 200
    if request.method == "POST":
        form = make_form(request.POST)
        if form.is_valid():
            try:
                _save_ratings(form, viewer=viewer, user=request.user, appraisal=appraisal, role=RaterRole.MANAGER)
            except PermissionDenied:
                form.add_error(None, _("The cycle is %(state)s: the manager's ratings cannot change now.")
                               % {"state": cycle.get_state_display()})  # fmt: skip
                status = 403
            if form.is_valid() and status == 200:
                messages.success(request, _("The review of %(member)s is saved.") % {
                    "member": appraisal.member.display_name})  # fmt: skip
                _previous, following = appraisal_neighbours(appraisal=appraisal)
                if "next" in request.POST and following is not None:
                    return redirect("reviews:review", pk=following.pk)
                return redirect("reviews:review", pk=appraisal.pk)
        if status == 200:
            status = 400
    else:
        form = make_form()
    previous, following = appraisal_neighbours(appraisal=appraisal)
    return render(request, "reviews/review.html", {
        "appraisal": appraisal, "cycle": cycle, "sheet": sheet, "form": form, "can_rate": can_rate,
        "rows": form.rows(sheet.rating_rows),
        "can_comment": can_comment, "previous": previous, "following": following,
        "dashboard_query": _dashboard_query(cycle), "manages": manages,
        "hr_decides": viewer_decides_items(viewer=viewer, cycle=cycle),
    }, status=status)  # fmt: skip


@login_required
def self_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    appraisal = _appraisal_get(request, pk)
    cycle = appraisal.cycle
    own = viewer.member_id == appraisal.member_id
    if not (own or viewer_sees_cycle(viewer=viewer, store_id=cycle.store_id, team_id=cycle.team_id)):
        raise Http404
    editable = own and cycle.state in SELF_EDITABLE
    sheet = appraisal_sheet(appraisal=appraisal)

    def make_form(data=None) -> RatingsForm:
        return RatingsForm(data, items=sheet.rating_items,
                           ratings=appraisal_ratings(appraisal=appraisal, role=RaterRole.SELF,
                                                     rater=appraisal.member.user),
                           comment=appraisal.self_comment, editable=(data is not None and own) or editable,
                           comment_label=_("Self-assessment"))  # fmt: skip

    status = 200
    if request.method == "POST":
        if not own:
            raise PermissionDenied(_("Only the member writes their self review."))
        form = make_form(request.POST)
        if form.is_valid():
            try:
                _save_ratings(form, viewer=viewer, user=request.user, appraisal=appraisal, role=RaterRole.SELF)
            except PermissionDenied:
                form.add_error(None, _("Self review is not open (the cycle is %(state)s): your ratings cannot "
                                       "change now.") % {"state": cycle.get_state_display()})  # fmt: skip
                status = 403
            if form.is_valid() and status == 200:
                messages.success(request, _("Your self review is saved. You can change it until self review "
                                            "closes."))  # fmt: skip
                return redirect("reviews:self", pk=appraisal.pk)
        if status == 200:
            status = 400
    else:
        form = make_form()
    return render(request, "reviews/self.html", {
        "appraisal": appraisal, "cycle": cycle, "sheet": sheet, "form": form, "editable": editable, "own": own,
        "rows": form.rows(sheet.rating_rows),
    }, status=status)  # fmt: skip


def _peer_items(sheet) -> list:
    return [item for item in sheet.rating_items if item.peer_weight > 0]


@login_required
def peer_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A teammate rates a member on the items the template asks peers about (peer weight > 0),
    while self review and manager review are open. Each peer's ratings are their own."""
    viewer = viewer_for_request(request=request)
    appraisal = get_object_or_404(Appraisal.objects.select_related("cycle", "member"), pk=pk)
    cycle = appraisal.cycle
    teammate = viewer_is_peer(viewer=viewer, appraisal=appraisal)
    if not teammate:
        raise Http404
    sheet = appraisal_sheet(appraisal=appraisal)
    items = _peer_items(sheet)
    editable = cycle.state in PEER_EDITABLE and bool(items)

    def make_form(data=None) -> RatingsForm:
        form = RatingsForm(data, items=items,
                           ratings=appraisal_ratings(appraisal=appraisal, role=RaterRole.PEER, rater=request.user),
                           comment="", editable=editable, comment_label=_("Comment"))  # fmt: skip
        form.fields["comment"].disabled = True  # peers rate; the comments are the member's and the manager's
        return form

    status = 200
    if request.method == "POST":
        if not editable:
            raise PermissionDenied(_("Peer ratings are closed (the cycle is %(state)s).")
                                   % {"state": cycle.get_state_display()})  # fmt: skip
        form = make_form(request.POST)
        if form.is_valid():
            try:
                _save_ratings(form, viewer=viewer, user=request.user, appraisal=appraisal, role=RaterRole.PEER)
            except PermissionDenied:
                form.add_error(None, _("Peer ratings are closed (the cycle is %(state)s).")
                               % {"state": cycle.get_state_display()})  # fmt: skip
                status = 403
            if form.is_valid() and status == 200:
                messages.success(request, _("Your ratings of %(member)s are saved.")
                                 % {"member": appraisal.member.display_name})  # fmt: skip
                return redirect("reviews:mine")
        if status == 200:
            status = 400
    else:
        form = make_form()
    rows = form.rows([row for row in sheet.rating_rows if row.item in items])
    return render(request, "reviews/peer.html", {
        "appraisal": appraisal, "cycle": cycle, "form": form, "rows": rows, "editable": editable, "items": items,
    }, status=status)  # fmt: skip


# --- the appraisal, its printable sheet, the member's list ----------------------------------------


def _published_or_managed(request: HttpRequest, pk: int) -> tuple[Appraisal, bool]:
    """The appraisal and whether the viewer may read it in full now: managers and HR anytime, the
    member once it is published."""
    viewer = viewer_for_request(request=request)
    appraisal = _appraisal_get(request, pk)
    if viewer_sees_cycle(viewer=viewer, store_id=appraisal.cycle.store_id, team_id=appraisal.cycle.team_id):
        return appraisal, True
    if viewer.member_id != appraisal.member_id:
        raise Http404
    return appraisal, appraisal.cycle.state == CycleState.PUBLISHED


def _appraisal_page(request: HttpRequest, viewer: Viewer, appraisal: Appraisal, *, bound: DecisionForm | None = None,
                    status: int = 200) -> HttpResponse:  # fmt: skip
    """The appraisal; for HR while it may decide, a form for each KPI item without data (`bound`:
    the one just posted, with its errors)."""
    sheet = appraisal_sheet(appraisal=appraisal)
    decision_forms = []
    if viewer_decides_items(viewer=viewer, cycle=appraisal.cycle):
        for row in sheet.without_data:
            form = bound if bound is not None and bound.item.pk == row.item.pk else None
            decision_forms.append((row, form or DecisionForm(item=row.item, decision=row.decision)))
    return render(request, "reviews/appraisal.html", {
        "appraisal": appraisal, "cycle": appraisal.cycle, "sheet": sheet, "decision_forms": decision_forms,
        "manages": viewer_sees_cycle(viewer=viewer, store_id=appraisal.cycle.store_id,
                                     team_id=appraisal.cycle.team_id), "own": viewer.member_id == appraisal.member_id,
    }, status=status)  # fmt: skip


@login_required
def appraisal_view(request: HttpRequest, pk: int) -> HttpResponse:
    appraisal, readable = _published_or_managed(request, pk)
    viewer = viewer_for_request(request=request)
    if not readable:
        return render(request, "reviews/not_published.html", {"appraisal": appraisal, "cycle": appraisal.cycle})
    return _appraisal_page(request, viewer, appraisal)


@login_required
@require_POST
def decision_view(request: HttpRequest, pk: int) -> HttpResponse:
    """HR enters a value for a KPI item without data, excludes it for this member, or withdraws
    its decision; always with a reason (the service checks the state and writes the audit trail)."""
    viewer = viewer_for_request(request=request)
    appraisal = _appraisal_get(request, pk)
    if not viewer_runs_appraisals(viewer=viewer):
        raise PermissionDenied(_("Only HR decides on KPI items without data."))
    item = get_object_or_404(Item.objects.select_related("dimension"), pk=_int(request.POST.get("item")),
                             kind=ItemKind.KPI, dimension__template_id=appraisal.cycle.template_id)  # fmt: skip
    form = DecisionForm(request.POST, item=item)
    status = 400
    if form.is_valid():
        action, reason = form.cleaned_data["action"], form.cleaned_data["reason"]
        try:
            if action == WITHDRAW:
                item_decision_withdraw(viewer=viewer, user=request.user, appraisal=appraisal, item=item, reason=reason)
            else:
                item_decision_set(viewer=viewer, user=request.user, appraisal=appraisal, item=item, kind=action,
                                  value=form.cleaned_data["value"], reason=reason)  # fmt: skip
        except (ValidationError, PermissionDenied) as error:
            for text in _errors_of(error):  # a message: the form is not shown when the state refuses
                messages.error(request, text)
            if isinstance(error, PermissionDenied):
                status = 403  # not in this state (as the ratings of a locked cycle)
        else:
            done = {
                DecisionKind.VALUE: _("%(item)s is scored from the value you entered."),
                DecisionKind.EXCLUDE: _("%(item)s is excluded for %(member)s; the rest of its dimension carries it."),
                WITHDRAW: _("Your decision on %(item)s is withdrawn."),
            }[action]
            messages.success(request, done % {"item": item.name, "member": appraisal.member.display_name})
            return redirect(reverse("reviews:appraisal", args=[appraisal.pk]) + "#decisions")
    return _appraisal_page(request, viewer, appraisal, bound=form, status=status)


@login_required
def print_view(request: HttpRequest, pk: int) -> HttpResponse:
    appraisal, readable = _published_or_managed(request, pk)
    if not readable:
        raise Http404
    return render(request, "reviews/print.html", {
        "appraisal": appraisal, "cycle": appraisal.cycle, "sheet": appraisal_sheet(appraisal=appraisal),
        "printed_at": timezone.localtime(), "bands_text": bands_text(bands=appraisal.cycle.template.bands),
    })  # fmt: skip


@login_required
def mine_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for_request(request=request)
    mine = appraisal_mine(viewer=viewer, page=request.GET.get("page"))
    return render(request, "reviews/mine.html", {
        "peers": mine.peers, "to_do": mine.to_do, "waiting": mine.waiting, "page": mine.page,
        "can_overview": viewer_opens_cycles(viewer=viewer), "today": timezone.localdate(),
    })  # fmt: skip
