"""The kinds of object drift-check names, and how their keys and privileges read.

A snapshot line's object is a key: ``KIND NAME`` (``table trading.fills``, ``materialized
view s.v``, ``column trading.fills.fee``), the kind one to four words as the snapshot (or
``pg_identify_object``) names it. Privileges are keyed ``grant on KIND NAME to GRANTEE`` and
written as privilege text (``INSERT, SELECT WITH GRANT OPTION; UPDATE GRANTED BY r``). Each
is written by a ``format_`` function here and read back by its ``parse_`` twin, and ``KINDS``
says, once, what the snapshot, the comparison and the fixer know of every kind.

Names are identifiers as ``%I`` writes them, or ``pg_identify_object``'s identities: none
starts with the words that would make its kind a longer one (``operator`` and ``class``), so
the longest kind a key starts with is its kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple

#: How a kind's name reads: ``identifier`` (``quote_ident``: a schema, an extension),
#: ``qualified`` (``schema.name``), ``part`` (``schema.owner.name``: the last identifier is the
#: part's own, the rest its relation, type or domain), ``routine`` (``schema.name(argument
#: types)``), ``identity`` (``pg_identify_object``'s), ``this database`` (``<this database>``).
Keying = Literal["identifier", "qualified", "part", "routine", "identity", "this database"]
#: What parts are named after (``compare`` folds a one-sided owner's parts into it).
Family = Literal["relation", "type", "domain"]


@dataclass(frozen=True)
class Kind:
    """One kind of object, as its keys name it, and what drift-check does with one."""

    name: str
    keyed: Keying
    #: ``GRANT ... ON <grant> name`` (``None``: no GRANT names this kind).
    grant: str | None = None
    #: Its privileges are a relation's: ``ALL`` stands for every table privilege.
    relation: bool = False
    #: ``DROP <drop> name``: it holds no data, an unexpected one is dropped.
    drop: str | None = None
    #: ``ALTER <alter> name OWNER TO``: its owner is restored alone.
    alter: str | None = None
    #: A missing or unexpected one takes its parts of this family with it.
    owns: Family | None = None
    #: A part of an object of this family, named after it (an index: by its definition).
    part_of: Family | None = None
    #: Goes whole, or comes back whole with its migration, with what belongs to it (its
    #: privileges, a publication's members): ``fix.identity``.
    whole: bool = False
    #: ``ALTER EXTENSION ... ADD|DROP`` names it by its kind's words.
    extension_member: bool = False


#: The kinds the fix script drops, in the order it drops them: what uses an object before the
#: object itself, the schemas at the very end (dropped RESTRICT, once emptied).
_DROPPED_IN_ORDER = (
    Kind("trigger", "part", part_of="relation", whole=True),
    Kind(
        "event trigger",
        "identity",
        drop="EVENT TRIGGER",
        alter="EVENT TRIGGER",
        whole=True,
        extension_member=True,
    ),
    Kind("policy", "part", part_of="relation", whole=True),
    Kind("rule", "part", part_of="relation", whole=True),
    Kind("publication relation", "identity", whole=True),
    Kind("publication namespace", "identity", whole=True),
    Kind(
        "publication",
        "identity",
        drop="PUBLICATION",
        alter="PUBLICATION",
        whole=True,
        extension_member=True,
    ),
    Kind("subscription", "identity", drop="SUBSCRIPTION", whole=True, extension_member=True),
    Kind("user mapping", "identity", whole=True),
    Kind("cast", "identity", drop="CAST", whole=True, extension_member=True),
    Kind("transform", "identity", drop="TRANSFORM", whole=True, extension_member=True),
    Kind("operator class", "identity", drop="OPERATOR CLASS", whole=True, extension_member=True),
    Kind("operator family", "identity", drop="OPERATOR FAMILY", whole=True, extension_member=True),
    Kind(
        "operator", "identity", drop="OPERATOR", alter="OPERATOR", whole=True, extension_member=True
    ),
    Kind("index", "qualified", drop="INDEX", part_of="relation", whole=True, extension_member=True),
    Kind(
        "statistics",
        "qualified",
        drop="STATISTICS",
        alter="STATISTICS",
        whole=True,
        extension_member=True,
    ),
    Kind(
        "view",
        "qualified",
        grant="TABLE",
        relation=True,
        drop="VIEW",
        alter="VIEW",
        owns="relation",
        whole=True,
        extension_member=True,
    ),
    Kind(
        "materialized view",
        "qualified",
        grant="TABLE",
        relation=True,
        drop="MATERIALIZED VIEW",
        alter="MATERIALIZED VIEW",
        owns="relation",
        whole=True,
        extension_member=True,
    ),
    Kind(
        "aggregate",
        "routine",
        drop="AGGREGATE",
        alter="AGGREGATE",
        whole=True,
        extension_member=True,
    ),
    Kind(
        "function",
        "routine",
        grant="FUNCTION",
        drop="FUNCTION",
        alter="FUNCTION",
        whole=True,
        extension_member=True,
    ),
    Kind(
        "procedure",
        "routine",
        grant="PROCEDURE",
        drop="PROCEDURE",
        alter="PROCEDURE",
        whole=True,
        extension_member=True,
    ),
    Kind("window function", "routine", drop="FUNCTION", whole=True, extension_member=True),
    Kind(
        "conversion",
        "identity",
        drop="CONVERSION",
        alter="CONVERSION",
        whole=True,
        extension_member=True,
    ),
    Kind(
        "collation",
        "identity",
        drop="COLLATION",
        alter="COLLATION",
        whole=True,
        extension_member=True,
    ),
    Kind(
        "text search configuration",
        "identity",
        drop="TEXT SEARCH CONFIGURATION",
        alter="TEXT SEARCH CONFIGURATION",
        whole=True,
        extension_member=True,
    ),
    Kind(
        "text search dictionary",
        "identity",
        drop="TEXT SEARCH DICTIONARY",
        alter="TEXT SEARCH DICTIONARY",
        whole=True,
        extension_member=True,
    ),
    Kind(
        "text search template",
        "identity",
        drop="TEXT SEARCH TEMPLATE",
        whole=True,
        extension_member=True,
    ),
    Kind(
        "text search parser",
        "identity",
        drop="TEXT SEARCH PARSER",
        whole=True,
        extension_member=True,
    ),
    Kind(
        "domain",
        "qualified",
        grant="DOMAIN",
        drop="DOMAIN",
        alter="DOMAIN",
        owns="domain",
        whole=True,
        extension_member=True,
    ),
    Kind(
        "type",
        "qualified",
        grant="TYPE",
        drop="TYPE",
        alter="TYPE",
        owns="type",
        whole=True,
        extension_member=True,
    ),
    Kind(
        "language", "identity", grant="LANGUAGE", drop="LANGUAGE", whole=True, extension_member=True
    ),
    Kind(
        "server",
        "identity",
        grant="FOREIGN SERVER",
        drop="SERVER",
        whole=True,
        extension_member=True,
    ),
    Kind(
        "foreign-data wrapper",
        "identity",
        grant="FOREIGN DATA WRAPPER",
        drop="FOREIGN DATA WRAPPER",
        whole=True,
        extension_member=True,
    ),
    Kind("access method", "identity", drop="ACCESS METHOD", whole=True, extension_member=True),
    # An extension can own tables (data): never dropped by the script, ranked all the same.
    Kind("extension", "identifier"),
    Kind(
        "schema",
        "identifier",
        grant="SCHEMA",
        drop="SCHEMA",
        alter="SCHEMA",
        whole=True,
        extension_member=True,
    ),
)
#: The kinds never dropped (they hold data, or go with what they belong to).
_NEVER_DROPPED = (
    Kind(
        "table",
        "qualified",
        grant="TABLE",
        relation=True,
        alter="TABLE",
        owns="relation",
        whole=True,
        extension_member=True,
    ),
    # Not ``whole``: what belongs to an unexpected foreign table keeps its own fixes.
    Kind(
        "foreign table",
        "qualified",
        grant="TABLE",
        relation=True,
        alter="FOREIGN TABLE",
        owns="relation",
        extension_member=True,
    ),
    Kind(
        "sequence",
        "qualified",
        grant="SEQUENCE",
        alter="SEQUENCE",
        whole=True,
        extension_member=True,
    ),
    Kind("column", "part", part_of="relation", whole=True),
    Kind("attribute", "part", part_of="type", whole=True),
    Kind("constraint", "part", part_of="relation", whole=True),
    Kind("domain constraint", "part", part_of="domain", whole=True),
    Kind("operator of access method", "identity", whole=True),
    Kind("function of access method", "identity", whole=True),
    Kind("database", "this database", grant="DATABASE"),
    Kind("parameter ACL", "identity", grant="PARAMETER"),
)
KINDS: dict[str, Kind] = {kind.name: kind for kind in (*_DROPPED_IN_ORDER, *_NEVER_DROPPED)}
_DROP_RANK = {kind.name: rank for rank, kind in enumerate(_DROPPED_IN_ORDER)}
#: The kinds whose privileges are a relation's.
RELATION_KINDS = frozenset(kind.name for kind in KINDS.values() if kind.relation)


def kind_of(name: str) -> Kind:
    """The kind named ``name``; one drift-check does not know has no words and no flags."""
    return KINDS.get(name) or Kind(name, "identity")


def drop_rank(kind: str) -> int:
    """Where the fix script drops an object of ``kind``: after every lower rank (an unknown
    kind after every known one)."""
    return _DROP_RANK.get(kind, len(_DROPPED_IN_ORDER))


# --- keys ------------------------------------------------------------------------------------


def _longer_kinds() -> dict[str, tuple[str, ...]]:
    """First word -> the kinds of several words it starts, longest first, each with its space."""
    out: dict[str, tuple[str, ...]] = {}
    for name in sorted(KINDS, key=lambda name: -name.count(" ")):
        if " " in name:
            first = name.partition(" ")[0]
            out[first] = (*out.get(first, ()), f"{name} ")
    return out


_LONGER = _longer_kinds()


def format_key(kind: str, name: str) -> str:
    """``table``, ``trading.fills`` -> ``table trading.fills``."""
    return f"{kind} {name}"


def parse_key(key: str) -> tuple[str, str]:
    """``materialized view s.v`` -> (``materialized view``, ``s.v``): the longest kind of
    ``KINDS`` the key starts with; else its first word (a kind drift-check does not know)."""
    first, _, name = key.partition(" ")
    # Most keys start with a kind of one word that begins no longer one: one split in C.
    for prefix in _LONGER.get(first, ()):
        if key.startswith(prefix):
            return prefix[:-1], key[len(prefix) :]
    return first, name


def split_last(qualified: str) -> tuple[str, str]:
    """``schema.table.name`` (identifiers as ``%I`` writes them) -> (``schema.table``,
    ``name``): the last identifier, which may be quoted and contain dots. A part's name is
    (what it belongs to, its own name); a qualified name (schema, name)."""
    if qualified.endswith('"'):
        i = len(qualified) - 2
        while i >= 0:
            if qualified[i] == '"' and (i == 0 or qualified[i - 1] != '"'):
                break
            if qualified[i] == '"':
                i -= 2
                continue
            i -= 1
        return qualified[: max(i - 1, 0)], qualified[i:]
    head, _, last = qualified.rpartition(".")
    return head, last


#: Prefix of every object of the built-ins check: PostgreSQL's, not Gordon's.
BUILT_IN = "built-in: "
#: Prefix of an extension's member: ``member of extension plpgsql: function f()``.
MEMBER_OF = "member of extension "
_GRANT_ON = "grant on "
_TO = " to "
_DEFAULTS_OF = "default privileges of "
_IN_SCHEMA = " in schema "
_IN_ALL_SCHEMAS = " in all schemas"


def format_member_key(extension: str, kind: str, identity: str) -> str:
    return f"{MEMBER_OF}{extension}: {format_key(kind, identity)}"


def parse_member_key(key: str) -> tuple[str, str, str]:
    """(extension, kind, identity) of ``format_member_key``'s key."""
    extension, _, member = key.removeprefix(MEMBER_OF).partition(": ")
    return (extension, *parse_key(member))


class GrantKey(NamedTuple):
    """``grant on KIND NAME to GRANTEE``: one grantee's privileges on one object."""

    kind: str
    name: str
    grantee: str

    @property
    def target(self) -> str:
        """The object's own key (``table trading.fills``)."""
        return format_key(self.kind, self.name)


def format_grant_key(kind: str, name: str, grantee: str) -> str:
    return f"{_GRANT_ON}{kind} {name}{_TO}{grantee}"


def split_grantee(key: str) -> tuple[str, str | None]:
    """(what is granted, to whom) of a privilege line's key; ``None``: to nobody (an emptied
    default ACL). The grantee is what follows the last `` to ``: an object's name may hold one,
    quoted."""
    target, found, grantee = key.rpartition(_TO)
    return (target, grantee) if found else (key, None)


def parse_grant_key(key: str) -> GrantKey | None:
    """``format_grant_key``'s parts; ``None`` when ``key`` is not a grant's."""
    if not key.startswith(_GRANT_ON):
        return None
    target, grantee = split_grantee(key.removeprefix(_GRANT_ON))
    if grantee is None:
        return None
    return GrantKey(*parse_key(target), grantee)


class DefaultPrivilegesKey(NamedTuple):
    """``default privileges of OWNER in schema S on OBJECTS to GRANTEE``."""

    owner: str
    #: ``None``: in all schemas.
    schema: str | None
    #: As ALTER DEFAULT PRIVILEGES words them: ``tables``, ``functions``...
    objects: str
    #: ``None``: the emptied default ACL (its privileges read ``none for anyone``).
    grantee: str | None


def format_default_privileges_key(key: DefaultPrivilegesKey) -> str:
    where = _IN_ALL_SCHEMAS if key.schema is None else f"{_IN_SCHEMA}{key.schema}"
    text = f"{_DEFAULTS_OF}{key.owner}{where} on {key.objects}"
    return text if key.grantee is None else f"{text}{_TO}{key.grantee}"


def parse_default_privileges_key(key: str) -> DefaultPrivilegesKey | None:
    """``format_default_privileges_key``'s parts; ``None`` when ``key`` is not one."""
    if not key.startswith(_DEFAULTS_OF):
        return None
    rest, grantee = split_grantee(key.removeprefix(_DEFAULTS_OF))
    rest, _, objects = rest.rpartition(" on ")
    if _IN_SCHEMA in rest:
        owner, _, schema = rest.partition(_IN_SCHEMA)
        return DefaultPrivilegesKey(owner, schema, objects, grantee)
    return DefaultPrivilegesKey(rest.removesuffix(_IN_ALL_SCHEMAS), None, objects, grantee)


# --- privilege text ----------------------------------------------------------------------------

#: The privileges of an emptied default ACL, and of nothing at all.
NONE_FOR_ANYONE = "none for anyone"
_GRANTABLE = " WITH GRANT OPTION"
_GRANTED_BY = " GRANTED BY "


class Privileges(NamedTuple):
    """What one grantor gave one grantee, with or without grant option: one part of a
    privilege text (``INSERT, SELECT WITH GRANT OPTION GRANTED BY gordon_x``)."""

    #: As written: ``ALL`` first, then alphabetical (``grants`` orders them).
    names: tuple[str, ...]
    grantable: bool = False
    #: ``""``: the object's owner.
    grantor: str = ""


def format_privileges(parts: Iterable[Privileges]) -> str:
    """The parts joined by ``; ``; no part at all reads ``none for anyone``."""
    texts = []
    for names, grantable, grantor in parts:
        text = ", ".join(names)
        if grantable:
            text += _GRANTABLE
        if grantor:
            text += f"{_GRANTED_BY}{grantor}"
        texts.append(text)
    return "; ".join(texts) if texts else NONE_FOR_ANYONE


def parse_privileges(text: str | None) -> tuple[Privileges, ...]:
    """``format_privileges``'s parts; none for ``none for anyone``, ``""`` or ``None`` (an
    object absent on that side)."""
    out = []
    for part in (text or "").split("; "):
        head, _, grantor = part.partition(_GRANTED_BY)
        if not head or head == NONE_FOR_ANYONE:
            continue
        grantable = head.endswith(_GRANTABLE)
        names = tuple(head.removesuffix(_GRANTABLE).split(", "))
        out.append(Privileges(names, grantable, grantor))
    return tuple(out)
