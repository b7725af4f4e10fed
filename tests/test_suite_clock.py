"""The suite's own clock: every test starts at FROZEN_NOW, so its fixed calendar days never expire;
`real_clock` tests (and e2e, whose browser cannot be moved) see the machine's clock."""
import os
import subprocess
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.conftest import FROZEN_NOW


def test_a_test_starts_at_the_frozen_instant_and_the_clock_ticks_from_there():
    now = datetime.now(UTC)
    assert FROZEN_NOW <= now < FROZEN_NOW + timedelta(hours=1)
    assert date.today() == FROZEN_NOW.date()
    later = time.time()
    time.sleep(0.01)
    assert time.time() > later  # threads, timeouts and token lifetimes still see time pass


def test_the_frozen_day_is_the_same_in_moscow_and_utc():
    from zoneinfo import ZoneInfo

    assert FROZEN_NOW.astimezone(ZoneInfo("Europe/Moscow")).date() == FROZEN_NOW.date()


@pytest.mark.real_clock
def test_real_clock_tests_see_the_machines_clock():
    pretend = os.environ.get("PAYPLAN_TEST_PRETEND_NOW")
    if pretend:  # the session pretends the machine's clock reads this (and ticks on)
        assert timedelta(0) <= datetime.now(UTC) - datetime.fromisoformat(pretend) < timedelta(days=1)
    else:  # a subprocess is never moved by time-machine
        machine = int(subprocess.run(["date", "+%s"], capture_output=True, text=True, check=True).stdout)
        assert abs(time.time() - machine) < 60
