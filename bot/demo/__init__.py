"""The demo: zapbot with nothing configured, against a built-in simulator of the Zapier AI Actions API.

`python -m bot demo` (or `scripts/run` with no Zapier key and no Slack tokens) starts `DemoZapier` on
127.0.0.1 in the same process and runs the console against it, labelled DEMO: every preview, run and
rating goes through the real client, service and Redis; only Zapier's side is simulated.
"""
