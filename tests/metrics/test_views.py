"""Import pages: who may import where, upload → queue → result, mapping step, error CSV, downloads."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from metrics.models import ImportBatch, ImportStatus, Order
from tests.metrics.helpers import ORDER_HEADER, order_line

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """Run queued imports inline (what the worker does), recording which batches were queued."""
    from metrics.importing import services as imports

    ran = []

    def run_now(*, batch):
        ran.append(batch.pk)
        imports.import_batch_run(batch=batch)

    monkeypatch.setattr("metrics.importing.views.import_batch_queue", run_now)
    monkeypatch.setattr("metrics.importing.api.import_batch_queue", run_now)
    return ran


def _file(name="orders.csv", *lines, header=ORDER_HEADER):
    body = "\n".join([header, *lines]) + "\n"
    return SimpleUploadedFile(name, body.encode("utf-8-sig"), content_type="text/csv")


def test_staff_leads_and_hr_cannot_import(client_for, org):
    for username in ("staff_a", "lead_x", "hr"):
        client = client_for(org.users[username])
        assert client.get(reverse("metrics:upload")).status_code == 403
        assert client.get(reverse("metrics:batch_list")).status_code == 403


def test_manager_uploads_a_file_and_sees_the_result(client_for, org, queued):
    client = client_for(org.users["manager_s1"])
    client.cookies["django_language"] = "en"
    response = client.post(
        reverse("metrics:upload"),
        {
            "files": [_file("o.csv", order_line("W1", store=org.s1.name), order_line("W2", store=org.s1.name))],
            "store": org.s1.pk,
        },
    )
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response.url == reverse("metrics:batch_detail", args=[batch.pk])
    assert queued == [batch.pk]
    batch.refresh_from_db()
    assert (batch.status, batch.inserted, batch.created_by) == (
        ImportStatus.SUCCEEDED,
        2,
        org.users["manager_s1"],
    )
    page = client.get(response.url).content.decode()
    assert "o.csv" in page and "UTF-8 (BOM)" in page and "Imported" in page


def test_manager_cannot_choose_another_stores_import(client_for, org, queued):
    client = client_for(org.users["manager_s1"])
    response = client.post(
        reverse("metrics:upload"),
        {"files": [_file("o.csv", order_line("X1", store=org.s2.name))], "store": org.s2.pk},
    )
    assert response.status_code == 200  # the form refuses the store choice
    assert "store" in response.context["form"].errors
    assert not ImportBatch.objects.exists()


def test_rows_of_stores_the_manager_does_not_run_are_rejected(client_for, org, queued):
    client = client_for(org.users["manager_s1"])
    client.post(reverse("metrics:upload"), {"files": [_file("o.csv", order_line("Y1", store=org.s2.name))]})
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.FAILED and not Order.objects.exists()


def test_several_files_at_once(client_for, org, queued):
    client = client_for(org.users["admin"])
    files = [_file(f"o{i}.csv", order_line(f"M{i}", store=org.s1.name)) for i in range(3)]
    response = client.post(reverse("metrics:upload"), {"files": files})
    assert response.status_code == 302
    ids = sorted(ImportBatch.objects.values_list("pk", flat=True))
    assert response.url.endswith("?ids=" + ",".join(map(str, ids)))
    listing = client.get(response.url)
    assert len(listing.context["page"]) == 3
    assert Order.objects.count() == 3


def test_unknown_headers_go_through_the_mapping_page(client_for, org, queued):
    client = client_for(org.users["manager_s1"])
    header = "单号,客户,实收,状况,下单于,付于"
    upload = _file("custom.csv", "K1,c,5.00,交易成功,2026-08-01 10:00:00,", header=header)
    response = client.post(reverse("metrics:upload"), {"files": [upload], "store": org.s1.pk, "kind": "orders"})
    batch = ImportBatch.objects.get()
    assert response.url == reverse("metrics:batch_map", args=[batch.pk])
    form = client.get(response.url).context["form"]
    assert [c for c, _label in form.fields["field_order_id"].choices][1:] == header.split(",")
    mapping = {"field_order_id": "单号", "field_buyer": "客户", "field_paid_amount": "实收", "field_status": "状况",
               "field_created_at": "下单于", "field_paid_at": "付于", "remember": "on"}  # fmt: skip
    # The same column for two fields is refused.
    bad = client.post(response.url, {**mapping, "field_buyer": "单号"})
    assert bad.status_code == 200 and bad.context["form"].non_field_errors()
    done = client.post(response.url, mapping)
    assert done.url == reverse("metrics:batch_detail", args=[batch.pk])
    batch.refresh_from_db()
    assert (batch.status, batch.inserted) == (ImportStatus.SUCCEEDED, 1)


def test_errors_are_listed_and_downloadable_as_formula_safe_csv(client_for, org, queued):
    client = client_for(org.users["manager_s1"])
    upload = _file(
        "bad.csv",
        order_line("E1", store=org.s1.name),
        order_line("E2", store=org.s1.name, paid="=HYPERLINK(1)"),
    )
    client.post(reverse("metrics:upload"), {"files": [upload], "store": org.s1.pk})
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.FAILED
    page = client.get(reverse("metrics:batch_detail", args=[batch.pk]))
    assert page.context["errors"].paginator.count == 2
    csv_text = client.get(reverse("metrics:batch_errors_csv", args=[batch.pk])).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(csv_text)))
    assert [row[:3] for row in rows[1:]] == [
        ["3", "买家应付货款", "'=HYPERLINK(1)"],  # a formula in a cell stays inert text
        ["3", "买家实际支付金额", "'=HYPERLINK(1)"],
    ]


def test_original_file_can_be_downloaded_again(client_for, org, queued):
    client = client_for(org.users["manager_s1"])
    upload = _file("keep.csv", order_line("F1", store=org.s1.name))
    client.post(reverse("metrics:upload"), {"files": [upload], "store": org.s1.pk})
    batch = ImportBatch.objects.get()
    response = client.get(reverse("metrics:batch_file", args=[batch.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode("utf-8-sig").startswith("订单编号")
    assert 'filename="keep.csv"' in response["Content-Disposition"]


def test_batches_are_scoped_by_store(client_for, org, queued):
    admin = client_for(org.users["admin"])
    admin.post(
        reverse("metrics:upload"),
        {"files": [_file("s2.csv", order_line("G1", store=org.s2.name))], "store": org.s2.pk},
    )
    batch = ImportBatch.objects.get()
    manager_s1 = client_for(org.users["manager_s1"])
    assert manager_s1.get(reverse("metrics:batch_detail", args=[batch.pk])).status_code == 404
    assert manager_s1.get(reverse("metrics:batch_file", args=[batch.pk])).status_code == 404
    assert client_for(org.users["manager_s2"]).get(reverse("metrics:batch_detail", args=[batch.pk])).status_code == 200


def test_list_filters_and_empty_state(client_for, org, queued):
    client = client_for(org.users["manager_s1"])
    empty = client.get(reverse("metrics:batch_list"))
    assert 'class="panel empty"' in empty.content.decode()
    client.post(
        reverse("metrics:upload"),
        {"files": [_file("a.csv", order_line("H1", store=org.s1.name))], "store": org.s1.pk},
    )
    assert len(client.get(reverse("metrics:batch_list"), {"status": "succeeded"}).context["page"]) == 1
    assert len(client.get(reverse("metrics:batch_list"), {"kind": "chats"}).context["page"]) == 0


# --- a failed import offers to import its valid rows (issue 18, point 13) -----------------------


def _failed(client, org) -> ImportBatch:
    """S1's manager uploads three rows, one invalid: the import fails, nothing is imported."""
    lines = [order_line("V1", store=org.s1.name), order_line("V2", store=org.s1.name, paid="abc"),
             order_line("V3", store=org.s1.name)]  # fmt: skip
    client.post(reverse("metrics:upload"), {"files": [_file("three.csv", *lines)], "store": org.s1.pk})
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.FAILED and not Order.objects.exists()
    return batch


def test_a_failed_import_offers_to_import_its_valid_rows_without_choosing_the_file_again(client_for, org, queued):
    client = client_for(org.users["manager_s1"])
    client.cookies["django_language"] = "en"
    failed = _failed(client, org)
    html = client.get(reverse("metrics:batch_detail", args=[failed.pk])).content.decode()
    action = reverse("metrics:batch_import_valid", args=[failed.pk])
    form = html[html.index(f'action="{action}"') : html.index("</form>", html.index(f'action="{action}"'))]
    assert "csrfmiddlewaretoken" in form and 'data-testid="import-valid"' in form
    assert "Valid rows: 2; invalid rows: 1." in form and "data-confirm=" in html
    assert client.get(action).status_code == 405  # a POST only
    response = client.post(action)
    rerun = ImportBatch.objects.exclude(pk=failed.pk).get()
    assert response.status_code == 302 and response.url == reverse("metrics:batch_detail", args=[rerun.pk])
    assert queued == [failed.pk, rerun.pk]
    rerun.refresh_from_db()
    assert (rerun.status, rerun.inserted, rerun.rejected, rerun.rerun_of) == (ImportStatus.SUCCEEDED, 2, 1, failed)
    assert set(Order.objects.values_list("order_id", flat=True)) == {"V1", "V3"}
    page = client.get(response.url).content.decode()
    assert 'data-testid="rerun-of"' in page and reverse("metrics:batch_detail", args=[failed.pk]) in page
    # The failure stays visible, pointing at the import of its valid rows, and offers it no more.
    html = client.get(reverse("metrics:batch_detail", args=[failed.pk])).content.decode()
    assert "Failed, nothing imported" in html and reverse("metrics:batch_detail", args=[rerun.pk]) in html
    assert 'data-testid="import-valid"' not in html
    assert client.post(action).url == reverse("metrics:batch_detail", args=[rerun.pk])  # again: the same batch
    assert ImportBatch.objects.count() == 2


def test_importing_the_valid_rows_is_queued_after_the_commit(client_for, org, queued, monkeypatch,
                                                            django_capture_on_commit_callbacks):  # fmt: skip
    from metrics.importing import services as imports
    from metrics.importing import views
    from metrics.tasks import import_batch_run_task

    client = client_for(org.users["manager_s1"])
    failed = _failed(client, org)
    monkeypatch.setattr(views, "import_batch_queue", imports.import_batch_queue)  # the real queueing
    sent = []
    monkeypatch.setattr(import_batch_run_task, "delay", lambda batch_id: sent.append(batch_id))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("metrics:batch_import_valid", args=[failed.pk]))
    rerun = ImportBatch.objects.get(rerun_of=failed)
    assert sent == [] and rerun.status == ImportStatus.QUEUED  # nothing sent before the commit
    for callback in callbacks:
        callback()
    assert sent == [rerun.pk]


def test_only_the_stores_managers_and_admins_import_the_valid_rows(client_for, org, queued):
    failed = _failed(client_for(org.users["manager_s1"]), org)
    action = reverse("metrics:batch_import_valid", args=[failed.pk])
    for username in ("staff_a", "lead_x", "hr"):
        assert client_for(org.users[username]).post(action).status_code == 403
    assert client_for(org.users["manager_s2"]).post(action).status_code == 404
    assert not ImportBatch.objects.filter(rerun_of=failed).exists()
    assert client_for(org.users["admin"]).post(action).status_code == 302
    assert ImportBatch.objects.filter(rerun_of=failed, created_by=org.users["admin"]).exists()


def test_the_page_says_why_the_valid_rows_cannot_be_imported(client_for, org, queued):
    from django.utils import timezone

    client = client_for(org.users["manager_s1"])
    client.cookies["django_language"] = "en"
    failed = _failed(client, org)
    ImportBatch.objects.filter(pk=failed.pk).update(file="", file_deleted_at=timezone.now())  # retention ran
    html = client.get(reverse("metrics:batch_detail", args=[failed.pk])).content.decode()
    assert 'data-testid="import-valid"' not in html and "The original file is no longer kept (retention" in html
    response = client.post(reverse("metrics:batch_import_valid", args=[failed.pk]), follow=True)
    assert "The original file is no longer kept (retention" in response.content.decode()
    assert not ImportBatch.objects.filter(rerun_of=failed).exists()
    pdf = SimpleUploadedFile("scan.csv", b"%PDF-1.7\n" + bytes(200), content_type="text/csv")
    client.post(reverse("metrics:upload"), {"files": [pdf], "store": org.s1.pk})
    refused = ImportBatch.objects.get(file_name="scan.csv")
    html = client.get(reverse("metrics:batch_detail", args=[refused.pk])).content.decode()
    assert refused.status == ImportStatus.REFUSED and 'data-testid="import-valid"' not in html
    assert "The file itself was refused, not some of its rows" in html
