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
