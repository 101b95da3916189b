"""Review agents as a runnable kind (issue 15; seed 003 table 6): an agent over a subject,
queued by priority, metered like a step, reported in the seed's shape.

==============  ===========================================================================
``subjects``    the kinds of subject agents review (plugins declare them; the core has runs)
``queues``      which RQ queue a priority goes to: high, default, low, drained in that order
``results``     a report in the seed's ``results`` shape; ids given, invented places dropped
``context``     the StepContext an agent gets: metered calls, cancellation and the time limit
``service``     starting, listing and canceling runs, for the API, the CLI and plugins
``execution``   one try of a run on a worker, its retries, and rule 3's sweep
==============  ===========================================================================
"""

from __future__ import annotations

from .service import AgentRunService, agent_run_service

__all__ = ["AgentRunService", "agent_run_service"]
