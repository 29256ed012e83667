"""Settings: the layers (defaults, system file, user file, locked keys, environment), saving,
validation with clear messages that never echo the token, and the file's permissions."""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from custodian_app.settings import config, paths
from custodian_app.settings.config import Settings, SettingsError, load_settings, save_settings

TOKEN = "s3cr3t-T0KEN-value-9f8e7d"
EXAMPLE = Path(__file__).resolve().parents[2] / "packaging" / "settings.example.toml"


@pytest.fixture(autouse=True)
def _no_system_file(tmp_path, monkeypatch):
    """The machine's own /etc/custodian-app must not leak into the tests."""
    for var in ("CUSTODIAN_BACKEND_URL", "CUSTODIAN_BACKEND_TOKEN", "CUSTODIAN_DB"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CUSTODIAN_SYSTEM_CONFIG", str(tmp_path / "system" / "settings.toml"))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_file():
    s = load_settings()
    assert s == Settings()
    assert s.language == "zh_CN" and s.serial_baud == 115200 and s.success_codes == ("00",)
    assert s.effective_database_url() == paths.default_database_url()
    assert set(s.sources.values()) == {"default"}


def test_round_trip_through_the_user_file():
    s = replace(
        load_settings(),
        serial_port="/dev/ttyUSB0",
        serial_baud=9600,
        backend_url="https://clearing.bank.example/api",
        backend_token=TOKEN,
        backend_timeout=12.5,
        database_url="postgresql+psycopg://cust@db.example/custodian",
        bank_name='示例银行 "总行"\\',
        branch_name="城东支行\n二部",
        language="en",
        success_codes=("00", "10"),
        report_appendix=True,
    )
    target = save_settings(s)
    assert target == paths.config_file()
    again = load_settings()
    assert again == s
    assert again.sources["backend.token"] == "user"
    assert again.success_code_set() == frozenset({"00", "10"})


def test_user_file_is_private_and_written_atomically(tmp_path):
    target = tmp_path / "conf" / "settings.toml"
    save_settings(replace(Settings(), backend_token=TOKEN), target)
    if sys.platform != "win32":
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["settings.toml"]  # no temp file left
    assert tomllib.loads(target.read_text(encoding="utf-8"))["backend"]["token"] == TOKEN


def test_repr_and_redacted_dict_hide_the_token_and_db_password():
    s = Settings(backend_token=TOKEN, database_url="postgresql://cust:pa55word@db/x")
    for text in (repr(s), str(s), str(s.to_dict(redact=True))):
        assert TOKEN not in text and "pa55word" not in text
    assert "<set>" in repr(s)
    assert s.to_dict(redact=False)["backend.token"] == TOKEN
    assert set(s.secrets()) == {TOKEN, "pa55word"}


def test_system_file_gives_defaults_and_locked_keys_beat_the_user(tmp_path):
    system = write(
        Path(os.environ["CUSTODIAN_SYSTEM_CONFIG"]),
        """
locked = ["backend.url", "database.url"]
[backend]
url = "https://central.bank.example/api"
timeout = 45
[database]
url = "postgresql+psycopg://custodian@db.bank.example/custodian"
[bank]
name = "示例银行"
""",
    )
    write(
        paths.config_file(),
        """
[backend]
url = "https://evil.example/api"
timeout = 20
[bank]
name = "My branch bank"
""",
    )
    s = load_settings()
    assert s.backend_url == "https://central.bank.example/api"
    assert s.database_url.startswith("postgresql+psycopg://custodian@db.bank.example")
    assert s.backend_timeout == 20.0 and s.bank_name == "My branch bank"  # unlocked: user wins
    assert s.locked == {"backend.url", "database.url"}
    assert s.sources["backend.url"] == "locked" and s.sources["backend.timeout"] == "user"
    assert s.is_locked("backend.url") and not s.is_locked("bank.name")
    assert s.is_locked("backend_url") and s.is_locked("database_url") and not s.is_locked("bank_name")
    assert s.source("backend_url") == "locked" and s.source("bank.name") == "user"

    # Saving never writes a locked key: the user's attempt is dropped from the file.
    save_settings(replace(s, backend_url="https://other.example/api", serial_port="COM3"))
    doc = tomllib.loads(paths.config_file().read_text(encoding="utf-8"))
    assert "url" not in doc.get("backend", {}) and doc["serial"]["port"] == "COM3"
    assert load_settings().backend_url == "https://central.bank.example/api"
    assert system.exists()


def test_unchanged_values_from_the_system_file_are_not_copied_into_the_user_file():
    write(Path(os.environ["CUSTODIAN_SYSTEM_CONFIG"]), '[bank]\nname = "示例银行"\n')
    save_settings(replace(load_settings(), branch_name="城东支行"))
    doc = tomllib.loads(paths.config_file().read_text(encoding="utf-8"))
    assert doc == {"bank": {"branch": "城东支行"}}  # IT may still rename the bank later


def test_environment_overrides_win_and_are_never_saved(monkeypatch):
    write(paths.config_file(), '[database]\nurl = "sqlite:////srv/branch.sqlite3"\n')
    monkeypatch.setenv("CUSTODIAN_DB", "sqlite:////tmp/test.sqlite3")
    monkeypatch.setenv("CUSTODIAN_BACKEND_URL", "http://127.0.0.1:8080")
    monkeypatch.setenv("CUSTODIAN_BACKEND_TOKEN", TOKEN)
    s = load_settings()
    assert s.database_url == "sqlite:////tmp/test.sqlite3" and s.sources["database.url"] == "env"
    assert s.backend_url == "http://127.0.0.1:8080" and s.backend_token == TOKEN

    save_settings(replace(s, language="en"))
    text = paths.config_file().read_text(encoding="utf-8")
    assert TOKEN not in text and "127.0.0.1" not in text
    doc = tomllib.loads(text)
    assert doc["database"]["url"] == "sqlite:////srv/branch.sqlite3"  # the file's value kept
    assert doc["interface"]["language"] == "en"


def test_environment_value_is_validated(monkeypatch):
    monkeypatch.setenv("CUSTODIAN_BACKEND_URL", "ftp://nope")
    with pytest.raises(SettingsError, match="CUSTODIAN_BACKEND_URL.*backend.url.*http"):
        load_settings()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[serial]\nbaud = 12345\n", r"serial\.baud = 12345: must be one of"),
        ('[serial]\nbaud = "fast"\n', r"serial\.baud = 'fast'"),
        (
            '[backend]\nurl = "clearing.bank.example"\n',
            r"backend\.url = 'clearing\.bank\.example': must be an http",
        ),
        ("[backend]\ntimeout = 0\n", r"backend\.timeout = 0: must be a number of seconds"),
        ("[backend]\ntimeout = true\n", r"backend\.timeout = True"),
        ('[database]\nurl = "custodian.db"\n', r"database\.url = 'custodian\.db': must be a database URL"),
        ('[interface]\nlanguage = "fr"\n', r"interface\.language = 'fr': must be \"zh_CN\""),
        ('[reconciliation]\nsuccess_codes = ["0"]\n', r"reconciliation\.success_codes = \['0'\]"),
        ("[reconciliation]\nsuccess_codes = []\n", r"at least one code"),
        ('[report]\nappendix = "yes"\n', r"report\.appendix = 'yes': must be true or false"),
        ("[bank]\nname = 3\n", r"bank\.name = 3: must be a string"),
    ],
)
def test_invalid_values_name_the_file_the_key_and_the_value(text, expected):
    path = write(paths.config_file(), text)
    with pytest.raises(SettingsError, match=expected) as info:
        load_settings()
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize(
    "text",
    [
        f'[backend]\ntoken = "{TOKEN} with a space"\n',
        f"[backend]\ntoken = 42{TOKEN[:0]}\n",
        f'[backend]\ntoken = "{TOKEN}\\nX-Injected: 1"\n',
    ],
)
def test_a_bad_token_is_reported_without_echoing_it(text):
    write(paths.config_file(), text)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(str(paths.config_file()))
    # The file's path may contain any digits (pytest numbers its folders); the rest may not.
    rest = message[len(str(paths.config_file())) :]
    assert "backend.token" in rest and "withheld" in rest
    assert TOKEN not in message and "42" not in rest


def test_broken_toml_names_the_file_and_line_but_not_the_token():
    path = write(paths.config_file(), f'[backend]\ntoken = "{TOKEN}" trailing garbage\n')
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert str(path) in message and "not valid TOML" in message and "line 2" in message
    assert TOKEN not in message


def test_database_password_is_masked_in_errors():
    write(paths.config_file(), '[database]\nurl = "postgresql://cust:pa55word@db/x"\n[serial]\nbaud = 7\n')
    # A valid URL with a password loads fine; an error about it elsewhere must not print it.
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "pa55word" not in str(info.value)
    assert config.redact_url("postgresql://cust:pa55word@db:5432/x") == "postgresql://cust:***@db:5432/x"


def test_unknown_keys_warn_but_do_not_stop_the_application():
    write(paths.config_file(), '[backend]\nproxy = "x"\n[future]\nthing = 1\n[bank]\nname = "B"\n')
    s = load_settings()
    assert s.bank_name == "B"
    assert any("backend.proxy" in w for w in s.warnings) and any("future.thing" in w for w in s.warnings)
    # and saving keeps them, for the newer version that knows them
    save_settings(replace(s, branch_name="Z"))
    doc = tomllib.loads(paths.config_file().read_text(encoding="utf-8"))
    assert doc["future"] == {"thing": 1} and doc["backend"] == {"proxy": "x"}


def test_locked_must_name_known_keys():
    write(Path(os.environ["CUSTODIAN_SYSTEM_CONFIG"]), 'locked = ["backend.uri"]\n')
    with pytest.raises(SettingsError, match="unknown key 'backend.uri'"):
        load_settings()


def test_the_shipped_example_file_is_valid_and_documents_every_key(monkeypatch):
    monkeypatch.setenv("CUSTODIAN_SYSTEM_CONFIG", str(EXAMPLE))
    s = load_settings()
    assert s.bank_name == "示例银行" and s.locked == {"backend.url", "backend.ca_bundle", "database.url"}
    text = EXAMPLE.read_text(encoding="utf-8")
    docs = (EXAMPLE.parents[1] / "docs" / "configuration.md").read_text(encoding="utf-8")
    for key in config.BY_KEY:
        section, name = key.split(".")
        assert f"[{section}]" in text and (f"{name} =" in text or f"# {name} =" in text), key
        assert f"`{key}`" in docs, f"docs/configuration.md does not document {key}"


def test_awkward_text_round_trips_through_the_written_file():
    awkward = 'q"uo\\te\t\x01\u00e9中 [x] = "y"\n# not a comment'
    save_settings(replace(load_settings(), bank_name=awkward, branch_name="", serial_port="COM3"))
    assert load_settings().bank_name == awkward
    text = paths.config_file().read_text(encoding="utf-8")
    assert text.startswith("# custodian-app settings") and tomllib.loads(text)["bank"] == {"name": awkward}


def test_a_secret_cannot_be_locked():
    write(Path(os.environ["CUSTODIAN_SYSTEM_CONFIG"]), 'locked = ["backend.token"]\n')
    with pytest.raises(SettingsError, match="backend.token, which cannot be locked"):
        load_settings()


def test_check_settings_file_accepts_the_example_and_warns_about_a_token_in_it(tmp_path):
    assert not [w for w in config.check_settings_file(EXAMPLE) if "token" in w]
    rollout = write(tmp_path / "rollout.toml", f'locked = ["backend.url"]\n[backend]\ntoken = "{TOKEN}"\n')
    warnings = config.check_settings_file(rollout)
    assert any("readable by every user" in w for w in warnings)
    assert all(TOKEN not in w for w in warnings)
    with pytest.raises(SettingsError, match="no such file"):
        config.check_settings_file(tmp_path / "missing.toml")


def test_values_typed_into_a_dialog_are_normalised_and_bad_ones_reported_by_key():
    s = replace(
        load_settings(),
        serial_baud="9600",
        backend_timeout="45",
        success_codes="00, 10",
        backend_url=" https://clearing.bank.example/api ",
    )
    assert s.serial_baud == 9600 and s.backend_timeout == 45.0 and s.success_codes == ("00", "10")
    assert s.backend_url == "https://clearing.bank.example/api"
    assert config.validated(s) is s
    bad = replace(s, backend_timeout="soon", backend_token=f"{TOKEN} x")
    with pytest.raises(SettingsError, match=r"backend\.token = \(value withheld\)") as info:
        config.validated(bad)
    assert TOKEN not in str(info.value)
    with pytest.raises(SettingsError, match=r"backend\.token"):
        save_settings(bad)
    assert not paths.config_file().exists()  # nothing half-written


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        ("linux", {}, "/etc/custodian-app/settings.toml"),
        ("win32", {"PROGRAMDATA": "D:\\ProgramData"}, "D:\\ProgramData/custodian-app/settings.toml"),
        ("darwin", {}, "/Library/Application Support/custodian-app/settings.toml"),
    ],
)
def test_system_file_location_per_platform(monkeypatch, platform, environ, expected):
    monkeypatch.delenv("CUSTODIAN_SYSTEM_CONFIG")
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(config.sys, "platform", platform)
    assert config.system_config_file().as_posix() == expected
