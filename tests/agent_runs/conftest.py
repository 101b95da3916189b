"""Fixtures of the agent-run tests (tests/agent_runs/reviewed.py)."""

from tests.agent_runs.reviewed import reviewed_run, start_review  # noqa: F401 - fixtures
