"""Flask extensions, created unbound; ``create_app`` binds them to each app.

They never hold an app (Flask's extension guide): per-app state lives in
``app.extensions["inkwright"]`` (see :mod:`app.runtime`).
"""

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.engine import Connection

from .models.base import Model

db = SQLAlchemy(model_class=Model)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


def begin_before_savepoint(connection: Connection, _name: str | None) -> None:
    """Open SQLite's transaction before a SAVEPOINT, so the SAVEPOINT is part of it.

    pysqlite's legacy transaction control emits BEGIN only before a write (SQLAlchemy's
    "Transactions with SQLite and the sqlite3 driver"). A SAVEPOINT issued while only reads
    have run opens a transaction of its own, and its RELEASE commits the nested block at
    once, out of reach of the outer unit of work's rollback. SQLAlchemy's recipe (emit BEGIN
    for every transaction) would fix that too, but every transaction would then hold its
    read snapshot from the start, and in WAL mode a read-then-write transaction fails with
    "database is locked" at once, busy timeout or not, when a worker committed in between.
    Beginning only here keeps pysqlite's late BEGIN everywhere else.
    """
    if not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")
