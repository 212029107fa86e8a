"""The App Home: what one person's page shows (queries), who has been seen where (presence), and keeping
the pages of the people a preview concerns current when it changes (refresh). Slack's side of it, the
`app_home_opened` listener and `views.publish`, is in bot/slack/listeners/home.py."""
