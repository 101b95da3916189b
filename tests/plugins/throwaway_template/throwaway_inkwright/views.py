"""A browser page and a JSON endpoint, the way a plugin adds them."""

from __future__ import annotations

from flask import Blueprint

from app.toolkit import ApiBlueprint, Schema, fields, repositories, validate

from .models import Note, NoteRepository

pages = Blueprint("throwaway_pages", __name__, url_prefix="/throwaway")
api = ApiBlueprint("throwaway_api", __name__, url_prefix="/api/throwaway", description="Throwaway notes")


class NoteOut(Schema):
    id = fields.UUID(dump_only=True)
    text = fields.String(required=True, validate=validate.Length(min=1, max=200))


@pages.route("/")
def index():
    return "<h1>Throwaway notes</h1>"


@api.route("/notes")
@api.response(200, NoteOut(many=True))
def list_notes():
    """The caller's tenant's notes."""
    return repositories().get(NoteRepository).list(order_by=[Note.created_at])


@api.route("/notes", methods=["POST"])
@api.arguments(NoteOut)
@api.response(201, NoteOut)
def create_note(body: dict):
    repos = repositories()
    with repos.transaction():
        return repos.get(NoteRepository).add(Note(text=body["text"]))
