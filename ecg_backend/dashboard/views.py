"""Dashboard pages: home, analyse, analysis results, model card and the bundled Plotly script.

Views stay thin: they read through owner-scoped queries and services, build figures with ``charts``
and render. Patient pages live in ``patient_views``, the admin pages in ``admin_views``.
"""

from __future__ import annotations

import json
from functools import lru_cache

from flask import (
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from ecg_backend import static_assets
from ecg_backend.dashboard import bp, charts, model_card, queries, report, uploads
from ecg_backend.dashboard.forms import AnalyseForm, ConfirmForm, choices
from ecg_backend.errors import InputError, error_body, http_status, wants_json
from ecg_backend.services import analyses as analyses_service


@bp.route("/")
@login_required
def index():
    """Home: counts, recent analyses with verdicts, and an empty state with a sample to try."""
    return render_template(
        "dashboard/index.html",
        counts=queries.owner_counts(current_user.id),
        analyses=queries.recent_analyses(current_user.id),
    )


def _analyse_form() -> AnalyseForm:
    form = AnalyseForm()
    form.patient_id.choices = choices([("", "No patient")] + queries.patient_choices(current_user.id))
    return form


def _scripted() -> bool:
    """The page's upload script (XMLHttpRequest, JSON answer) rather than a plain form post."""
    return request.headers.get("X-Requested-With") == "XMLHttpRequest" or wants_json()


def _upload_failed(form: AnalyseForm, exc: InputError):
    if _scripted():
        return jsonify(error_body(exc)), http_status(exc)
    link = exc.details.get("recordings_url") if isinstance(exc.details, dict) else None
    return _analyse_page(form, exc.message, link), http_status(exc)


def _analyse_page(form: AnalyseForm, error: str | None = None, error_link: str | None = None) -> str:
    # The page's script refuses recording files before uploading them, with the server's own message.
    return render_template(
        "analyses/new.html",
        form=form,
        error=error,
        error_link=error_link,
        recording_files=sorted(uploads.RECORDING_EXTENSIONS),
        recording_message=uploads.recording_file_message("{name}"),
    )


@bp.route("/analyse", methods=["GET", "POST"])
@login_required
def analyse():
    """Upload a CSV of beats (drag-and-drop or picker) for an optional patient; answers the result URL."""
    form = _analyse_form()
    if request.method == "GET":
        form.patient_id.data = request.args.get("patient_id", "")
        return _analyse_page(form)
    if not form.validate_on_submit():
        message = (
            "The form expired; reload the page and upload the file again."
            if "csrf_token" in form.errors
            else " ".join(" ".join(v) for v in form.errors.values()) or "The form is incomplete."
        )
        return _upload_failed(form, InputError(message, details={"fields": form.errors}))
    try:
        analysis = uploads.analyse_upload(current_user, request.files.get("file"), form.patient_id.data)
    except InputError as exc:
        return _upload_failed(form, exc)
    url = url_for(".analysis_detail", analysis_id=analysis.id)
    if _scripted():
        return jsonify(redirect=url, analysis_id=analysis.id), 201
    return redirect(url, code=303)


@bp.route("/analyses/sample", methods=["POST"])
@login_required
def analyse_sample():
    """The home page's "try a sample" button: analyse the bundled ECG5000 excerpt."""
    analysis = uploads.analyse_sample(current_user)
    return redirect(url_for(".analysis_detail", analysis_id=analysis.id), code=303)


def _beat_figures(beat: dict) -> tuple[str | None, str]:
    """The beat's overlay figure (None when the stored beat lacks its reconstruction) and its score gauge."""
    gauge = charts.figure_json(charts.score_gauge_figure(beat["score"], beat["threshold"] or 0.0))
    try:
        figure = charts.beat_figure(
            beat["signal"],
            beat["reconstruction"],
            beat["sample_error"],
            score=beat["score"],
            threshold=beat["threshold"],
            index=beat["number"] - 1,
            is_anomaly=beat["is_anomaly"],
        )
    except ValueError:
        return None, gauge
    return charts.figure_json(figure), gauge


def _beat_facts(beat: dict) -> dict:
    return {
        "number": beat["number"],
        "score": f"{beat['score']:.4g}",
        "threshold": "—" if beat["threshold"] is None else f"{beat['threshold']:.4g}",
        "verdict": beat["verdict"],
        "confidence": beat["confidence_text"],
    }


@bp.route("/analyses/<int:analysis_id>")
@login_required
def analysis_detail(analysis_id: int):
    """Result page: verdict with every flagged beat, score overview, one beat at a time (``?beat=N``, 1-based)
    with previous/next flagged beat, and a sortable table of all beats."""
    analysis = queries.analysis_or_404(current_user.id, analysis_id)
    if analysis.kind == "recording" and has_endpoint("dashboard.recording_page"):
        return redirect(analysis_url(analysis))
    verdict = report.verdict(analysis)
    total = report.beat_count(analysis)
    default = verdict["flagged"][0] if verdict["flagged"] else 1
    number = min(max(request.args.get("beat", default, type=int), 1), max(total, 1))
    context = {"analysis": analysis, "verdict": verdict, "total": total, "delete_form": ConfirmForm()}
    if total:
        beat = report.beat_view(analysis, number)
        context["beat"], context["facts"] = beat, _beat_facts(beat)
        context["beat_json"], context["gauge_json"] = _beat_figures(beat)
        context["previous_flagged"], context["next_flagged"] = report.neighbours(verdict["flagged"], number)
        context["rows"] = report.beat_rows(analysis)
        if total > 1:
            scores, flags = report.scores(analysis)
            context["overview_json"] = charts.figure_json(
                charts.scores_overview_figure(scores, analysis.threshold or beat["threshold"] or 0.0, flags)
            )
    return render_template("analyses/detail.html", **context)


@bp.route("/analyses/<int:analysis_id>/beats/<int:number>")
@login_required
def analysis_beat(analysis_id: int, number: int):
    """One beat's figures and facts as JSON for the result page's beat viewer."""
    analysis = queries.analysis_or_404(current_user.id, analysis_id)
    beat = report.beat_view(analysis, number)
    figure, gauge = _beat_figures(beat)
    body = f'{{"figure": {figure or "null"}, "gauge": {gauge}, "beat": {json.dumps(_beat_facts(beat))}}}'
    return Response(body, mimetype="application/json", headers={"Cache-Control": "private, no-store"})


def _download(body: str, mimetype: str, analysis_id: int, extension: str) -> Response:
    filename = f"analysis-{analysis_id}-results.{extension}"
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"},
    )


@bp.route("/analyses/<int:analysis_id>/results.csv")
@login_required
def analysis_csv(analysis_id: int):
    """Per-beat results as CSV (formula-like text cells neutralised)."""
    analysis = queries.analysis_or_404(current_user.id, analysis_id)
    return _download(report.results_csv(analysis), "text/csv", analysis_id, "csv")


@bp.route("/analyses/<int:analysis_id>/results.json")
@login_required
def analysis_json(analysis_id: int):
    """The whole analysis as JSON: metadata, summary, and every beat with signal and reconstruction."""
    analysis = queries.analysis_or_404(current_user.id, analysis_id)
    return _download(json.dumps(report.results_json(analysis)), "application/json", analysis_id, "json")


@bp.route("/analyses/<int:analysis_id>/delete", methods=["POST"])
@login_required
def analysis_delete(analysis_id: int):
    """Delete an analysis (the result page asks for confirmation first)."""
    analysis = queries.analysis_or_404(current_user.id, analysis_id)
    patient_id = analysis.patient_id
    if ConfirmForm().validate_on_submit():
        label = f"Analysis {analysis_id}" + (f" ({analysis.filename})" if analysis.filename else "")
        analyses_service.delete_analysis(current_user, analysis_id)
        flash(f"{label} was deleted.", "success")
    else:
        flash("The form expired; nothing was deleted. Please try again.", "error")
    target = url_for(".patient_detail", patient_id=patient_id) if patient_id else url_for(".index")
    return redirect(target, code=303)


@bp.route("/model", endpoint="model_card")
@login_required
def model_card_page():
    """The model card: intended use, limits and figures (docs/MODEL_CARD.md), then the loaded bundle's model.json."""
    detector = current_app.extensions.get("ecg_detector")
    card = getattr(detector, "card", None) or {}
    return render_template(
        "model/card.html",
        detector=detector,
        card=card,
        opening=model_card.shipped_card_opening(),
        parts=model_card.card_sections(card),
        mc=model_card,
        roc_json=charts.figure_json(charts.roc_figure(card)),
        reliability_json=charts.figure_json(charts.reliability_figure(card.get("reliability"))),
    )


@lru_cache(maxsize=1)
def plotly_bundle() -> static_assets.Asset:
    """plotly.js from the installed package, hashed and gzip-compressed once per process."""
    from plotly.offline import get_plotlyjs

    return static_assets.build_asset(get_plotlyjs().encode("utf-8"), "text/javascript")


def plotly_url() -> str:
    """Versioned URL of the bundled plotly.min.js (the hash changes when the plotly package does)."""
    return url_for("dashboard.plotly_js", v=plotly_bundle().digest)


@bp.route("/assets/plotly.min.js")
def plotly_js():
    """plotly.js straight from the installed Python package: no CDN, no 4 MB copy in the repository."""
    return static_assets.asset_response(plotly_bundle())


def has_endpoint(name: str) -> bool:
    """Whether a route is registered (the nav links optional pages, e.g. long recordings, only when present)."""
    return name in current_app.view_functions


def analysis_url(analysis) -> str:
    """Where an analysis is shown: long recordings have their own page when that page is installed."""
    if analysis.kind == "recording" and has_endpoint("dashboard.recording_page"):
        return url_for("dashboard.recording_page", analysis_id=analysis.id)
    return url_for("dashboard.analysis_detail", analysis_id=analysis.id)


@bp.app_context_processor
def _template_helpers() -> dict:
    return {"plotly_url": plotly_url, "has_endpoint": has_endpoint, "analysis_url": analysis_url}
