"""Build the archive amoCRM accepts: the widget's files at the zip root, manifest.json first.

Usage: python frontend_widget/tools/build_zip.py [--out dist/widget.zip]
Standard library only; the same sources always give the same bytes (fixed timestamps, sorted names).
"""
import argparse
import json
import sys
import zipfile
from pathlib import Path

WIDGET = Path(__file__).resolve().parent.parent
# What goes into the archive; tools/ (this script, the logo drawer) stays out.
INCLUDE = ["manifest.json", "script.js", "style.css", "i18n/*.json", "images/*.png", "templates/*.twig",
           "vendor/*"]
FIXED_TIME = (2026, 1, 1, 0, 0, 0)


def widget_files() -> list[Path]:
    files = {path for pattern in INCLUDE for path in WIDGET.glob(pattern) if path.is_file()}
    return sorted(files, key=lambda path: (path.name != "manifest.json", path.relative_to(WIDGET).as_posix()))


def build(out: Path) -> list[str]:
    json.loads((WIDGET / "manifest.json").read_text(encoding="utf-8"))  # a broken manifest never ships
    out.parent.mkdir(parents=True, exist_ok=True)
    names = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in widget_files():
            name = path.relative_to(WIDGET).as_posix()
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
            names.append(name)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WIDGET.parent / "dist" / "widget.zip")
    options = parser.parse_args(argv)
    names = build(options.out)
    print(f"{options.out}: {len(names)} files, {options.out.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
