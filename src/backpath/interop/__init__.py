"""Standard interfaces for health-system IT: FHIR R4 resources and a CDS Hooks service.

Both are thin adapters over the same core as every other channel: a FHIR
``QuestionnaireResponse`` becomes Intake JSON (``Intake.from_json`` still validates it), the
core assesses it, and the Result JSON becomes FHIR resources or a CDS Hooks card. Nothing
clinical is decided here. See docs/interop.md.
"""

from __future__ import annotations

from fastapi import APIRouter

from backpath.kb import KnowledgeBase


def build_router(kb: KnowledgeBase, max_narrative_chars: int) -> APIRouter:
    """Every interoperability route: ``/cds-services`` and ``/fhir``."""
    from backpath.interop.cds_hooks import build_cds_router
    from backpath.interop.fhir import build_fhir_router

    router = APIRouter()
    router.include_router(build_cds_router(kb, max_narrative_chars))
    router.include_router(build_fhir_router(kb, max_narrative_chars))
    return router


__all__ = ["build_router"]
