"""app/repositories/users.py: lookups by email, existence, and recording sign-ins."""

from __future__ import annotations

from datetime import timedelta

from app.models import utcnow
from app.runtime import repositories


def test_find_by_email_ignores_case_and_surrounding_spaces(app, make_user):
    account = make_user(email="Mixed.Case@Example.com")

    with app.app_context():
        users = repositories().users
        assert users.find_by_email("  MIXED.case@example.COM ").id == account.user.id
        assert users.find_by_email("other@example.com") is None


def test_emails_are_stored_in_one_form(app, make_user):
    account = make_user(email="  Someone@Example.COM")

    with app.app_context():
        assert repositories().users.get(account.user.id).email == "someone@example.com"


def test_a_soft_deleted_account_still_holds_its_email(app, user):
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.users.delete(repos.users.get(user.user.id))

    with app.app_context():
        users = repositories().users
        assert users.find_by_email(user.email) is None
        assert users.exists(user.email.upper()) is True
        assert users.exists("free@example.com") is False


def test_record_login_stamps_the_time_of_sign_in(app, user):
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            row = repos.users.get(user.user.id)
            row.last_login_at = utcnow() - timedelta(days=3)
            repos.users.save(row)
        with repos.transaction():
            repos.users.record_login(repos.users.get(user.user.id))

    with app.app_context():
        stamped = repositories().users.get(user.user.id).last_login_at
    assert utcnow() - stamped < timedelta(seconds=30)
    assert stamped.tzinfo is not None
