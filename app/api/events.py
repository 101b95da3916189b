"""The tenant's recorded domain events, for integrations that poll instead of subscribing."""

from __future__ import annotations

from ..auth.principal import current_principal
from ..models import DomainEventRecord
from ..schemas.base import page_of
from ..schemas.events import DomainEventSchema, EventQuerySchema
from ..runtime import repositories
from .blueprint import EnvelopeBlueprint

blp = EnvelopeBlueprint("events", __name__, url_prefix="/api/events", description="Recorded domain events")


@blp.route("")
@blp.arguments(EventQuerySchema, location="query")
@blp.response(200, page_of(DomainEventSchema))
def list_events(query: dict):
    """The tenant's events, newest first; filter by ``type``."""
    current_principal().require("events", "read")
    criteria = [DomainEventRecord.type == query["type"]] if query.get("type") else []
    items, total = repositories().events.page(
        *criteria, order_by=[DomainEventRecord.occurred_at.desc()], limit=query["limit"], offset=query["offset"]
    )
    return {"items": items, "total": total, "limit": query["limit"], "offset": query["offset"]}


@blp.route("/<event_id>")
@blp.response(200, DomainEventSchema)
def get_event(event_id: str):
    current_principal().require("events", "read")
    return repositories().events.require(event_id)
