"""The room at a glance: a live page for the instructor of who is stuck where.

`workshop serve` (server.py) keeps every check attendees report in SQLite
(store.py) and shows the room on a page that updates itself; `workshop join`
(client.py) makes each `workshop check` and `watch` re-check of an attendee
send one small record (records.py says what is in it: never code). Sending
is best effort and happens in a separate process, so a server that is down
or slow never delays a check.

What the page shows is what attendees' machines report: a view of the room,
not a grade. Grades for a transcript come from `workshop grade`, which runs
the collected files in its sandbox; the page's CSV has the same columns.
"""
