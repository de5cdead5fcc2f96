# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fastest_response balancer: Lua that runs inside the engine.

Each request picks its server in the engine itself, from what the engine
measured on the requests before it. No agent, no socket, no reload:

- Two servers are drawn at random among the usable ones (power of two
  choices) and the cheaper one gets the request, where

      cost = (latency_ms + NOISE_MS) ^ penalty * (in_flight + 1) / weight

  latency_ms is a moving average of the server's response times. A slower
  sample replaces it at once (a server that turns slow is avoided from its
  first slow answer); faster samples pull it down with a half-life.
  in_flight counts the requests sent to it and not yet answered, so a
  server that holds requests longer costs more before any of them has
  finished, and servers that answer alike share by their queues, as least
  connections would. NOISE_MS keeps servers a millisecond apart close
  in cost, so each keeps a real share.
- The penalty says how much latency weighs against queue length: with
  the default 2, a server answering in 60 ms costs as much as one
  answering in 10 ms with 18 requests in flight, so at ordinary
  concurrency it gets nothing but its probes and does not set the p99.
- A usable server that got no request for probe_interval gets the next one
  (one request, whichever worker takes it): the trickle that shows a slow
  server's recovery however high its average is.
- Drained servers and weight 0 take no new requests; backups only when no
  active server is usable; a server that failed max_fails times within
  fail_timeout rests for fail_timeout (passive health, as nginx's own
  max_fails). A failed attempt goes to another server, as often as the
  spec's retries allow.

The code is one core (selection, averages) and one short glue per engine;
lb_config writes it as FILE_NAME in the renderer's lua_dir, and the config
loads it from there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Milliseconds added to every latency before costs are compared.
NOISE_MS = 5

# Defaults of the pool's fastest_response settings (lb_spec).
DEFAULT_HALF_LIFE_MS = 250
DEFAULT_PENALTY = 2
DEFAULT_PROBE_INTERVAL_MS = 1000

# The Lua module's name and file (in the renderer's lua_dir).
MODULE = "halb_balancer"
FILE_NAME = MODULE + ".lua"

# The core needs from its glue: now() in seconds; store.get/set/add/incr
# (keys expire after ttl seconds; add succeeds only if the key is absent);
# in_flight, a table pool -> peer key -> requests in flight.
_CORE = r"""
local M = {}
local NOISE_MS = %(noise)d
local pools = {}
M.pools = pools

local function key(pool, peer, what)
  return pool.name .. "|" .. peer.id .. "|" .. what
end

local function usable(store, pool, peer, tried)
  if peer.weight <= 0 or peer.down or (tried and tried[peer.id]) then
    return false
  end
  if peer.max_fails > 0 and (store.get(key(pool, peer, "f")) or 0) >= peer.max_fails then
    return false
  end
  return true
end

local function candidates(store, pool, tried)
  local list = {}
  for _, backup in ipairs({false, true}) do
    for _, peer in ipairs(pool.peers) do
      if peer.backup == backup and usable(store, pool, peer, tried) then
        list[#list + 1] = peer
      end
    end
    if #list > 0 then
      return list
    end
  end
  -- All resting or tried: any server that may take requests, rather than
  -- none (one of them may be back).
  for _, peer in ipairs(pool.peers) do
    if peer.weight > 0 and not peer.down then
      list[#list + 1] = peer
    end
  end
  return list
end

local function cost(store, in_flight, pool, peer)
  local latency = store.get(key(pool, peer, "e")) or 0
  return (latency + NOISE_MS) ^ pool.penalty * ((in_flight[pool.name][peer.id] or 0) + 1) / peer.weight
end

function M.choose(store, in_flight, pool, tried)
  local list = candidates(store, pool, tried)
  if #list == 0 then
    return nil
  end
  for _, peer in ipairs(list) do
    -- The probe: one request for a server nobody picked for a while.
    if store.add(key(pool, peer, "p"), true, pool.probe_interval) then
      return peer
    end
  end
  local peer = list[1]
  if #list > 1 then
    local i = math.random(#list)
    local j = math.random(#list - 1)
    if j >= i then
      j = j + 1
    end
    local a, b = list[i], list[j]
    peer = cost(store, in_flight, pool, b) < cost(store, in_flight, pool, a) and b or a
  end
  store.set(key(pool, peer, "p"), true, pool.probe_interval)
  return peer
end

function M.learn(store, pool, peer, ms, now)
  -- Finite, in range: a broken sample must not poison the average.
  if type(ms) ~= "number" or ms ~= ms or ms < 0 or ms > 3600000 then
    return
  end
  local ekey, tkey = key(pool, peer, "e"), key(pool, peer, "t")
  local old, last = store.get(ekey), store.get(tkey)
  local value = ms
  if old and last and ms < old then
    local keep = 0.5 ^ (math.max(0, now - last) / pool.half_life)
    value = old * keep + ms * (1 - keep)
  end
  store.set(ekey, value)
  store.set(tkey, now)
end

function M.fail(store, pool, peer)
  if peer.max_fails > 0 then
    store.incr(key(pool, peer, "f"), peer.fail_timeout)
  end
end

function M.configure(config)
  for name, pool in pairs(config) do
    pool.name = name
    for _, peer in ipairs(pool.peers) do
      peer.id = peer.host .. ":" .. peer.port
    end
    pools[name] = pool
  end
end
"""

_NGINX = r"""
-- nginx: lua-nginx-module. Averages, failures and probes live in the
-- shared dict (all workers learn from every request); in-flight counts are
-- each worker's own, so a worker that dies cannot leave one behind.
local balancer = require("ngx.balancer")
local dict = ngx.shared.%(module)s
local store = {
  get = function(k) return dict:get(k) end,
  set = function(k, v, ttl) dict:set(k, v, ttl or 0) end,
  add = function(k, v, ttl) return dict:add(k, v, ttl) end,
  incr = function(k, ttl) dict:incr(k, 1, 0, ttl) end,
}
local in_flight = {}

local configure = M.configure
function M.configure(config)
  configure(config)
  for name in pairs(config) do
    in_flight[name] = {}
  end
end

local function done(pool, peer)
  local counts = in_flight[pool.name]
  counts[peer.id] = math.max(0, (counts[peer.id] or 0) - 1)
end

-- balancer_by_lua: once per attempt.
function M.balance(name)
  local pool, ctx = pools[name], ngx.ctx
  local tried = ctx.halb_tried
  if tried then
    local failed = balancer.get_last_failure()
    done(pool, ctx.halb_peer)
    if failed == "failed" then
      M.fail(store, pool, ctx.halb_peer)
    end
  else
    tried = {}
    ctx.halb_tried, ctx.halb_pool = tried, name
    if pool.tries > 1 then
      balancer.set_more_tries(pool.tries - 1)
    end
  end
  local peer = M.choose(store, in_flight, pool, tried)
  if not peer then
    ngx.log(ngx.ERR, "halb: pool ", name, " has no server that takes requests")
    return ngx.exit(502)
  end
  tried[peer.id] = true
  ctx.halb_peer = peer
  local counts = in_flight[name]
  counts[peer.id] = (counts[peer.id] or 0) + 1
  local ok, err = balancer.set_current_peer(peer.host, peer.port)
  if not ok then
    ngx.log(ngx.ERR, "halb: cannot use ", peer.id, ": ", err)
    return ngx.exit(502)
  end
end

-- log_by_lua: the last attempt's outcome and time. nginx lists every
-- attempt ("0.001, 0.012", or "a : b" after an internal redirect); the
-- last number is the server this request ended on.
function M.observe()
  local ctx = ngx.ctx
  local pool, peer = pools[ctx.halb_pool], ctx.halb_peer
  if not (pool and peer) then
    return
  end
  done(pool, peer)
  local status = tonumber(string.match(ngx.var.upstream_status or "", "(%%d+)%%s*$"))
  if not status or status == 502 or status == 504 then
    M.fail(store, pool, peer)
    return
  end
  local seconds = tonumber(string.match(ngx.var.upstream_response_time or "", "([%%d.]+)%%s*$"))
  if seconds then
    M.learn(store, pool, peer, seconds * 1000, ngx.now())
  end
end

return M
"""


_HAPROXY = r"""
-- HAProxy: one Lua state per thread (lua-load-per-thread: no lock shared
-- by the threads on every request), so plain tables hold each thread's
-- averages and in-flight counts, and each thread probes on its own. The
-- servers, their weights, backup flags and states
-- (health checks, drain, maintenance, set at run time too) are read from
-- HAProxy itself every REFRESH_S; a pick that went DOWN meanwhile is not
-- used (use-server skips a server that is down, and roundrobin decides).
local REFRESH_S = 0.1
local data, expiry, in_flight = {}, {}, {}

-- The clock is read once per action or task round (core.now() builds a
-- table on every call) and the store's expiries compare against it.
local clock = 0
local function tick()
  local t = core.now()
  clock = t.sec + t.usec / 1000000
  return clock
end
local function now()
  return clock
end

local store = {}
function store.get(k)
  local until_ = expiry[k]
  if until_ and until_ <= now() then
    data[k], expiry[k] = nil, nil
  end
  return data[k]
end
function store.set(k, v, ttl)
  data[k] = v
  expiry[k] = (ttl and ttl > 0) and now() + ttl or nil
end
function store.add(k, v, ttl)
  if store.get(k) ~= nil then
    return false
  end
  store.set(k, v, ttl)
  return true
end
function store.incr(k, ttl)
  local v = store.get(k)
  if v == nil then
    store.set(k, 1, ttl)
  else
    data[k] = v + 1
  end
end

-- A server takes new requests when it is up (or not checked); DRAIN, NOLB,
-- MAINT and DOWN do not.
local function takes_requests(status)
  return string.sub(status, 1, 2) == "UP" or status == "no check"
end

local function refresh(name)
  local backend = core.backends[name]
  local pool = pools[name]
  if not (backend and pool) then
    return
  end
  local peers, counts, was_down = {}, in_flight[name] or {}, {}
  for _, peer in ipairs(pool.peers) do
    was_down[peer.id] = peer.down
  end
  for server_name, server in pairs(backend.servers) do
    local stats = server:get_stats()
    local peer = {
      id = server_name,
      weight = tonumber(stats.weight) or 0,
      backup = tonumber(stats.bck) == 1,
      down = not takes_requests(stats.status or ""),
      max_fails = 0, -- HAProxy's own checks decide (status)
    }
    if was_down[server_name] and not peer.down then
      -- Back from down (a restart, maintenance): what it measured before
      -- says nothing about it now.
      store.set(key(pool, peer, "e"), nil)
    end
    peers[#peers + 1] = peer
    -- Requests that got no answer from the server (HAProxy's 503 or 504,
    -- a client that left) are not counted down by observe: HAProxy's own
    -- count of sessions caps ours.
    counts[server_name] = math.min(counts[server_name] or 0, tonumber(stats.scur) or 0)
  end
  table.sort(peers, function(a, b) return a.id < b.id end)
  pool.peers, in_flight[name] = peers, counts
end

local configure = M.configure
-- Pools come from "lua.halb_pick <half_life_ms> <penalty> <probe_ms>".
local function pool_for(name, half_life_ms, penalty, probe_ms)
  if not pools[name] then
    configure({[name] = {
      peers = {},
      half_life = tonumber(half_life_ms) / 1000,
      penalty = tonumber(penalty),
      probe_interval = tonumber(probe_ms) / 1000,
    }})
    refresh(name)
  end
  return pools[name]
end

core.register_task(function()
  while true do
    tick()
    for name in pairs(pools) do
      -- An error must not end the task: the states would stay as they were.
      local ok, err = pcall(refresh, name)
      if not ok then
        core.Warning("halb_balancer: reading the servers of " .. name .. " failed: " .. tostring(err))
      end
    end
    core.msleep(REFRESH_S * 1000)
  end
end)

-- The pick is kept in the transaction's private Lua slot for observe
-- (no sample conversion, as a txn variable would cost); use-server reads
-- the one variable it needs.
core.register_action("%(module)s_pick", {"http-req"}, function(txn, half_life_ms, penalty, probe_ms)
  tick()
  local name = txn.sf:be_name()
  local pool = pool_for(name, half_life_ms, penalty, probe_ms)
  local peer = M.choose(store, in_flight, pool, nil)
  if peer then
    local counts = in_flight[name]
    counts[peer.id] = (counts[peer.id] or 0) + 1
    txn:set_var("txn.halb_server", peer.id)
    txn:set_priv({name = name, picked = peer.id, start = clock})
  end
end, 3)

-- The server's answer: one less in flight, and its time since the pick
-- teaches the average.
core.register_action("%(module)s_observe", {"http-res"}, function(txn)
  local pick = txn:get_priv()
  if type(pick) ~= "table" then
    return
  end
  local pool, counts = pools[pick.name], in_flight[pick.name]
  if counts and counts[pick.picked] then
    counts[pick.picked] = math.max(0, counts[pick.picked] - 1)
  end
  local served = txn.sf:srv_name()
  if not (pool and served) then
    return
  end
  tick()
  for _, peer in ipairs(pool.peers) do
    if peer.id == served then
      M.learn(store, pool, peer, (clock - pick.start) * 1000, clock)
    end
  end
end, 0)

return M
"""


def core_source():
    """The engine-neutral core alone, as a module (the unit tests run it)."""
    return (_CORE % {"noise": NOISE_MS}) + "\nreturn M\n"


def source(engine):
    """The Lua module for `engine`, as lb_config writes it."""
    values = {"noise": NOISE_MS, "module": MODULE}
    glue = {"nginx": _NGINX, "haproxy": _HAPROXY}[engine]
    return "-- Written by halb.loadbalancer (lb_config). Do not edit.\n" + (_CORE % values) + (glue % values)
