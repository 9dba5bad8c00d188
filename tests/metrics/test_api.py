"""Import API: upload, poll, list, map, errors; the same scoping as the pages."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from metrics.models import ImportBatch, ImportStatus, Order
from tests.metrics.helpers import ORDER_HEADER, order_line

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    from metrics.importing import services as imports

    monkeypatch.setattr(
        "metrics.importing.api.import_batch_queue", lambda *, batch: imports.import_batch_run(batch=batch)
    )


def _upload(*lines, header=ORDER_HEADER, name="o.csv"):
    return SimpleUploadedFile(name, ("\n".join([header, *lines]) + "\n").encode("utf-8-sig"))


def test_upload_then_poll_then_list(api_for, org, queued):
    api = api_for(org.users["manager_s1"])
    response = api.post(
        reverse("import-batch-list"),
        {"file": _upload(order_line("A1", store=org.s1.name)), "store": org.s1.pk},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    batch_id = response.json()["id"]
    polled = api.get(reverse("import-batch-detail", args=[batch_id])).json()
    assert (polled["status"], polled["is_finished"], polled["progress_percent"], polled["inserted"]) == (
        "succeeded",
        True,
        100,
        1,
    )
    assert [b["id"] for b in api.get(reverse("import-batch-list")).json()["results"]] == [batch_id]
    assert api.get(reverse("import-batch-list"), {"status": "failed"}).json()["results"] == []


def test_only_managers_and_admins_import(api_for, org):
    for username in ("staff_a", "lead_x", "hr"):
        api = api_for(org.users[username])
        assert api.get(reverse("import-batch-list")).status_code == 403
        assert (
            api.post(reverse("import-batch-list"), {"file": _upload(order_line("B1"))}, format="multipart").status_code
            == 403
        )
    assert not ImportBatch.objects.exists()


def test_manager_cannot_import_into_another_store(api_for, org, queued):
    api = api_for(org.users["manager_s1"])
    response = api.post(
        reverse("import-batch-list"),
        {"file": _upload(order_line("C1", store=org.s2.name)), "store": org.s2.pk},
        format="multipart",
    )
    assert response.status_code == 400 and "store" in response.json()
    assert not Order.objects.exists()


def test_mapping_errors_and_scoping(api_for, org, queued):
    api = api_for(org.users["manager_s1"])
    header = "单号,客户,实收,状况,下单于,付于"
    created = api.post(
        reverse("import-batch-list"),
        {"file": _upload("D1,c,5.00,交易成功,2026-08-01 10:00:00,", "D2,c,bad,交易成功,2026-08-01 10:00:00,", header=header),
         "store": org.s1.pk, "kind": "orders", "skip_invalid": "true", "mapping": json.dumps({"order_id": "单号"})},
        format="multipart",
    ).json()  # fmt: skip
    assert created["status"] == "needs_mapping" and created["column_mapping"]["order_id"] == "单号"
    url = reverse("import-batch-mapping", args=[created["id"]])
    unknown = api.post(url, {"mapping": {"buyer": "nope"}}, format="json")
    assert unknown.status_code == 400
    mapped = api.post(
        url,
        {
            "mapping": {
                "buyer": "客户",
                "paid_amount": "实收",
                "status": "状况",
                "created_at": "下单于",
                "paid_at": "付于",
            }
        },
        format="json",
    ).json()
    assert (mapped["status"], mapped["inserted"], mapped["rejected"]) == ("succeeded", 1, 1)
    errors = api.get(reverse("import-batch-errors", args=[created["id"]])).json()["results"]
    assert errors == [{"line": 3, "column": "实收", "value": "bad", "reason": errors[0]["reason"]}]
    # Another store's manager sees nothing of it.
    other = api_for(org.users["manager_s2"])
    assert other.get(reverse("import-batch-detail", args=[created["id"]])).status_code == 404
    assert other.get(reverse("import-batch-errors", args=[created["id"]])).status_code == 404


def test_refused_file_answers_201_with_the_reason(api_for, org, queued):
    api = api_for(org.users["admin"])
    response = api.post(
        reverse("import-batch-list"),
        {"file": SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\n" + bytes(64))},
        format="multipart",
    )
    assert response.status_code == 201
    assert response.json()["status"] == ImportStatus.REFUSED and response.json()["error_message"]


def test_api_imports_the_valid_rows_of_a_failed_batch(api_for, org, queued):
    api = api_for(org.users["manager_s1"])
    lines = [order_line("K1", store=org.s1.name), order_line("K2", store=org.s1.name, paid="abc")]
    failed = api.post(reverse("import-batch-list"), {"file": _upload(*lines), "store": org.s1.pk}, format="multipart")
    failed_id = failed.json()["id"]
    assert failed.json()["status"] == "failed"
    url = reverse("import-batch-import-valid", args=[failed_id])
    assert api_for(org.users["manager_s2"]).post(url).status_code == 404
    assert api_for(org.users["staff_a"]).post(url).status_code == 403
    response = api.post(url)
    assert response.status_code == 201, response.content
    rerun = response.json()
    assert (rerun["rerun_of"], rerun["skip_invalid"], rerun["id"] != failed_id) == (failed_id, True, True)
    polled = api.get(reverse("import-batch-detail", args=[rerun["id"]])).json()
    assert (polled["status"], polled["inserted"], polled["rejected"]) == ("succeeded", 1, 1)
    assert api.get(reverse("import-batch-detail", args=[failed_id])).json()["status"] == "failed"  # as it was
    again = api.post(url)
    assert (again.status_code, again.json()["id"]) == (200, rerun["id"])
    conflict = api.post(reverse("import-batch-import-valid", args=[rerun["id"]]))
    assert conflict.status_code == 409 and conflict.json()["detail"]
    assert list(Order.objects.values_list("order_id", flat=True)) == ["K1"]
