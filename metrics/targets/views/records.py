"""Staff's counts of their behaviours: pick whose and which day, record, see the recent ones."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from metrics.targets.forms.records import RecordForm, RecordPickForm
from metrics.targets.selectors import (
    behaviour_list_of_member,
    behaviour_record_list,
    member_recording_get,
    store_list_of_member,
    target_list_of_member_behaviours,
    targets_progress_by_store,
)
from metrics.targets.services import (
    behaviour_record_set,
)
from metrics.targets.views.rows import (
    progress_row,
    service_errors,
)
from perfmgmt.common.periods import store_today
from teams.selectors.scoping import (
    member_list_recordable,
    viewer_get,
)


@login_required
def record_view(request: HttpRequest) -> HttpResponse:
    viewer = viewer_get(user=request.user)
    members = member_list_recordable(viewer=viewer)
    if not members.exists():
        raise PermissionDenied(_("Counts are recorded by staff, their team leads and managers."))
    source = request.POST if request.method == "POST" else request.GET
    pick = RecordPickForm(source, members=members, today=timezone.localdate())
    pick.is_valid()
    member = pick.cleaned_data.get("member") or member_recording_get(viewer=viewer, members=members)
    stores = list(store_list_of_member(member=member))
    today = store_today(stores[0] if stores else None)
    day = pick.cleaned_data.get("date") or today
    if day > today and request.method == "GET":
        messages.warning(request, _("A day in the future cannot be recorded yet; today is shown instead."))
        day = today
    behaviours = list(behaviour_list_of_member(member=member))
    existing = {r.behaviour_id: r for r in behaviour_record_list(member_id=member.pk, start=day, end=day)}
    initial = {"date": day, "note": next((r.note for r in existing.values() if r.note), "")}
    initial.update({f"count_{b_id}": r.count for b_id, r in existing.items()})
    form = RecordForm(request.POST or None, behaviours=behaviours, today=today, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = 0
        try:
            for behaviour, count in form.counts():
                behaviour_record_set(
                    viewer=viewer,
                    user=request.user,
                    member=member,
                    behaviour=behaviour,
                    date=form.cleaned_data["date"],
                    count=count,
                    note=form.cleaned_data["note"],
                )
                saved += 1
        except PermissionDenied as error:
            form.add_error(None, str(error))
        except ValidationError as error:
            service_errors(form, error)
        else:
            messages.success(
                request,
                _("Recorded %(count)s counts of %(member)s for %(day)s.")
                % {"count": saved, "member": member.display_name, "day": f"{form.cleaned_data['date']:%Y-%m-%d}"},
            )
            query = f"?member={member.pk}&date={form.cleaned_data['date']:%Y-%m-%d}"
            return redirect(reverse("targets:record") + query)
    recent = list(behaviour_record_list(member_id=member.pk)[:30])
    own_targets = target_list_of_member_behaviours(viewer=viewer, member=member, since=today - dt.timedelta(days=31))
    progress = targets_progress_by_store(targets=own_targets)
    return render(
        request,
        "targets/record.html",
        {
            "member": member,
            "own": member.pk == viewer.member_id,
            "pick": pick if members.count() > 1 else None,
            "form": form,
            "day": day,
            "today": today,
            "behaviours": behaviours,
            "recent": recent,
            "target_rows": [progress_row(t, progress[t.pk]) for t in own_targets],
        },
    )
