"""How long a connection attempt may take: the URL's ``connect_timeout`` when it sets one."""

from __future__ import annotations

import pytest

from gordon_migrate.core import db, dsn


@pytest.mark.parametrize(
    ("url", "env", "seconds"),
    [
        ("postgresql://gordon@db/gordon", None, db.CONNECT_TIMEOUT_S),
        ("postgresql://gordon@db/gordon?connect_timeout=3", None, 3),
        ("postgresql://gordon@db/gordon?connect_timeout=1", None, 2),  # libpq's floor
        ("postgresql://gordon@db/gordon?connect_timeout=0", None, db.CONNECT_TIMEOUT_S),
        ("postgresql://gordon@db/gordon?connect_timeout=soon", None, db.CONNECT_TIMEOUT_S),
        ("host=db dbname=gordon connect_timeout=45", None, 45),
        # Settings come from the URL and gordon-migrate's own variables (core/settings.py).
        ("postgresql://gordon@db/gordon", "7", db.CONNECT_TIMEOUT_S),
        ("postgresql://gordon@db/gordon?connect_timeout=4", "7", 4),
    ],
)
def test_the_urls_connect_timeout_else_the_default(
    url: str, env: str | None, seconds: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if env is None:
        monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    else:
        monkeypatch.setenv("PGCONNECT_TIMEOUT", env)
    assert db.connect_timeout_of(dsn.parse(url)) == seconds
