"""Django session engine on the varel_session PostgreSQL extension.

Set ``SESSION_ENGINE = "varel_session_django.backend"``; see README.md.
"""
