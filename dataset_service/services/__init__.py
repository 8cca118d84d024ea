"""The rules of the service. Functions take a session, flush, and never commit."""
