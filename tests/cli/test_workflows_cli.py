"""app/cli/workflows.py: ``flask inkwright workflows validate FILE`` and ``workflows list``."""

from __future__ import annotations

from app.runtime import current_state
from app.toolkit import Plugin

VALID = """\
name: cli.check
version: 3
inputs:
  topic: {type: string, required: true}
steps:
  - id: outline
    skill: test.echo
    with: {text: "{{ inputs.topic }}"}
  - id: draft
    skill: test.echo
    with: {text: "{{ steps.outline.output.text }}"}
"""

INVALID = """\
name: cli.check
version: 3
steps:
  - id: outline
    skill: nope.skill
  - id: draft
    skill: test.echo
    with:
      text: "{{ inputs.topic }}"
      colour: red
  - id: loop
    skill: test.noop
    needs: [loop, ghost]
"""


def test_validate_accepts_a_valid_file(run_command, tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(VALID)
    result = run_command("workflows", "validate", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: cli.check 3 is valid (2 steps).\n"


def test_validate_prints_every_problem_with_file_and_line(app, run_command, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(INVALID)
    result = run_command("workflows", "validate", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:5: steps[0].skill: unknown skill 'nope.skill'; installed: "
        + ", ".join(sorted(current_state(app).registry.skills)),
        f"{path}:9: steps[1].with.text: undefined variable inputs.topic; declared inputs: none",
        f"{path}:10: steps[1].with.colour: skill test.echo takes no input 'colour'; it takes artifact, extra, "
        "fail_until_attempt, fail_until_execution, invalid_output_until_attempt, sleep, text",
        f"{path}:13: steps[2].needs: a step cannot need itself",
        f"{path}:13: steps[2].needs: no step has the id 'ghost'",
    ]


def test_validate_reports_broken_yaml_with_its_line(run_command, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nversion: 1\nsteps:\n  - id: a\n    with: {text: [1, 2}\n")
    result = run_command("workflows", "validate", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:5: (document): invalid YAML: ")
    assert len(result.stderr.splitlines()) == 1


def test_validate_refuses_a_file_that_does_not_exist(run_command, tmp_path):
    result = run_command("workflows", "validate", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_list_shows_packaged_workflows_and_what_was_left_out(app, run_command, read_table, tmp_path):
    (tmp_path / "good.yaml").write_text(VALID)
    (tmp_path / "bad.yaml").write_text(INVALID)

    class Shipper(Plugin):
        name = "shipper"
        workflows = tmp_path

    state = current_state(app)
    state.registry.plugins["shipper"] = Shipper()
    state.catalog.load_packaged()
    result = run_command("workflows", "list")
    assert result.exit_code == 0, result.output
    assert [row[:4] for row in read_table(result.stdout)] == [["cli.check", "3", "plugin:shipper", "2"]]
    assert result.stderr.startswith("left out shipper:bad.yaml: line 5: steps[0].skill: unknown skill")
