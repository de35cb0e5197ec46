"""The web application: patient intake and result, clinician worklist, JSON API.

``create_app(settings)`` builds the FastAPI app that ``backpath serve`` runs. Pages are
rendered on the server with Jinja2 and work without JavaScript; every patient word comes from
the knowledge base (``knowledge/ui/web.yaml`` for interface words). Routes only translate
between HTTP and the core: ``Intake.from_json`` -> ``assess`` -> templates or Result JSON.
"""

from backpath.web.app import create_app
from backpath.web.settings import Settings, settings_from_env

__all__ = ["Settings", "create_app", "settings_from_env"]
