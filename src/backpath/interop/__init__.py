"""Standard interfaces for health-system IT: FHIR R4 resources and a CDS Hooks service.

Both are thin adapters over the same core as every other channel: a FHIR
``QuestionnaireResponse`` (and, for CDS Hooks, the patient's chart read through the
terminology maps in ``knowledge/terminology``) becomes Intake JSON (``Intake.from_json``
still validates it), the core assesses it, and the Result JSON becomes FHIR resources or a
CDS Hooks card. Nothing clinical is decided here. See docs/interop.md.

``validate_terminology`` is called by ``backpath kb check`` (the knowledge base's
extension hook).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter

from backpath.interop.terminology import load_terminology, validate_terminology
from backpath.kb import KnowledgeBase

if TYPE_CHECKING:
    from backpath.web.settings import Settings


def build_router(
    kb: KnowledgeBase, max_narrative_chars: int, settings: Settings | None = None
) -> APIRouter:
    """Every interoperability route: ``/cds-services`` and ``/fhir``.

    ``settings`` gives the trusted CDS clients (JWT issuers), the FHIR servers the service
    may query and the public URL; without it the service trusts no one and queries nothing
    (it does not authenticate either: development only).
    """
    from backpath.interop.auth import ClientVerifier, parse_issuers
    from backpath.interop.cds_hooks import CdsOptions, build_cds_router
    from backpath.interop.fhir import build_fhir_router

    issuers = parse_issuers(settings.cds_issuers) if settings is not None else {}
    options = CdsOptions(fhir_servers=settings.cds_fhir_servers if settings is not None else ())
    router = APIRouter()
    router.include_router(
        build_cds_router(
            kb,
            max_narrative_chars,
            load_terminology(),
            ClientVerifier(issuers),
            options,
            public_url=settings.public_url if settings is not None else None,
        )
    )
    router.include_router(
        build_fhir_router(
            kb, max_narrative_chars, settings.public_url if settings is not None else None
        )
    )
    return router


__all__ = ["build_router", "load_terminology", "validate_terminology"]
