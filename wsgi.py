"""The WSGI entry point for any server: ``gunicorn 'wsgi:app'``."""

from app import create_app

app = create_app()
