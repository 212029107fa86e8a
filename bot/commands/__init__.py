"""The `/zap` words beside running an action: look-ups, shortcuts, plain English, ratings and the audit.

Surface-neutral: Slack (bot/slack/listeners/commands.py) and the console (bot/console/console.py) both
parse the text,
then call the handler `table.commands()` gives for the word, with an `Asked` (where, and how to answer the
person). Only the form (`/zap form`) is Slack's own: it opens a Slack modal.
"""
