"""Run every benchmark in turn (`make bench`); each prints its own ratios against a baseline of the same run."""
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["webhooks.py", "pay_cpu.py", "crm_outbox.py", "pdf.py", "dunning.py", "analytics.py"]


def main() -> int:
    failed = 0
    for script in BENCHMARKS:
        print(f"\n=== bench/{script}", flush=True)
        failed += subprocess.call([sys.executable, str(HERE / script)], cwd=HERE.parent) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
