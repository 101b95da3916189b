"""The core's own skills, registered through the core's entry points exactly as a plugin's
would be (``inkwright.skills`` in setup.cfg): generic building blocks, not domain logic."""
