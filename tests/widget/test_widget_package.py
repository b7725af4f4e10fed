"""The widget archive against amoCRM's rules (contracts/amocrm.md section 1), and its texts in both languages."""
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
WIDGET = ROOT / "frontend_widget"
LOGOS = {"logo_min.png": (84, 84), "logo_medium.png": (240, 84), "logo_main.png": (400, 272),
         "logo_small.png": (108, 108), "logo.png": (130, 100)}
MAX_LOGO_BYTES = 300 * 1024
CYRILLIC = re.compile("[А-Яа-яЁё]")


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("dist") / "widget.zip"
    subprocess.run([sys.executable, str(WIDGET / "tools" / "build_zip.py"), "--out", str(out)], check=True,
                   capture_output=True)
    with zipfile.ZipFile(out) as opened:
        yield opened


@pytest.fixture(scope="module")
def manifest(archive) -> dict:
    return json.loads(archive.read("manifest.json"))


def langs(archive) -> dict[str, dict]:
    return {path.split("/")[1][:-5]: json.loads(archive.read(path))
            for path in archive.namelist() if re.fullmatch(r"i18n/\w+\.json", path)}


def flat_keys(tree: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in tree.items():
        keys |= flat_keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return keys


def lookup(tree: dict, dotted: str):
    for part in dotted.split("."):
        tree = tree.get(part) if isinstance(tree, dict) else None
    return tree


def test_the_archive_has_the_widget_files_at_its_root_and_nothing_else(archive):
    names = archive.namelist()
    assert names[0] == "manifest.json"
    assert {"manifest.json", "script.js", "style.css", "i18n/ru.json", "i18n/en.json"} <= set(names)
    assert {f"images/{name}" for name in LOGOS} <= set(names)
    assert not [name for name in names if name.startswith(("tools/", "frontend_widget/", "/", ".")) or ".." in name]


def test_the_build_is_reproducible(archive, tmp_path):
    again = tmp_path / "again.zip"
    subprocess.run([sys.executable, str(WIDGET / "tools" / "build_zip.py"), "--out", str(again)], check=True,
                   capture_output=True)
    assert again.read_bytes() == Path(archive.filename).read_bytes()


def test_the_manifest_declares_a_card_widget_with_settings_and_an_analytics_page(manifest):
    widget = manifest["widget"]
    assert widget["interface_version"] == 2
    assert widget["init_once"] is False
    assert re.fullmatch(r"\d+\.\d+\.\d+", widget["version"])
    assert {"lcard-1", "settings", "advanced_settings"} <= set(manifest["locations"])
    assert manifest["settings"]["backend_url"] == {"name": "settings.backend_url", "type": "text", "required": True}
    assert all(field["type"] in {"text", "pass", "users", "users_lp", "custom"}
               for field in manifest["settings"].values())


def test_every_text_of_the_manifest_exists_in_every_declared_language(archive, manifest):
    keys = [manifest["widget"][name] for name in ("name", "description", "short_description")]
    keys += [field["name"] for field in manifest["settings"].values()] + [manifest["advanced"]["title"]]
    languages = langs(archive)
    assert set(manifest["widget"]["locale"]) <= set(languages)
    for language, texts in languages.items():
        for key in keys:
            assert isinstance(lookup(texts, key), str), (language, key)
            assert lookup(texts, key).strip(), (language, key)


def test_both_languages_have_exactly_the_same_keys_and_no_empty_text(archive):
    languages = langs(archive)
    assert set(languages) == {"ru", "en"}
    assert flat_keys(languages["ru"]) == flat_keys(languages["en"])
    for language, texts in languages.items():
        assert all(lookup(texts, key).strip() for key in flat_keys(texts)), language


def test_every_text_the_script_and_templates_use_exists(archive):
    script = archive.read("script.js").decode()
    templates = "\n".join(archive.read(name).decode() for name in archive.namelist() if name.endswith(".twig"))
    used = set(re.findall(r"\btf?\('([a-z_]+\.[a-z0-9_]+)'(?!\s*\+)", script))
    used |= set(re.findall(r"\bt\.([a-z_]+\.[a-z0-9_]+)", templates))
    assert len(used) > 150
    for language, texts in langs(archive).items():
        assert not [key for key in used if not isinstance(lookup(texts, key), str)], language


def test_texts_built_from_api_values_cover_every_value_the_api_sends(archive):
    from billing.models import Invoice, Payment
    from billing.selectors.analytics import AGING_BUCKETS
    from crm.amocrm.models import CrmConnection
    from widget_api.account_settings import FIELD_KEYS, REMINDER_ACTIONS, REQUISITE_KEYS
    from widget_api.api.outputs import DealOutput, InstallmentOutput

    families = {
        "status.": DealOutput().fields["status"].choices,
        "line_status.": InstallmentOutput().fields["status"].choices,
        "kind.": InstallmentOutput().fields["kind"].choices,
        "invoice_status.": Invoice.Status.values,
        "method.": Payment.Method.values,
        "aging.": [name for name, _, _ in AGING_BUCKETS],
        "account.field_": FIELD_KEYS,
        "account.requisite_": REQUISITE_KEYS,
        "account.action_": REMINDER_ACTIONS,
        "account.crm_": [*CrmConnection.Status.values, "not_installed"],
        "period.": ["month", "2weeks", "week", "quarter"],
    }
    for language, texts in langs(archive).items():
        missing = [prefix + str(value) for prefix, values in families.items() for value in values
                   if not isinstance(lookup(texts, prefix + str(value)), str)]
        assert not missing, (language, missing)


def test_no_visible_text_is_written_into_the_code_or_templates(archive):
    for name in archive.namelist():
        if name.endswith((".js", ".twig")) and not name.startswith("vendor/"):
            assert not CYRILLIC.search(archive.read(name).decode()), name


def test_script_js_is_an_amd_module_with_the_platform_callbacks(archive):
    script = archive.read("script.js").decode()
    assert re.search(r"^define\(\['jquery', 'underscore', 'twigjs', 'lib/components/base/modal'\], function",
                     script, re.MULTILINE)
    for callback in ("render", "init", "bind_actions", "settings", "onSave", "destroy", "advancedSettings"):
        assert re.search(rf"\b{callback}: function", script), callback
    assert "$authorizedAjax" in script
    assert not re.search(r"https?://(?!payplan\.example)", script), "no CDN or outside URL"


def test_templates_referenced_by_the_script_are_in_the_archive(archive):
    script = archive.read("script.js").decode()
    used = set(re.findall(r"template\('(\w+)'\)", script))
    assert used
    assert {f"templates/{name}.twig" for name in used} <= set(archive.namelist())


@pytest.mark.parametrize(("name", "size"), LOGOS.items())
def test_logos_have_the_platform_sizes(archive, name, size):
    data = archive.read(f"images/{name}")
    assert len(data) <= MAX_LOGO_BYTES
    with Image.open(archive.open(f"images/{name}")) as image:
        assert image.format == "PNG"
        assert image.size == size
