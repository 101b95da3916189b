"""``flask inkwright tenants EMAIL`` (app/cli/tenants.py): the slug ``run --tenant`` takes."""

from __future__ import annotations


def test_a_persons_tenants_are_listed_with_their_slugs_and_roles(run_command, read_table, make_user):
    ada = make_user(email="ada@example.com", name="Ada Lovelace")

    result = run_command("tenants", ada.email)

    assert result.exit_code == 0, result.output
    rows = read_table(result.output)
    assert any(row[0] == "ada-lovelace-s-studio" or row[0].startswith("ada") for row in rows), rows
    assert any(row[-1] == "owner" for row in rows), rows


def test_an_unknown_person_is_a_clear_error(run_command):
    result = run_command("tenants", "nobody@example.com")
    assert result.exit_code != 0 and "No account uses nobody@example.com." in result.output
