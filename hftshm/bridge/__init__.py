"""Bridges: carry a ring to other hosts over NATS JetStream, sequence numbers preserved.

``wire`` is the message format, ``outbound`` turns a ring reader's batches into messages,
``inbound`` turns messages back into records with continuity checks; all three are sans-I/O.
``jetstream`` holds the few async calls to the server; ``workers/bridge.py`` wires them.
See docs/bridge.md.
"""
