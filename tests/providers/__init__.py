"""Tests of the core's own model providers (app/providers/)."""
