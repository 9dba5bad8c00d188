"""HR's appraisal template editor: the rules a template keeps (in both languages), versions (a
finalised cycle keeps its template and scores), copies, the preview (it scores exactly what a cycle
with the saved template then scores), templates' own grade letters through cycles and the export,
the change log, and the pages.

August 2026, team X of the org fixture: A sells 3 × 300 in August (and 5,000 on 31 July and on 1
September, outside the month), B chats and sells nothing, the lead's account chatted in July only
(no data in August)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from reviews import scoring
from reviews.models import AppraisalTemplate, Cycle, CycleState, Dimension, Item, ItemKind, ItemScore, RaterRole
from reviews.selectors.templates import template_preview
from reviews.services.cycles import cycle_advance, cycle_create, rating_set
from reviews.services.export import appraisals_export
from reviews.services.templates import (
    appraisal_template_copy,
    appraisal_template_create,
    appraisal_template_retire,
    appraisal_template_update,
    appraisal_templates_ensure,
)
from reviews.template_spec import DimensionSpec, ItemSpec, TemplateSpec, template_spec_of, template_spec_validate
from teams.models import ChangeArea, ChangeRecord
from teams.selectors.scoping import viewer_get
from tests.reviews.helpers import august_without_data_for_the_lead, exclude_without_data

pytestmark = pytest.mark.django_db
D = Decimal
AUGUST = dt.date(2026, 8, 1)
LETTERS = [scoring.Band("优", D(85), D("0.2")), scoring.Band("良", D(70), D("0.5")), scoring.Band("中", D(50), D("0.2")),
           scoring.Band("差", D(0), D("0.1"))]  # fmt: skip


def rubric(low: str = "推诿", high: str = "负责到底") -> list[dict[str, str]]:
    return [{"zh": low, "en": "passes problems on"}, {}, {"zh": "按要求完成", "en": "does the job"}, {},
            {"zh": high, "en": "owns results"}]  # fmt: skip


def a_spec(**changes) -> TemplateSpec:
    """Results 70% (GMV linear 0 → 1,000, 50%; paid orders rank, 30%; inquiry conversion by
    thresholds, 20%) and attitude 30% (responsibility, rated by the manager and the member)."""
    spec = TemplateSpec(
        name_zh="客服月度考核", name_en="Service monthly appraisal", bands=list(LETTERS),
        dimensions=[
            DimensionSpec(name_zh="业绩", name_en="Results", weight=D("0.7"), items=[
                ItemSpec(name_zh="销售额", name_en="GMV", kind=ItemKind.KPI, weight=D("0.5"), kpi_key="gmv",
                         rule="linear", floor=D(0), target=D(1000)),
                ItemSpec(name_zh="付款订单排名", name_en="Paid orders rank", kind=ItemKind.KPI, weight=D("0.3"),
                         kpi_key="paid_orders", rule="rank"),
                ItemSpec(name_zh="询单转化", name_en="Inquiry conversion", kind=ItemKind.KPI, weight=D("0.2"),
                         kpi_key="inquiry_to_payment_rate", rule="thresholds",
                         thresholds=[[D("0.2"), D(40)], [D("0.5"), D(80)], [D("0.9"), D(100)]]),
            ]),
            DimensionSpec(name_zh="态度", name_en="Attitude", weight=D("0.3"), items=[
                ItemSpec(name_zh="责任心", name_en="Responsibility", kind=ItemKind.RATING, weight=D(1),
                         rubric_levels=rubric()),
            ]),
        ],
    )  # fmt: skip
    for name, value in changes.items():
        setattr(spec, name, value)
    return spec


def errors_of(spec: TemplateSpec, lang: str = "en") -> dict[str, list[str]]:
    with translation.override(lang), pytest.raises(ValidationError) as raised:
        template_spec_validate(spec=spec)
    return raised.value.message_dict


def hr(org):
    return org.users["hr"]


def open_cycle(org, template, month=AUGUST):
    return cycle_create(viewer=viewer_get(user=hr(org)), user=hr(org), store=org.s1, team=org.x, month=month,
                        template=template)  # fmt: skip


def finalise(org, cycle):
    """Step the cycle on (as HR) from where it is through calibration, exclude the KPI items
    without data, finalise."""
    viewer = viewer_get(user=hr(org))
    steps = [CycleState.DRAFT, CycleState.SELF_REVIEW, CycleState.MANAGER_REVIEW, CycleState.CALIBRATION]
    for state in steps[steps.index(cycle.state) + 1 :]:
        cycle = cycle_advance(viewer=viewer, user=hr(org), cycle=cycle, to=state)
    exclude_without_data(cycle, hr(org))
    return cycle_advance(viewer=viewer, user=hr(org), cycle=cycle, to=CycleState.FINALISED)


# --- the rules ------------------------------------------------------------------------------------


def test_a_whole_template_is_valid(db):
    template_spec_validate(spec=a_spec())


def test_weights_must_add_up_to_100_percent_in_both_languages(db):
    spec = a_spec()
    spec.dimensions[0].weight = D("0.6")  # 60 + 30
    spec.dimensions[0].items[0].weight = D("0.4")  # 40 + 30 + 20
    errors = errors_of(spec)
    assert errors["dimensions"] == ["The dimensions' weights add up to 90%, not 100%."]
    assert errors["dimensions.0.items"] == ["The weights of this dimension's items add up to 90%, not 100%."]
    chinese = errors_of(spec, "zh-hans")
    assert chinese["dimensions"] == ["各维度权重合计为 90%，而不是 100%。"]
    spec.dimensions[1].weight = D(0)
    assert errors_of(spec)["dimensions.1.weight"] == ["A weight is above 0 and at most 100%."]


def test_grade_bands_go_down_to_zero_with_a_guide_of_100_percent(db):
    bands = [scoring.Band("S", D(90), D("0.3")), scoring.Band("A", D(95), D("0.3")), scoring.Band("S", D(10), D("0.3"))]
    errors = errors_of(a_spec(bands=bands))
    assert errors["bands.1.lower"] == [
        "Cut-offs go down from the first grade to the last: this one must be lower than the one above it."
    ]
    assert errors["bands.2.grade"] == ["Grade S appears twice."]
    assert errors["bands.2.lower"] == ["The last grade starts at 0, so that every total has a grade."]
    assert errors["bands"] == ["The calibration guide's shares add up to 90%, not 100%."]
    assert errors_of(a_spec(bands=[scoring.Band("A", D(0), D(1))]))["bands"] == ["Give between 2 and 10 grades."]


def test_kpi_items_need_a_known_kpi_and_a_whole_rule(db):
    spec = a_spec()
    gmv, rank, conversion = spec.dimensions[0].items
    gmv.floor, gmv.target = D(2000), D(1000)  # higher is better: the floor must be below the target
    rank.kpi_key = "no_such_kpi"
    conversion.thresholds = [[D("0.2"), D(140)], [D("0.2"), D(50)]]
    errors = errors_of(spec)
    assert errors["dimensions.0.items.0.floor"] == [
        "Higher is better for GMV: the floor (0 points) must be below the target (100 points)."
    ]
    assert errors["dimensions.0.items.1.kpi_key"] == ["no_such_kpi is not a KPI that members are measured by."]
    assert errors["dimensions.0.items.2.thresholds"] == ["Each threshold is a value and a score from 0 to 100."]
    conversion.thresholds = [[D("0.2"), D(40)], [D("0.2"), D(50)]]
    assert errors_of(spec)["dimensions.0.items.2.thresholds"] == ["Two thresholds have the same value."]
    conversion.thresholds = []
    assert "dimensions.0.items.2.thresholds" in errors_of(spec)


def test_rating_items_need_raters_adding_up_and_the_ends_of_the_rubric(db):
    spec = a_spec()
    rating = spec.dimensions[1].items[0]
    rating.manager_weight, rating.self_weight = D("0.5"), D("0.3")
    rating.rubric_levels = [{}, {}, {"zh": "按要求完成"}, {}, {}]
    errors = errors_of(spec)
    assert errors["dimensions.1.items.0.raters"] == ["The raters' weights add up to 80%, not 100%."]
    assert errors["dimensions.1.items.0.rubric_levels.0"] == ["Say what a rating of 1 means."]
    assert errors["dimensions.1.items.0.rubric_levels.4"] == ["Say what a rating of 5 means."]


# --- create, versions, copies, retiring, the change log -------------------------------------------


def test_creating_a_template_stores_fractions_levels_and_bands_and_records_each_row(org):
    template = appraisal_template_create(actor=hr(org), spec=a_spec())
    assert (template.version, template.replaces, template.retired_at, template.key) == (1, None, None, "")
    assert template.grade_letters == ["优", "良", "中", "差"]
    assert [d.weight for d in template.dimensions.order_by("order")] == [D("0.7000"), D("0.3000")]
    rating = Item.objects.get(dimension__template=template, kind=ItemKind.RATING)
    assert rating.rubric_levels[0] == {"zh": "推诿", "en": "passes problems on"} and rating.rubric_levels[1] == {
        "zh": "",
        "en": "",
    }
    conversion = Item.objects.get(dimension__template=template, kpi_key="inquiry_to_payment_rate")
    assert conversion.thresholds == [[0.2, 40], [0.5, 80], [0.9, 100]]
    records = ChangeRecord.objects.filter(area=ChangeArea.APPRAISAL_TEMPLATES)
    # The template, its two dimensions and four items, each named with the template.
    assert records.count() == 7 and all(r.label.startswith("客服月度考核 / Service monthly appraisal (v1)")
                                        for r in records)  # fmt: skip
    assert all(r.actor == hr(org) and r.action == "created" for r in records)


def test_an_unused_template_is_edited_in_place_and_its_open_cycle_scored_again(org, tmp_path):
    august_without_data_for_the_lead(org, tmp_path)
    template = appraisal_template_create(actor=hr(org), spec=a_spec())
    cycle = open_cycle(org, template)  # open, not finalised
    a = cycle.appraisals.get(member=org.a)
    before = a.total
    spec = template_spec_of(template=template)
    spec.dimensions[0].items[0].target = D(900)  # A's 900 now reaches the GMV target
    saved = appraisal_template_update(actor=hr(org), template=template, spec=spec)
    assert (saved.pk, saved.version, saved.retired_at) == (template.pk, 1, None)
    a.refresh_from_db()
    assert a.total > before
    record = ChangeRecord.objects.filter(object_type="reviews.item", action="changed").get()
    assert record.changes["target"] == ["1000", "900"] and record.label.endswith("业绩 · 销售额")


def test_a_template_a_finalised_cycle_used_becomes_a_new_version_and_the_cycle_keeps_its_own(org, tmp_path):
    august_without_data_for_the_lead(org, tmp_path)
    template = appraisal_template_create(actor=hr(org), spec=a_spec())
    cycle = finalise(org, open_cycle(org, template))
    frozen = {a.member_id: (a.total, a.grade, dict(a.frozen)) for a in cycle.appraisals.all()}
    scores = list(ItemScore.objects.filter(appraisal__cycle=cycle).order_by("appraisal_id", "item_id")
                  .values_list("appraisal_id", "item_id", "score", "status"))  # fmt: skip
    spec = template_spec_of(template=template)
    spec.dimensions[0].weight, spec.dimensions[1].weight = D("0.5"), D("0.5")
    spec.bands = list(scoring.DEFAULT_BANDS)

    version_2 = appraisal_template_update(actor=hr(org), template=template, spec=spec)

    template.refresh_from_db()
    assert (version_2.version, version_2.replaces, version_2.retired_at) == (2, template, None)
    assert template.retired_at is not None and template.dimensions.get(order=0).weight == D("0.7")
    assert version_2.grade_letters == ["S", "A", "B", "C", "D"] and template.grade_letters == ["优", "良", "中", "差"]
    assert (
        not Item.objects.filter(dimension__template=version_2)
        .filter(pk__in=Item.objects.filter(dimension__template=template))
        .exists()
    )  # new rows, the old ones untouched
    cycle.refresh_from_db()
    assert cycle.template_id == template.pk
    assert {a.member_id: (a.total, a.grade, dict(a.frozen)) for a in cycle.appraisals.all()} == frozen
    assert list(ItemScore.objects.filter(appraisal__cycle=cycle).order_by("appraisal_id", "item_id")
                .values_list("appraisal_id", "item_id", "score", "status")) == scores  # fmt: skip
    # A retired version cannot change again; new cycles are offered the current version only.
    with pytest.raises(ValidationError):
        appraisal_template_update(actor=hr(org), template=template, spec=spec)
    from reviews.forms import CycleForm

    offered = CycleForm(viewer=viewer_get(user=hr(org))).fields["template"].queryset
    assert version_2 in offered and template not in offered
    # The log: the new version (version 1 → 2, the weights that changed) and the old one retired.
    changed = ChangeRecord.objects.filter(area=ChangeArea.APPRAISAL_TEMPLATES, action="changed")
    assert changed.get(object_type="reviews.appraisaltemplate", object_id=str(version_2.pk)).changes["version"] == [
        1,
        2,
    ]
    assert "retired_at" in changed.get(object_type="reviews.appraisaltemplate", object_id=str(template.pk)).changes
    assert {r.changes["weight"][1] for r in changed.filter(object_type="reviews.dimension")} == {"50%"}


def test_a_copy_is_an_independent_first_version_and_built_ins_stay_as_they_are(org):
    appraisal_templates_ensure()
    built_in = AppraisalTemplate.objects.get(key="sales-ability-attitude")
    copy = appraisal_template_copy(actor=hr(org), template=built_in)
    assert (copy.version, copy.replaces, copy.key, copy.name_zh, copy.name_en) == (
        1,
        None,
        "",
        "销售业绩·能力·态度（80/15/5）（副本）",
        "Sales results, ability, attitude (80/15/5) (copy)",
    )
    assert Item.objects.filter(dimension__template=copy).count() == 12
    copied = template_spec_of(template=copy)
    original = template_spec_of(template=built_in)
    for d_copy, d_original in zip(copied.dimensions, original.dimensions, strict=True):
        assert (d_copy.name_zh, d_copy.weight) == (d_original.name_zh, d_original.weight)
        assert [(i.kpi_key, i.weight, i.thresholds) for i in d_copy.items] == [
            (i.kpi_key, i.weight, i.thresholds) for i in d_original.items
        ]
    # Editing the copy leaves the built-in alone.
    copied.dimensions[0].name_zh = "业绩"
    appraisal_template_update(actor=hr(org), template=copy, spec=copied)
    assert built_in.dimensions.get(order=0).name_zh == "销售业绩"
    assert ChangeRecord.objects.filter(object_type="reviews.appraisaltemplate", object_id=str(copy.pk),
                                       action="created").exists()  # fmt: skip


def test_retiring_keeps_the_cycles_and_stops_offering_the_template(org):
    template = appraisal_template_create(actor=hr(org), spec=a_spec())
    cycle = open_cycle(org, template)
    appraisal_template_retire(actor=hr(org), template=template)
    cycle.refresh_from_db()
    assert cycle.template_id == template.pk
    from reviews.forms import CycleForm

    assert template not in CycleForm(viewer=viewer_get(user=hr(org))).fields["template"].queryset
    with pytest.raises(ValidationError):
        appraisal_template_retire(actor=hr(org), template=template)


# --- the preview ----------------------------------------------------------------------------------


def test_the_preview_scores_what_a_cycle_with_the_saved_template_then_scores_and_writes_nothing(org, tmp_path):
    august_without_data_for_the_lead(org, tmp_path)
    counts = (Cycle.objects.count(), ItemScore.objects.count(), AppraisalTemplate.objects.count())
    preview = template_preview(spec=a_spec(), team=org.x, month=AUGUST)
    assert (Cycle.objects.count(), ItemScore.objects.count(), AppraisalTemplate.objects.count()) == counts

    template = appraisal_template_create(actor=hr(org), spec=a_spec())
    cycle = open_cycle(org, template)
    saved_items = list(Item.objects.filter(dimension__template=template).order_by("dimension__order", "order"))
    dimensions = list(Dimension.objects.filter(template=template).order_by("order"))
    from reviews.selectors.appraisals import appraisal_dimension_scores

    assert [m.member for m in preview.members] == [a.member for a in cycle.appraisals.order_by("member__display_name")]
    for member in preview.members:
        appraisal = cycle.appraisals.get(member=member.member)
        stored = {s.item_id: s for s in appraisal.item_scores.all()}
        assert [(row.score, row.status) for row in member.items] == [
            (stored[item.pk].score, stored[item.pk].status) for item in saved_items
        ]
        by_dimension = appraisal_dimension_scores(items=saved_items, item_scores=stored)
        assert member.dimensions == [by_dimension[d.pk] for d in dimensions]
        assert (member.total, member.grade) == (appraisal.total, appraisal.grade)
    by_name = {m.member.display_name: m for m in preview.members}
    # A: 900 of 1,000 → 90; first of the team in paid orders; the lead has no August data.
    assert by_name["Alice 王"].items[0].score == D("90.00") and by_name["Alice 王"].grade in {"优", "良", "中", "差"}
    assert by_name["Lead 赵"].total is None and by_name["Lead 赵"].insufficient
    assert by_name["Alice 王"].total is not None


def test_the_preview_refuses_a_template_that_would_not_save(org):
    spec = a_spec()
    spec.dimensions[0].weight = D("0.5")
    with pytest.raises(ValidationError):
        template_preview(spec=spec, team=org.x, month=AUGUST)


# --- a template's own grades through the cycle and the export -------------------------------------


def test_a_templates_own_letters_grade_the_cycle_and_head_the_export(org, tmp_path):
    august_without_data_for_the_lead(org, tmp_path)
    template = appraisal_template_create(actor=hr(org), spec=a_spec())
    cycle = open_cycle(org, template)
    a = cycle.appraisals.get(member=org.a)
    viewer = viewer_get(user=hr(org))
    cycle = cycle_advance(viewer=viewer, user=hr(org), cycle=cycle, to=CycleState.SELF_REVIEW)
    a = cycle.appraisals.get(member=org.a)
    rating_set(viewer=viewer_get(user=org.users["staff_a"]), user=org.users["staff_a"], appraisal=a,
               item=Item.objects.get(dimension__template=template, kind=ItemKind.RATING), role=RaterRole.SELF, score=5)  # fmt: skip
    a.refresh_from_db()
    assert a.grade == scoring.grade_for(a.total, bands=tuple(LETTERS)) and a.grade in {"优", "良", "中", "差"}
    finalise(org, cycle)
    from tests.reviews.test_export import table, workbook

    book = workbook(appraisals_export(month=AUGUST, store=org.s1, lang="en"))
    summary = table(book["Summary"])
    assert summary[0][6:10] == ["优", "良", "中", "差"] and "S" not in summary[0]
    a.refresh_from_db()
    assert summary[1][6 + ["优", "良", "中", "差"].index(a.grade)] == 1
    definitions = table(book["Definitions"])
    at = definitions.index(["Template", "Grade", "Total from", "Total below", "Calibration guide", *[None] * 9])
    assert [r[1:3] for r in definitions[at + 1 :]] == [["优", 85], ["良", 70], ["中", 50], ["差", 0]]


def test_the_calibration_guide_follows_the_templates_bands(org, client_for):
    template = appraisal_template_create(actor=hr(org), spec=a_spec())
    cycle = open_cycle(org, template)
    viewer = viewer_get(user=hr(org))
    for state in (CycleState.SELF_REVIEW, CycleState.MANAGER_REVIEW, CycleState.CALIBRATION):
        cycle = cycle_advance(viewer=viewer, user=hr(org), cycle=cycle, to=state)
    page = client_for(hr(org)).get(reverse("reviews:cycle", args=[cycle.pk]), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert "roughly 20% 优, 50% 良, 20% 中, 10% 差" in html
    assert 'data-grade="优"' in html and 'data-grade="S"' not in html


# --- the pages ------------------------------------------------------------------------------------


def post_data(**changes) -> dict[str, str]:
    """The editor page's fields for a two-dimension template (a KPI item and a rating item), as
    the page sends them: percentages, rates as percentages."""
    data = {
        "name_zh": "新模板", "name_en": "New template", "store": "", "description": "", "description_en": "",
        "band-0-grade": "A", "band-0-lower": "80", "band-0-guide": "30",
        "band-1-grade": "B", "band-1-lower": "60", "band-1-guide": "50",
        "band-2-grade": "C", "band-2-lower": "0", "band-2-guide": "20",
        "dim-0-name_zh": "业绩", "dim-0-name_en": "Results", "dim-0-weight": "80",
        "dim-0-item-0-name_zh": "询单转化率", "dim-0-item-0-kind": "kpi", "dim-0-item-0-weight": "100",
        "dim-0-item-0-kpi_key": "inquiry_to_payment_rate", "dim-0-item-0-rule": "linear",
        "dim-0-item-0-floor": "10", "dim-0-item-0-target_source": "fixed", "dim-0-item-0-target": "40",
        "dim-2-name_zh": "态度", "dim-2-name_en": "Attitude", "dim-2-weight": "20",
        "dim-2-item-5-name_zh": "责任心", "dim-2-item-5-kind": "rating", "dim-2-item-5-weight": "100",
        "dim-2-item-5-manager_weight": "70", "dim-2-item-5-self_weight": "30", "dim-2-item-5-peer_weight": "",
        "dim-2-item-5-rubric-1-zh": "推诿", "dim-2-item-5-rubric-5-zh": "负责到底",
        "dim-2-item-5-rubric-5-en": "owns results",
    }  # fmt: skip
    data.update(changes)
    return data


def test_hr_creates_a_template_on_the_page_with_percentages(org, client_for):
    response = client_for(hr(org)).post(reverse("reviews:template_create"), post_data(action="save"))
    template = AppraisalTemplate.objects.get(name_zh="新模板")
    assert response.status_code == 302 and response.url == reverse("reviews:template_detail", args=[template.pk])
    kpi = Item.objects.get(dimension__template=template, kind=ItemKind.KPI)
    assert (kpi.floor, kpi.target, kpi.weight, kpi.dimension.weight) == (D("0.1"), D("0.4"), D(1), D("0.8"))
    rating = Item.objects.get(dimension__template=template, kind=ItemKind.RATING)
    assert (rating.manager_weight, rating.self_weight, rating.peer_weight) == (D("0.7"), D("0.3"), D(0))
    assert rating.rubric_levels[4] == {"zh": "负责到底", "en": "owns results"}
    assert template.grade_letters == ["A", "B", "C"] and template.bands[1].guide == D("0.5")


def test_the_page_shows_every_error_beside_its_field_in_the_readers_language_and_saves_nothing(org, client_for):
    data = post_data(action="save, ", **{"dim-0-weight": "70", "band-2-lower": "10", "dim-0-item-0-floor": "abc"})
    data["action"] = "save"
    client = client_for(hr(org))
    response = client.post(reverse("reviews:template_create"), data, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 400 and not AppraisalTemplate.objects.filter(name_zh="新模板").exists()
    for text in (
        "The dimensions&#x27; weights add up to 90%, not 100%.",
        "Enter a number.",
        "The last grade starts at 0, so that every total has a grade.",
    ):
        assert text in html
    assert 'value="abc"' in html  # what was typed stays on the page
    client.post(reverse("set_language"), {"language": "zh-hans"})
    chinese = client.post(reverse("reviews:template_create"), data).content.decode()
    assert "The last grade starts at 0" not in chinese and "90%" in chinese


def test_the_page_previews_a_draft_without_saving_it(org, client_for, tmp_path):
    august_without_data_for_the_lead(org, tmp_path)
    data = post_data(action="preview", **{"preview-team": str(org.x.pk), "preview-month": "2026-08"})
    response = client_for(hr(org)).post(reverse("reviews:template_create"), data, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="preview-result"' in html
    assert "Alice 王" in html and "Lead 赵" in html and 'data-testid="preview-insufficient"' in html
    assert not AppraisalTemplate.objects.filter(name_zh="新模板").exists() and not Cycle.objects.exists()


def test_editing_a_finalised_cycles_template_on_the_page_says_and_makes_a_new_version(org, client_for, tmp_path):
    template = appraisal_template_create(actor=hr(org), spec=a_spec())
    finalise(org, open_cycle(org, template))
    client = client_for(hr(org))
    page = client.get(reverse("reviews:template_edit", args=[template.pk]))
    assert 'data-testid="new-version-note"' in page.content.decode()
    from reviews.template_forms import editor_from_spec

    editor = editor_from_spec(spec=template_spec_of(template=template))
    data = {"action": "save", **editor.values}
    for band in editor.bands:
        data.update({f"{band.prefix}{k}": v for k, v in band.values.items()})
    for d in editor.dimensions:
        data.update({f"{d.prefix}{k}": v for k, v in d.values.items()})
        for i in d.items:
            data.update({f"{i.prefix}{k}": v for k, v in i.values.items()})
            data.update({f"{t.prefix}{k}": v for t in i.thresholds for k, v in t.values.items()})
            for level, zh, en in i.rubric:
                data.update({f"{i.prefix}rubric-{level}-zh": zh, f"{i.prefix}rubric-{level}-en": en})
    data["name_en"] = "Service monthly appraisal 2"
    response = client.post(reverse("reviews:template_edit", args=[template.pk]), data)
    version_2 = AppraisalTemplate.objects.get(replaces=template)
    assert response.status_code == 302 and version_2.name_en == "Service monthly appraisal 2"
    assert template_spec_of(template=version_2).dimensions[0].items[2].thresholds == [
        [D("0.2"), D(40)],
        [D("0.5"), D(80)],
        [D("0.9"), D(100)],
    ]  # rates typed back as percentages, kept
    # The retired version's edit page leads to the current one.
    assert client.get(reverse("reviews:template_edit", args=[template.pk])).url == reverse(
        "reviews:template_edit", args=[version_2.pk]
    )


# --- the API --------------------------------------------------------------------------------------


def api_body() -> dict:
    return {
        "name_zh": "接口模板", "name_en": "API template",
        "grade_bands": [{"grade": "A", "lower": "60", "guide": "0.5"}, {"grade": "B", "lower": "0", "guide": "0.5"}],
        "dimensions": [{"name_zh": "业绩", "weight": "1", "items": [
            {"name_zh": "销售额", "kind": "kpi", "weight": "0.6", "kpi_key": "gmv", "rule": "linear", "target": "1000"},
            {"name_zh": "责任心", "kind": "rating", "weight": "0.4", "manager_weight": "1", "self_weight": "0",
             "rubric_levels": [{"zh": "推诿"}, {}, {}, {}, {"zh": "负责到底", "en": "owns results"}]},
        ]}],
    }  # fmt: skip


def test_the_api_reads_and_writes_templates_through_the_same_rules(org, api_for, tmp_path):
    august_without_data_for_the_lead(org, tmp_path)
    api = api_for(hr(org))
    url = reverse("appraisal-template-list")
    created = api.post(url, api_body(), format="json")
    assert created.status_code == 201, created.data
    body = created.data
    assert body["version"] == 1 and body["dimensions"][0]["items"][0]["direction"] == "higher"
    assert body["grade_bands"][0] == {"grade": "A", "lower": "60.00", "guide": "0.5000"}
    bad = api_body()
    bad["dimensions"][0]["items"][0]["weight"] = "0.5"
    refused = api.post(url, bad, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    assert refused.data["dimensions.0.items"] == ["The weights of this dimension's items add up to 90%, not 100%."]
    # A finalised cycle used it: a PATCH answers the new version.
    template = AppraisalTemplate.objects.get(pk=body["id"])
    finalise(org, open_cycle(org, template))
    patched = api.patch(reverse("appraisal-template-detail", args=[template.pk]), {"name_en": "API template 2"},
                        format="json")  # fmt: skip
    assert patched.status_code == 200 and patched.data["version"] == 2 and patched.data["replaces"] == template.pk
    assert patched.data["name_en"] == "API template 2" and patched.data["id"] != template.pk
    listed = {row["id"] for row in api.get(url).data["results"]}
    assert patched.data["id"] in listed and template.pk not in listed
    preview = api.post(reverse("appraisal-template-preview"),
                       {"template": api_body(), "team": org.x.pk, "month": "2026-08"}, format="json")  # fmt: skip
    assert preview.status_code == 200, preview.data
    alice = next(m for m in preview.data["members"] if m["member"] == org.a.pk)
    assert alice["items"][0]["value"] == "900.00" and alice["items"][0]["score"] == "90.00"
    lead = next(m for m in preview.data["members"] if m["member"] == org.lead_x.pk)
    assert lead["total"] is None and lead["items"][0]["status"] == "insufficient"


def test_the_api_refuses_staff_and_lets_leads_read_only(org, api_for):
    appraisal_templates_ensure()
    url = reverse("appraisal-template-list")
    assert api_for(org.users["staff_a"]).get(url).status_code == 403
    lead = api_for(org.users["lead_x"])
    assert lead.get(url).status_code == 200
    assert lead.post(url, api_body(), format="json").status_code == 403
    assert not AppraisalTemplate.objects.filter(name_zh="接口模板").exists()


def test_a_single_rubric_text_splits_into_its_levels_and_any_other_text_stays_a_note(db):
    """What migration reviews.0005 does to rating items written before levels existed."""
    from reviews.services.templates import rubric_levels_from_text, rubric_levels_join

    zh = rubric_levels_from_text("1 推诿问题；3 按要求完成本职；5 主动对结果负责并跟进到底。")
    en = rubric_levels_from_text("1 passes problems on; 3 does what the job asks; 5 owns results.")
    assert rubric_levels_join(zh, en) == [
        {"zh": "推诿问题", "en": "passes problems on"}, {"zh": "", "en": ""},
        {"zh": "按要求完成本职", "en": "does what the job asks"}, {"zh": "", "en": ""},
        {"zh": "主动对结果负责并跟进到底。", "en": "owns results."},
    ]  # fmt: skip
    assert rubric_levels_from_text("态度积极，主动沟通") is None
    assert rubric_levels_from_text("") is None
