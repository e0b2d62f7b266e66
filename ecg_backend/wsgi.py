"""WSGI entry point: ``gunicorn ecg_backend.wsgi:app`` (see gunicorn.conf.py) and vercel.json."""

from ecg_backend import create_app

app = create_app()
