"""WSGI entry point: `gunicorn wsgi:app`. Configuration comes from the environment."""
from marketplace import create_served_app

app = create_served_app()
