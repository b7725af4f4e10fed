"""The settings page's stage pickers (the dunning stages, a step's «move to stage», the plan rules' trigger and
gate stages) run in node as the widget has them: they offer a Bitrix24 portal's stages and give back the stage
codes (`C1:NEW`), whose own colon is kept, as well as amoCRM's numbers."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "frontend_widget" / "script.js"
NAMES = ("stageChoices", "stageValue", "dunningOption", "planRulesStage")

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def _function(source: str, name: str) -> str:
    """One `function name(...) {...}` of the script, up to its closing brace at the same indent."""
    match = re.search(rf"^( *)function {name}\(.*?^\1\}}$", source, re.S | re.M)
    assert match, name
    return match[0]


def run(expression: str):
    source = SCRIPT.read_text(encoding="utf-8")
    stubs = """
      var _ = {
        each: function (list, fn) { (list || []).forEach(fn); },
        map: function (list, fn) { return (list || []).map(fn); },
        findWhere: function (list, props) {
          return list.find(function (row) {
            return Object.keys(props).every(function (k) { return row[k] === props[k]; });
          });
        }
      };
      function t(key) { return key; }
      function tf(key, values) { return key + ' ' + JSON.stringify(values); }
      function escapeHtml(text) { return String(text); }
    """
    program = stubs + "\n".join(_function(source, name) for name in NAMES) + \
        f"\nprocess.stdout.write(JSON.stringify({expression}));"
    done = subprocess.run(["node", "-e", program], capture_output=True, text=True, timeout=30, check=True)
    return json.loads(done.stdout)


BITRIX24_PIPELINES = [{"id": 0, "name": "Общая", "statuses": [{"id": "NEW", "name": "Новая"}]},
                      {"id": 1, "name": "Юридические услуги", "statuses": [{"id": "C1:NEW", "name": "Консультация"},
                                                                          {"id": "C1:UC_PAYING", "name": "Платит"}]}]


def test_a_bitrix24_stage_code_keeps_its_own_colon():
    assert run("[stageValue('1:C1:UC_PAYING'), stageValue('0:NEW'), stageValue(':C1:WON')]") == [
        {"status_id": "C1:UC_PAYING", "pipeline_id": 1}, {"status_id": "NEW", "pipeline_id": 0},
        {"status_id": "C1:WON", "pipeline_id": None}]


def test_an_amocrm_stage_is_still_a_number_and_none_is_null():
    assert run("[stageValue('7:142'), stageValue(''), stageValue('7:')]") == [
        {"status_id": 142, "pipeline_id": 7}, None, None]


def test_the_picker_offers_the_portals_stages_and_selects_the_stored_code():
    html = run(f"stageChoices({json.dumps(BITRIX24_PIPELINES)}, {{status_id: 'C1:UC_PAYING', pipeline_id: 1}}, true)")
    assert '<option value="1:C1:UC_PAYING" selected>Юридические услуги → Платит</option>' in html
    assert '<option value="0:NEW">Общая → Новая</option>' in html
    assert "stage_unknown" not in html
    chosen = re.search(r'<option value="([^"]+)" selected>', html)[1]
    assert run(f"stageValue({json.dumps(chosen)})") == {"status_id": "C1:UC_PAYING", "pipeline_id": 1}


def test_the_plan_rules_stage_keeps_a_bitrix24_code_and_an_amocrm_number():
    assert run("[planRulesStage('1:C1:UC_PAYING'), planRulesStage(':C1:WON'), planRulesStage('C1:NEW'),"
               " planRulesStage('0:NEW'), planRulesStage('3:142'), planRulesStage('142'), planRulesStage(''),"
               " planRulesStage('1:<b>')]") == [
        {"pipeline_id": 1, "status_id": "C1:UC_PAYING"}, {"pipeline_id": None, "status_id": "C1:WON"},
        {"pipeline_id": None, "status_id": "C1:NEW"}, {"pipeline_id": 0, "status_id": "NEW"},
        {"pipeline_id": 3, "status_id": 142}, {"pipeline_id": None, "status_id": 142}, None, None]
