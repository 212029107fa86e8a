"""Messages as Slack shows them (Block Kit), and as the console prints them (plain text)."""
