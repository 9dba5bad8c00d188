"""Every bad file gets its own message, never a 500, and leaves no file behind that nothing refers
to (issue 20, points 4, 6 and 8; docs/faults.md, "Bad files"). The files are made here, byte for
byte as the fault probe made them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from metrics.importing.files import import_files_purge
from metrics.importing.services import import_batch_create, import_batch_run
from metrics.models import ImportBatch, ImportStatus, Order
from tests.metrics.helpers import ORDER_HEADER, order_line
from tests.metrics.xlsx_files import xlsx_write

pytestmark = pytest.mark.django_db

ENCODING = "The file is neither UTF-8 nor GB18030/GBK text."
NOT_TEXT = "This is not a text table"


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


def _orders_bytes(*, rows: int = 20_000, bom: bool = True, at: int | None = None, insert: bytes = b"") -> bytes:
    """An order report in UTF-8 (about 120 bytes a line), `insert` put at byte `at` of the text."""
    text = ("\n".join([ORDER_HEADER, *(order_line(f"P{i}") for i in range(rows))]) + "\n").encode("utf-8")
    if at is not None:
        at = text.index(b"\n", at) + 1  # at the start of a line: the bytes around it stay whole characters
        text = text[:at] + insert + text[at:]
    return (b"\xef\xbb\xbf" if bom else b"") + text


def _text(batch: ImportBatch, language: str = "en") -> str:
    with translation.override(language):
        return batch.error_text


def _media_files(settings) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _no_orphans(settings) -> None:
    """Every stored file is the file of a batch."""
    referred = set(ImportBatch.objects.exclude(file="").values_list("file", flat=True))
    assert _media_files(settings) <= referred, (_media_files(settings), referred)


# --- 4. a BOM and a bad byte, a NUL ---------------------------------------------------------------

# (where, what, the message): a byte that is not UTF-8 in the first 64 KB (the header sample),
# one between 64 KB of characters and the end of pandas' first buffer, a NUL past the first 8 KB.
BAD = {
    "bad byte in the first 64 KB": (1_000, b"\xff", ENCODING),
    "bad byte after the sample": (300_000, b"\xff", ENCODING),
    "NUL after 8 KB": (20_000, b"\x00", NOT_TEXT),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bom_file_gets_the_message_the_same_file_gets_without_a_bom(tmp_path, case, settings):
    at, insert, expected = BAD[case]
    refusals = {}
    for bom in (False, True):
        path = tmp_path / f"orders-{bom}.csv"
        path.write_bytes(_orders_bytes(bom=bom, at=at, insert=insert))
        batch = import_batch_create(file=path, user=None, kind="orders")
        if batch.status == ImportStatus.QUEUED:  # refused by the worker, then
            batch = import_batch_run(batch=batch)
        refusals[bom] = (batch.status, _text(batch))
    assert refusals[True] == refusals[False], refusals
    assert refusals[True][0] == ImportStatus.REFUSED and refusals[True][1].startswith(expected), refusals
    assert Order.objects.count() == 0
    _no_orphans(settings)


def test_the_api_answers_a_bom_file_with_a_bad_byte_with_its_refusal(api_for, org, settings):
    api = api_for(org.users["manager_s1"])
    upload = SimpleUploadedFile("o.csv", _orders_bytes(at=1_000, insert=b"\xff"))
    response = api.post(reverse("import-batch-list"), {"file": upload, "store": org.s1.pk}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "refused"
    assert _text(ImportBatch.objects.get()).startswith(ENCODING)
    _no_orphans(settings)


def test_the_upload_page_shows_a_bom_file_with_a_bad_byte_refused(client_for, org, settings):
    client = client_for(org.users["manager_s1"])
    client.cookies["django_language"] = "en"
    upload = SimpleUploadedFile("o.csv", _orders_bytes(at=1_000, insert=b"\xff"), content_type="text/csv")
    response = client.post(reverse("metrics:upload"), {"files": [upload], "store": org.s1.pk}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "File refused" in page and ENCODING in page
    _no_orphans(settings)


def test_a_bad_byte_the_worker_meets_is_refused_with_its_message(tmp_path):
    """A batch queued as UTF-8 (BOM) whose file has a bad byte (queued before this check, or the
    file changed): pandas meets it when it reads its first buffer, inside the import's handling."""
    path = tmp_path / "orders.csv"
    path.write_bytes(_orders_bytes(at=300_000, insert=b"\xff"))
    good = tmp_path / "good.csv"
    good.write_bytes(_orders_bytes(rows=3))
    batch = import_batch_create(file=good, user=None, kind="orders")
    assert batch.status == ImportStatus.QUEUED and batch.encoding == "UTF-8 (BOM)"
    Path(batch.file.path).write_bytes(path.read_bytes())
    batch = import_batch_run(batch=batch)
    assert batch.status == ImportStatus.REFUSED
    assert _text(batch).startswith("The file's encoding changes part-way through"), _text(batch)


def test_an_upload_whose_inspection_crashes_is_refused_not_a_500(api_for, org, monkeypatch, settings):
    def crash(*args, **kwargs):
        raise RuntimeError("a file no check foresaw")

    monkeypatch.setattr("metrics.importing.services.source_open", crash)
    api = api_for(org.users["manager_s1"])
    upload = SimpleUploadedFile("o.csv", _orders_bytes(rows=3))
    response = api.post(reverse("import-batch-list"), {"file": upload, "store": org.s1.pk}, format="multipart")
    assert response.status_code == 201, response.content
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.REFUSED
    assert _text(batch).startswith("The import stopped on an unexpected error")
    _no_orphans(settings)


def test_an_upload_that_crashes_before_its_batch_is_saved_leaves_no_file(tmp_path, monkeypatch, settings):
    def crash(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(ImportBatch, "save", crash)
    path = tmp_path / "orders.csv"
    path.write_bytes(_orders_bytes(rows=3))
    with pytest.raises(RuntimeError):
        import_batch_create(file=path, user=None, kind="orders")
    assert _media_files(settings) == set()


def test_the_purge_deletes_uploaded_files_no_batch_refers_to_after_a_day(tmp_path, settings):
    path = tmp_path / "orders.csv"
    path.write_bytes(_orders_bytes(rows=3))
    kept = import_batch_create(file=path, user=None, kind="orders")
    folder = Path(settings.MEDIA_ROOT) / "imports" / "2026" / "11"
    folder.mkdir(parents=True)
    old, recent = folder / "0123456789abcdef-old.csv", folder / "fedcba9876543210-recent.csv"
    for orphan in (old, recent):
        orphan.write_bytes(b"x")
    day_and_a_bit = time.time() - 25 * 3600
    os.utime(old, (day_and_a_bit, day_and_a_bit))
    os.utime(Path(kept.file.path), (day_and_a_bit, day_and_a_bit))  # old, but a batch's file
    assert import_files_purge() == 0  # no batch lost its file
    assert not old.exists()
    assert recent.exists()  # may be an upload in flight: its batch is not committed yet
    assert Path(kept.file.path).exists()


# --- 8. sizes in the same unit and rounding as their limit ----------------------------------------


def test_a_file_just_over_the_limit_says_so_in_the_limits_unit(tmp_path, settings):
    settings.IMPORT_MAX_FILE_MB = 2
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1" * (2 * 1024 * 1024 + 1 - 4))
    assert path.stat().st_size == 2_097_153
    batch = import_batch_create(file=path, user=None, kind="orders")
    assert batch.status == ImportStatus.REFUSED
    assert _text(batch) == "The file is 2.0 MB, over the 2.0 MB limit. Split the export by date range."
    assert _text(batch, "zh-hans") == "文件大小为 2.0 MB，超过了 2.0 MB 的上限。请按日期范围分批导出。"
    assert _media_files(settings) == set()  # an oversize file is not kept


def test_a_workbook_over_the_unpacked_limit_says_so_in_the_limits_unit(tmp_path, settings):
    import zipfile

    settings.IMPORT_MAX_XLSX_UNPACKED_MB = 1
    path = tmp_path / "big.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", os.urandom(1024 * 1024))  # incompressible: ratio 1
    batch = import_batch_create(file=path, user=None, kind="orders")
    assert batch.status == ImportStatus.REFUSED
    assert _text(batch) == "The workbook unpacks to 1.0 MB, over the 1.0 MB limit; it was not opened."
    assert _text(batch, "zh-hans") == "Excel 文件解压后达 1.0 MB，超过了 1.0 MB 的上限，因此未打开。"


def test_sizes_are_formatted_by_one_function():
    from metrics.messages import megabytes, message, message_render

    assert megabytes(2_097_153) == {"number": "2.0", "places": 1}
    assert megabytes(1_058_013_184)["number"] == "1009.0"
    with translation.override("en"):
        text = message_render(message=message("metrics.import_file_over_limit", size=megabytes(1_058_013_184),
                                              limit=megabytes(1024 * 1024 * 1024)))  # fmt: skip
    assert text.startswith("The file is 1,009.0 MB, over the 1,024.0 MB limit.")


# --- 6. a workbook within the bomb limits but of many cells ----------------------------------------

ORDER_CELLS = order_line("X1").split(",")


@pytest.fixture
def openpyxl_calls(monkeypatch):
    """Every openpyxl.load_workbook call (where the workbook's XML gets parsed)."""
    import openpyxl

    calls = []
    real = openpyxl.load_workbook

    def recording(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", recording)
    return calls


@pytest.fixture
def cells_checks(monkeypatch):
    """Every count of a sheet's cells (the import's first read of a workbook's rows)."""
    from metrics.importing import xlsx as readers

    calls = []
    real = getattr(readers, "_xlsx_cells_check", None)  # None before issue 20: then openpyxl_calls tell

    def recording(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(readers, "_xlsx_cells_check", recording, raising=False)
    return calls


@pytest.mark.parametrize("dimension", [True, False])
def test_the_upload_request_reads_only_the_header_of_a_workbook(
    api_for, org, tmp_path, openpyxl_calls, cells_checks, dimension, monkeypatch
):
    """With the sheet's size undeclared, openpyxl read every row in the request to count them
    (the probe's web worker: 19.1 s); now the request reads the header's XML and nothing else."""
    from metrics.importing import services as imports

    queued = []
    monkeypatch.setattr("metrics.importing.api.import_batch_queue", lambda *, batch: queued.append(batch.pk))
    path = xlsx_write(tmp_path / "o.xlsx", header=ORDER_HEADER.split(","), row=ORDER_CELLS, rows=3_000,
                      dimension=dimension)  # fmt: skip
    api = api_for(org.users["manager_s1"])
    with path.open("rb") as handle:
        upload = SimpleUploadedFile("o.xlsx", handle.read())
    response = api.post(reverse("import-batch-list"), {"file": upload, "store": org.s1.pk}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "queued"
    assert openpyxl_calls == [] and cells_checks == []  # the request parsed no row of the workbook
    batch = ImportBatch.objects.get(pk=queued[0])
    assert batch.kind == "orders" and batch.sheet == "Sheet1"
    assert batch.rows_total == 0  # not yet read
    batch = imports.import_batch_run(batch=batch)  # what the worker does
    assert batch.status == ImportStatus.SUCCEEDED, _text(batch)
    assert (batch.rows_total, batch.inserted, batch.unchanged) == (3_000, 1, 2_999)  # one order, 3,000 times
    assert len(openpyxl_calls) == 1 and len(cells_checks) == 1


def test_a_workbook_over_the_cell_limit_is_refused_before_it_is_parsed(tmp_path, settings, openpyxl_calls):
    """Undeclared size: counted as its XML streams, refused before openpyxl parses a row."""
    settings.IMPORT_MAX_XLSX_CELLS = 50_000
    path = xlsx_write(tmp_path / "o.xlsx", header=ORDER_HEADER.split(","), row=ORDER_CELLS * 4, rows=2_000,
                      dimension=False)  # fmt: skip
    assert path.stat().st_size < 100_000  # small on disk: 96,000 cells
    batch = import_batch_create(file=path, user=None, kind="orders")
    assert batch.status == ImportStatus.QUEUED
    batch = import_batch_run(batch=batch)
    assert batch.status == ImportStatus.REFUSED
    assert _text(batch) == (
        "The sheet has more than 50,000 cells (rows × columns), more than an import reads. "
        "Split the export by date range, or delete the columns it does not need."
    )
    assert _text(batch, "zh-hans").startswith("工作表的单元格超过 50,000 个")
    assert openpyxl_calls == [] and Order.objects.count() == 0


def test_a_workbook_declaring_too_many_cells_is_refused_at_upload(tmp_path, settings, openpyxl_calls):
    settings.IMPORT_MAX_XLSX_CELLS = 50_000
    path = xlsx_write(tmp_path / "o.xlsx", header=ORDER_HEADER.split(","), row=ORDER_CELLS * 4, rows=2_000)
    batch = import_batch_create(file=path, user=None, kind="orders")
    assert batch.status == ImportStatus.REFUSED
    assert _text(batch).startswith("The sheet has more than 50,000 cells")
    assert openpyxl_calls == []


def test_rows_a_sheet_skips_count_as_they_are_made_up(tmp_path, settings):
    """<row r="900000"> after the header: openpyxl yields the 899,998 empty rows in between, which
    the count of the XML's cells cannot see; the cells it produces are counted as it goes."""
    settings.IMPORT_MAX_XLSX_CELLS = 100_000
    path = xlsx_write(tmp_path / "o.xlsx", header=ORDER_HEADER.split(","), row=ORDER_CELLS, rows=1,
                      dimension=False, first_row=900_000)  # fmt: skip
    batch = import_batch_run(batch=import_batch_create(file=path, user=None, kind="orders"))
    assert batch.status == ImportStatus.REFUSED
    assert _text(batch).startswith("The sheet has more than 100,000 cells")


def test_a_row_wider_than_excel_allows_is_refused_before_it_is_parsed(tmp_path, openpyxl_calls):
    path = xlsx_write(tmp_path / "o.xlsx", header=ORDER_HEADER.split(","), row=[str(i) for i in range(16_385)], rows=1,
                      dimension=False)  # fmt: skip
    batch = import_batch_run(batch=import_batch_create(file=path, user=None, kind="orders"))
    assert batch.status == ImportStatus.REFUSED
    assert _text(batch) == (
        "A row of the sheet has more than 16,384 cells, more than Excel allows; the workbook was not read."
    )
    assert openpyxl_calls == []


def test_a_workbook_whose_first_rows_are_huge_is_refused_at_upload(tmp_path, monkeypatch, openpyxl_calls):
    from metrics.importing import xlsx as readers

    monkeypatch.setattr(readers, "_HEAD_BYTES", 1024 * 1024, raising=False)  # 16 MB in production
    noise = os.urandom(600 * 1024).hex()  # 1.2 MB that deflate cannot shrink 200 to 1
    path = xlsx_write(tmp_path / "o.xlsx", header=[noise, "y"], row=["1", "2"], rows=1)
    batch = import_batch_create(file=path, user=None, kind="orders")
    assert batch.status == ImportStatus.REFUSED
    assert _text(batch).startswith("The sheet's first rows take more than 1.0 MB")
    assert openpyxl_calls == []
