"""The collections texts of the widget cover every value the dunning API sends, in both languages."""
import json
from pathlib import Path

import pytest

from billing.dunning import domain
from billing.dunning.models import ChannelSettings, StepRun

WIDGET = Path(__file__).resolve().parents[2] / "frontend_widget"


@pytest.mark.parametrize("language", ["ru", "en"])
def test_every_channel_status_outcome_decision_and_action_has_its_text(language):
    texts = json.loads((WIDGET / "i18n" / f"{language}.json").read_text(encoding="utf-8"))["dunning"]
    families = {
        "channel_": domain.CHANNELS,
        "status_": StepRun.Status.values,
        "outcome_": domain.CALL_OUTCOMES,
        "decision_": domain.DECISIONS,
        "assignee_": domain.ASSIGNEE_KINDS,
        "action_": domain.ACTION_KINDS,
        "end_": ["none", *domain.DECISIONS],
        "provider_": ChannelSettings.Channel.values,
        "secret_": ChannelSettings.Channel.values,
    }
    missing = [prefix + value for prefix, values in families.items() for value in values
               if not isinstance(texts.get(prefix + value), str)]
    assert not missing


def test_the_script_knows_every_channel_and_bucket_the_api_has():
    script = (WIDGET / "script.js").read_text(encoding="utf-8")
    for value in (*domain.CHANNELS, *domain.BUCKET_NAMES, *domain.CALL_OUTCOMES, *domain.ASSIGNEE_KINDS,
                  *domain.ACTION_KINDS):
        assert f"'{value}'" in script, value
    for channel in ChannelSettings.Channel.values:  # the settings page's providers
        assert f"{channel}: [" in script, channel
