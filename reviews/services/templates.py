"""Appraisal templates: the three built-ins (created once, idempotent, copyable starting points),
and HR's editor: create, edit (in place, or a new version when a finalised or published cycle
used the template), copy and retire. Each change is recorded in the change log in its own
transaction; open cycles that use a template edited in place are scored again."""

from __future__ import annotations

import re
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from metrics.formatting import percent_display
from reviews import scoring
from reviews.models import AppraisalTemplate, Cycle, Dimension, Item, ItemKind, ScoringRule
from reviews.selectors.templates import FINAL_STATES, template_in_final_use
from reviews.services.cycles import cycle_scores_refresh
from reviews.template_spec import (
    LEVELS,
    ItemSpec,
    TemplateSpec,
    json_number,
    template_spec_cleaned,
    template_spec_of,
    template_spec_validate,
)
from teams.models import ChangeArea, Store
from teams.services.changes import change_record

D = Decimal
# Rubrics for the 1–5 ratings: what 1, 3 and 5 look like.
RUBRICS = {
    "responsibility": ("1 推诿问题；3 按要求完成本职；5 主动对结果负责并跟进到底。",
                       "1 passes problems on; 3 does what the job asks; 5 owns results and follows through."),
    "initiative": ("1 需要反复督促；3 按计划推进；5 主动发现机会并提出改进。",
                   "1 needs reminding; 3 keeps to the plan; 5 spots chances and proposes improvements."),
    "cooperation": ("1 只顾自己；3 配合同事；5 主动支援团队、分享经验。",
                    "1 works alone; 3 helps when asked; 5 supports the team and shares what works."),
    "discipline": ("1 经常违反纪律；3 遵守制度；5 以身作则。",
                   "1 often breaks the rules; 3 keeps them; 5 sets the example."),
    "product_knowledge": ("1 常答错产品问题；3 熟悉主推产品；5 精通全店产品并能搭配推荐。",
                          "1 often wrong on products; 3 knows the main ones; 5 masters the range and cross-sells."),
    "communication": ("1 回复生硬、易引发投诉；3 礼貌清楚；5 善于挖掘需求、化解异议。",
                      "1 curt, draws complaints; 3 polite and clear; 5 draws out needs and handles objections."),
    "coordination": ("1 问题卡在自己这里；3 及时转交相关部门；5 推动跨部门解决并回访。",
                     "1 problems stall with them; 3 hands over in time; 5 drives fixes across teams and follows up."),
    "mentoring": ("1 不愿带新人；3 能解答新人问题；5 系统带教并提升新人业绩。",
                  "1 avoids newcomers; 3 answers their questions; 5 coaches them to better results."),
}  # fmt: skip
NAMES = {
    "responsibility": ("责任心", "Responsibility"), "initiative": ("主动性", "Initiative"),
    "cooperation": ("团队合作", "Cooperation"), "discipline": ("纪律性", "Discipline"),
    "product_knowledge": ("产品知识", "Product knowledge"), "communication": ("沟通能力", "Communication"),
    "coordination": ("协调能力", "Coordination"), "mentoring": ("传帮带", "Mentoring"),
}  # fmt: skip

# What each built-in template weighs, in Chinese and English (people read these in the admin).
BUILT_IN_DESCRIPTIONS = {
    "sales-ability-attitude": (
        "销售业绩 80%（销售额完成率、询单转化率、客单价、首次响应、退款订单率），能力 15%，态度 5%。",
        "Sales results 80% (GMV against target, inquiry conversion, order value, first response, refunds), "
        "ability 15%, attitude 5%.",
    ),
    "results-behaviour-growth": (
        "三个维度：结果 60%，行为过程 25%，能力成长 15%。",
        "Three dimensions: results 60%, behaviour and process 25%, capability growth 15%.",
    ),
    "pipeline-calls": (
        "线上销售和电销：业绩 70%（成单、回款、赢单率、价格控制），过程 20%（新客户、呼出接通、谈判天数），态度 10%。",
        "Online sales and telesales: results 70% (amount won and collected, win rate, price control), process 20% "
        "(new customers, connected calls, days in negotiation), attitude 10%.",
    ),
}


_LEVEL = re.compile(r"(?:^|[；;]\s*)([1-5])\s+")


def rubric_levels_from_text(text: str) -> dict[int, str] | None:
    """A rubric written as one text, "1 …；3 …；5 …", as level → text; None when the text is not
    of that form (it then stays a note)."""
    text = (text or "").strip()
    parts = _LEVEL.split(text)
    if len(parts) < 3 or parts[0].strip():
        return None
    levels = {int(parts[n]): parts[n + 1].strip() for n in range(1, len(parts) - 1, 2)}
    return levels if len(levels) == (len(parts) - 1) // 2 else None


def rubric_levels_join(zh: dict[int, str] | None, en: dict[int, str] | None) -> list[dict[str, str]]:
    """Five levels {"zh", "en"} from each language's level → text."""
    return [{"zh": (zh or {}).get(level, ""), "en": (en or {}).get(level, "")} for level in range(1, LEVELS + 1)]


def _rating(dimension: Dimension, key: str, weight: Decimal, order: int) -> Item:
    zh, en = NAMES[key]
    rubric_zh, rubric_en = RUBRICS[key]
    levels = rubric_levels_join(rubric_levels_from_text(rubric_zh), rubric_levels_from_text(rubric_en))
    return Item(dimension=dimension, kind=ItemKind.RATING, name_zh=zh, name_en=en, weight=weight, order=order,
                rubric_levels=levels)  # fmt: skip


def _kpi(dimension: Dimension, zh: str, en: str, key: str, weight: Decimal, order: int, **rule) -> Item:
    return Item(dimension=dimension, kind=ItemKind.KPI, name_zh=zh, name_en=en, kpi_key=key, weight=weight,
                order=order, **rule)  # fmt: skip


@transaction.atomic
def appraisal_templates_ensure() -> list[AppraisalTemplate]:
    """The three built-in templates (sales/ability/attitude, results/behaviour/growth, and the
    sales teams' pipeline and calls); left as they are if they exist."""
    made = []
    if not AppraisalTemplate.objects.filter(key="sales-ability-attitude").exists():
        t = AppraisalTemplate.objects.create(
            key="sales-ability-attitude", name_zh="销售业绩·能力·态度（80/15/5）",
            name_en="Sales results, ability, attitude (80/15/5)",
            description=BUILT_IN_DESCRIPTIONS["sales-ability-attitude"][0],
            description_en=BUILT_IN_DESCRIPTIONS["sales-ability-attitude"][1],
        )  # fmt: skip
        results = Dimension.objects.create(template=t, name_zh="销售业绩", name_en="Sales results", weight=D("0.80"))
        ability = Dimension.objects.create(template=t, name_zh="能力", name_en="Ability", weight=D("0.15"), order=1)
        attitude = Dimension.objects.create(template=t, name_zh="态度", name_en="Attitude", weight=D("0.05"), order=2)
        Item.objects.bulk_create([
            _kpi(results, "销售额完成率", "GMV against target", "gmv", D("0.40"), 0, rule=ScoringRule.LINEAR,
                 floor=D(0)),
            _kpi(results, "询单转化率", "Inquiry-to-payment rate", "inquiry_to_payment_rate", D("0.25"), 1,
                 rule=ScoringRule.LINEAR, floor=D("0.10"), target=D("0.40")),
            _kpi(results, "客单价排名", "AOV rank in the team", "aov", D("0.15"), 2, rule=ScoringRule.RANK),
            _kpi(results, "平均首次响应", "Average first response", "avg_first_response_s", D("0.10"), 3,
                 rule=ScoringRule.THRESHOLDS, thresholds=[[60, 40], [30, 70], [20, 85], [15, 100]]),
            _kpi(results, "退款订单率", "Refunded order rate", "refund_order_rate", D("0.10"), 4,
                 rule=ScoringRule.LINEAR, floor=D("0.20"), target=D("0.05")),
            _rating(ability, "product_knowledge", D("0.40"), 0),
            _rating(ability, "communication", D("0.35"), 1),
            _rating(ability, "coordination", D("0.25"), 2),
            _rating(attitude, "responsibility", D("0.25"), 0),
            _rating(attitude, "initiative", D("0.25"), 1),
            _rating(attitude, "cooperation", D("0.25"), 2),
            _rating(attitude, "discipline", D("0.25"), 3),
        ])  # fmt: skip
        made.append(t)
    if not AppraisalTemplate.objects.filter(key="results-behaviour-growth").exists():
        t = AppraisalTemplate.objects.create(
            key="results-behaviour-growth", name_zh="结果·行为过程·能力成长", name_en="Results, behaviour, growth",
            description=BUILT_IN_DESCRIPTIONS["results-behaviour-growth"][0],
            description_en=BUILT_IN_DESCRIPTIONS["results-behaviour-growth"][1],
        )  # fmt: skip
        results = Dimension.objects.create(template=t, name_zh="结果", name_en="Results", weight=D("0.60"))
        process = Dimension.objects.create(template=t, name_zh="行为过程", name_en="Behaviour process",
                                           weight=D("0.25"), order=1)  # fmt: skip
        growth = Dimension.objects.create(template=t, name_zh="能力成长", name_en="Capability growth",
                                          weight=D("0.15"), order=2)  # fmt: skip
        Item.objects.bulk_create([
            _kpi(results, "销售额完成率", "GMV against target", "gmv", D("0.60"), 0, rule=ScoringRule.LINEAR,
                 floor=D(0)),
            _kpi(results, "成交订单数排名", "Paid orders rank", "paid_orders", D("0.40"), 1, rule=ScoringRule.RANK),
            _kpi(process, "询单人数排名", "Inquiring buyers rank", "inquiring_buyers", D("0.30"), 0,
                 rule=ScoringRule.RANK),
            _kpi(process, "15秒响应率", "Answered within 15 s", "answered_15s_rate", D("0.30"), 1,
                 rule=ScoringRule.LINEAR, floor=D("0.30"), target=D("0.80")),
            _rating(process, "responsibility", D("0.20"), 2),
            _rating(process, "cooperation", D("0.20"), 3),
            _rating(growth, "product_knowledge", D("0.40"), 0),
            _rating(growth, "communication", D("0.30"), 1),
            _rating(growth, "mentoring", D("0.30"), 2),
        ])  # fmt: skip
        made.append(t)
    if not AppraisalTemplate.objects.filter(key="pipeline-calls").exists():
        t = AppraisalTemplate.objects.create(
            key="pipeline-calls", name_zh="线上销售·电销（业绩·过程·态度）",
            name_en="Online sales and telesales (results, process, attitude)",
            description=BUILT_IN_DESCRIPTIONS["pipeline-calls"][0],
            description_en=BUILT_IN_DESCRIPTIONS["pipeline-calls"][1],
        )  # fmt: skip
        results = Dimension.objects.create(template=t, name_zh="业绩", name_en="Results", weight=D("0.70"))
        process = Dimension.objects.create(template=t, name_zh="过程", name_en="Process", weight=D("0.20"), order=1)
        attitude = Dimension.objects.create(template=t, name_zh="态度", name_en="Attitude", weight=D("0.10"), order=2)
        Item.objects.bulk_create([
            # Linear from 0 to the member's month target of the KPI (the targets' page sets it).
            _kpi(results, "销售任务完成率", "Amount won against target", "won_amount", D("0.45"), 0,
                 rule=ScoringRule.LINEAR, floor=D(0)),
            _kpi(results, "销售回款", "Amount collected against target", "collected_amount", D("0.20"), 1,
                 rule=ScoringRule.LINEAR, floor=D(0)),
            _kpi(results, "赢单率", "Win rate", "win_rate", D("0.20"), 2, rule=ScoringRule.LINEAR, floor=D("0.20"),
                 target=D("0.60")),
            _kpi(results, "销售价格控制率", "Price control rate", "price_control_rate", D("0.15"), 3,
                 rule=ScoringRule.THRESHOLDS, thresholds=[[0.85, 40], [0.9, 70], [0.95, 85], [1.0, 100]]),
            _kpi(process, "新开发客户数排名", "New customers rank", "new_customers", D("0.40"), 0,
                 rule=ScoringRule.RANK),
            _kpi(process, "呼出接通数排名", "Connected outbound calls rank", "connected_dials", D("0.30"), 1,
                 rule=ScoringRule.RANK),
            _kpi(process, "谈判阶段平均天数", "Average days in negotiation", "avg_days_negotiation", D("0.30"), 2,
                 rule=ScoringRule.LINEAR, floor=D(14), target=D(5)),
            _rating(attitude, "responsibility", D("0.35"), 0),
            _rating(attitude, "initiative", D("0.35"), 1),
            _rating(attitude, "cooperation", D("0.30"), 2),
        ])  # fmt: skip
        made.append(t)
    return made


# --- HR's editor ---------------------------------------------------------------------------------

TEMPLATE_FIELDS = ("name_zh", "name_en", "description", "description_en", "store", "grade_bands", "version",
                   "replaces", "retired_at")  # fmt: skip
DIMENSION_FIELDS = ("name_zh", "name_en", "weight", "order")
ITEM_FIELDS = ("name_zh", "name_en", "kind", "weight", "order", "kpi_key", "rule", "floor", "target", "thresholds",
               "rubric_levels", "rubric_zh", "rubric_en", "manager_weight", "self_weight", "peer_weight")  # fmt: skip
PERCENT_FIELDS = {"weight", "manager_weight", "self_weight", "peer_weight"}


def template_label(template: AppraisalTemplate) -> str:
    """How the change log names a template: its names as written and its version."""
    names = " / ".join(n for n in (template.name_zh, template.name_en) if n)
    return f"{names} (v{template.version})"


def _bands_text(data: list) -> str:
    return "; ".join(f"{b.grade} ≥ {b.lower.normalize():f} ({percent_display(b.guide, places=2)})"
                     for b in scoring.bands_parse(data))  # fmt: skip


def _snapshot(instance, fields: tuple[str, ...]) -> dict:
    """The fields as the change log shows them: weights as percentages, bands, thresholds and
    rubric levels as one line each, a related object by its name."""
    shown = {}
    for name in fields:
        value = getattr(instance, name)
        if name in PERCENT_FIELDS and value is not None:
            value = percent_display(value, places=2)
        elif name == "grade_bands":
            value = _bands_text(value)
        elif name == "thresholds":
            value = "; ".join(f"{Decimal(str(v)).normalize():f} → {Decimal(str(s)).normalize():f}"
                              for v, s in value or [])  # fmt: skip
        elif name == "rubric_levels":
            levels = [
                (n, [t for t in (texts.get("zh"), texts.get("en")) if t]) for n, texts in enumerate(value or [], 1)
            ]
            value = "; ".join(f"{n} {' / '.join(texts)}" for n, texts in levels if texts)
        elif name == "retired_at" and value is not None:
            value = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")  # the site's time, to the minute
        elif name in ("floor", "target") and value is not None:
            value = f"{Decimal(value).normalize():f}"
        elif name in ("store", "replaces"):
            related = getattr(instance, name)
            text = template_label(related) if isinstance(related, AppraisalTemplate) else str(related)
            value = None if related is None else {"id": related.pk, "text": text}
        shown[name] = value
    return shown


def _record(actor, template: AppraisalTemplate, before: dict | None) -> None:
    """The change log's record of the template's own fields (created when `before` is None)."""
    change_record(
        actor=actor,
        area=ChangeArea.APPRAISAL_TEMPLATES,
        target=template,
        before=before,
        after=_snapshot(template, TEMPLATE_FIELDS),
        store=template.store,
        label=template_label(template),
    )


def _apply_template(template: AppraisalTemplate, spec: TemplateSpec) -> None:
    template.name_zh, template.name_en = spec.name_zh, spec.name_en
    template.description, template.description_en = spec.description, spec.description_en
    template.store = Store.objects.get(pk=spec.store_id) if spec.store_id else None
    template.grade_bands = scoring.bands_json(spec.bands)


def _apply_item(item: Item, spec: ItemSpec, order: int) -> None:
    for name in ("name_zh", "name_en", "kind", "weight", "kpi_key", "rule", "floor", "target", "rubric_zh",
                 "rubric_en", "manager_weight", "self_weight", "peer_weight", "rubric_levels"):  # fmt: skip
        setattr(item, name, getattr(spec, name))
    # JSON keeps numbers: thresholds as [value, score] (scoring reads them back as Decimal).
    item.thresholds = [[json_number(v), json_number(s)] for v, s in spec.thresholds]
    item.order = order


def _write_structure(*, actor, template: AppraisalTemplate, spec: TemplateSpec, previous: AppraisalTemplate) -> None:
    """Write the spec's dimensions and items under `template`. `previous` is the template the spec
    was edited from (the same row when editing in place): a dimension or item whose id is one of
    its rows is that row changed; the change log records each row created, changed or removed,
    named by the template."""
    in_place = previous.pk == template.pk
    old_dimensions = {d.pk: d for d in Dimension.objects.filter(template=previous)}
    old_items = {i.pk: i for i in Item.objects.filter(dimension__template=previous).select_related("dimension")}
    kept_dimensions, kept_items = set(), set()
    label = template_label(template)
    store = template.store

    def record(target, before, after, name: str) -> None:
        change_record(actor=actor, area=ChangeArea.APPRAISAL_TEMPLATES, target=target, before=before, after=after,
                      store=store, label=f"{label} · {name}")  # fmt: skip

    for d_order, d_spec in enumerate(spec.dimensions):
        old = old_dimensions.get(d_spec.id)
        before = _snapshot(old, DIMENSION_FIELDS) if old else None
        dimension = old if (old and in_place) else Dimension(template=template)
        dimension.name_zh, dimension.name_en, dimension.weight, dimension.order = (
            d_spec.name_zh,
            d_spec.name_en,
            d_spec.weight,
            d_order,
        )
        dimension.save()
        if old:
            kept_dimensions.add(old.pk)
        record(dimension, before, _snapshot(dimension, DIMENSION_FIELDS), dimension.name_zh)
        for i_order, i_spec in enumerate(d_spec.items):
            old_item = old_items.get(i_spec.id)
            before = _snapshot(old_item, ITEM_FIELDS) if old_item else None
            item = old_item if (old_item and in_place) else Item()
            item.dimension = dimension
            _apply_item(item, i_spec, i_order)
            item.save()
            if old_item:
                kept_items.add(old_item.pk)
            record(item, before, _snapshot(item, ITEM_FIELDS), f"{dimension.name_zh} · {item.name_zh}")
    for pk, item in old_items.items():
        if pk not in kept_items:
            record(item, _snapshot(item, ITEM_FIELDS), None, f"{item.dimension.name_zh} · {item.name_zh}")
            if in_place:
                item.delete()  # its ratings and scores in open cycles go with it (nothing final used it)
    for pk, dimension in old_dimensions.items():
        if pk not in kept_dimensions:
            record(dimension, _snapshot(dimension, DIMENSION_FIELDS), None, dimension.name_zh)
            if in_place:
                dimension.delete()


def _spec_checked(spec: TemplateSpec) -> TemplateSpec:
    spec = template_spec_cleaned(spec=spec)
    template_spec_validate(spec=spec)
    return spec


@transaction.atomic
def appraisal_template_create(*, actor: AbstractBaseUser | None, spec: TemplateSpec) -> AppraisalTemplate:
    """A new template (version 1) from the spec, validated; recorded in the change log."""
    spec = _spec_checked(spec)
    template = AppraisalTemplate()
    _apply_template(template, spec)
    template.save()
    for d in spec.dimensions:  # a new template's rows are all new, whatever ids the spec carries
        d.id = None
        for i in d.items:
            i.id = None
    _record(actor, template, None)
    _write_structure(actor=actor, template=template, spec=spec, previous=template)
    return template


@transaction.atomic
def appraisal_template_update(*, actor: AbstractBaseUser | None, template: AppraisalTemplate,
                              spec: TemplateSpec) -> AppraisalTemplate:  # fmt: skip
    """Save an edit of the template. A template a finalised or published cycle used is never
    changed: the edit becomes a new version (version + 1, replacing it) and the old one is
    retired, its cycles keeping it. Otherwise it is changed in place, and the open cycles that use
    it are scored again. Returns the template saved (the new version, or the same row). A retired
    version is refused: its current version is the one to edit."""
    # Locked: a cycle finalising now waits for the edit, and the edit sees the finalised state.
    template = AppraisalTemplate.objects.select_for_update().get(pk=template.pk)
    if template.retired:
        raise ValidationError(_("This version of the template is retired; edit its current version."))
    spec = _spec_checked(spec)
    before = _snapshot(template, TEMPLATE_FIELDS)
    if template_in_final_use(template=template):
        new = AppraisalTemplate(key=template.key, version=template.version + 1, replaces=template)
        _apply_template(new, spec)
        new.save()
        _record(actor, new, before)  # version n → n + 1, and what else changed
        _write_structure(actor=actor, template=new, spec=spec, previous=template)
        template.retired_at = timezone.now()
        template.save(update_fields=["retired_at"])
        _record(actor, template, before)
        return new
    _apply_template(template, spec)
    template.save()
    _record(actor, template, before)
    _write_structure(actor=actor, template=template, spec=spec, previous=template)
    for cycle in Cycle.objects.filter(template=template).exclude(state__in=FINAL_STATES):
        cycle_scores_refresh(cycle=cycle)
    return template


@transaction.atomic
def appraisal_template_copy(*, actor: AbstractBaseUser | None, template: AppraisalTemplate) -> AppraisalTemplate:
    """An independent copy (version 1, no key, not replacing anything) named "… (copy)", to edit
    into a company's own template; recorded in the change log."""
    spec = template_spec_of(template=template)
    spec.name_zh = f"{spec.name_zh}（副本）"[:120]
    spec.name_en = f"{spec.name_en} (copy)"[:120] if spec.name_en else ""
    return appraisal_template_create(actor=actor, spec=spec)


@transaction.atomic
def appraisal_template_retire(*, actor: AbstractBaseUser | None, template: AppraisalTemplate) -> AppraisalTemplate:
    """No longer offered for new cycles; the cycles that use it keep it. Recorded."""
    template = AppraisalTemplate.objects.select_for_update().get(pk=template.pk)
    if template.retired:
        raise ValidationError(_("This template is already retired."))
    before = _snapshot(template, TEMPLATE_FIELDS)
    template.retired_at = timezone.now()
    template.save(update_fields=["retired_at"])
    _record(actor, template, before)
    return template
