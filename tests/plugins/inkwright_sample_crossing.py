"""Sample plugins whose package holds a repository that crosses tenants: one declares it in
its system scope and loads, one leaves it out and is refused, one declares something else."""

from __future__ import annotations

from app.toolkit import Plugin, SystemRepository


class EveryTenantsCount(SystemRepository):
    """Counts rows of every tenant, for an operator's report: no request names a tenant."""


class ReviewedPlugin(Plugin):
    name = "reviewed"
    system_scope = (EveryTenantsCount,)


class UnreviewedPlugin(Plugin):
    name = "unreviewed"


class WrongScopePlugin(Plugin):
    name = "wrongscope"
    system_scope = (EveryTenantsCount, dict)
