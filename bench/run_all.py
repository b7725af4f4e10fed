"""Run every benchmark in turn (`make bench`); each prints its own ratios against a baseline of the same run.

Each one is bounded: small defaults, and a wall-clock limit after which it is stopped and counted as failed
(a shared 2-core machine can be slow; the limit is there so `make bench` always ends)."""
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["webhooks.py", "pay_cpu.py", "crm_outbox.py", "pdf.py", "dunning.py", "analytics.py"]
LIMIT_SECONDS = 1200


def main() -> int:
    failed = 0
    for script in BENCHMARKS:
        print(f"\n=== bench/{script}", flush=True)
        try:
            failed += subprocess.run([sys.executable, str(HERE / script)], cwd=HERE.parent,
                                     timeout=LIMIT_SECONDS, check=False).returncode != 0
        except subprocess.TimeoutExpired:
            print(f"bench/{script}: stopped after {LIMIT_SECONDS} s", flush=True)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
