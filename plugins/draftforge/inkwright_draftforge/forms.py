"""DraftForge's browser forms (Flask-WTF: CSRF-protected, errors shown beside fields).

The forms check what a person can get wrong while typing; the project service checks the
rest (a slug already taken, the free tier's limit) and its field errors are put beside the
same fields (``web.place_error``).
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from .collaborators import GIVABLE_ROLES
from .models import ProjectType
from .projects import TRIGGERS

#: Seed 003 rule 2: lower-case letters, digits, hyphens and underscores.
SLUG = Regexp(r"^[a-z0-9_-]{1,100}$", message="1 to 100 lower-case letters, digits, hyphens and underscores.")
MODEL = Regexp(r"^[a-z0-9][a-z0-9_.\-]*:\S{1,150}$", message="Name the model as provider:model, e.g. offline:writer.")
#: Five cron fields, in UTC (the scheduler's own check reads them when it runs).
CRON = Regexp(r"^\s*\S+(\s+\S+){4}\s*$", message="Five cron fields, e.g. 0 6 * * 1 (06:00 UTC every Monday).")
#: A chapter's text may be long (a novella in one file), not unbounded.
MOST_CHAPTER_CHARACTERS = 2_000_000


#: What each role may do by default (access.ROLE_DEFAULTS), said beside the role select.
ROLE_HELP = ("Editor: reads, writes, runs agents, views stats, exports. Reviewer: reads, runs agents, views stats. "
             "Viewer: reads and views stats.")


def role_choices() -> list[SelectChoice]:
    """The roles an invitation or a change may give (a project has one owner, its creator)."""
    return [SelectChoice(value=role.value, label=role.value.capitalize()) for role in GIVABLE_ROLES]


def type_choices() -> list[SelectChoice]:
    return [SelectChoice(value=kind.value, label=kind.value.replace("-", " ").capitalize()) for kind in ProjectType]


class ProjectForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the project a name."), Length(max=100)])
    slug = StringField("Slug", validators=[DataRequired("Give the project a slug."), SLUG],
                       description="Names the git repository: lower-case letters, digits, - and _.")
    project_type = SelectField("Type", choices=type_choices(), default=ProjectType.NOVEL.value)
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    genre = StringField("Genre", validators=[Optional(), Length(max=100)])
    target_word_count = IntegerField("Target words", validators=[Optional(), NumberRange(min=0, max=100_000_000, message="A whole number, 0 or more.")],
                                     description="The length you aim for; the stats chart draws it as a line.")
    submit = SubmitField("Create the project")


class ChapterEditForm(FlaskForm):
    text = TextAreaField("Text", validators=[Length(max=MOST_CHAPTER_CHARACTERS)],
                         description="Markdown. Saving makes one commit.")
    base = HiddenField(validators=[DataRequired("The version you started from is missing; open the editor again.")])
    message = StringField("Commit message", validators=[Optional(), Length(max=200)],
                          description="Optional: what this change does.")
    submit = SubmitField("Save")


class NewChapterForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Give the chapter a title."), Length(max=200)])
    text = TextAreaField("Text", validators=[Optional(), Length(max=MOST_CHAPTER_CHARACTERS)],
                         description="Markdown. Without a # heading, the title becomes one.")
    submit = SubmitField("Add the chapter")


class AgentSettingsForm(Form):
    """One agent's settings (the seed's ``settings.agents.<agent>``); no CSRF of its own."""

    enabled = BooleanField("Enabled")
    model = StringField("Model", validators=[Optional(), Length(max=200), MODEL],
                        description="provider:model; empty for the agent's default.")
    trigger = SelectField("Trigger", choices=[SelectChoice(value=t, label=t) for t in TRIGGERS], default="manual")
    context_window = IntegerField("Context window (chapters)", default=5,
                                  validators=[InputRequired("A whole number from 1 to 50."),
                                              NumberRange(min=1, max=50, message="A whole number from 1 to 50.")])
    schedule = StringField("Schedule", validators=[Optional(), Length(max=100), CRON],
                           description="For the scheduled trigger: five cron fields in UTC.")


class SettingsForm(FlaskForm):
    continuity = FormField(AgentSettingsForm, "Continuity")
    style = FormField(AgentSettingsForm, "Style")
    timeline = FormField(AgentSettingsForm, "Timeline")
    fact = FormField(AgentSettingsForm, "Fact")
    submit = SubmitField("Save the settings")


class GithubLinkForm(FlaskForm):
    repo_name = StringField("Repository", validators=[
        DataRequired("Name the repository as owner/name."),
        Regexp(r"^[A-Za-z0-9_.\-]{1,100}/[A-Za-z0-9_.\-]{1,100}$", message="Name the repository as owner/name.")],
        description="owner/name, as in its GitHub URL")
    repo_id = IntegerField("Repository id", validators=[
        InputRequired("GitHub's number for the repository is needed."),
        NumberRange(min=1, max=2**53 - 1, message="A positive whole number.")],
        description="GitHub's id of the repository: repository.id in a webhook's payload, or "
                    "GET https://api.github.com/repos/owner/name")
    submit = SubmitField("Link and make a secret")


class AgentRunForm(FlaskForm):
    agent = SelectField("Agent", validators=[DataRequired("Choose an agent.")])
    submit = SubmitField("Run the agent")


class ConfirmForm(FlaskForm):
    """A button that only carries the CSRF token."""


class InviteForm(FlaskForm):
    invitee = StringField("Username or email", validators=[
        DataRequired("Name the person: their username, or an email address."), Length(max=320)],
        description="Someone without an account yet gets a link to register with that address.")
    role = SelectField("Role", choices=role_choices(), default="viewer", description=ROLE_HELP)
    submit = SubmitField("Send the invitation")


class CollaboratorRoleForm(FlaskForm):
    """One row's role on the People tab; the select's id is the row's (many on one page)."""

    role = SelectField("Role", choices=role_choices())
    submit = SubmitField("Save")


class InvitationAnswerForm(FlaskForm):
    """The invitee's answer: whichever button was pressed."""

    accept = SubmitField("Accept")
    decline = SubmitField("Decline")
