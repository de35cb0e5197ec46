"""Load, validate and version the clinical knowledge base.

``load_knowledge()`` reads every file under ``backpath/knowledge``, validates it against the
closed schemas in ``kb.schema``, cross-checks it (unknown codes, missing sources, duplicate
ids, unreachable rules, a self-care rule that could fire with a red flag unanswered...) and
returns an immutable ``KnowledgeBase``. Any problem raises one ``KnowledgeError`` listing
every problem with its file and id: a knowledge base that fails to load must never triage.
"""

from backpath.kb.loader import (
    KNOWLEDGE_DIR,
    KnowledgeBase,
    PlanRule,
    Rule,
    check_knowledge,
    load_knowledge,
)

__all__ = [
    "KNOWLEDGE_DIR",
    "KnowledgeBase",
    "PlanRule",
    "Rule",
    "check_knowledge",
    "load_knowledge",
]
