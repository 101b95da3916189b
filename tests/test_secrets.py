"""Secrets at rest (app/secrets.py): provider keys encrypted with Fernet keys that rotate."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from app import create_app
from app.errors import ConfigError
from app.secrets import SecretBox, SecretUnreadableError
from app.runtime import current_state

PLAIN = "sk-live-0123456789abcdef"


def test_a_secret_round_trips_and_is_not_stored_in_clear():
    box = SecretBox([Fernet.generate_key().decode()])

    token = box.encrypt(PLAIN)

    assert PLAIN not in token
    assert box.decrypt(token) == PLAIN
    assert box.encrypt(PLAIN) != token  # a fresh IV each time: equal keys are not recognisable


def test_an_older_key_still_decrypts_and_rotate_moves_to_the_newest():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    written_before = SecretBox([old]).encrypt(PLAIN)
    rotating = SecretBox([new, old])

    assert rotating.decrypt(written_before) == PLAIN
    rotated = rotating.rotate(written_before)
    assert SecretBox([new]).decrypt(rotated) == PLAIN
    with pytest.raises(SecretUnreadableError):
        SecretBox([old]).decrypt(rotated)


def test_without_configured_keys_one_is_derived_from_the_secret_key():
    laptop = SecretBox((), "a-secret-key-generated-into-the-instance-folder")

    token = laptop.encrypt(PLAIN)

    assert laptop.derived
    assert SecretBox((), "a-secret-key-generated-into-the-instance-folder").decrypt(token) == PLAIN
    with pytest.raises(SecretUnreadableError):
        SecretBox((), "another-secret-key-entirely-different-from-it").decrypt(token)


def test_secrets_written_before_keys_were_configured_stay_readable_and_rotate():
    secret_key = "the-studio-secret-key-of-a-laptop-install"
    written_on_a_laptop = SecretBox((), secret_key).encrypt(PLAIN)
    configured_key = Fernet.generate_key().decode()
    configured = SecretBox([configured_key], secret_key)

    assert not configured.derived
    assert configured.decrypt(written_on_a_laptop) == PLAIN
    assert SecretBox([configured_key]).decrypt(configured.rotate(written_on_a_laptop)) == PLAIN


def test_an_unreadable_token_raises_a_stable_code_and_never_echoes_it():
    box = SecretBox([Fernet.generate_key().decode()])
    foreign = SecretBox([Fernet.generate_key().decode()]).encrypt(PLAIN)

    for token in (foreign, "not a token at all", "ünïcode"):
        with pytest.raises(SecretUnreadableError) as raised:
            box.decrypt(token)
        assert raised.value.code == "SECRET_UNREADABLE"
        assert token not in str(raised.value)
    with pytest.raises(SecretUnreadableError):
        box.rotate(foreign)


def test_a_malformed_configured_key_stops_the_app_at_start(inkwright_config, tmp_path):
    good = Fernet.generate_key().decode()

    with pytest.raises(ConfigError) as raised:
        create_app({**inkwright_config, "SECRET_ENCRYPTION_KEYS": f"{good},not-a-fernet-key"},
                   instance_path=str(tmp_path / "instance"))

    assert "SECRET_ENCRYPTION_KEYS: entry 2 is not a Fernet key" in str(raised.value)
    assert "not-a-fernet-key" not in str(raised.value)


def test_the_app_carries_one_box_built_from_its_settings(make_app):
    key = Fernet.generate_key().decode()
    app = make_app(SECRET_ENCRYPTION_KEYS=key)

    box = current_state(app).secrets

    assert not box.derived
    assert SecretBox([key]).decrypt(box.encrypt(PLAIN)) == PLAIN
    assert key not in repr(box)
