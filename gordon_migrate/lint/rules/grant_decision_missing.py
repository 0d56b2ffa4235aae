"""grant-decision-missing: new table/view without GRANT/REVOKE."""

from __future__ import annotations

from collections.abc import Iterator

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    relation = site.relation
    if relation is None:
        return
    schema = relation.split(".", 1)[0]
    if relation not in facts.decided and schema not in facts.decided_schemas:
        yield Hit(
            f"new {facts.catalog.relations.get(relation, 'relation')} {relation} has no "
            "GRANT or REVOKE in this migration",
            relation,
        )


RULE = Rule(
    id="grant-decision-missing",
    order=240,
    severity="error",
    summary="new table/view without GRANT/REVOKE",
    why=(
        "the grant matrix is the security contract: every new relation in a Gordon schema "
        "needs an explicit GRANT or REVOKE in the migration that creates it"
    ),
    fix=(
        "GRANT to the runtime roles that need it, or REVOKE ALL ... FROM PUBLIC to record "
        "that none does; then `gordon-migrate fixtures update`"
    ),
    fails=(
        "CREATE SCHEMA bus;\nCREATE TABLE bus.events (id bigint);",
        "CREATE SCHEMA bus;\nCREATE VIEW bus.recent AS SELECT 1 AS one;",
    ),
    passes=(
        (
            "CREATE SCHEMA bus;\n"
            "CREATE TABLE bus.events (id bigint);\n"
            "GRANT SELECT ON bus.events TO gordon_api;"
        ),
        (
            "CREATE SCHEMA bus;\n"
            "CREATE TABLE bus.events (id bigint);\n"
            "REVOKE ALL ON bus.events FROM PUBLIC;"
        ),
        (
            "CREATE SCHEMA bus;\n"
            "CREATE TABLE bus.events (id bigint);\n"
            "REVOKE ALL ON ALL TABLES IN SCHEMA bus FROM PUBLIC;"
        ),
    ),
    sites=frozenset({"new_relation"}),
    check=check,
)
