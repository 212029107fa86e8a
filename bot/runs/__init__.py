"""A run's life, with one owner: preview -> approval -> run -> outcome -> delivery.

    records.py   a run's record (`Preview`) and its states, as stored in Redis
    service.py   Zapier's side: the policy check and the preview, the claim, the run with the previewed params
    ports.py     what a run needs of the surface it is shown on (Slack, the console): post, update, tell
    store.py     the run's state in Redis: leases, outcomes, orphans, each change one atomic step
    limits.py    how fast one person or channel may ask (token buckets shared by replicas)
    outbox.py    durable delivery: what must reach people is queued in Redis until the surface takes it
    delivery.py  the outbox's worker: paced retries, fallbacks when Slack refuses, undeliverable reports
    lifecycle.py the use cases every surface calls: preview, confirm, cancel, run, record, deliver, expire
    changes.py   changing a pending preview: switch to another candidate, edit its params (`runs.changes`)
    keeper.py    leases kept alive while this process runs; orphans (a dead process's runs) ended as unknown
    held.py      work people asked for, held back during a burst: marked in Redis until it starts

Surfaces (bot/slack/listeners/, bot/console/) translate input into these calls and render what comes
back; none of them changes a run's state itself.
"""
