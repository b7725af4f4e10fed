"""`make run` is zero-config: it migrates a fresh SQLite database. The suite runs on PostgreSQL, so a
migration that only PostgreSQL can apply (a state-only constraint SQLite's table rebuild trips on, an
index built CONCURRENTLY) would pass every other test and break the first command of the README."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_migration_applies_to_a_fresh_sqlite_database(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"}
    env.pop("PAYPLAN_TEST_PRETEND_NOW", None)
    done = subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "fresh.sqlite3").stat().st_size > 0
