"""The dataset labeling service: `create_app()` builds it; nothing happens at import time."""
from __future__ import annotations

from flask import Flask

from .config import Config


def create_app(config: Config | None = None) -> Flask:
    """Build the Flask app from a config (default: the environment)."""
    from . import api, cli, db_session, errors, schemas, web
    from .db import make_engine, make_sessionmaker

    config = config or Config.from_env()
    app = Flask(__name__)
    app.config.update(
        SERVICE=config,
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_upload_bytes + 64 * 1024,
        TESTING=config.testing,
    )
    engine = make_engine(config.database_url)
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = make_sessionmaker(engine)
    app.extensions["store_probe"] = _store_probe(config)
    db_session.init_app(app)
    api.init_app(app)
    web.init_app(app)
    errors.register(app, page_renderer=web.render_error, extras=schemas.ErrorExtras())
    cli.init_app(app)
    return app


def _store_probe(config: Config):
    """Return a check that the configured S3 endpoint answers."""

    def probe() -> None:
        from storage.errors import ObjectNotFound
        from storage.factory import store_for
        from storage.uris import parse_uri

        if config.s3_endpoint_url:
            try:
                store_for(parse_uri("s3://readyz-probe/"), config.store_settings).stat("readyz-probe", "readyz")
            except ObjectNotFound:
                pass  # the store answered

    return probe
