# Sourced by scripts/check and scripts/serve: pick the Python to install into.
# Inside a virtualenv, or with a Python whose packages pip may manage, use it as is. On a
# system Python marked "externally managed" (PEP 668, e.g. Debian's), make ./.venv once.
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "backpath needs Python 3.11 or newer (found: $("$PY" --version 2>&1))" >&2
  exit 1
fi
managed=$("$PY" - <<'PYEOF'
import sys, sysconfig, pathlib
in_venv = sys.prefix != sys.base_prefix
marker = pathlib.Path(sysconfig.get_path("stdlib")) / "EXTERNALLY-MANAGED"
print("yes" if (not in_venv and marker.exists()) else "no")
PYEOF
)
if [ "$managed" = "yes" ]; then
  if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv (this Python is managed by the system)"
    "$PY" -m venv .venv
  fi
  PY=.venv/bin/python
fi
