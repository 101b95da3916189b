"""CSRF-protected forms of the browser studio (flask-wtf)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from ..models import Role, UsageStatus
from ..schemas.account import PROVIDER_KEY


def role_choices(strongest: Role) -> list[SelectChoice]:
    """The roles a person whose role is ``strongest`` may hand out, strongest first (a guest
    only to a guest: a guest role is made by an accepted invitation, not handed out)."""
    return [SelectChoice(value=role.value, label=role.value.title()) for role in Role
            if strongest.at_least(role) and (role is not Role.GUEST or strongest is Role.GUEST)]


class RegisterForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=255)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField("Repeat the password",
                            validators=[DataRequired(), EqualTo("password", "The passwords differ.")])
    submit = SubmitField("Create account")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField("Sign in")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=320)])
    submit = SubmitField("Send me a reset link")


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField("Repeat the new password",
                            validators=[DataRequired(), EqualTo("password", "The passwords differ.")])
    submit = SubmitField("Set the new password")


class ApiKeyForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(min=1, max=100)],
                       description="What the key is for, e.g. 'CI pipeline'.")
    role = SelectField("Role", choices=role_choices(Role.OWNER),
                       description="What the key may do: member unless you choose otherwise, at most your own role.")
    expires_in_days = IntegerField("Expires after (days)", validators=[Optional(), NumberRange(1, 3650)],
                                   description="Leave empty for a key that does not expire.")
    submit = SubmitField("Create key")


class ConfirmForm(FlaskForm):
    """A button-only form (log out, revoke, switch tenant): its point is the CSRF token."""

    submit = SubmitField("Confirm")


class SelectionForm(FlaskForm):
    """Pick one candidate of a step awaiting selection, with feedback for the steps after it."""

    index = IntegerField("Candidate", validators=[InputRequired("Choose a candidate."), NumberRange(0, 999)])
    feedback = TextAreaField("Feedback for the next steps (optional)",
                             validators=[Optional(), Length(max=20_000)])
    submit = SubmitField("Use this one")


class BudgetField(IntegerField):
    """A token budget box whose complaint says what to type."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter a whole number of tokens.") from None


class UploadWorkflowForm(FlaskForm):
    """A workflow document to add to the tenant's catalog."""

    source = TextAreaField("Workflow YAML", validators=[DataRequired("Paste a workflow document."),
                                                        Length(max=200_000)],
                           description="A new name, or a new version of a workflow uploaded here before.",
                           render_kw={"rows": 14, "spellcheck": "false", "class": "code-input"})
    submit = SubmitField("Upload")


class UsageFilterForm(FlaskForm):
    """Filters of the usage history (a GET form: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    status = SelectField("Status", choices=[SelectChoice(value="", label="Any status"),
                                            *(SelectChoice(value=s.value, label=s.value.replace("_", " "))
                                              for s in UsageStatus)],
                         validators=[Optional()])
    model = StringField("Model", validators=[Optional(), Length(max=200)],
                        description="The model's name as recorded, e.g. offline:writer.")
    submit = SubmitField("Filter")


class ProviderKeyForm(FlaskForm):
    """A provider key to store (encrypted; only its last characters are ever shown)."""

    provider = SelectField("Provider", validators=[DataRequired("Choose a provider.")],
                           description="Installed providers that take a key.")
    key = PasswordField("Key", validators=[
        DataRequired("Paste the key."),
        Regexp(PROVIDER_KEY, message="A key is 8 to 500 visible ASCII characters, with no spaces or line breaks.")],
        description="Stored encrypted; after this you see only its last four characters.",
        render_kw={"autocomplete": "off", "spellcheck": "false"})
    label = StringField("Label (optional)", validators=[Optional(), Length(max=100)],
                        description="Tells your keys apart, e.g. 'work account'.")
    owner = SelectField("For", choices=[SelectChoice(value="me", label="Just me")], default="me",
                        description="Your own key is used before the tenant's.")
    submit = SubmitField("Add key")


class ResumeForm(FlaskForm):
    """Go on with a run paused for payment, optionally with a higher token budget."""

    budget_tokens = BudgetField("New token budget (optional)", validators=[Optional(), NumberRange(1, 10**12)])
    submit = SubmitField("Resume")


class FeatureFlagForm(FlaskForm):
    """A feature flag, made or changed by a platform administrator."""

    flag_key = StringField("Key", validators=[DataRequired("Give the flag a key."), Regexp(
        r"^[a-z][a-z0-9_.\-]{1,99}$", message="2 to 100 lower-case letters, digits, dots, dashes and underscores.")],
        description="What code asks for, e.g. studio.live_text. A key that exists is changed.")
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    description = StringField("Description", validators=[Optional(), Length(max=2000)])
    is_enabled = SelectField("State", choices=[SelectChoice(value="off", label="Off for everyone"),
                                               SelectChoice(value="on", label="On, by the rollout below")],
                             default="off")
    rollout_percentage = IntegerField("Rollout (%)", default=0, validators=[
        InputRequired("Give a percentage from 0 to 100."), NumberRange(0, 100, "A whole number from 0 to 100.")],
        description="The share of people it is on for; raising it keeps everyone already in.")
    rollout_tiers = StringField("Tiers", validators=[Optional(), Length(max=200)],
                                description="Subscription tiers it is on for, separated by commas (free, creator, "
                                            "professional, enterprise).")
    submit = SubmitField("Save the flag")
