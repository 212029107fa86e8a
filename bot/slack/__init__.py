"""The Slack edge, the only code that imports Bolt: the app, its listeners, replies, Socket Mode."""
