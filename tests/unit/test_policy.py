"""The policy file: how rules match and merge (pure), how a malformed file is reported, and that
`python -m bot` refuses to start with one."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.actions import ActionRequest, ActionType
from bot.approvals.policy import (
    ANYONE,
    ConfirmBy,
    Policy,
    PolicyError,
    Rule,
    Target,
    load_policy_file,
    parse_policy,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "policy.example.yml"


def request(app: str = "SlackAPI", action: str = "channel_message", kind: str = "write") -> ActionRequest:
    return ActionRequest(app, action, "do it", ActionType(kind))


def test_without_a_file_every_request_gets_todays_behaviour() -> None:
    """No POLICY_FILE: anyone confirms, one click, the usual expiry, nothing runs at once, nothing denied."""
    rule = load_policy_file(None).rule_for("C1", request())
    assert rule == Rule()
    assert rule.confirm_by == ANYONE and rule.approvals == 1 and rule.expires is None
    assert not rule.runs_at_once(ActionType.SEARCH) and rule.denial("GmailV2API", "send_email") is None


POLICY = """
default:
  approvals: 1
  expires: 900
  deny: [GmailV2API.delete_email]
  rules:
    - action_type: search
      auto_run: [search]
channels:
  C1:
    confirm_by: [S0OPS, U9]
    approvals: 2
    allow: [SlackAPI, gmailv2api]
    rules:
      - app: GmailV2API
        action: [send_email, reply]
        confirm_by: others
      - app: gmailv2api
        approvals: 3
  C2:
    expires: 60
    deny: [SlackAPI]
"""


def test_layers_merge_from_broad_to_narrow_and_the_first_matching_rule_wins() -> None:
    """default < default rule < channel < channel rule, setting by setting; of a section's rules only the
    first that matches applies."""
    policy = parse_policy(POLICY)
    plain = policy.rule_for("C1", request())
    assert plain.confirm_by == ConfirmBy("listed", ("U9",), ("S0OPS",)) and plain.approvals == 2
    assert plain.expires == 900 and plain.auto_run == frozenset()
    send = policy.rule_for("C1", request("GmailV2API", "send_email"))
    assert send.confirm_by.kind == "others" and send.approvals == 2  # the first rule, not the second
    other_gmail = policy.rule_for("C1", request("GmailV2API", "find_email"))
    assert other_gmail.confirm_by.kind == "listed" and other_gmail.approvals == 3
    search = policy.rule_for("C2", request("GmailV2API", "find_email", "search"))
    assert search.runs_at_once(ActionType.SEARCH) and search.expires == 60
    assert policy.rule_for("C9", request()) == Rule(expires=900, deny=(Target("GmailV2API", "delete_email"),))


def test_deny_lists_add_up_and_the_narrowest_allow_list_holds() -> None:
    """A default deny holds in every channel; a channel's deny adds to it; an allow list leaves out the
    rest; names match without regard to case."""
    policy = parse_policy(POLICY)
    in_c1 = policy.rule_for("C1", request("GMAILV2API", "DELETE_EMAIL"))
    denial = in_c1.denial("GMAILV2API", "DELETE_EMAIL")
    assert denial is not None and denial.denied_by == Target("GmailV2API", "delete_email")
    left_out = in_c1.denial("GoogleSheetsV2API", "add_row")
    assert left_out is not None and left_out.denied_by is None
    assert [str(t) for t in left_out.allowed] == ["SlackAPI", "gmailv2api"]
    assert in_c1.denial("gmailv2api", "send_email") is None
    in_c2 = policy.rule_for("C2", request())
    assert in_c2.denial("SlackAPI", "anything") is not None
    assert in_c2.denial("GmailV2API", "delete_email") is not None and in_c2.denial("GmailV2API", "x") is None


def test_who_may_confirm_survives_the_form_kept_in_redis() -> None:
    """ConfirmBy is kept with each preview as text; decoding gives back the same rule."""
    for confirm_by in (
        ANYONE,
        ConfirmBy("requester"),
        ConfirmBy("others"),
        ConfirmBy("listed", ("U1",), ("S1",)),
    ):
        assert ConfirmBy.decode(confirm_by.encode()) == confirm_by
    assert ConfirmBy.decode("") == ANYONE  # a preview made before policies existed


MALFORMED = [
    ("default:\n  approvals: 0\n", 2, "default.approvals: Input should be greater than or equal to 1"),
    ("default:\n  aprovals: 2\n", 2, "unknown setting 'aprovals'"),
    ("channels:\n  C1:\n    confirm_by: [bob]\n", 3, "'bob' is not a user ID"),
    ("channels:\n  C1:\n    confirm_by: nobody\n", 3, "must be anyone, requester, others, or a list"),
    ("channels:\n  general:\n    approvals: 2\n", 2, "channels are given by ID"),
    ("default:\n  auto_run: [serch]\n", 2, "action types are write, search, read, read_bulk"),
    ("default:\n  allow: [Gmail/send]\n", 2, "is not an app"),
    ("default:\n  expires: soon\n", 2, "default.expires: Input should be a valid integer"),
    ("channels:\n  C1:\n    rules:\n      - approvals: 2\n", 4, "at least one of app, action, action_type"),
    (
        "channels:\n  C1:\n    approvals: 2\n  C1:\n    approvals: 3\n",
        4,
        "duplicate key 'C1' (first on line 2)",
    ),
    ("default:\n  approvals: [1\n", 3, "expected ',' or ']'"),
    ("default:\n  confirm_by: requester\nchannels:\n  C1:\n    approvals: 2\n", 4, "cannot give 2 approvals"),
    ("channels:\n  C1:\n    confirm_by: [U1, U2]\n    approvals: 3\n", 2, "lists only 2 people"),
    ("- just a list\n", 1, "expected a mapping"),
]


@pytest.mark.parametrize(("text", "line", "reason"), MALFORMED)
def test_a_malformed_policy_names_the_line_and_the_reason(text: str, line: int, reason: str) -> None:
    """Each kind of mistake is reported as one line: the file, the line number and what is wrong."""
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "policy.yml")
    message = str(caught.value)
    assert message.startswith(f"POLICY_FILE policy.yml line {line}: "), message
    assert reason in message and "\n" not in message


def test_rules_that_can_never_meet_are_not_checked_together() -> None:
    """A default rule for app A and a channel rule for app B never apply to the same request, so together
    they are not an impossible policy."""
    policy = parse_policy(
        "default:\n  rules:\n    - app: A\n      confirm_by: requester\n"
        "channels:\n  C1:\n    rules:\n      - app: B\n        approvals: 3\n"
    )
    assert policy.rule_for("C1", request("B", "x")).approvals == 3


def test_the_documented_example_loads_and_means_what_the_docs_say() -> None:
    """docs/policy.example.yml is valid and gives #ops its two approvals from the group or the lead,
    four eyes on e-mail, and no deletes anywhere."""
    policy = load_policy_file(EXAMPLE)
    assert isinstance(policy, Policy) and policy.source == str(EXAMPLE)
    ops = policy.rule_for("C0OPS1234", request())
    assert ops.approvals == 2 and ops.confirm_by.groups == ("S0OPSTEAM",) and ops.expires == 600
    assert policy.rule_for("C0OPS1234", request("GmailV2API", "send_email")).confirm_by.kind == "others"
    assert policy.rule_for("C0OPS1234", request("GmailV2API", "delete_email")).denial(
        "GmailV2API", "delete_email"
    )
    assert policy.rule_for("C0ANY", request("GmailV2API", "find_email", "search")).runs_at_once(
        ActionType.SEARCH
    )


def test_a_missing_policy_file_is_an_error_not_an_empty_policy(tmp_path: Path) -> None:
    """A POLICY_FILE that does not exist, or is empty, stops start-up rather than running unguarded."""
    with pytest.raises(PolicyError, match="no such file"):
        load_policy_file(tmp_path / "nope.yml")
    (tmp_path / "empty.yml").write_text("# nothing here\n")
    with pytest.raises(PolicyError, match="the file is empty"):
        load_policy_file(tmp_path / "empty.yml")


def test_run_as_places_names_every_layer_that_sets_it() -> None:
    """`run_as_places` finds each section and rule setting a given run_as, by dotted path (what
    `python -m bot check` names when `shared` is asked for without a ZAPIER_API_KEY)."""
    policy = parse_policy(
        "default:\n  run_as: shared\n  rules:\n    - app: SlackAPI\n      run_as: requester\n"
        "channels:\n  C1:\n    rules:\n      - app: GmailV2API\n        run_as: shared\n"
        "  C2:\n    run_as: confirmer\n"
    )
    assert policy.run_as_places("shared") == ["default", "channels.C1.rules.0"]
    assert policy.run_as_places("requester") == ["default.rules.0"]
    assert policy.run_as_places("confirmer") == ["channels.C2"]
    assert Policy.none().run_as_places("shared") == []
