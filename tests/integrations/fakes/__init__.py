"""Local fakes of the vendors' APIs, served on 127.0.0.1 for connector and contract tests."""
