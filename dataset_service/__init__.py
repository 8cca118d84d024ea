"""The dataset labeling service: `create_app()` builds it; nothing happens at import time."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import Config


def create_app(config: Config | None = None) -> Flask:
    """Build the Flask app from a config (default: the environment)."""
    from . import api, auth, cli, db_session, errors, schemas, web
    from .db import make_engine, make_sessionmaker
    from .services.readiness import store_check

    config = config or Config.from_env()
    app = Flask(__name__)
    app.config.update(
        SERVICE=config,
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_upload_bytes + 64 * 1024,
        TESTING=config.testing,
        # Set, not defaulted: Flask's own defaults (no SameSite, 31 days) are already in app.config.
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=config.session_lifetime_s),
    )
    # JSON keeps the order of what it was given: an object's properties come back, and go back to
    # its XML file, in the file's order (Flask sorts keys by default).
    app.json.sort_keys = False
    app.session_interface = auth.PageSessionInterface()
    if config.trusted_proxies:
        # The client's address and scheme are the ones the trusted proxies in front forwarded.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.trusted_proxies, x_proto=config.trusted_proxies)
    engine = make_engine(config.database_url)
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = make_sessionmaker(engine)
    app.extensions["store_readiness"] = store_check(config.store_settings)
    db_session.init_app(app)
    api.init_app(app)
    web.init_app(app)
    errors.register(app, page_renderer=web.render_error, extras=schemas.ErrorExtras())
    cli.init_app(app)
    return app
