"""A plugin module whose import raises, as a package with a bug at import time would."""

raise RuntimeError("this plugin cannot be imported")
