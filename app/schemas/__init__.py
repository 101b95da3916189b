"""Marshmallow schemas of every JSON request body, query and response."""
