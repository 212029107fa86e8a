"""Bolt listeners: each translates a Slack request into a use case and acks at once."""
