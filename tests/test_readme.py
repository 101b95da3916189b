"""The README's promises that can drift from the code: every setting is in its table."""

from pathlib import Path

from app.config import SETTINGS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme_configuration_table():
    missing = [f"INKWRIGHT_{setting.key}" for setting in SETTINGS if f"`INKWRIGHT_{setting.key}`" not in README]
    assert missing == [], f"add these to the README's configuration table: {missing}"


def test_the_readme_quick_start_names_the_two_commands():
    assert "python3 dev.py start" in README and "python3 dev.py test" in README
