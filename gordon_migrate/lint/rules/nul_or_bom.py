"""nul-or-bom: NUL byte or byte-order mark."""

from __future__ import annotations

from collections.abc import Iterator

from gordon_migrate.lint.rules import Facts, Hit, Rule, Site


def check(site: Site, facts: Facts) -> Iterator[Hit]:
    data = site.node
    if isinstance(data, bytes) and (b"\x00" in data or data.startswith(b"\xef\xbb\xbf")):
        at = "a byte-order mark" if data.startswith(b"\xef\xbb\xbf") else "a NUL byte"
        yield Hit(f"the file contains {at}")


RULE = Rule(
    id="nul-or-bom",
    order=220,
    severity="error",
    summary="NUL byte or byte-order mark",
    why=(
        "a NUL byte or a byte-order mark changes the checksum invisibly and confuses "
        "editors, diffs and psql"
    ),
    fix=("save the file as UTF-8 without BOM and remove the NUL bytes"),
    fails=(
        "\ufeffSELECT 1;",
        "SELECT 1;\x00",
    ),
    passes=("SELECT 1;",),
    sites=frozenset({"file"}),
    check=check,
)
