"""What a workbook of many cells costs the upload request and the import (docs/faults.md, "Bad files").

  python bench/bench_bad_files.py [--rows 470000] [--copies 4] [inspect|read FILE]

Writes (under var/bench/) a workbook like the fault probe's: an order report's header, then
`--rows` rows of the same order repeated `--copies` times (12 × copies inline-string cells a row;
the defaults give 22.6 million cells, 7.3 MB on disk, 992 MiB unpacked), once with its size
declared (<dimension>) and once without. Then, each in a fresh process: `inspect` is what the
upload request does (file_inspect), `read` what the import reads (source_open, every chunk).
Prints wall time, the process's CPU time (Django's start, about 0.9 s, included) and peak RSS.
No database is needed.
"""

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _measure(mode: str, path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "perfmgmt.settings.test")
    import django

    django.setup()
    from metrics.importing.readers import ImportRefused, source_open
    from metrics.importing.services import file_inspect

    started = time.monotonic()
    try:
        if mode == "inspect":
            facts = file_inspect(path=path, kind="orders", store=None, sheet=None, mapping=None)
            outcome = f"queued, {len(facts.headers)} headers"
        else:
            rows = sum(len(chunk.frame) for chunk in source_open(path).chunks(100_000))
            outcome = f"{rows} rows read"
    except ImportRefused as refusal:
        outcome = f"refused: {refusal.message['key']}"
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"{mode} {path.name}: {time.monotonic() - started:.1f} s wall, {usage.ru_utime + usage.ru_stime:.1f} s CPU, "
        f"peak RSS {usage.ru_maxrss / 1024:.0f} MB; {outcome}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=470_000)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("measure", nargs="*", help="inspect|read FILE: measure one, in this process")
    args = parser.parse_args()
    if args.measure:
        _measure(args.measure[0], Path(args.measure[1]))
        return 0
    sys.path.insert(0, str(ROOT))
    from tests.metrics.xlsx_files import xlsx_write

    header = "订单编号,买家会员名,买家应付货款,买家实际支付金额,订单状态,订单创建时间,订单付款时间,宝贝标题,宝贝种类,宝贝总数量,退款金额,店铺名称"
    row = "P1,tb_1,100.00,100.00,交易成功,2026-08-01 10:00:00,2026-08-01 10:05:00,连衣裙,1,1,0.00,未来衣橱旗舰店"
    folder = ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    for declared in (True, False):
        path = folder / f"cells-{args.rows}x{args.copies}-{'declared' if declared else 'undeclared'}.xlsx"
        if not path.exists():
            xlsx_write(path, header=header.split(","), row=row.split(",") * args.copies, rows=args.rows,
                       dimension=declared)  # fmt: skip
        for mode in ("inspect", "read"):
            subprocess.run([sys.executable, __file__, mode, str(path)], check=True, cwd=ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
