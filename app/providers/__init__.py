"""The core's own model providers: OpenAI-compatible, Anthropic and offline.

They are plugins over :mod:`app.toolkit` like any third party's, import nothing deeper in
``app``, and are registered through the ``inkwright.providers`` entry points in setup.cfg
exactly as a third party's would be. Metering, credits and recording are not theirs: the
core wraps every call (DESIGN.md, "Providers, metering, credits").
"""
