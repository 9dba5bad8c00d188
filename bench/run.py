"""`make bench`: runs every bench/bench_*.py in turn. Each benchmark times the product against a
baseline measured in the same run and reports the ratio, never a bare wall time."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    benches = sorted(HERE.glob("bench_*.py"))
    if not benches:
        print("no benchmarks yet")
        return 0
    failed = 0
    for bench in benches:
        print(f"== {bench.name}", flush=True)
        failed += subprocess.run([sys.executable, str(bench), *sys.argv[1:]], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
