"""The replayed catalog's copy: a file linted on its own after the bundle must not change what
the next file sees."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from gordon_migrate.core import bundle
from gordon_migrate.lint import lint
from gordon_migrate.lint.analyze import Catalog, ForeignKey


def _filled() -> Catalog:
    catalog = Catalog()
    for f in fields(catalog):
        value = getattr(catalog, f.name)
        known = isinstance(value, dict | set | list | bool | int | str | tuple)
        assert known, f"{f.name}: copy() knows containers (copied) and immutable values"
    catalog.relations["trading.fills"] = "table"
    catalog.indexes["trading.fills_pkey"] = "trading.fills"
    catalog.schemas.add("trading")
    catalog.not_null_checks[("trading.fills", "venue")] = True
    catalog.check_columns[("trading.fills", "fills_venue_nn")] = "venue"
    catalog.columns[("trading.fills", "venue")] = ("text", ())
    catalog.foreign_keys.append(ForeignKey("trading.fills", "fk", ("order_id",), "trading.orders"))
    catalog.owned_sequences["trading.fills_id_seq"] = ("trading.fills", "id")
    catalog.view_sources["trading.v"] = {"trading.fills"}
    catalog.statistics["trading.s"] = "trading.fills"
    catalog.primary_keys["trading.fills"] = ("id",)
    catalog.functions["trading.f"] = []
    return catalog


def test_a_copy_shares_no_container_with_its_original() -> None:
    original = _filled()
    clone = original.copy()
    assert clone == original
    for f in fields(original):
        value = getattr(original, f.name)
        if isinstance(value, dict | set | list):
            assert getattr(clone, f.name) is not value, f.name
    assert clone.view_sources["trading.v"] is not original.view_sources["trading.v"]
    clone.view_sources["trading.v"].add("trading.orders")
    assert clone.functions["trading.f"] is not original.functions["trading.f"]
    clone.relations.pop("trading.fills")
    clone.foreign_keys.clear()
    assert original == _filled()


def test_new_files_are_each_linted_against_the_bundle_alone(tmp_path: Path) -> None:
    from gordon_migrate.lint import _run

    first = tmp_path / "0039_notes.sql"
    first.write_text(
        "CREATE TABLE trading.notes (a int);\nREVOKE ALL ON trading.notes FROM PUBLIC;\n"
    )
    second = tmp_path / "0040_tags.sql"
    second.write_text(
        "CREATE TABLE trading.tags (a int);\nREVOKE ALL ON trading.tags FROM PUBLIC;\n"
    )
    drafts = [bundle.Migration(39, "notes", first, first.read_bytes())]
    drafts.append(bundle.Migration(40, "tags", second, second.read_bytes()))
    context = bundle.load()
    linted = {m.version: linter.catalog for m, linter in _run(drafts, context, None, None)}
    assert "trading.notes" in linted[39].relations and "trading.tags" not in linted[39].relations
    assert "trading.tags" in linted[40].relations and "trading.notes" not in linted[40].relations
    assert not lint(drafts, context).failing
