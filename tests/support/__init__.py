"""Helpers the tests import (fixtures live in tests/conftest.py):

- ``cli``: running the CLI in-process or as a child process, and reading its error line.
- ``sql``: connection and fixture type aliases, one-line queries, a database's state.
- ``runner``: ``apply`` as a process of its own, and polling the server for what it shows.
- ``netproxy``: a TCP proxy that breaks the network for real.
- ``pgcluster``: a Postgres cluster of a test's own, from the embedded server's binaries.
- ``recovery``: databases at an older version, Gordon rows to keep, the runbook, diagnose.
- ``roles``: the security contract's cast (schemas, runtime roles, the drift reader).
- ``auth``: a role that must log in with its password (the ``scram_role`` fixture).
"""
