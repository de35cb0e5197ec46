"""The web application: patient intake and result, clinician worklist, JSON API.

``create_app(settings)`` builds the FastAPI app that ``backpath serve`` runs. Pages are
rendered on the server with Jinja2 and work without JavaScript; every patient word comes from
the knowledge base (``knowledge/ui/web.yaml`` for interface words). Routes only translate
between HTTP and the core: ``Intake.from_json`` -> ``assess`` -> templates or Result JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backpath.web.settings import Settings, settings_from_env

if TYPE_CHECKING:
    from backpath.web.app import create_app

__all__ = ["Settings", "create_app", "settings_from_env"]


def __getattr__(name: str) -> Any:
    """``create_app`` is imported on first use: importing ``backpath.web.settings`` (as the
    FHIR and CDS Hooks modules do) must not build the whole app, whose routes import those
    same modules back."""
    if name == "create_app":
        from backpath.web.app import create_app

        return create_app
    raise AttributeError(name)
