"""Test session: real PostgreSQL (and SQLite), a real SeaweedFS S3 server, a real Redis."""
pytest_plugins = ["tests.conftest_s3", "tests.conftest_db", "tests.conftest_redis"]
