"""Rehearsal: run the pending migrations on a scratch copy of the schema they will meet and
record, from the server itself, what each statement locks, rewrites, scans, creates and drops.

A floor of its own between core and lint: lint (and later apply's plan) read its facts, and
it needs nothing above core, so it replays the applied migrations itself rather than through
apply's engine. ``run.rehearse`` is the entry point; ``model`` holds the facts, ``render``
turns them into text and JSON.
"""
