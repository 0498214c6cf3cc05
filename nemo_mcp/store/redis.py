"""The shared state store: Valkey or Redis (``NEMO_STORE_URL=redis://...``), for several server workers on
one or more machines (hosted mode).

Keys (``<prefix>`` is ``nemo`` unless the URL says ``?prefix=``; every name part is percent-encoded, so a
tenant or URL holding ``:`` never reaches into another's keys):

- ``<prefix>:<tenant>:token:<base url>``: one :class:`StoredToken` as JSON;
- ``<prefix>:<tenant>:projects:<server>``: a hash, session id -> :class:`ProjectRecord` JSON, with
  ``...:order:<server>`` (session id -> insertion number, for ties in ``recent``) and
  ``...:current:<server>`` (the current session id);
- ``<prefix>:<tenant>:job:<id>``: one :class:`JobRecord` JSON, indexed by ``...:jobs`` (a sorted set
  scored by ``updated_at``, for ``prune``); each key also expires ``job_ttl`` after its last write, so
  a tenant nobody prunes does not grow for ever.

Every read-modify-write is one optimistic transaction (``WATCH``/``MULTI``/``EXEC``, retried a bounded
number of times) or one Lua script (compare-and-swap of a token), so concurrent workers lose nothing.
The mint lock is a lease (:mod:`nemo_mcp.store.redis_lock`). Tokens are stored as the backend gave them:
protect the server (``requirepass``/ACL, TLS with ``rediss://``, no public port).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.exceptions import WatchError

from nemo_mcp.store.base import LOCAL_TENANT, JobRecord, ProjectRecord, StoredToken
from nemo_mcp.store.redis_lock import lease_lock

__all__ = ["RedisStore", "open_redis_store", "safe_url"]

T = TypeVar("T")
JOB_TTL = 8 * 86400.0  # past any retention period (NEMO_JOB_RETENTION_HOURS is at most a year, default a day)
_RETRIES = 100

# Compare-and-swap of one token document: KEYS[1] the key, ARGV[1] the token it must hold ("" = none),
# ARGV[2] the new document. Decoding in Lua only reads the old token; the new document is stored as given.
_SAVE = """
local cur = redis.call('GET', KEYS[1])
local held = ''
if cur then held = cjson.decode(cur)['token'] or '' end
if held ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""
_FORGET = """
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cjson.decode(cur)['token'] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""


def safe_url(url: str) -> str:
    """The URL without its password (for logs and ``location``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def open_redis_store(url: str, *, tenant: str = LOCAL_TENANT, **client_options: Any) -> RedisStore:
    """A store on the Valkey/Redis server at ``url`` (``redis://``, ``rediss://`` or ``unix://``; the
    database number, user and password as redis-py reads them; ``?prefix=name`` for the key prefix).
    Connects lazily: the first call reaches the server."""
    query = parse_qs(urlsplit(url).query)
    prefix = (query.pop("prefix", ["nemo"])[0] or "nemo").strip(":")
    plain = urlunsplit(urlsplit(url)._replace(query="&".join(f"{k}={v[0]}" for k, v in query.items())))
    client = Redis.from_url(plain, decode_responses=True, **client_options)
    return RedisStore(client, tenant, prefix=prefix, location=safe_url(url), owner=True)


def _part(text: str) -> str:
    return quote(text, safe="")


class _Keys:
    def __init__(self, prefix: str, tenant: str) -> None:
        self.base = f"{prefix}:{_part(tenant)}"

    def token(self, base_url: str) -> str:
        return f"{self.base}:token:{_part(base_url)}"

    def mint(self, base_url: str) -> str:
        return f"{self.base}:mint:{_part(base_url)}"

    def projects(self, server: str) -> str:
        return f"{self.base}:projects:{_part(server)}"

    def order(self, server: str) -> str:
        return f"{self.base}:order:{_part(server)}"

    def current(self, server: str) -> str:
        return f"{self.base}:current:{_part(server)}"

    def job(self, job_id: str) -> str:
        return f"{self.base}:job:{_part(job_id)}"

    @property
    def jobs(self) -> str:
        return f"{self.base}:jobs"

    @property
    def seq(self) -> str:
        return f"{self.base}:seq"


async def _transaction(client: Redis, keys: list[str], work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(pipe)`` as one WATCH/MULTI/EXEC transaction over ``keys``, again if another writer
    changed them meanwhile (a bounded number of times). ``work`` reads first, then calls
    ``pipe.multi()`` and queues its writes; its return value is returned."""
    for _ in range(_RETRIES):
        async with client.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(*keys)
                result = await work(pipe)
                await pipe.execute()
                return result
            except WatchError:
                continue
    raise RuntimeError(f"the state store stayed too busy to update {keys[0]}")


class _Tokens:
    def __init__(self, client: Redis, keys: _Keys) -> None:
        self._r = client
        self._k = keys
        self._save = client.register_script(_SAVE)
        self._forget = client.register_script(_FORGET)

    async def read(self, base_url: str) -> StoredToken | None:
        raw = await self._r.get(self._k.token(base_url))
        return None if raw is None else StoredToken.from_dict(json.loads(raw))

    async def save(self, base_url: str, token: StoredToken, *, replacing: str | None) -> bool:
        doc = json.dumps(token.to_dict())
        return bool(await self._save(keys=[self._k.token(base_url)], args=[replacing or "", doc]))

    async def forget(self, base_url: str, token: str) -> bool:
        return bool(await self._forget(keys=[self._k.token(base_url)], args=[token]))

    def mint_lock(self, base_url: str, *, timeout: float) -> AbstractAsyncContextManager[bool]:
        return lease_lock(self._r, self._k.mint(base_url), timeout)


def _project(raw: str) -> ProjectRecord:
    return ProjectRecord.from_dict(json.loads(raw))


class _Projects:
    def __init__(self, client: Redis, keys: _Keys) -> None:
        self._r = client
        self._k = keys

    async def get(self, server: str, session_id: str) -> ProjectRecord | None:
        raw = await self._r.hget(self._k.projects(server), session_id)
        return None if raw is None else _project(str(raw))

    @staticmethod
    def _newest_first(docs: dict[str, str], order: dict[str, str]) -> list[ProjectRecord]:
        recs = [_project(raw) for raw in docs.values()]
        recs.sort(key=lambda r: (r.updated_at, int(order.get(r.session_id, 0))), reverse=True)
        return recs

    async def recent(self, server: str) -> list[ProjectRecord]:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._k.projects(server))
            pipe.hgetall(self._k.order(server))
            docs, order = await pipe.execute()
        return self._newest_first(docs, order)

    async def current(self, server: str) -> str | None:
        value = await self._r.get(self._k.current(server))
        return None if value is None else str(value)

    async def add(self, record: ProjectRecord, *, make_current: bool, keep: int) -> None:
        server, sid = record.server, record.session_id
        hkey, okey = self._k.projects(server), self._k.order(server)
        seq = await self._r.incr(self._k.seq)  # a later insertion wins ties in `recent`

        async def work(pipe: Any) -> None:
            docs = await pipe.hgetall(hkey)
            order = await pipe.hgetall(okey)
            docs[sid] = json.dumps(record.to_dict())
            order[sid] = str(seq)
            gone = [r.session_id for r in self._newest_first(docs, order)[max(1, keep) :]]
            pipe.multi()
            pipe.hset(hkey, sid, docs[sid])
            pipe.hset(okey, sid, seq)
            if gone:
                pipe.hdel(hkey, *gone)
                pipe.hdel(okey, *gone)
            if make_current:
                pipe.set(self._k.current(server), sid)

        await _transaction(self._r, [hkey, okey], work)

    async def set_current(self, server: str, session_id: str) -> None:
        await self._r.set(self._k.current(server), session_id)

    async def touch(
        self, server: str, session_id: str, *, summary: str | None = None, user_id: str | None = None
    ) -> bool:
        hkey = self._k.projects(server)

        async def work(pipe: Any) -> bool:
            raw = await pipe.hget(hkey, session_id)
            if raw is None:
                pipe.multi()
                return False
            rec = _project(raw)
            rec.updated_at = time.time()
            if summary is not None:
                rec.summary = summary
            if user_id is not None:
                rec.user_id = user_id
            pipe.multi()
            pipe.hset(hkey, session_id, json.dumps(rec.to_dict()))
            return True

        return await _transaction(self._r, [hkey], work)

    async def mark_lost(self, server: str, session_id: str) -> None:
        hkey, ckey = self._k.projects(server), self._k.current(server)

        async def work(pipe: Any) -> None:
            raw = await pipe.hget(hkey, session_id)
            current = await pipe.get(ckey)
            pipe.multi()
            if raw is not None:
                rec = _project(raw)
                rec.lost = True
                pipe.hset(hkey, session_id, json.dumps(rec.to_dict()))
            if current == session_id:
                pipe.delete(ckey)

        await _transaction(self._r, [hkey, ckey], work)


class _Jobs:
    def __init__(self, client: Redis, keys: _Keys, ttl: float) -> None:
        self._r = client
        self._k = keys
        self._ttl = ttl

    async def put(self, record: JobRecord) -> None:
        doc = json.dumps(record.to_dict(), ensure_ascii=False, default=str)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.set(self._k.job(record.id), doc, px=int(self._ttl * 1000))
            pipe.zadd(self._k.jobs, {record.id: record.updated_at})
            await pipe.execute()

    async def get(self, job_id: str) -> JobRecord | None:
        raw = await self._r.get(self._k.job(job_id))
        if raw is None:
            return None
        try:
            return JobRecord.from_dict(json.loads(raw))
        except (ValueError, TypeError):
            return None

    async def prune(self, before: float) -> int:
        old = await self._r.zrangebyscore(self._k.jobs, "-inf", f"({before}")
        if not old:
            return 0
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(*[self._k.job(str(j)) for j in old])
            pipe.zrem(self._k.jobs, *old)
            deleted, _ = await pipe.execute()
        return int(deleted)


class RedisStore:
    """:class:`~nemo_mcp.store.base.StateStore` on Valkey/Redis; see :func:`open_redis_store`. ``redis`` is
    the client (hosted mode keeps its worker leases and shared rate limits on the same server)."""

    def __init__(
        self,
        client: Redis,
        tenant: str = LOCAL_TENANT,
        *,
        prefix: str = "nemo",
        location: str = "redis",
        owner: bool = False,
        job_ttl: float = JOB_TTL,
    ) -> None:
        self.redis = client
        self.prefix = prefix
        self._tenant = tenant
        self._location = location
        self._owner = owner  # only the store that opened the client closes it
        self._job_ttl = job_ttl
        keys = _Keys(prefix, tenant)
        self._tokens = _Tokens(client, keys)
        self._projects = _Projects(client, keys)
        self._jobs = _Jobs(client, keys, job_ttl)

    def __repr__(self) -> str:
        return f"RedisStore({self._location!r}, tenant={self._tenant!r})"

    @property
    def tenant(self) -> str:
        return self._tenant

    @property
    def location(self) -> str:
        return self._location

    @property
    def tokens(self) -> _Tokens:
        return self._tokens

    @property
    def projects(self) -> _Projects:
        return self._projects

    @property
    def jobs(self) -> _Jobs:
        return self._jobs

    def for_tenant(self, tenant: str) -> RedisStore:
        return RedisStore(
            self.redis, tenant, prefix=self.prefix, location=self._location, job_ttl=self._job_ttl
        )

    async def ping(self) -> None:
        """Reach the server once (start-up fails early and clearly when it cannot)."""
        await self.redis.ping()

    async def aclose(self) -> None:
        if self._owner:
            await self.redis.aclose()
