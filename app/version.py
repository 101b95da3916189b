"""The one place Inkwright's version is written; setup.cfg and the API envelope read it."""

__version__ = "0.1.0"

#: Version of the plugin contract in :mod:`app.toolkit`. A plugin may check it to refuse
#: a core it was not written for; it changes only when the contract changes.
TOOLKIT_VERSION = "1.0"
