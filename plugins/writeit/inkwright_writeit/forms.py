"""The browser forms of WriteIt (Flask-WTF: CSRF-protected, errors shown beside fields)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

MODEL = Regexp(r"^[a-z0-9][a-z0-9_.\-]*:\S{1,150}$", message="Name the model as provider:model, e.g. offline:writer.")


class ArticleForm(FlaskForm):
    topic = TextAreaField("Topic", validators=[DataRequired("Say what the article is about."), Length(min=3, max=2000)],
                          description="What the article is about, in a sentence or two.")
    audience = StringField("Audience", validators=[Optional(), Length(max=200)], default="general readers")
    primer_id = SelectField("Style primer", validators=[DataRequired()])
    angles_model = StringField("Model for the angles", validators=[DataRequired(), MODEL])
    outline_model = StringField("Model for the outline", validators=[DataRequired(), MODEL])
    draft_model = StringField("Model for the draft", validators=[DataRequired(), MODEL])
    polish_model = StringField("Model for the polish", validators=[DataRequired(), MODEL])
    submit = SubmitField("Start the article")


class PrimerForm(FlaskForm):
    primer_id = StringField("Id", validators=[DataRequired(), Regexp(r"^[a-z0-9][a-z0-9\-]{1,63}$", message=(
        "2 to 64 lower-case letters, digits and dashes."))], description="e.g. house-style")
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    description = StringField("Description", validators=[Optional(), Length(max=2000)])
    content = TextAreaField("Style guide", validators=[DataRequired(), Length(max=20000)])
    voice_attributes = TextAreaField("Voice attributes", validators=[Optional(), Length(max=5000)],
                                     description="One per line as name: value, e.g. tone: confident")
    example_openings = TextAreaField("Example openings", validators=[Optional(), Length(max=5000)],
                                     description="One opening line per line")
    avoid = TextAreaField("Avoid", validators=[Optional(), Length(max=3000)], description="One per line")
    prefer = TextAreaField("Prefer", validators=[Optional(), Length(max=3000)], description="One per line")
    submit = SubmitField("Save the primer")


class BranchForm(FlaskForm):
    step = SelectField("Branch from step", choices=[SelectChoice(value=step, label=step)
                                                    for step in ("angles", "outline", "draft", "polish")])
    audience = StringField("New audience (optional)", validators=[Optional(), Length(max=200)])
    submit = SubmitField("Branch")


class ConfirmForm(FlaskForm):
    """A button that only carries the CSRF token."""
