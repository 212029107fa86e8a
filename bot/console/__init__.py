"""The terminal edge: the same use cases as Slack, rendered as text."""
