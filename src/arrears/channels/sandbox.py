"""The template sandbox: the one Jinja2 environment every message template (SMS, email,
push, call script, letter) is parsed and rendered in, and the allow-list check a
template must pass before it is saved or rendered.

A template is text with merge fields in it, nothing more. The check walks the parsed
template (``jinja2.nodes``) and accepts only: text, the documented merge fields
(``MERGE_FIELD_NAMES``) by name, constants, the filters in ``ALLOWED_FILTERS`` without
arguments, and ``~`` joins. Anything else (an attribute, an item, a call, an operator, a
loop, a global such as ``cycler`` or ``range``, a filter such as ``attr`` or ``format``,
``{% import %}``, ``{% include %}``, ``{% macro %}`` …) is a ``SandboxViolation`` naming
the rule, the line and the construct as written.

Conditions (``{% if %}``, ``a if b else c``) and ``{# comments #}`` are refused too: the
compliance linter reads the template's text, so a disclosure inside a condition that is
never true, or inside a comment, would pass the linter and never reach the debtor.

The environment is a second wall behind the check: Jinja2's immutable sandbox with no
globals, no tests, only the allowed filters, no attribute of any object readable and
nothing callable, and every operator refused at run time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from arrears.channels.fields import MERGE_FIELD_NAMES

# The filters docs/channels.md documents; each takes no argument and returns text.
ALLOWED_FILTERS = ("upper", "lower", "title", "capitalize", "trim", "escape", "e")

# What Jinja2 puts in every environment's globals, and the names it gives a template
# at run time: none of them is a merge field, each is a way out of the sandbox.
JINJA_GLOBALS = frozenset(
    {"range", "lipsum", "cycler", "joiner", "namespace", "dict", "self", "loop", "caller",
     "varargs", "kwargs", "super", "environment", "context", "config", "request"}
)  # fmt: skip

_FORMAT_METHODS = frozenset({"format", "format_map"})
_FORMAT_FILTERS = frozenset({"format", "attr", "map", "select", "reject"})

# Statement tags a template may never hold, as the author wrote them.
_STATEMENTS: dict[type[nodes.Node], str] = {
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from … import %}",
    nodes.Include: "{% include %}",
    nodes.Extends: "{% extends %}",
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.Block: "{% block %}",
    nodes.Assign: "{% set %}",
    nodes.AssignBlock: "{% set %}…{% endset %}",
    nodes.With: "{% with %}",
    nodes.FilterBlock: "{% filter %}",
    nodes.For: "{% for %}",
    nodes.ScopedEvalContextModifier: "{% autoescape %}",
    nodes.EvalContextModifier: "{% autoescape %}",
    nodes.ExprStmt: "{% do %}",
    nodes.Scope: "a scope",
    nodes.If: "{% if %}",
}

_OPERATORS = {
    nodes.Add: "+", nodes.Sub: "-", nodes.Mul: "*", nodes.Div: "/", nodes.FloorDiv: "//",
    nodes.Mod: "%", nodes.Pow: "**", nodes.Neg: "unary -", nodes.Pos: "unary +",
}  # fmt: skip


_COMPARISONS = {
    "eq": "==", "ne": "!=", "gt": ">", "gteq": ">=", "lt": "<", "lteq": "<=",
    "in": "in", "notin": "not in",
}  # fmt: skip


@dataclass(frozen=True)
class SandboxViolation:
    """One construct the sandbox refuses: ``rule`` (``sandbox.…``), the ``line`` it
    stands on, the ``construct`` as written, and why."""

    rule: str
    line: int
    construct: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.rule}: {self.construct} ({self.reason})"


class _MergeFieldSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, closed further: no attribute of any object is safe,
    nothing is callable and every arithmetic operator is refused. Merge fields are
    plain strings, so a template that passed the check needs none of these."""

    intercepted_binops = frozenset(_OPERATORS.values()) - {"unary -", "unary +"}
    intercepted_unops = frozenset({"-", "+"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return False

    def is_safe_callable(self, obj: Any) -> bool:
        return False

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        raise SecurityError(f"operator {operator!r} is not allowed in a message template")

    def call_unop(self, context: Any, operator: str, arg: Any) -> Any:
        raise SecurityError(f"operator unary {operator!r} is not allowed in a message template")


def template_environment(channel: str) -> jinja2.Environment:
    """The environment every message template of ``channel`` is parsed and rendered in:
    the closed sandbox, strict undefined, autoescaped for email, no globals, no tests,
    only ``ALLOWED_FILTERS``. Every render path gets its environment here."""
    env = _MergeFieldSandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=channel == "email",
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.clear()
    env.tests.clear()
    env.filters = {name: env.filters[name] for name in ALLOWED_FILTERS}
    return env


def template_violations(channel: str, text: str) -> list[SandboxViolation]:
    """Every construct of ``text`` outside the allow-list, in the order written (the
    inner part of a chain first, so ``customer_name.__class__.__mro__`` names
    ``__class__`` before ``__mro__``). Empty means the template may be rendered. A
    syntax error raises ``jinja2.TemplateSyntaxError``."""
    environment = template_environment(channel)
    tree = environment.parse(text)
    found: list[SandboxViolation] = []
    for violation in [*_comments(environment, text), *_walk(tree)]:
        if violation not in found:
            found.append(violation)
    return sorted(found, key=lambda v: v.line)  # stable: the walk's order within a line


def _comments(environment: jinja2.Environment, text: str) -> Iterator[SandboxViolation]:
    """A ``{# comment #}`` (the parser drops comments, the lexer still sees them)."""
    tokens = environment.lexer.tokeniter(text, None)
    for (line, kind, _), (_, _, value) in pairwise(tokens):
        if kind == "comment_begin":
            yield SandboxViolation(
                "sandbox.comment", line, "{# " + value.strip()[:60] + " #}",
                "a comment is text the compliance linter reads and the debtor never does",
            )  # fmt: skip


def _walk(node: nodes.Node) -> Iterator[SandboxViolation]:
    """Children first (post-order), then the node itself."""
    if isinstance(node, nodes.Name) and node.ctx != "load":
        return  # the target of a refused {% set %} / {% for %}: the statement is named
    for child in node.iter_child_nodes():
        yield from _walk(child)
    violation = _judge(node)
    if violation is not None:
        yield violation


def _judge(node: nodes.Node) -> SandboxViolation | None:
    """None when ``node`` is allowed, else the violation it is."""
    line = node.lineno or 0

    def refuse(rule: str, reason: str) -> SandboxViolation:
        return SandboxViolation(rule, line, _source(node), reason)

    match node:
        case nodes.Template() | nodes.Output() | nodes.TemplateData() | nodes.Const():
            return None
        case nodes.Concat():
            return None
        case nodes.CondExpr():
            return refuse("sandbox.condition", "a condition may hide a disclosure the linter read")
        case nodes.Name(name=name):
            if name in MERGE_FIELD_NAMES:
                return None
            if name in JINJA_GLOBALS:
                return refuse("sandbox.global", f"global {name!r} is not a merge field")
            return refuse(
                "sandbox.unknown-field",
                f"unknown merge field {name}; known: {', '.join(MERGE_FIELD_NAMES)}",
            )
        case nodes.Compare() | nodes.Not() | nodes.And() | nodes.Or():
            return refuse("sandbox.operator", "a comparison or logical operator")
        case nodes.Operand():
            return None  # its Compare is refused
        case nodes.Getattr(attr=attr):
            if attr.startswith("_"):
                return refuse("sandbox.underscore-attribute", f"underscore attribute {attr!r}")
            if attr in _FORMAT_METHODS:
                return refuse("sandbox.format-string", f"format-string method .{attr}()")
            return refuse("sandbox.attribute", f"attribute {attr!r}; merge fields have none")
        case nodes.Getitem() | nodes.Slice():
            return refuse("sandbox.item", "item or slice access; merge fields are plain text")
        case nodes.Call():
            return refuse("sandbox.call", "a call; templates call nothing")
        case nodes.Filter(name=name):
            if name not in ALLOWED_FILTERS:
                rule = "sandbox.format-string" if name == "format" else "sandbox.filter"
                if name == "attr":
                    rule = "sandbox.underscore-attribute"
                return refuse(rule, f"filter {name!r}; allowed: {', '.join(ALLOWED_FILTERS)}")
            if node.args or node.kwargs or node.dyn_args or node.dyn_kwargs:
                return refuse("sandbox.filter", f"filter {name!r} takes no argument here")
            return None
        case nodes.Test(name=name):
            return refuse("sandbox.test", f"test 'is {name}'; use == or if on a field")
        case nodes.Mod():
            return refuse("sandbox.format-string", "format-string operator %")
        case nodes.BinExpr() | nodes.UnaryExpr():
            return refuse("sandbox.operator", f"operator {_OPERATORS.get(type(node), '?')}")
        case nodes.List() | nodes.Tuple() | nodes.Dict() | nodes.Pair() | nodes.Keyword():
            return refuse("sandbox.operator", "a list, tuple or dict")
    for kind, tag in _STATEMENTS.items():
        if isinstance(node, kind):
            reason = (
                "a condition may hide a disclosure the linter read"
                if kind is nodes.If
                else "templates hold text and merge fields only"
            )
            return SandboxViolation("sandbox.statement", line, tag, f"statement {tag}: {reason}")
    return refuse("sandbox.construct", f"{type(node).__name__} is not allowed")


def _source(node: nodes.Node, limit: int = 80) -> str:
    """``node`` written back roughly as the author wrote it (for messages)."""
    text = _expr(node)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _expr(node: nodes.Node) -> str:
    match node:
        case nodes.Name(name=name):
            return str(name)
        case nodes.Const(value=value):
            return repr(value)
        case nodes.Getattr(node=inner, attr=attr):
            return f"{_expr(inner)}.{attr}"
        case nodes.Getitem(node=inner, arg=arg):
            return f"{_expr(inner)}[{_expr(arg)}]"
        case nodes.Slice():
            return ":"
        case nodes.Call(node=inner, args=args):
            return f"{_expr(inner)}({', '.join(_expr(a) for a in args)})"
        case nodes.Filter(node=inner, name=name, args=args):
            arguments = f"({', '.join(_expr(a) for a in args)})" if args else ""
            return f"{_expr(inner) if inner is not None else ''}|{name}{arguments}"
        case nodes.Test(node=inner, name=name):
            return f"{_expr(inner)} is {name}"
        case nodes.BinExpr(left=left, right=right, operator=operator):
            return f"{_expr(left)} {operator} {_expr(right)}"
        case nodes.Not(node=inner):
            return f"not {_expr(inner)}"
        case nodes.UnaryExpr(node=inner, operator=operator):
            return f"{operator}{_expr(inner)}"
        case nodes.CondExpr(test=test, expr1=yes, expr2=no):
            return f"{_expr(yes)} if {_expr(test)} else {_expr(no) if no is not None else ''}"
        case nodes.Compare(expr=left, ops=ops):
            parts = [f"{_COMPARISONS.get(op.op, op.op)} {_expr(op.expr)}" for op in ops]
            return " ".join([_expr(left), *parts])
        case nodes.List(items=items) | nodes.Tuple(items=items):
            return f"[{', '.join(_expr(i) for i in items)}]"
    return type(node).__name__
