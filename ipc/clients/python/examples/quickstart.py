# durationd from Python: a cache in place of pickle files, and a focus session.
# Needs only python3-msgpack; `# →` marks what each line prints.
from durationd_client import Client, DurationCache, DurationdError, NotFoundError

cache = DurationCache("reports", default_ttl=3600)  # $DURATIOND_SOCKET, else /run/durationd/durationd.sock


@cache.memoize(ttl=600)
def weekly_minutes(week: str) -> dict:
    print("computing", week)  # the body runs once; for 10 minutes the cache answers
    return {"week": week, "minutes": 1234}


print(weekly_minutes("2026-W10"))  # → computing 2026-W10
#                                    → {'week': '2026-W10', 'minutes': 1234}
print(weekly_minutes("2026-W10"))  # → {'week': '2026-W10', 'minutes': 1234}

cache.set("last_export", {"rows": 42, "file": b"\x00\x01"}, ttl=60)
print(cache.get("last_export"), "last_export" in cache)  # → {'rows': 42, 'file': b'\x00\x01'} True
print(cache.get("never_set", "default"))  # → default

with Client(timeout=5) as client:
    session = client.timer_start("write the report", tags=["work"], planned_ms=25 * 60_000)
    client.timer_interrupt(session["id"], reason="phone")
    done = client.timer_stop(session["id"], focus=4)
    print(done["state"], done["focus"], len(done["interruptions"]))  # → completed 4 1

    with client.pipeline() as p:  # sent together, answered in order
        p.cache_put("a", 1).cache_get("a").cache_get("missing")
        results = p.execute()  # an error answer takes its request's place as an exception
    print([r.code if isinstance(r, DurationdError) else r for r in results])
    # → [{'stored': True}, {'value': 1, 'ttl_ms': None}, 'NOT_FOUND']

    try:
        client.cache_get("missing")
    except NotFoundError as e:
        print(e.code)  # → NOT_FOUND
