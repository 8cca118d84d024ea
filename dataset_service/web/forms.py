"""The page forms; the rules behind them live in the schemas and services the API uses."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..models import NAME_MAX


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=NAME_MAX)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class DatasetForm(FlaskForm):
    """Name, paths and description; labels come as repeated `label_name`/`label_color` fields."""

    name = StringField("Name")
    description = TextAreaField("Description")
    input_path = StringField("Input path")
    output_path = StringField("Output path")
