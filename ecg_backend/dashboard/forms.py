"""Dashboard forms (Flask-WTF: every form carries the ``csrf_token`` hidden field)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from ecg_backend.models import ROLES, SEXES

MIN_PASSWORD = 8


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class PatientForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter the patient's name."), Length(max=200)])
    date_of_birth = DateField("Date of birth", validators=[Optional()])
    sex = SelectField(
        "Sex", choices=choices([("", "Not recorded")] + [(s, s.capitalize()) for s in SEXES]), validators=[Optional()]
    )
    external_id = StringField("External id (MRN)", validators=[Optional(), Length(max=64)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])


class ConfirmForm(FlaskForm):
    """A form with nothing but the CSRF token: delete confirmations, one-click actions."""


class AnalyseForm(FlaskForm):
    # The file is validated by the same parser /predict uses, so the messages match the API's.
    file = FileField("CSV file")
    # Not validated against the choices: the service checks the owner and answers like the API (404).
    patient_id = SelectField("Patient (optional)", choices=choices([("", "No patient")]), validate_choice=False)


class UserCreateForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired("Enter an email address."), Email("Enter a valid email address."), Length(max=254)],
    )
    name = StringField("Name", validators=[DataRequired("Enter the person's name."), Length(max=120)])
    role = SelectField("Role", choices=choices([(r, r.capitalize()) for r in reversed(ROLES)]), default="clinician")
    password = PasswordField(
        "Initial password",
        validators=[
            DataRequired("Enter an initial password."),
            Length(min=MIN_PASSWORD, message=f"Use at least {MIN_PASSWORD} characters."),
        ],
    )


class PasswordResetForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[
            DataRequired("Enter a new password."),
            Length(min=MIN_PASSWORD, message=f"Use at least {MIN_PASSWORD} characters."),
        ],
    )

    def validate_password(self, field):
        if field.data and field.data.strip() != field.data:
            raise ValidationError("The password must not start or end with spaces.")


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password.")])
    new_password = PasswordField(
        "New password",
        validators=[
            DataRequired("Enter a new password."),
            Length(min=MIN_PASSWORD, message=f"Use at least {MIN_PASSWORD} characters."),
        ],
    )
    confirm_password = PasswordField(
        "New password again",
        validators=[
            DataRequired("Enter the new password a second time."),
            EqualTo("new_password", message="The two new passwords differ."),
        ],
    )

    def validate_new_password(self, field):
        if field.data and field.data.strip() != field.data:
            raise ValidationError("The password must not start or end with spaces.")


class TokenCreateForm(FlaskForm):
    name = StringField(
        "Token name",
        validators=[DataRequired("Name the token, e.g. after the script or machine that will use it."), Length(max=80)],
    )
