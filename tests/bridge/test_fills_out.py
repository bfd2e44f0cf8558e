"""fills out: the fills ring reaches its stream exactly, one subject per instance and ring."""

import asyncio

import nats
import numpy as np

from hftshm.bridge import wire
from hftshm.layouts import exec_report
from hftshm.runtime import rings


def test_fills_out_publishes_every_fill_once_in_order(make_instance, nats_server):
    src = make_instance(rings={"md": {}, "fills": {}}, bridge={"url": nats_server.url, "fills_out": True})
    src.spawn()
    src.wait_running()
    n = 3000
    recs = np.zeros(n, exec_report.DTYPE)
    recs["order_id"] = np.arange(n) + 7
    ring = rings.attach(src.name, "fills")
    pub = ring.publisher()
    for i in range(0, n, 500):
        pub.publish_batch(recs[i:i + 500])
    pub.close()
    ring.close()
    src.wait_counter("records_out", n)

    async def read_stream():
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        sub = await js.subscribe(wire.subject(src.name, "fills"), stream=wire.stream_name(src.name, "fills"),
                                 ordered_consumer=True)
        got, ids = [], []
        while sum(len(g) for g in got) < n:
            msg = await sub.next_msg(timeout=10)
            kind, _, first, count, fp, size = wire.decode_header(msg.data)
            assert kind == wire.RECORDS and fp == exec_report.LAYOUT.fingerprint and size == exec_report.LAYOUT.size
            ids.append(msg.headers[wire.MSG_ID])
            got.append(np.frombuffer(msg.data[wire.HEADER_LENGTH:], exec_report.DTYPE, count))
            assert got[-1]["seq"][0] == first
        await nc.close()
        return np.concatenate(got), ids

    got, ids = asyncio.run(read_stream())
    assert (got["seq"] == np.arange(n)).all() and (got["order_id"] == recs["order_id"]).all()
    assert len(set(ids)) == len(ids)
