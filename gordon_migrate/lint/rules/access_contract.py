"""access-contract: a change of who can see or do what that the access contract forbids, as a
rehearsal measured it (``rehearse.access``).

Its facts are measured, not parsed: the lint run is given each rehearsed migration's
error-level access changes (``lint --database-url``, ``apply --dry-run`` and ``apply`` rehearse
the pending migrations the pinned plan lacks). A plain ``lint`` has no server and cannot see
them. Never scaled by table size: losing access to a small table is still losing it.
"""

from __future__ import annotations

from collections.abc import Iterator

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site
from gordon_migrate.rehearse.model import AccessChange


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    change = site.node
    if isinstance(change, AccessChange) and change.error:
        yield Hit(f"{change.text}: {change.why}" if change.why else change.text)


RULE = Rule(
    id="access-contract",
    order=215,
    severity="error",
    summary=(
        "removes a runtime role's access, gives access to PUBLIC or a new role, changes an "
        "owner, disables a trigger, or enables/forces RLS without a policy (measured by "
        "rehearsal: only with a server)"
    ),
    why=(
        "the runtime roles' access is the contract between the schema and the services (the "
        "grant matrix, fixtures/grants.txt): a REVOKE, an RLS with no policy for the readers or "
        "a disabled guard trigger breaks a service, or opens data, silently, with no error at "
        "deploy. Measured on a scratch (the catalogs before and after the migration), so only "
        "`lint --database-url`, `apply --dry-run` and `apply` see it: plain `lint`, without a "
        "server, cannot. The finding is on the first statement naming the object, else line 1; "
        "its failing cases are server tests (tests/test_lint_access.py)"
    ),
    fix=(
        "keep the runtime roles' grants as the matrix says (grant the new object its readers, "
        "add a policy for every role that reads the table before enabling RLS); if the change "
        "is intended, waive it on that statement with `-- gordon:allow access-contract "
        "<reason>` and update fixtures/grants.txt"
    ),
    fails=(),
    passes=(
        "CREATE TABLE trading.run_notes (run_id bigint, note text);\n"
        "GRANT SELECT ON trading.run_notes TO gordon_api;",
    ),
    sites=frozenset({"access_change"}),
    check=check,
    rehearsed=True,
)
