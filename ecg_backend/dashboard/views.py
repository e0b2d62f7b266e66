"""Dashboard pages. Views stay thin: they call services and chart builders, then render."""
from flask import render_template
from flask_login import login_required

from ecg_backend.dashboard import bp


@bp.route("/")
@login_required
def index():
    """Home page: recent analyses and quick links."""
    return render_template("dashboard/index.html")
