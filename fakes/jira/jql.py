"""A small JQL subset: tokenizer, recursive-descent parser and evaluator.

The fake Jira needs real JQL semantics for the few clauses the gateway relies
on (the sweeper's ``labels = X AND statusCategory = Done AND updated >= "-24h"``,
the orphan lookup by label or ``creator = currentUser()``, key and id lists;
``currentUser()`` is the account the request authenticates as). Anything outside the subset is
rejected with a message naming the unsupported part, as Jira does for syntax it
cannot parse, so a client bug shows up as a 400 instead of a silently wrong
result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

__all__ = [
    "JqlError",
    "JqlQuery",
    "JqlRecord",
    "OrderKey",
    "parse_jql",
]


class JqlError(ValueError):
    """A JQL string that is malformed, unbounded where that matters, or outside the subset."""


@dataclass(frozen=True)
class JqlRecord:
    """The searchable view of one issue (what Jira's index holds)."""

    id: int
    key: str
    project_key: str
    project_id: str
    project_name: str
    issue_type: str
    status: str
    status_id: str
    category_key: str
    category_name: str
    category_id: int
    created: datetime
    updated: datetime
    labels: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    """Every key the issue has had (moves keep the old ones resolvable)."""
    duedate: date | None = None
    assignee: tuple[str, ...] = ()
    """Identifiers of the assignee (account id, email); empty when unassigned."""
    creator: tuple[str, ...] = ()
    """Identifiers of the user who created the issue (account id, email)."""
    resolution: str | None = None


@dataclass(frozen=True)
class OrderKey:
    """One ``ORDER BY`` term."""

    field: str
    descending: bool = False


# --------------------------------------------------------------------- tokens

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<op>!=|!~|>=|<=|=|>|<|~)
  | (?P<dq>"(?:[^"\\]|\\.)*")
  | (?P<sq>'(?:[^'\\]|\\.)*')
  | (?P<word>[A-Za-z0-9_\-+./:@\[\]]+)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", ",", "op", "str", "word", "eof"
    text: str
    pos: int

    def is_kw(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


def _unescape(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw[1:-1])


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            if text[pos] in "\"'":
                raise JqlError(f"Error in the JQL Query: unterminated quote at position {pos}.")
            raise JqlError(
                f"Error in the JQL Query: the character '{text[pos]}' at position {pos} "
                "is a reserved JQL character or outside the supported subset."
            )
        kind = m.lastgroup or ""
        value = m.group()
        if kind == "ws":
            pass
        elif kind in ("lparen", "rparen", "comma"):
            tokens.append(_Token({"lparen": "(", "rparen": ")", "comma": ","}[kind], value, pos))
        elif kind == "op":
            tokens.append(_Token("op", value, pos))
        elif kind in ("dq", "sq"):
            tokens.append(_Token("str", _unescape(value), pos))
        else:
            tokens.append(_Token("word", value, pos))
        pos = m.end()
    tokens.append(_Token("eof", "", len(text)))
    return tokens


# ------------------------------------------------------------------ fields

_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_RELATIVE_RE = re.compile(r"^([-+]?)\s*((?:\d+\s*[wdhm]\s*)+)$")
_RELATIVE_PART_RE = re.compile(r"(\d+)\s*([wdhm])")
_UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}

_FIELD_ALIASES = {
    "labels": "labels",
    "label": "labels",
    "statuscategory": "statusCategory",
    "status": "status",
    "project": "project",
    "issuekey": "issuekey",
    "key": "issuekey",
    "issue": "issuekey",
    "id": "issuekey",
    "created": "created",
    "createddate": "created",
    "updated": "updated",
    "updateddate": "updated",
    "duedate": "duedate",
    "due": "duedate",
    "issuetype": "issuetype",
    "type": "issuetype",
    "assignee": "assignee",
    "creator": "creator",
    "resolution": "resolution",
}
_KNOWN_UNSUPPORTED_FIELDS = frozenset(
    {
        "summary",
        "description",
        "text",
        "comment",
        "priority",
        "reporter",
        "sprint",
        "component",
        "fixversion",
        "affectedversion",
        "parent",
        "watcher",
        "resolved",
        "resolutiondate",
        "lastviewed",
        "environment",
        "attachments",
        "filter",
    }
)
_EQUALITY = ("=", "!=", "in", "not in")
_EMPTYABLE = ("is", "is not")
_ORDERING = (">", ">=", "<", "<=")
_FIELD_OPERATORS: dict[str, tuple[str, ...]] = {
    "labels": _EQUALITY + _EMPTYABLE,
    "statusCategory": _EQUALITY,
    "status": _EQUALITY,
    "project": _EQUALITY,
    "issuekey": _EQUALITY + _ORDERING,
    "created": ("=", "!=", *_ORDERING),
    "updated": ("=", "!=", *_ORDERING),
    "duedate": ("=", "!=", *_ORDERING, *_EMPTYABLE),
    "issuetype": _EQUALITY,
    "assignee": _EQUALITY + _EMPTYABLE,
    "creator": _EQUALITY + _EMPTYABLE,
    "resolution": _EQUALITY + _EMPTYABLE,
}
_ORDER_FIELDS = {
    "created": "created",
    "updated": "updated",
    "key": "key",
    "issuekey": "key",
    "id": "id",
    "project": "project",
    "status": "status",
    "duedate": "duedate",
}
_KEY_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)-(\d+)$")


def _norm(text: str) -> str:
    return text.strip().casefold()


def _parse_relative(text: str) -> timedelta | None:
    m = _RELATIVE_RE.match(text.strip())
    if m is None:
        return None
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _RELATIVE_PART_RE.findall(m.group(2)))
    return timedelta(seconds=-seconds if m.group(1) == "-" else seconds)


def _parse_date_value(field_name: str, text: str) -> Callable[[datetime], datetime]:
    """Turn a date literal into a function of "now" (relative dates follow the clock)."""
    delta = _parse_relative(text)
    if delta is not None:
        return lambda now: now + delta
    for fmt in _DATE_FORMATS:
        try:
            absolute = datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        return lambda _now: absolute
    raise JqlError(
        f"Date value '{text}' for field '{field_name}' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
        "or a period format e.g. '-5d', '4w 2d'."
    )


def _key_sort(key: str) -> tuple[str, int]:
    m = _KEY_RE.match(key)
    return (m.group(1).upper(), int(m.group(2))) if m else (key.upper(), 0)


# -------------------------------------------------------------------- AST

Predicate = Callable[[JqlRecord, datetime], bool]


@dataclass(frozen=True)
class _Value:
    text: str
    quoted: bool
    empty: bool = False  # the EMPTY / NULL keyword


def _clause(field_name: str, op: str, values: list[_Value]) -> Predicate:
    """Compile one ``field op value(s)`` clause into a predicate."""
    if field_name in ("created", "updated", "duedate"):
        return _date_clause(field_name, op, values)
    if op in ("is", "is not"):
        want_empty = op == "is"

        def is_empty(rec: JqlRecord) -> bool:
            if field_name == "labels":
                return not rec.labels
            if field_name == "assignee":
                return not rec.assignee
            if field_name == "creator":
                return not rec.creator
            return rec.resolution is None

        return lambda rec, _now: is_empty(rec) == want_empty
    if field_name == "issuekey" and op in _ORDERING:
        return _key_order_clause(op, values)

    wanted = [_norm(v.text) for v in values if not v.empty]
    wants_empty = any(v.empty for v in values)
    if field_name == "statusCategory":
        valid = {"to do", "new", "2", "in progress", "indeterminate", "4", "done", "3"}
        for v in values:
            if not v.empty and _norm(v.text) not in valid:
                raise JqlError(
                    f"The value '{v.text}' does not exist for the field 'statusCategory'."
                )

    def candidates(rec: JqlRecord) -> set[str]:
        if field_name == "labels":
            return {_norm(x) for x in rec.labels}
        if field_name == "statusCategory":
            return {_norm(rec.category_key), _norm(rec.category_name), str(rec.category_id)}
        if field_name == "status":
            return {_norm(rec.status), _norm(rec.status_id)}
        if field_name == "project":
            return {_norm(rec.project_key), _norm(rec.project_name), _norm(rec.project_id)}
        if field_name == "issuekey":
            return {str(rec.id), *(_norm(k) for k in (rec.key, *rec.keys))}
        if field_name == "issuetype":
            return {_norm(rec.issue_type)}
        if field_name == "assignee":
            return {_norm(x) for x in rec.assignee}
        if field_name == "creator":
            return {_norm(x) for x in rec.creator}
        # resolution: Jira spells "no resolution" as Unresolved
        return {_norm(rec.resolution)} if rec.resolution else {"unresolved"}

    def has_value(rec: JqlRecord) -> bool:
        if field_name == "labels":
            return bool(rec.labels)
        if field_name == "assignee":
            return bool(rec.assignee)
        if field_name == "creator":
            return bool(rec.creator)
        return True

    positive = op in ("=", "in")

    def predicate(rec: JqlRecord, _now: datetime) -> bool:
        have = candidates(rec)
        hit = any(w in have for w in wanted) or (wants_empty and not has_value(rec))
        if positive:
            return hit
        # Jira's != and NOT IN never match an issue whose field has no value.
        return has_value(rec) and not hit

    return predicate


def _date_clause(field_name: str, op: str, values: list[_Value]) -> Predicate:
    if op in ("is", "is not"):
        want_empty = op == "is"
        return lambda rec, _now: (rec.duedate is None) == want_empty
    if len(values) != 1 or values[0].empty:
        raise JqlError(f"The operator '{op}' for field '{field_name}' needs a single date value.")
    at = _parse_date_value(field_name, values[0].text)
    compare: dict[str, Callable[[datetime, datetime], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
    }
    cmp = compare[op]

    def predicate(rec: JqlRecord, now: datetime) -> bool:
        if field_name == "duedate":
            if rec.duedate is None:
                return False
            actual = datetime(rec.duedate.year, rec.duedate.month, rec.duedate.day, tzinfo=UTC)
        else:
            actual = rec.created if field_name == "created" else rec.updated
        return cmp(actual, at(now))

    return predicate


def _key_order_clause(op: str, values: list[_Value]) -> Predicate:
    if len(values) != 1:
        raise JqlError(f"The operator '{op}' for field 'issuekey' needs a single value.")
    text = values[0].text.strip()
    if text.isdigit():
        bound_id = int(text)
        id_cmp = {
            ">": lambda a: a > bound_id,
            ">=": lambda a: a >= bound_id,
            "<": lambda a: a < bound_id,
            "<=": lambda a: a <= bound_id,
        }[op]
        return lambda rec, _now: id_cmp(rec.id)
    if not _KEY_RE.match(text):
        raise JqlError(f"The issue key '{text}' for field 'issuekey' is invalid.")
    project, number = _key_sort(text)

    def predicate(rec: JqlRecord, _now: datetime) -> bool:
        rec_project, rec_number = _key_sort(rec.key)
        if rec_project != project:
            return False
        return {
            ">": rec_number > number,
            ">=": rec_number >= number,
            "<": rec_number < number,
            "<=": rec_number <= number,
        }[op]

    return predicate


# ----------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str, current_user: str | None = None) -> None:
        self.tokens = _tokenize(text)
        self.i = 0
        self.current_user = current_user

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def accept(self, word: str) -> bool:
        """Consume the current token if it is the keyword ``word``; say whether it was."""
        if not self.tok.is_kw(word):
            return False
        self.advance()
        return True

    def expect(self, kind: str, what: str) -> _Token:
        if self.tok.kind != kind:
            raise JqlError(
                f"Error in the JQL Query: Expecting {what} but got "
                f"'{self.tok.text or 'end of query'}' at position {self.tok.pos}."
            )
        return self.advance()

    def parse(self) -> tuple[Predicate | None, list[OrderKey]]:
        where: Predicate | None = None
        if not (self.tok.kind == "eof" or self._at_order_by()):
            where = self.or_expr()
        order: list[OrderKey] = []
        if self._at_order_by():
            self.advance()
            self.advance()
            order = self.order_list()
        if self.tok.kind != "eof":
            raise JqlError(
                f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got "
                f"'{self.tok.text}' at position {self.tok.pos}."
            )
        return where, order

    def _at_order_by(self) -> bool:
        nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
        return self.tok.is_kw("order") and nxt is not None and nxt.is_kw("by")

    def or_expr(self) -> Predicate:
        return self._joined("or", self.and_expr, any)

    def and_expr(self) -> Predicate:
        return self._joined("and", self.not_expr, all)

    def _joined(
        self,
        keyword: str,
        operand: Callable[[], Predicate],
        combine: Callable[[Iterable[bool]], bool],
    ) -> Predicate:
        """Operands separated by ``keyword``; two or more hold when ``combine`` (any/all) says."""
        parts = [operand()]
        while self.accept(keyword):
            parts.append(operand())
        if len(parts) == 1:
            return parts[0]
        return lambda rec, now: combine(p(rec, now) for p in parts)

    def not_expr(self) -> Predicate:
        if self.accept("not"):
            inner = self.not_expr()
            return lambda rec, now: not inner(rec, now)
        return self.primary()

    def primary(self) -> Predicate:
        if self.tok.kind == "(":
            self.advance()
            inner = self.or_expr()
            self.expect(")", "')'")
            return inner
        return self.clause()

    def field_name(self, missing: Callable[[_Token], str]) -> _Token:
        """Consume a field name (a word or a quoted string); else JqlError(missing(token))."""
        if self.tok.kind not in ("word", "str"):
            raise JqlError(missing(self.tok))
        return self.advance()

    def clause(self) -> Predicate:
        tok = self.field_name(
            lambda tok: (
                f"Error in the JQL Query: Expecting a field name but got "
                f"'{tok.text or 'end of query'}' at position {tok.pos}."
            )
        )
        name = _FIELD_ALIASES.get(tok.text.lower())
        if name is None:
            if tok.text.lower().startswith("issue.property"):
                raise JqlError(
                    f"Field '{tok.text}' does not exist or you do not have permission to view "
                    "it. (Entity properties are only searchable when an Atlassian app "
                    "declares an index for them.)"
                )
            if tok.text.lower() in _KNOWN_UNSUPPORTED_FIELDS:
                raise JqlError(f"Field '{tok.text}' is not supported by this JQL subset.")
            raise JqlError(
                f"Field '{tok.text}' does not exist or you do not have permission to view it."
            )
        op = self.operator(tok.text)
        if op not in _FIELD_OPERATORS[name]:
            raise JqlError(
                f"The operator '{op.upper()}' is not supported by the '{tok.text}' field."
            )
        values = self.values(op)
        return _clause(name, op, values)

    def operator(self, field_name: str) -> str:
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            if tok.text in ("~", "!~"):
                raise JqlError(
                    f"The operator '{tok.text}' (text search) is not supported by this JQL subset."
                )
            return tok.text
        if self.accept("in"):
            return "in"
        if self.accept("is"):
            return "is not" if self.accept("not") else "is"
        if self.accept("not"):
            if self.accept("in"):
                return "not in"
            raise JqlError(
                f"Error in the JQL Query: Expecting 'IN' after 'NOT' at position {tok.pos}."
            )
        if tok.is_kw("was", "changed"):
            raise JqlError(
                f"The history operator '{tok.text.upper()}' is not supported by this JQL subset."
            )
        raise JqlError(
            f"Error in the JQL Query: Expecting operator after field '{field_name}' but got "
            f"'{tok.text or 'end of query'}' at position {tok.pos}."
        )

    def values(self, op: str) -> list[_Value]:
        if op in ("in", "not in"):
            self.expect("(", "'(' after IN")
            values = [self.value()]
            while self.tok.kind == ",":
                self.advance()
                values.append(self.value())
            self.expect(")", "')' or ','")
            return values
        value = self.value()
        if op in ("is", "is not") and not value.empty:
            raise JqlError("Error in the JQL Query: IS and IS NOT only accept EMPTY or NULL.")
        return [value]

    def value(self) -> _Value:
        tok = self.tok
        if tok.kind == "str":
            self.advance()
            return _Value(tok.text, quoted=True)
        if tok.kind == "word":
            self.advance()
            if self.tok.kind == "(":
                return self.function(tok)
            if tok.is_kw("empty", "null"):
                return _Value(tok.text, quoted=False, empty=True)
            if tok.is_kw("and", "or", "not", "in", "is", "order"):
                raise JqlError(
                    f"Error in the JQL Query: '{tok.text}' is a reserved word; quote it to use "
                    f"it as a value (position {tok.pos})."
                )
            return _Value(tok.text, quoted=False)
        raise JqlError(
            f"Error in the JQL Query: Expecting a value but got "
            f"'{tok.text or 'end of query'}' at position {tok.pos}."
        )

    def function(self, name: _Token) -> _Value:
        """A function call as a value: only ``currentUser()``, the searching account."""
        if name.text.lower() != "currentuser":
            raise JqlError(f"The JQL function '{name.text}()' is not supported by this subset.")
        self.expect("(", "'('")
        self.expect(")", "')': currentUser() takes no arguments")
        if self.current_user is None:
            raise JqlError("The JQL function 'currentUser()' needs a signed-in user.")
        return _Value(self.current_user, quoted=True)

    def order_list(self) -> list[OrderKey]:
        keys = [self.order_key()]
        while self.tok.kind == ",":
            self.advance()
            keys.append(self.order_key())
        return keys

    def order_key(self) -> OrderKey:
        tok = self.field_name(
            lambda tok: (
                "Error in the JQL Query: Expecting a field name after ORDER BY at "
                f"position {tok.pos}."
            )
        )
        name = _ORDER_FIELDS.get(tok.text.lower())
        if name is None:
            raise JqlError(f"Ordering by field '{tok.text}' is not supported by this JQL subset.")
        descending = False
        if self.tok.is_kw("asc", "desc"):
            descending = self.advance().text.lower() == "desc"
        return OrderKey(name, descending)


# ----------------------------------------------------------------- public


@dataclass(frozen=True)
class JqlQuery:
    """A parsed query: an optional restriction plus ordering."""

    text: str
    predicate: Predicate | None
    order_by: tuple[OrderKey, ...] = field(default_factory=tuple)

    @property
    def is_bounded(self) -> bool:
        """Whether the query restricts the issue set (Jira rejects unbounded searches)."""
        return self.predicate is not None

    def matches(self, record: JqlRecord, now: datetime) -> bool:
        """Evaluate the restriction; relative dates are taken from ``now``."""
        return self.predicate is None or self.predicate(record, now)

    def filter(self, records: Iterable[JqlRecord], now: datetime) -> list[JqlRecord]:
        """Matching records in the query's order."""
        return self.sort([r for r in records if self.matches(r, now)])

    def sort(self, records: Sequence[JqlRecord]) -> list[JqlRecord]:
        """Apply ``ORDER BY`` (stable); ties and unordered queries fall back to id ascending."""
        result = sorted(records, key=lambda r: r.id)
        for key in reversed(self.order_by):
            result.sort(key=_ORDER_GETTERS[key.field], reverse=key.descending)
        return result


_ORDER_GETTERS: dict[str, Callable[[JqlRecord], Any]] = {
    "created": lambda r: r.created,
    "updated": lambda r: r.updated,
    "key": lambda r: _key_sort(r.key),
    "id": lambda r: r.id,
    "project": lambda r: r.project_key.upper(),
    "status": lambda r: r.status.casefold(),
    "duedate": lambda r: (r.duedate is None, r.duedate or date.min),
}


def parse_jql(text: str, current_user: str | None = None) -> JqlQuery:
    """Parse ``text``; raise :class:`JqlError` naming the offending part.
    ``current_user`` is the account id ``currentUser()`` stands for (the caller)."""
    where, order = _Parser(text or "", current_user).parse()
    return JqlQuery(text=text or "", predicate=where, order_by=tuple(order))
