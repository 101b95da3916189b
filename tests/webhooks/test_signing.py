"""app/webhooks/signing.py: Stripe-style signatures, and the helper receivers verify them with."""

from __future__ import annotations

from app.toolkit import verify_webhook_signature
from app.webhooks.signing import new_secret, signature, signature_header

BODY = b'{"data":{"runId":"r1"},"type":"run.completed"}'
NOW = 1_800_000_000


def test_a_signed_body_verifies_with_its_secret_at_its_time():
    secret = new_secret()
    header = signature_header(BODY, secret, NOW)

    assert header == f"t={NOW},v1={signature(BODY, secret, NOW)}"
    assert verify_webhook_signature(BODY, header, secret, now=NOW + 10)


def test_the_signature_is_the_hmac_sha256_of_time_dot_body():
    import hashlib
    import hmac

    expected = hmac.new(b"whsec_test", f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature(BODY, "whsec_test", NOW) == expected


def test_a_changed_body_another_secret_or_another_time_does_not_verify():
    secret = new_secret()
    header = signature_header(BODY, secret, NOW)

    assert not verify_webhook_signature(BODY + b" ", header, secret, now=NOW)
    assert not verify_webhook_signature(BODY, header, new_secret(), now=NOW)
    forged_time = header.replace(f"t={NOW}", f"t={NOW + 1}")
    assert not verify_webhook_signature(BODY, forged_time, secret, now=NOW)


def test_an_old_or_future_signature_is_refused_outside_the_tolerance():
    secret = new_secret()
    header = signature_header(BODY, secret, NOW)

    assert verify_webhook_signature(BODY, header, secret, now=NOW + 300)
    assert not verify_webhook_signature(BODY, header, secret, now=NOW + 301)
    assert not verify_webhook_signature(BODY, header, secret, now=NOW - 301)
    assert verify_webhook_signature(BODY, header, secret, tolerance_seconds=0, now=NOW + 10**6)


def test_any_of_several_v1_signatures_may_match_during_a_secret_rotation():
    old, new = new_secret(), new_secret()
    header = f"t={NOW},v1={signature(BODY, old, NOW)},v1={signature(BODY, new, NOW)}"

    assert verify_webhook_signature(BODY, header, new, now=NOW)
    assert verify_webhook_signature(BODY, header, old, now=NOW)


def test_malformed_headers_are_false_not_errors():
    secret = new_secret()
    for header in ("", "garbage", "t=abc,v1=00", f"t={NOW}", "v1=00", f"t={NOW},v1=ünïcödé", f"t={NOW},v0=00",
                   None, 42):
        assert verify_webhook_signature(BODY, header, secret, now=NOW) is False
    assert verify_webhook_signature("not bytes", signature_header(BODY, secret, NOW), secret, now=NOW) is False
    assert verify_webhook_signature(BODY, signature_header(BODY, secret, NOW), "", now=NOW) is False


def test_secrets_are_fresh_and_recognisable():
    first, second = new_secret(), new_secret()
    assert first != second and first.startswith("whsec_") and len(first) > 40
