"""``backpath serve``: run the web application (patient intake, clinician worklist, API).

Opens the database (SQLite in WAL mode under ``./data`` by default, or
``--database-url`` / ``$BACKPATH_DATABASE_URL``), migrates it to the newest schema, prints
the address and how to create a clinician login, then serves with uvicorn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backpath.cli import app


def _loopback(host: str) -> bool:
    return host in ("127.0.0.1", "::1", "localhost")


@app.command("serve")
def serve_command(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db "
            "(default: $BACKPATH_DATABASE_URL, else SQLite in DATA_DIR/backpath.db).",
        ),
    ] = None,
    data_dir: Annotated[
        Path,
        typer.Option(
            "--data-dir",
            envvar="BACKPATH_DATA_DIR",
            help="Folder for the SQLite file and the generated secret key.",
        ),
    ] = Path("data"),
    secure_cookies: Annotated[
        bool | None,
        typer.Option(
            "--secure-cookies/--no-secure-cookies",
            help="Send cookies over HTTPS only (default: on unless listening on loopback; "
            "$BACKPATH_SECURE_COOKIES=1 forces it on).",
        ),
    ] = None,
    proxy_headers: Annotated[
        bool,
        typer.Option(
            "--proxy-headers/--no-proxy-headers",
            help="Trust X-Forwarded-* from a reverse proxy on 127.0.0.1 (for HTTPS termination).",
        ),
    ] = False,
) -> None:
    """Run the web app: patient intake at /, clinician worklist at /clinic, API at /api/v1."""
    import os

    import uvicorn

    from backpath.web import create_app, settings_from_env
    from backpath.web.settings import SECURE_COOKIES_ENV

    if secure_cookies is None:
        secure_cookies = os.environ.get(SECURE_COOKIES_ENV) == "1" or not _loopback(host)
    try:
        settings = settings_from_env(database_url, data_dir, secure_cookies)
    except ValueError as exc:  # a setting in the environment is wrong: say which, exit 2
        from backpath.cli._io import fail

        raise fail(str(exc)) from None
    web_app = create_app(settings)
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{port}/"
    where = (
        settings.database_url.split("@")[-1]
        if "@" in settings.database_url
        else settings.database_url
    )
    typer.echo(f"backpath is running at {url}")
    typer.echo(f"  patient intake:     {url}")
    typer.echo(f"  clinician worklist: {url}clinic")
    typer.echo(f"  API (OpenAPI):      {url}api/v1/openapi.json")
    typer.echo(f"  database:           {where}")
    typer.echo("Create a clinician login with:  backpath users create USERNAME")
    if settings.database_url != f"sqlite:///{(data_dir / 'backpath.db').as_posix()}":
        typer.echo("  (add --database-url with the same URL as above)")
    if secure_cookies:
        typer.echo(
            "Cookies are sent over HTTPS only: put the app behind HTTPS "
            "(or pass --no-secure-cookies on a trusted test network)."
        )
    typer.echo("Press Ctrl-C to stop.")
    uvicorn.run(
        web_app,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=proxy_headers,
        forwarded_allow_ips="127.0.0.1" if proxy_headers else None,
        server_header=False,
    )
