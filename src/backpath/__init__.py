"""backpath: an open, explainable care pathway for back pain that spreads into the leg.

The package is a pure clinical core (``kb``, ``logic``, ``triage``, ``plan``, ``instruments``,
``nlp``, ``education``) wrapped by thin adapters (``cli``, ``web``, ``store``). Clinical
knowledge lives as data in ``backpath/knowledge``.
"""

__version__ = "0.1.0"
