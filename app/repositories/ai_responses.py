"""The AI responses of a tenant's runs (seed 001): read by run detail, written by metering."""

from __future__ import annotations

import uuid
from typing import Sequence

from ..models import AIResponse
from .base import ScopedRepository, operation


class AIResponseRepository(ScopedRepository[AIResponse]):
    model = AIResponse

    @operation
    def of_steps(self, step_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[AIResponse]]:
        """Each step's responses, oldest first (the order the candidates were made in)."""
        found: dict[uuid.UUID, list[AIResponse]] = {step_id: [] for step_id in step_ids}
        if not step_ids:
            return found
        for response in self.list(AIResponse.run_step_id.in_(list(step_ids)), order_by=[AIResponse.created_at]):
            found[response.run_step_id].append(response)
        return found

    @operation
    def score(self, response_id: uuid.UUID, run_step_id: uuid.UUID, score: float) -> bool:
        """Set a response's quality score; only a response of this step can be scored by it."""
        result = self.session.execute(
            self.update_where(AIResponse.id == response_id, AIResponse.run_step_id == run_step_id)
            .values(quality_score=score).execution_options(synchronize_session=False))
        return result.rowcount == 1
