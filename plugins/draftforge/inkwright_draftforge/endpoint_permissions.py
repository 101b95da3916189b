"""What every DraftForge endpoint asks ``project_access`` for: the one table a reviewer reads.

Each view checks its permission itself (``_project(project_id, "can_write")`` and the like);
this table says what it must be, and the permission matrix test
(``tests/test_permission_matrix.py``) walks the URL map: an endpoint missing here fails it, and
each one listed is called as every role, a removed and a pending collaborator, another
tenant's person and nobody, and must answer as the role table says.

Besides the seed's permissions: ``signed_in`` (a person's own things: their projects list,
their invitations, a new project) and ``public`` (no person: GitHub's signed deliveries, the
stylesheet).
"""


from __future__ import annotations

SIGNED_IN = "signed_in"
PUBLIC = "public"

#: endpoint → the permission it asks for, or by HTTP method where its methods differ.
ENDPOINT_PERMISSIONS: dict[str, str | dict[str, str]] = {
    # The JSON API ------------------------------------------------------------------------
    "draftforge_api.list_projects": SIGNED_IN,
    "draftforge_api.create_project": SIGNED_IN,
    "draftforge_api.get_project": "can_read",
    "draftforge_api.update_project": "can_write",
    "draftforge_api.delete_project": "can_delete",
    "draftforge_api.restore_project": "can_delete",
    "draftforge_api.archive_project": "can_manage_settings",
    "draftforge_api.complete_project": "can_manage_settings",
    "draftforge_api.unarchive_project": "can_manage_settings",
    "draftforge_api.link_github": "can_manage_settings",
    "draftforge_api.unlink_github": "can_manage_settings",
    "draftforge_api.get_settings": "can_read",
    "draftforge_api.update_settings": "can_manage_settings",
    "draftforge_api.list_chapters": "can_read",
    "draftforge_api.get_chapter": "can_read",
    "draftforge_api.add_chapter": "can_write",
    "draftforge_api.save_chapter": "can_write",
    "draftforge_api.delete_chapter": "can_write",
    "draftforge_api.reorder_chapters": "can_write",
    "draftforge_api.get_history": "can_read",
    "draftforge_api.list_commits": "can_read",
    "draftforge_api.get_commit": "can_read",
    "draftforge_api.get_stats": "can_view_stats",
    "draftforge_github.github_delivery": PUBLIC,
    "draftforge_people_api.list_collaborators": "can_read",
    "draftforge_people_api.invite_collaborator": "can_invite",
    "draftforge_people_api.update_collaborator": "can_manage_settings",
    "draftforge_people_api.remove_collaborator": "can_manage_settings",
    "draftforge_people_api.resend_invitation": "can_invite",
    "draftforge_invitations_api.my_invitations": SIGNED_IN,
    "draftforge_invitations_api.accept_invitation": SIGNED_IN,
    "draftforge_invitations_api.decline_invitation": SIGNED_IN,
    # The pages ---------------------------------------------------------------------------
    "draftforge.static": PUBLIC,
    "draftforge.index": SIGNED_IN,
    "draftforge.new_project": SIGNED_IN,
    "draftforge.project": "can_read",
    "draftforge.chapter": "can_read",
    "draftforge.edit_chapter": "can_write",
    "draftforge.new_chapter": "can_write",
    "draftforge.history": "can_read",
    "draftforge.commit": "can_read",
    "draftforge.stats": "can_view_stats",
    "draftforge.runs": {"GET": "can_read", "POST": "can_run_agents"},
    "draftforge.run": "can_read",
    "draftforge.cancel_run": "can_run_agents",
    "draftforge.settings": {"GET": "can_read", "POST": "can_manage_settings"},
    "draftforge.link_github": "can_manage_settings",
    "draftforge.unlink_github": "can_manage_settings",
    "draftforge.people": {"GET": "can_read", "POST": "can_invite"},
    "draftforge.change_role": "can_manage_settings",
    "draftforge.remove_collaborator": "can_manage_settings",
    "draftforge.revoke_invitation": "can_invite",
    "draftforge.resend_invitation": "can_invite",
    "draftforge_invitations.mine": SIGNED_IN,
    "draftforge_invitations.answer": PUBLIC,  # the token is the credential; answering needs a sign-in
    "draftforge_invitations.answer_by_id": SIGNED_IN,
    "draftforge_invitations.open_shared": SIGNED_IN,
}


def permission_for(endpoint: str, method: str) -> str | None:
    """What ``endpoint`` asks for when called with ``method`` (``None``: not declared)."""
    declared = ENDPOINT_PERMISSIONS.get(endpoint)
    return declared.get(method) if isinstance(declared, dict) else declared
