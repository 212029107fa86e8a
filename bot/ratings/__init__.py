"""Ratings: emoji reactions become votes, votes a rating, and the rating (with feedback) reaches Zapier.

emoji.py     pure: which reactions count, and how votes make a rating
store.py     Redis: votes, feedback, the delivery queue (atomic Lua scripts)
service.py   use-cases: a reaction, a feedback text, the summary (no Slack, no HTTP)
delivery.py  the background worker that sends pending ratings to Zapier, durably
summary.py   pure: executions -> per app+action figures and the worst-rated recent runs
render.py    pure: the summary as a Slack message
"""
