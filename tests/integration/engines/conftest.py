"""The engines' servers, as fixtures for these tests (started only by a test that asks)."""

from tests.engines import spark_thrift_server

__all__ = ["spark_thrift_server"]
