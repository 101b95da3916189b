"""The repository layer: the only door to the database (seed 002).

Views, services and jobs get a :class:`Repositories` factory — from
:func:`app.runtime.repositories` — and never build queries of their own.
"""

from .base import Repository, ScopedRepository, SystemRepository, as_uuid, operation
from .cache import RepositoryCache
from .factory import Repositories
from .metrics import RepositoryMetrics
from .tenants import TenantInfo
from .unit_of_work import UnitOfWork
from .usage import UsageFilter, UsagePage, UsageTotals

__all__ = [
    "Repositories", "Repository", "RepositoryCache", "RepositoryMetrics", "ScopedRepository", "SystemRepository",
    "TenantInfo", "UnitOfWork", "as_uuid", "operation",
    "UsageFilter", "UsagePage", "UsageTotals",
]
