"""Workflow documents: loading and validating YAML, templates, and the inputs of a run."""

from .definition import InputSpec, RetryPolicy, StepSpec, WorkflowDefinition
from .inputs import resolve_inputs
from .loader import Problem, WorkflowInvalid, load_workflow, parse_workflow
from .templates import TemplateEngine, TemplateProblem

__all__ = [
    "InputSpec", "Problem", "RetryPolicy", "StepSpec", "TemplateEngine", "TemplateProblem",
    "WorkflowDefinition", "WorkflowInvalid", "load_workflow", "parse_workflow", "resolve_inputs",
]
