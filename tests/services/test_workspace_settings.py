"""``[workspace]`` in arrears.toml: the business clock's time zone is a setting the
loader accepts and checks, naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrears.services.clock import workspace_time_zone
from arrears.services.settings import SettingsError, load_settings


def test_a_workspace_time_zone_is_accepted_and_used(tmp_path: Path):
    (tmp_path / "arrears.toml").write_text('[workspace]\ntime_zone = "America/New_York"\n')
    load_settings(tmp_path)  # no error
    assert workspace_time_zone(tmp_path) == "America/New_York"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[workspace]\ntime_zone = "Mars/Olympus"\n', "workspace.time_zone 'Mars/Olympus'"),
        ("[workspace]\ntime_zone = 8\n", "workspace.time_zone must be"),
        ('[workspace]\nzone = "UTC"\n', "unknown key(s) workspace.zone"),
    ],
)
def test_a_bad_workspace_setting_names_the_file_and_key(tmp_path: Path, text: str, named: str):
    (tmp_path / "arrears.toml").write_text(text)
    with pytest.raises(SettingsError) as raised:
        load_settings(tmp_path)
    assert str(tmp_path / "arrears.toml") in str(raised.value)
    assert named in str(raised.value)


def _workspace_in(root: Path, zone: str) -> Path:
    root.mkdir()
    (root / "arrears.toml").write_text(f'[workspace]\ntime_zone = "{zone}"\n', encoding="utf-8")
    return root


def test_the_default_as_of_is_yesterday_on_the_workspace_calendar(tmp_path: Path):
    """`--as-of` left out means the day before today where the workspace does business,
    not on the machine's calendar: two workspaces 25 hours apart get different days."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from arrears.commands.common import parse_date

    east = _workspace_in(tmp_path / "east", "Pacific/Kiritimati")  # UTC+14
    west = _workspace_in(tmp_path / "west", "Pacific/Pago_Pago")  # UTC-11
    before = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    day_east = parse_date(None, workspace=east)
    day_west = parse_date(None, workspace=west)
    after = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    assert day_east in {before - timedelta(days=1), after - timedelta(days=1)}
    assert (day_east - day_west).days in {1, 2}
    assert parse_date("2026-03-05", workspace=east).isoformat() == "2026-03-05"


def test_a_default_as_of_in_a_workspace_with_a_bad_time_zone_names_the_file(tmp_path: Path):
    """No traceback: the command stops with the file, the key and the reason."""
    from typer.testing import CliRunner

    from arrears.cli import app

    root = _workspace_in(tmp_path / "ws", "Mars/Olympus")
    result = CliRunner().invoke(app, ["ageing", "-w", str(root)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    said = " ".join(result.output.split())
    assert "arrears.toml" in said and "time_zone" in said and "Mars/Olympus" in said
