"""Team confirmation policy: who may confirm what, how many must, for how long. Pure: no I/O but reading
the file once at start-up.

The file (`POLICY_FILE`, YAML; see docs/policy.md) has a `default` and per-channel sections. Each section,
and each of its narrower `rules` (matched on app, action and action type; the first match wins), may set:

    confirm_by   anyone | requester | others | [user IDs and user group IDs]
    approvals    how many distinct people must confirm (default 1)
    expires      seconds until the preview can no longer be confirmed
    auto_run     action types that run without confirmation
    allow/deny   apps (`GmailV2API`) or actions (`GmailV2API.send_email`) that may / may not be run

For a request in channel C the layers are, from broad to narrow: `default`, its first matching rule,
`channels.C`, its first matching rule. A narrower layer overrides each setting it gives; `deny` lists add up
(a deny anywhere wins). No file: everyone may confirm, one click runs it, nothing is denied.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StrictInt, ValidationError, model_validator

from bot.actions import ActionRequest, ActionType
from bot.errors import BotError

MAX_APPROVALS = 50
MAX_EXPIRES_SECONDS = 7 * 24 * 3600

_USER_ID = re.compile(r"^[UW][A-Z0-9]{1,20}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{1,20}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{1,20}$")
_TARGET = re.compile(r"^(?P<app>[A-Za-z][A-Za-z0-9_]*)(?:\.(?P<action>[A-Za-z0-9_][A-Za-z0-9_.\-]*))?$")

ConfirmKind = Literal["anyone", "requester", "others", "listed"]


RunAs = Literal["requester", "confirmer", "shared"]


class PolicyError(BotError):
    """The policy file cannot be used; the message names the file, the line and the reason."""


@dataclass(frozen=True)
class ConfirmBy:
    """Who may confirm (and cancel, and edit): a kind, and for `listed` the user and user group IDs."""

    kind: ConfirmKind = "anyone"
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    def encode(self) -> str:
        """The form kept with a preview in Redis: the kind, or the listed IDs separated by spaces."""
        return " ".join(self.users + self.groups) if self.kind == "listed" else self.kind

    @classmethod
    def decode(cls, text: str) -> ConfirmBy:
        if text in ("", "anyone"):
            return ANYONE
        if text in ("requester", "others"):
            return cls(text)  # type: ignore[arg-type]  # narrowed by the test above
        ids = text.split()
        return cls(
            "listed", tuple(i for i in ids if not i.startswith("S")), tuple(i for i in ids if i[:1] == "S")
        )


ANYONE = ConfirmBy()


@dataclass(frozen=True)
class Target:
    """An `allow`/`deny` entry: a whole app, or one action of it. Compared without regard to case."""

    app: str
    action: str | None = None

    def matches(self, app: str, action: str) -> bool:
        if self.app.lower() != app.lower():
            return False
        return self.action is None or self.action.lower() == action.lower()

    def __str__(self) -> str:
        return self.app if self.action is None else f"{self.app}.{self.action}"


@dataclass(frozen=True)
class Denial:
    """Why a request may not run in a channel: a `deny` entry matched, or no `allow` entry did."""

    denied_by: Target | None  # the deny entry that matched, or None when the allow list left it out
    allowed: tuple[Target, ...] = ()


class PolicyDenied(BotError):
    """The channel's policy does not allow this app or action; nothing was called."""

    def __init__(self, request: ActionRequest, denial: Denial) -> None:
        super().__init__(f"{request.app}.{request.action} is not allowed here")
        self.request = request
        self.denial = denial


@dataclass(frozen=True)
class Rule:
    """The policy in force for one request in one channel, after merging the layers that apply."""

    confirm_by: ConfirmBy = ANYONE
    approvals: int = 1
    expires: int | None = None  # None: the PREVIEW_TTL_SECONDS setting
    auto_run: frozenset[ActionType] = frozenset()
    allow: tuple[Target, ...] | None = None  # None: every app and action
    deny: tuple[Target, ...] = ()
    # Whose Zapier account runs it: requester, confirmer or shared; None: requester with per-user
    # accounts on (bot/accounts/), else shared (bot/runs/credentials.py decides).
    run_as: RunAs | None = None

    def denial(self, app: str, action: str) -> Denial | None:
        for target in self.deny:
            if target.matches(app, action):
                return Denial(target)
        if self.allow is not None and not any(t.matches(app, action) for t in self.allow):
            return Denial(None, self.allow)
        return None

    def check_allowed(self, request: ActionRequest) -> None:
        """Raise `PolicyDenied` when the request may not run here."""
        denial = self.denial(request.app, request.action)
        if denial is not None:
            raise PolicyDenied(request, denial)

    def runs_at_once(self, action_type: ActionType) -> bool:
        return action_type in self.auto_run


# ---- the file's shape ------------------------------------------------------------------------------
def _confirm_by(value: Any) -> ConfirmBy:
    if isinstance(value, str) and value in ("anyone", "requester", "others"):
        return ConfirmBy(value)  # type: ignore[arg-type]  # one of the three literals
    if isinstance(value, str) and not (_USER_ID.match(value) or _GROUP_ID.match(value)):
        raise ValueError(
            f"must be anyone, requester, others, or a list of user and user group IDs, not {value!r}"
        )
    ids = [value] if isinstance(value, str) else value
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ValueError("must be anyone, requester, others, or a list of user and user group IDs")
    bad = [i for i in ids if not (_USER_ID.match(i) or _GROUP_ID.match(i))]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a user ID (U…/W…) or a user group ID (S…)")
    unique = list(dict.fromkeys(ids))
    return ConfirmBy(
        "listed",
        tuple(i for i in unique if not _GROUP_ID.match(i)),
        tuple(i for i in unique if _GROUP_ID.match(i)),
    )


def _targets(value: Any) -> tuple[Target, ...]:
    if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
        raise ValueError("must be a list of apps (`GmailV2API`) or actions (`GmailV2API.send_email`)")
    targets = []
    for item in value:
        match = _TARGET.match(item)
        if match is None:
            raise ValueError(f"{item!r} is not an app (`GmailV2API`) or an action (`GmailV2API.send_email`)")
        targets.append(Target(match["app"], match["action"]))
    return tuple(targets)


def _names(value: Any) -> frozenset[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i for i in items):
        raise ValueError("must be a name or a list of names")
    return frozenset(i.lower() for i in items)


def _action_types(value: Any) -> frozenset[ActionType]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ValueError("must be a list of action types")
    try:
        return frozenset(ActionType(i) for i in items)
    except ValueError:
        kinds = ", ".join(t.value for t in ActionType)
        raise ValueError(f"action types are {kinds}") from None


Approvals = Annotated[StrictInt, Field(ge=1, le=MAX_APPROVALS)]
Seconds = Annotated[StrictInt, Field(ge=1, le=MAX_EXPIRES_SECONDS)]


class _Settings(BaseModel):
    """What any layer may set. Unknown keys are errors: a typo must not silently loosen the policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    confirm_by: Annotated[ConfirmBy, PlainValidator(_confirm_by)] | None = None
    approvals: Approvals | None = None
    expires: Seconds | None = None
    auto_run: Annotated[frozenset[ActionType], PlainValidator(_action_types)] | None = None
    allow: Annotated[tuple[Target, ...], PlainValidator(_targets)] | None = None
    deny: Annotated[tuple[Target, ...], PlainValidator(_targets)] | None = None
    run_as: RunAs | None = None


class _Narrow(_Settings):
    """A rule inside a section, for some apps, actions or action types only."""

    app: Annotated[frozenset[str], PlainValidator(_names)] | None = None
    action: Annotated[frozenset[str], PlainValidator(_names)] | None = None
    action_type: Annotated[frozenset[ActionType], PlainValidator(_action_types)] | None = None

    @model_validator(mode="after")
    def _narrows(self) -> _Narrow:
        if self.app is None and self.action is None and self.action_type is None:
            raise ValueError("a rule needs at least one of app, action, action_type")
        return self

    def matches(self, request: ActionRequest) -> bool:
        return (
            (self.app is None or request.app.lower() in self.app)
            and (self.action is None or request.action.lower() in self.action)
            and (self.action_type is None or request.action_type in self.action_type)
        )

    def overlaps(self, other: _Narrow) -> bool:
        """Whether some request could match both rules (used to check combinations at load time)."""
        pairs: list[tuple[frozenset[Any] | None, frozenset[Any] | None]] = [
            (self.app, other.app),
            (self.action, other.action),
            (self.action_type, other.action_type),
        ]
        return all(a is None or b is None or bool(a & b) for a, b in pairs)


class _Section(_Settings):
    rules: list[_Narrow] = Field(default_factory=list)

    def first_match(self, request: ActionRequest) -> _Narrow | None:
        return next((rule for rule in self.rules if rule.matches(request)), None)


def _channel_id(value: Any) -> str:
    if not isinstance(value, str) or not _CHANNEL_ID.match(value):
        raise ValueError("channels are given by ID (C…, G… or D…), not by name")
    return value


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: _Section = Field(default_factory=_Section)
    channels: dict[Annotated[str, PlainValidator(_channel_id)], _Section] = Field(default_factory=dict)


# ---- the policy ------------------------------------------------------------------------------------
KeyPath = tuple[str | int, ...]


class Policy:
    """A loaded policy. `rule_for` answers for one request; without a file every answer is `Rule()`."""

    def __init__(self, parsed: _PolicyFile | None = None, *, source: str = "") -> None:
        self._file = parsed or _PolicyFile()
        self.source = source  # the file it came from, for logs; "" without one

    @classmethod
    def none(cls) -> Policy:
        """No policy file: today's behaviour (anyone confirms, once; nothing is denied)."""
        return cls()

    def rule_for(self, channel: str, request: ActionRequest) -> Rule:
        default = self._file.default
        layers: list[_Settings | None] = [default, default.first_match(request)]
        section = self._file.channels.get(channel)
        if section is not None:
            layers += [section, section.first_match(request)]
        return _merge(layer for layer in layers if layer is not None)

    def run_as_places(self, run_as: RunAs) -> list[str]:
        """Where the file sets `run_as` to this value: `default`, `channels.C1`, `default.rules.0`..."""
        sections = [("default", self._file.default)]
        sections += [(f"channels.{channel}", section) for channel, section in self._file.channels.items()]
        places = []
        for name, section in sections:
            if section.run_as == run_as:
                places.append(name)
            places += [f"{name}.rules.{i}" for i, rule in enumerate(section.rules) if rule.run_as == run_as]
        return places

    def _combinations(self) -> Iterator[tuple[KeyPath, list[_Settings]]]:
        """Every chain of layers some request could meet, with the path of its narrowest layer."""
        default = self._file.default
        default_options: list[tuple[KeyPath, _Narrow | None]] = [(("default",), None)]
        default_options += [(("default", "rules", i), r) for i, r in enumerate(default.rules)]
        sections: list[tuple[KeyPath, _Section | None]] = [((), None)]
        sections += [(("channels", c), s) for c, s in self._file.channels.items()]
        for (d_path, d_rule), (s_path, section) in product(default_options, sections):
            channel_rules: list[tuple[KeyPath, _Narrow | None]] = [(s_path, None)]
            if section is not None:
                channel_rules += [((*s_path, "rules", i), r) for i, r in enumerate(section.rules)]
            for c_path, c_rule in channel_rules:
                if d_rule is not None and c_rule is not None and not d_rule.overlaps(c_rule):
                    continue
                layers = ((c_path, c_rule), (s_path, section), (d_path, d_rule))
                narrowest = next((p for p, layer in layers if layer is not None), ("default",))
                yield narrowest, [x for x in (default, d_rule, section, c_rule) if x is not None]


def _merge(layers: Iterable[_Settings]) -> Rule:
    values: dict[str, Any] = {}
    deny: list[Target] = []
    for layer in layers:
        for name in ("confirm_by", "approvals", "expires", "auto_run", "allow", "run_as"):
            if (value := getattr(layer, name)) is not None:
                values[name] = value
        deny.extend(layer.deny or ())
    return Rule(**values, deny=tuple(dict.fromkeys(deny)))


def _infeasible(rule: Rule) -> str | None:
    """Why a merged rule could never be satisfied, if it could not."""
    who = rule.confirm_by
    if who.kind == "requester" and rule.approvals > 1:
        return f"confirm_by requester cannot give {rule.approvals} approvals (one person, one approval)"
    if who.kind == "listed" and not who.groups and len(who.users) < rule.approvals:
        return f"{rule.approvals} approvals are needed but confirm_by lists only {len(who.users)} people"
    return None


# ---- loading -----------------------------------------------------------------------------------------
def load_policy_file(path: Path | None) -> Policy:
    """The policy in `path`, or `Policy.none()` without one. Raises `PolicyError` with line and reason."""
    if path is None:
        return Policy.none()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"POLICY_FILE {path}: no such file") from None
    except UnicodeDecodeError:
        raise PolicyError(f"POLICY_FILE {path}: not UTF-8 text") from None
    except OSError as exc:
        raise PolicyError(
            f"POLICY_FILE {path}: cannot be read ({exc.strerror or type(exc).__name__})"
        ) from None
    return parse_policy(text, str(path))


def parse_policy(text: str, name: str = "policy.yml") -> Policy:
    """Parse and check a policy document. Raises `PolicyError` naming `name`, the line and the reason."""
    where = f"POLICY_FILE {name}"
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise PolicyError(f"{where}: the file is empty (unset POLICY_FILE to run without a policy)")
        _check_duplicate_keys(root, where)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" line {mark.line + 1}" if mark is not None else ""
        context = ""
        if exc.context and exc.context_mark is not None and exc.problem:
            context = f" ({exc.context} on line {exc.context_mark.line + 1})"
        raise PolicyError(
            f"{where}{line}: {exc.problem or exc.context or 'not valid YAML'}{context}"
        ) from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{where}: not valid YAML ({type(exc).__name__})") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise PolicyError(
            f"{where} line {root.start_mark.line + 1}: expected a mapping with default and channels"
        )
    try:
        parsed = _PolicyFile.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_describe(exc, root, where)) from None
    policy = Policy(parsed, source=name)
    for path, chain in policy._combinations():
        problem = _infeasible(_merge(chain))
        if problem is not None:
            raise PolicyError(f"{where} line {_line_of(root, path)}: {_dotted(path)}: {problem}")
    return policy


def _check_duplicate_keys(node: yaml.Node, where: str) -> None:
    # PyYAML keeps the last of two equal keys without a word; in a policy that hides a mistake.
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise PolicyError(
                        f"{where} line {key.start_mark.line + 1}: duplicate key {key.value!r} "
                        f"(first on line {seen[key.value]})"
                    )
                seen[key.value] = key.start_mark.line + 1
            _check_duplicate_keys(value, where)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item, where)


def _describe(error: ValidationError, root: yaml.Node, where: str) -> str:
    """The first problem in file order, as `where line N: a.b.c: reason`."""
    problems = []
    for item in error.errors():
        path = tuple(p for p in item["loc"] if isinstance(p, str | int))
        reason = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            reason = f"unknown setting {path[-1]!r}"
        problems.append((_line_of(root, path), _dotted(path), reason))
    line, path_text, reason = min(problems, key=lambda p: p[0])
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where} line {line}: {path_text + ': ' if path_text else ''}{reason}{more}"


def _line_of(root: yaml.Node, path: KeyPath) -> int:
    """The 1-based line of the deepest entry along `path` (pydantic's loc) that the document has: the line
    of its key when it is a mapping entry, so that a section is named where it starts."""
    node, line = root, root.start_mark.line + 1
    for part in path:
        if part == "[key]":
            break  # a bad mapping key: its line is already the one found
        if isinstance(node, yaml.MappingNode):
            entry = next(((k, v) for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if entry is not None:
                node, line = entry[1], entry[0].start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        # anything else is one of pydantic's union or type tags, which the document does not have
    return line


def _dotted(path: KeyPath) -> str:
    return ".".join(str(p) for p in path if p != "[key]")
