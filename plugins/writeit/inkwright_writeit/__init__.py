"""WriteIt for Inkwright: articles taken from angles to polish (seed 001).

A separate distribution, laid out as a third-party plugin: it reaches the core only
through ``app.toolkit`` and is found through its entry points (``setup.cfg``).
"""
