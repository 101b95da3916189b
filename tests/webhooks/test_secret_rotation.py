"""Webhook secrets at rest follow a key rotation (``flask inkwright secrets rotate``), and a
secret no key decrypts is a failed attempt, recorded, not a job that breaks."""

from __future__ import annotations

from cryptography.fernet import Fernet

from app.models import Webhook

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_rotation_re_encrypts_webhook_secrets_with_the_newest_key(make_app, make_user, receiver):
    first = make_app(SECRET_ENCRYPTION_KEYS=OLD)
    client = first.test_client()
    account = make_user()
    token = client.post("/api/auth/login", json={"email": account.email, "password": account.password})
    headers = {"Authorization": f"Bearer {token.json['data']['session']['token']}"}
    made = client.post("/api/webhooks", headers=headers, json={"url": receiver.url, "events": ["run.completed"]})
    secret = made.json["data"]["secret"]

    rotated = make_app(SECRET_ENCRYPTION_KEYS=f"{NEW},{OLD}")
    result = rotated.test_cli_runner().invoke(args=["inkwright", "secrets", "rotate"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 1 webhook secrets" in result.output

    only_new = make_app(SECRET_ENCRYPTION_KEYS=NEW)
    with only_new.app_context():
        from app.extensions import db
        from app.runtime import current_state

        [row] = db.session.query(Webhook).all()
        assert current_state().secrets.decrypt(row.encrypted_secret) == secret


def test_a_secret_no_key_decrypts_is_a_failed_attempt(make_app, make_user, receiver):
    from app.workers import build_worker

    first = make_app(SECRET_ENCRYPTION_KEYS=OLD)
    client = first.test_client()
    account = make_user()
    token = client.post("/api/auth/login", json={"email": account.email, "password": account.password})
    headers = {"Authorization": f"Bearer {token.json['data']['session']['token']}"}
    hook = client.post("/api/webhooks", headers=headers,
                       json={"url": receiver.url, "events": ["run.completed"]}).json["data"]
    client.post(f"/api/webhooks/{hook['id']}/test", headers=headers)

    lost_key = make_app(SECRET_ENCRYPTION_KEYS=NEW)
    worker = build_worker(lost_key, "simple")
    worker.listens_for_commands = False
    worker.work(burst=True, logging_level="WARNING")

    [delivery] = client.get(f"/api/webhooks/{hook['id']}/deliveries", headers=headers).json["data"]["items"]
    assert delivery["status"] == "pending" and "cannot be decrypted" in delivery["errorMessage"]
    assert receiver.received == []
