"""Static files under content-hashed URLs, compressed once, cached by browsers for a year.

``url_for('static', filename=...)`` gains ``?v=<hash of the file's bytes>``; a request carrying the
current hash is answered with ``Cache-Control: public, max-age=31536000, immutable``, so a repeat visit
asks for nothing, and a changed file gets a new URL. Without the hash (an old link, a hand-typed URL) the
answer is revalidated (``no-cache``) with its ETag.

Text files (css, js, svg, json) are gzip-compressed once per file and process, when first asked for or at
start-up (:func:`init_app` warms the cache), never per request; the answer honours ``Accept-Encoding`` and
says ``Vary: Accept-Encoding``. A file edited on disk is re-read on its next request (size and mtime).
The bundled plotly.js (``/assets/plotly.min.js``) is served through the same :func:`asset_response`.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, abort, current_app, request
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_COMPRESSIBLE = {
    "text/css",
    "text/javascript",
    "application/javascript",
    "image/svg+xml",
    "application/json",
    "text/plain",
    "text/csv",
    "text/html",
}
_MIN_COMPRESS_BYTES = 512  # smaller files gain less than the headers cost
_HASH_CHARS = 16


@dataclass(frozen=True)
class Asset:
    """One file's bytes, their gzip form (None when not worth it), type and content hash."""

    body: bytes
    gzipped: bytes | None
    mimetype: str
    digest: str


def build_asset(body: bytes, mimetype: str) -> Asset:
    """Hash ``body`` and gzip it when it is text of some size (mtime 0: the same bytes every build)."""
    gzipped = None
    if mimetype in _COMPRESSIBLE and len(body) >= _MIN_COMPRESS_BYTES:
        gzipped = gzip.compress(body, compresslevel=9, mtime=0)
        if len(gzipped) >= len(body):
            gzipped = None
    return Asset(body, gzipped, mimetype, hashlib.sha256(body).hexdigest()[:_HASH_CHARS])


_files: dict[str, tuple[tuple[int, int], Asset]] = {}  # absolute path -> ((mtime_ns, size), asset)
_lock = threading.Lock()


def file_asset(path: str) -> Asset | None:
    """The asset of a file (read, hashed and compressed once until the file changes), or None."""
    try:
        stat = Path(path).stat()
    except (OSError, ValueError):
        return None
    if not Path(path).is_file():
        return None
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _files.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    with _lock:
        cached = _files.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if mimetype == "application/javascript":
            mimetype = "text/javascript"
        asset = build_asset(Path(path).read_bytes(), mimetype)
        _files[path] = (key, asset)
        return asset


def _static_path(app: Flask, filename: str) -> str | None:
    return safe_join(app.static_folder, filename) if app.static_folder else None


def static_digest(filename: str) -> str | None:
    """The content hash of a file under the static folder (None when there is no such file)."""
    path = _static_path(current_app, filename)
    asset = file_asset(path) if path else None
    return asset.digest if asset else None


def asset_response(asset: Asset) -> Response:
    """Answer ``asset``: 304 on a matching ETag, gzip when the client accepts it, immutable when versioned."""
    versioned = request.args.get("v") == asset.digest
    use_gzip = asset.gzipped is not None and request.accept_encodings["gzip"] > 0
    etag = asset.digest + ("-gz" if use_gzip else "")
    headers = {"ETag": f'"{etag}"', "Cache-Control": IMMUTABLE if versioned else REVALIDATE}
    if asset.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
    if etag in request.if_none_match:
        response = Response(status=304, headers=headers)
    else:
        if use_gzip:
            headers["Content-Encoding"] = "gzip"
        # A HEAD request gets the headers of the GET answer; werkzeug leaves the body out.
        response = Response(asset.gzipped if use_gzip else asset.body, mimetype=asset.mimetype, headers=headers)
    response.static_asset = True  # the session interface leaves it alone (no cookie, no Vary: Cookie)
    return response


def serve_static(filename: str) -> Response:
    """The app's ``static`` endpoint: a file from the static folder, 404 when absent."""
    path = _static_path(current_app, filename)
    asset = file_asset(path) if path else None
    if asset is None:
        abort(404)
    return asset_response(asset)


def _add_static_hash(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values and "v" not in values:
        digest = static_digest(values["filename"])
        if digest:
            values["v"] = digest


def init_app(app: Flask) -> None:
    """Serve the static folder through :func:`serve_static`, hash its URLs, and warm the cache."""
    app.view_functions["static"] = serve_static
    app.url_defaults(_add_static_hash)
    if app.static_folder and Path(app.static_folder).is_dir():
        for path in sorted(Path(app.static_folder).rglob("*")):
            if path.is_file():
                file_asset(str(path))
