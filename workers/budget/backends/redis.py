"""The rate budget in Redis: shared by every process on every host, for high throughput.

Each budget is one Redis string holding the same JSON state as the SQL backends. A Lua
script (atomic in Redis: nothing runs between its commands) loads the states of all the
budgets a request counts against, decides with the same sliding-window arithmetic as
:mod:`workers.budget._window`, and stores them. The time is the Redis server's ``TIME``
(one clock for every host) unless a clock is injected. Every key carries a TTL of its
longest window plus any block, so idle budgets vanish.

All keys share one hash tag (``{allegro-feed-budget}``), so the multi-key script also
works on Redis Cluster. Needs the ``redis`` package (redis-py 5 or 6).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from workers.budget._window import Claim, KeyState, Verdict
from workers.budget.base import Clock, RateBudget
from workers.budget.config import BudgetConfig, Kind
from workers.budget.errors import BudgetUnavailable

__all__ = ["RedisBudget"]

# Shared by both scripts: the time (injected or the server's) and the state codec.
_COMMON = """
local function clock(arg)
  if arg ~= nil and arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function load(key)
  local text = redis.call('GET', key)
  local s
  if text then s = cjson.decode(text) else s = {} end
  s.at = tonumber(s.at) or 0
  s.bu = tonumber(s.bu) or 0
  s.pen = tonumber(s.pen) or 0
  if type(s.w) ~= 'table' then s.w = {} end
  return s
end
local function save(key, s, ttl)
  redis.call('SET', key, cjson.encode(s), 'PX', math.max(1000, math.ceil(ttl * 1000)))
end
"""

# KEYS: one per claim. ARGV: now ('' = server time), then per claim: cost, number of
# windows, and limit, span_s, buckets per window. Returns {wait as text, claim number}.
_TAKE = (
    _COMMON
    + """
local now = clock(ARGV[1])
local claims, pos = {}, 2
for k = 1, #KEYS do
  local c = {key = KEYS[k], cost = tonumber(ARGV[pos]), windows = {}}
  local n = tonumber(ARGV[pos + 1])
  pos = pos + 2
  for w = 1, n do
    local limit, span, buckets = tonumber(ARGV[pos]), tonumber(ARGV[pos + 1]),
      tonumber(ARGV[pos + 2])
    pos = pos + 3
    c.windows[w] = {limit = limit, span = span, buckets = buckets,
      size = span / buckets, tag = ARGV[pos - 2] .. '/' .. ARGV[pos - 1]}
  end
  c.state = load(KEYS[k])
  claims[k] = c
end

-- The buckets of window w still counting at t, as a sorted list and their sum.
local function live(s, w, t)
  local oldest = math.floor(t / w.size) - w.buckets
  local list, sum = {}, 0
  for i, n in pairs(s.w[w.tag] or {}) do
    local index, count = tonumber(i), tonumber(n)
    if index >= oldest and count > 0 then
      list[#list + 1] = {index, count}
      sum = sum + count
    end
  end
  table.sort(list, function(a, b) return a[1] < b[1] end)
  return list, sum
end

local wait, limited = 0, 0
for k, c in ipairs(claims) do
  local t = math.max(now, c.state.at)
  c.t = t
  local earliest = math.max(t, c.state.bu)
  for _, w in ipairs(c.windows) do
    local list, sum = live(c.state, w, t)
    local excess = sum + c.cost - w.limit
    if excess > 0 then
      for _, b in ipairs(list) do
        excess = excess - b[2]
        if excess <= 0 then
          earliest = math.max(earliest, (b[1] + w.buckets + 1) * w.size)
          break
        end
      end
    end
  end
  if earliest > t and earliest - now > wait then
    wait, limited = earliest - now, k
  end
end
if wait > 0 then return {string.format('%.17g', wait), limited} end

for _, c in ipairs(claims) do
  local counts, longest = {}, 0
  for _, w in ipairs(c.windows) do
    local list = live(c.state, w, c.t)
    local kept = {}
    for _, b in ipairs(list) do kept[string.format('%d', b[1])] = b[2] end
    local index = string.format('%d', math.floor(c.t / w.size))
    kept[index] = (kept[index] or 0) + c.cost
    counts[w.tag] = kept
    longest = math.max(longest, w.span)
  end
  c.state.w = counts
  c.state.at = c.t
  save(c.key, c.state, longest + math.max(0, c.state.bu - c.t) + 60)
end
return {'0', 0}
"""
)

# KEYS[1]: the budget. ARGV: now ('' = server time), seconds, TTL floor in seconds, and
# '1' to count the 429 ('0': a block held as a precaution).
_PENALIZE = (
    _COMMON
    + """
local s = load(KEYS[1])
local t = math.max(clock(ARGV[1]), s.at)
s.bu = math.max(s.bu, t + math.max(0, tonumber(ARGV[2])))
if ARGV[4] ~= '0' then s.pen = s.pen + 1 end
s.at = t
save(KEYS[1], s, tonumber(ARGV[3]) + (s.bu - t))
return 1
"""
)

_NOW = _COMMON + "\nreturn string.format('%.17g', clock(''))\n"


class RedisBudget(RateBudget):
    """A :class:`~workers.budget.base.RateBudget` in the Redis server at ``url``
    (``redis://``, ``rediss://`` or ``unix://``). ``prefix``: start of every key (give
    each deployment or test its own). ``clock``: epoch seconds; without one, Redis's
    ``TIME``. ``timeout_s``: socket connect and read timeout."""

    def __init__(
        self,
        url: str,
        config: BudgetConfig | None = None,
        *,
        clock: Clock | None = None,
        prefix: str = "allegro-feed",
        timeout_s: float = 5.0,
    ) -> None:
        super().__init__(config or BudgetConfig(), clock=clock)
        try:
            import redis  # imported here: only this backend needs the package
        except ImportError as exc:
            raise ImportError(
                "the Redis rate budget needs the redis package: pip install 'redis>=5,<7'"
            ) from exc

        self._redis_errors: tuple[type[BaseException], ...] = (redis.RedisError,)
        self._client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._prefix = prefix
        self._take_script: Any = self._client.register_script(_TAKE)
        self._penalize_script: Any = self._client.register_script(_PENALIZE)
        self._now_script: Any = self._client.register_script(_NOW)

    def __repr__(self) -> str:
        return f"RedisBudget(prefix={self._prefix!r})"

    def _key(self, kind: str, subject: str) -> str:
        # The hash tag keeps every budget in one slot of a Redis Cluster.
        return f"{self._prefix}:{{allegro-feed-budget}}:{kind}:{subject}"

    def _call(self, command: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A Redis command or script, its errors as BudgetUnavailable."""
        try:
            return command(*args, **kwargs)
        except self._redis_errors as exc:
            raise BudgetUnavailable(f"rate budget in {self!r}: {exc}") from exc

    @staticmethod
    def _arg(now: float | None) -> str:
        return "" if now is None else repr(float(now))

    def _take(self, claims: Sequence[Claim], now: float | None) -> Verdict:
        args: list[Any] = [self._arg(now)]
        for claim in claims:
            args += [claim.cost, len(claim.windows)]
            for window in claim.windows:
                args += [window.limit, f"{window.span_s:g}", window.buckets]
        keys = [self._key(*claim.key) for claim in claims]
        wait_text, limited = self._call(self._take_script, keys=keys, args=args)
        wait_s = float(wait_text)
        if wait_s <= 0:
            return Verdict(0.0)
        return Verdict(wait_s, Kind(claims[int(limited) - 1].kind))

    def _penalize(
        self, kind: str, subject: str, seconds: float, now: float | None, *, count: bool = True
    ) -> None:
        windows = self.config.windows(Kind(kind))
        longest = max((w.span_s for w in windows), default=60.0)
        self._call(
            self._penalize_script,
            keys=[self._key(kind, subject)],
            args=[
                self._arg(now),
                repr(float(seconds)),
                repr(longest + 60.0),
                "1" if count else "0",
            ],
        )

    def _load(self, kind: str, subject: str) -> KeyState:
        text = self._call(self._client.get, self._key(kind, subject))
        # The script writes the JSON shape of KeyState.to_json (cjson may write whole
        # numbers with an exponent; from_json reads that too).
        return KeyState.from_json(text)

    def _server_now(self) -> float:
        return float(self._call(self._now_script, keys=[], args=[]))

    def close(self) -> None:
        self._client.close()
