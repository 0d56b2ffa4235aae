"""Which NOTIFY channels the Gordon schemas can publish on, found statically.

Sources of a channel:
- the arguments of every trigger that calls ``ipc_notify_trigger()`` (its first argument is
  the channel: ``EXECUTE FUNCTION bus.ipc_notify_trigger('orders_new')``);
- literal channels in function bodies and rules: ``pg_notify('chan', ...)``, ``NOTIFY chan``,
  including inside dynamic SQL strings (``EXECUTE 'NOTIFY chan'``).

A channel that is not a literal (``pg_notify(v_channel, ...)``, ``format('NOTIFY %I', x)``)
cannot be checked against the allowlist: it is reported as undetermined, which fails the check.
The one exception is ``ipc_notify_trigger`` itself, whose channel is ``TG_ARGV[n]`` (directly
or through a variable assigned from it): its channels are its triggers' arguments.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from gordon_migrate.sql.split import comment_end

IPC_TRIGGER_FUNCTION = "ipc_notify_trigger"

# After one of these (or at the start), NOTIFY is a statement and not, say, a column name.
_STATEMENT_START = frozenset(
    {";", "(", "begin", "then", "else", "loop", "atomic", "do", "also", "instead"}
)
_PLAIN_CHANNEL = re.compile(r"^[a-z_][a-z0-9_$]*$")


@dataclass(frozen=True)
class Token:
    kind: str  # "ident" | "qident" | "string" | "number" | "operator" | "punct"
    value: str  # identifiers lower-cased, strings decoded
    text: str  # as written


@dataclass(frozen=True)
class Site:
    """One place that notifies: a literal ``channel``, or ``None`` with the code as written
    (and, in ``ipc_notify_trigger``, the index of the trigger argument it takes)."""

    channel: str | None
    code: str
    argv_index: int | None = None


def channel_label(channel: str) -> str:
    """A channel as an identifier would be written (quoted when case or characters need it)."""
    if _PLAIN_CHANNEL.match(channel):
        return channel
    return '"' + channel.replace('"', '""') + '"'


def tokens(text: str) -> list[Token]:
    """A forgiving SQL/PL/pgSQL lexer: comments dropped, strings and dollar quotes decoded.

    Never raises: an unterminated string or comment runs to the end of the text.
    """
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif (end := comment_end(text, i)) is not None:
            i = end
        elif ch in "eE" and text.startswith("'", i + 1):
            value, j = _quoted(text, i + 1, "'", backslash=True)
            out.append(Token("string", value, text[i:j]))
            i = j
        elif ch == "'":
            value, j = _quoted(text, i, "'", backslash=False)
            out.append(Token("string", value, text[i:j]))
            i = j
        elif ch == '"':
            value, j = _quoted(text, i, '"', backslash=False)
            out.append(Token("qident", value, text[i:j]))
            i = j
        elif ch == "$" and (tag := re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", text[i:])):
            delimiter = tag.group(0)
            start = i + len(delimiter)
            end = text.find(delimiter, start)
            j = n if end < 0 else end + len(delimiter)
            out.append(Token("string", text[start : n if end < 0 else end], text[i:j]))
            i = j
        elif ch.isalpha() or ch == "_":
            match = re.match(r"[A-Za-z_][A-Za-z0-9_$]*", text[i:])
            assert match is not None
            word = match.group(0)
            out.append(Token("ident", word.lower(), word))
            i += len(word)
        elif ch.isdigit():
            match = re.match(r"[0-9][0-9.eE_]*", text[i:])
            assert match is not None
            out.append(Token("number", match.group(0), match.group(0)))
            i += len(match.group(0))
        elif text.startswith("::", i) or text.startswith(":=", i):
            out.append(Token("punct", text[i : i + 2], text[i : i + 2]))
            i += 2
        elif operator := re.match(r"[+\-*/<>=~!@#%^&|`?]+", text[i:]):
            out.append(Token("operator", operator.group(0), operator.group(0)))
            i += len(operator.group(0))
        else:
            out.append(Token("punct", ch, ch))
            i += 1
    return out


def _quoted(text: str, i: int, quote: str, *, backslash: bool) -> tuple[str, int]:
    """Decode a quoted string starting at ``text[i] == quote``; return (value, end index)."""
    parts: list[str] = []
    j, n = i + 1, len(text)
    while j < n:
        ch = text[j]
        if backslash and ch == "\\" and j + 1 < n:
            parts.append(text[j + 1])
            j += 2
        elif ch == quote:
            if text.startswith(quote, j + 1):
                parts.append(quote)
                j += 2
            else:
                return "".join(parts), j + 1
        else:
            parts.append(ch)
            j += 1
    return "".join(parts), n


def _argument(toks: list[Token], start: int) -> tuple[list[Token], int]:
    """Tokens of one argument (or expression) from ``start`` up to the ``,``, ``)`` or ``;``
    that ends it."""
    depth, j = 0, start
    while j < len(toks):
        tok = toks[j]
        if tok.kind == "punct" and tok.value in "([":
            depth += 1
        elif tok.kind == "punct" and tok.value in ")]":
            if depth == 0:
                break
            depth -= 1
        elif tok.kind == "punct" and tok.value in ",;" and depth == 0:
            break
        j += 1
    return toks[start:j], j


def _code(toks: list[Token]) -> str:
    text = " ".join(t.text for t in toks)
    text = re.sub(r"\s*([()\[\],.]|::)\s*", r"\1", text).replace(",", ", ")
    return text if len(text) <= 80 else text[:77] + "..."


def _tg_argv_index(arg: list[Token], aliases: dict[str, int]) -> int | None:
    """``n`` when ``arg`` is ``TG_ARGV[n]`` (optionally cast) or a variable assigned from it."""
    core = arg
    if len(core) >= 2 and core[-2].text == "::":
        core = core[:-2]
    if (
        len(core) == 4
        and core[0].value == "tg_argv"
        and core[1].text == "["
        and core[2].kind == "number"
        and core[2].value.isdigit()
        and core[3].text == "]"
    ):
        return int(core[2].value)
    if len(core) == 1 and core[0].kind == "ident":
        return aliases.get(core[0].value)
    return None


def _tg_argv_aliases(toks: list[Token]) -> dict[str, int]:
    """Variables assigned straight from ``TG_ARGV[n]`` (``v := TG_ARGV[0]``, ``v text :=``)."""
    aliases: dict[str, int] = {}
    for j, tok in enumerate(toks):
        if not (tok.text == ":=" or (tok.kind == "ident" and tok.value == "default")):
            continue
        value, _ = _argument(toks, j + 1)
        index = _tg_argv_index(value, {})
        if index is None:
            continue
        k = j - 1  # back to the start of this declaration or statement
        while k >= 0 and toks[k].text != ";" and toks[k].value not in ("declare", "begin"):
            k -= 1
        if k + 1 < j and toks[k + 1].kind == "ident":
            aliases[toks[k + 1].value] = index
    return aliases


def sites(text: str, *, ipc_function: bool = False) -> list[Site]:
    """Every NOTIFY in ``text`` (a function body, a rule), in order.

    In ``ipc_notify_trigger`` (``ipc_function``), a channel taken from ``TG_ARGV[n]`` is a
    site with ``argv_index = n``: its channels are the triggers' arguments.
    """
    toks = tokens(text)
    aliases = _tg_argv_aliases(toks) if ipc_function else {}
    return list(_sites(toks, aliases, ipc_function))


def _sites(toks: list[Token], aliases: dict[str, int], ipc_function: bool) -> Iterator[Site]:
    for j, tok in enumerate(toks):
        prev = toks[j - 1].value if j else ";"
        if tok.kind == "ident" and tok.value == "pg_notify" and _next_is(toks, j, "("):
            arg, _ = _argument(toks, j + 2)
            code = f"pg_notify({_code(arg)}, ...)"
            channel = _literal(arg)
            index = _tg_argv_index(arg, aliases) if ipc_function else None
            yield Site(channel, code, index)
        elif tok.kind == "ident" and tok.value == "notify" and prev in _STATEMENT_START:
            following = toks[j + 1] if j + 1 < len(toks) else None
            if following is not None and following.kind in ("ident", "qident"):
                yield Site(following.value, f"NOTIFY {following.text}")
            else:
                yield Site(None, "NOTIFY " + (following.text if following else ""))
        elif tok.kind == "string" and "notify" in tok.value.lower():
            # Dynamic SQL: EXECUTE 'NOTIFY chan' is static, EXECUTE format('NOTIFY %I') is not.
            yield from _sites(tokens(tok.value), {}, False)


def _next_is(toks: list[Token], j: int, text: str) -> bool:
    return j + 1 < len(toks) and toks[j + 1].text == text


def _literal(arg: list[Token]) -> str | None:
    """The value of ``'chan'`` or ``'chan'::text``; ``None`` for anything computed."""
    if len(arg) == 1 and arg[0].kind == "string":
        return arg[0].value
    if len(arg) == 3 and arg[0].kind == "string" and arg[1].text == "::":
        return arg[0].value
    return None


def trigger_arguments(tgargs: bytes, nargs: int) -> list[str]:
    """``pg_trigger.tgargs``: each argument followed by a NUL byte."""
    return [part.decode("utf-8") for part in tgargs.split(b"\x00")[:nargs]]
