"""The workflow engine: a pure planner, and the executor around it that does the I/O.

``states`` (statuses and their moves), ``planner`` (template context, input hashes,
cache keys — no I/O) and ``scheduler``/``executor``/``reconciler``/``service`` (the
database, the queue and the event stream). Nothing here is imported by the package
itself, so models may import ``states`` without a cycle.
"""
