import asyncio, tempfile, time
from pathlib import Path
import bench.dedup as b
from tests.infra import fresh_database, postgres_server
gen = b.ChineseLeads(50000)
ev = b.make_events(gen, 2000, dup_share=0.25, first=2_000_000, seed=11)
warm = b.make_events(gen, 100, dup_share=0.25, first=3_000_000, seed=12)
with tempfile.TemporaryDirectory() as tmp, postgres_server(Path(tmp)) as server:
    template = fresh_database(server)
    b.preload(template, gen)
    inb, winb = b.inbound_of(ev), b.inbound_of(warm)
    with b.database_copy(server, template) as url:
        steps = b.StepTimes()
        with b.timed_store(steps):
            r = asyncio.run(b.decide(url, winb, inb, 500, steps))
        print([round(x*1000) for x in r["handler_s"]], [round(x*1000) for x in r["txn_s"]])
        for k, v in steps.per_txn.items(): print(k, [round(x*1000,1) for x in v])
