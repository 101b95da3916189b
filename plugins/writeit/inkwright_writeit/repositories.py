"""Queries over WriteIt's tables; the tenant scope comes from ``ScopedRepository``."""

from __future__ import annotations

import uuid

from app.toolkit import ScopedRepository, operation

from .models import Article, PrimerRecord


class ArticleRepository(ScopedRepository[Article]):
    model = Article

    @operation
    def of_family(self, root_run_id: uuid.UUID) -> Article | None:
        """The article whose runs all descend from ``root_run_id``."""
        return self.first(Article.root_run_id == root_run_id)

    @operation
    def of_families(self, root_run_ids: list[uuid.UUID]) -> list[Article]:
        """The articles of these run families, in one query."""
        return self.list(Article.root_run_id.in_(root_run_ids)) if root_run_ids else []

    def newest(self, limit: int, offset: int = 0) -> tuple[list[Article], int]:
        return self.page(order_by=[Article.created_at.desc()], limit=limit, offset=offset)


class PrimerRepository(ScopedRepository[PrimerRecord]):
    model = PrimerRecord

    @operation
    def by_primer_id(self, primer_id: str) -> PrimerRecord | None:
        return self.first(PrimerRecord.primer_id == primer_id)

    def all(self) -> list[PrimerRecord]:
        return self.list(order_by=[PrimerRecord.primer_id])
