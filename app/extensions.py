"""Flask extensions, created unbound; ``create_app`` binds them to each app.

They never hold an app (Flask's extension guide): per-app state lives in
``app.extensions["inkwright"]`` (see :mod:`app.runtime`).
"""

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from .models.base import Model

db = SQLAlchemy(model_class=Model)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
