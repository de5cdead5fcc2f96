# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fastest_response balancer: Lua that runs inside the engine.

Each request picks its server in the engine itself, from what the engine
measured on the requests before it. No agent, no socket, no reload:

- The cheapest usable server gets the request (in pools of more than
  FULL_SCAN_MAX usable servers, the cheaper of two drawn at random: power
  of two choices), where

      cost = (latency_ms + NOISE_MS) ^ penalty * (in_flight + 1) / weight

  latency_ms is a moving average of the server's response times over
  time: each answer moves it by the time since the one before, with a
  half-life, so it follows the server's last half-life of answers whether
  they come ten or ten thousand a second. in_flight counts the requests
  sent to it and not yet answered, so a server that turns slow costs more
  at once, as its requests stay longer, before its average has caught up;
  and servers that answer alike share by their queues, as least
  connections would. The average is symmetric on purpose: when a slower
  answer replaced it at once, every healthy server's occasional slow
  answer under load set it aside too, and at 64 connections the slow
  server took those requests, many times the share it gets now. NOISE_MS
  keeps servers a millisecond apart close in cost, so each keeps a real
  share.
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

# Pools of up to this many usable servers compare them all on every
# request; larger ones draw two at random (power of two choices). With
# three servers and one slow, two random draws compare the two healthy ones
# only a third of the time (the rest of the time the healthy one drawn
# beside the slow one wins whatever its queue); a full scan costs a few table reads per server, and past a handful
# of servers two draws come close to the best anyway while keeping each
# request's cost flat.
FULL_SCAN_MAX = 8

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
local FULL_SCAN_MAX = %(full_scan_max)d
local pools = {}
M.pools = pools

-- A server's store keys are built once and kept on it: a string
-- concatenation per key on every request showed in HAProxy's CPU time.
local function key(pool, peer, what)
  local keys = peer.keys
  if not keys then
    keys = {}
    peer.keys = keys
  end
  local k = keys[what]
  if not k then
    k = pool.name .. "|" .. peer.id .. "|" .. what
    keys[what] = k
  end
  return k
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

-- The servers a request may go to, in a list kept on the pool and
-- refilled on each call (no table built per request).
local function candidates(store, pool, tried)
  local list = pool.candidates
  if not list then
    list = {}
    pool.candidates = list
  end
  for i = #list, 1, -1 do
    list[i] = nil
  end
  for pass = 1, 2 do
    local backup = pass == 2
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

-- The cheapest of the list; servers that cost the same share its requests
-- at random (each tie replaces the pick with chance 1/ties).
local function cheapest(store, in_flight, pool, list)
  local best, best_cost, ties = nil, math.huge, 0
  for _, peer in ipairs(list) do
    local c = cost(store, in_flight, pool, peer)
    if c < best_cost then
      best, best_cost, ties = peer, c, 1
    elseif c == best_cost then
      ties = ties + 1
      if math.random(ties) == 1 then
        best = peer
      end
    end
  end
  return best
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
  if #list > FULL_SCAN_MAX then
    local i = math.random(#list)
    local j = math.random(#list - 1)
    if j >= i then
      j = j + 1
    end
    local a, b = list[i], list[j]
    peer = cost(store, in_flight, pool, b) < cost(store, in_flight, pool, a) and b or a
  elseif #list > 1 then
    peer = cheapest(store, in_flight, pool, list)
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
  if old and last then
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

_RESOLVE = r"""
-- A server given by DNS name is resolved when the config loads (nginx -t
-- and every reload run init_by_lua), by the system's resolver, as nginx
-- resolves the server lines of its own upstream blocks; it becomes one
-- server per address, each with its settings. set_current_peer takes
-- addresses only, and a name that does not resolve fails the config check,
-- so the config in service stays.
local ffi = require("ffi")
ffi.cdef([[
struct halb_addrinfo {
  int ai_flags; int ai_family; int ai_socktype; int ai_protocol;
  unsigned int ai_addrlen; void *ai_addr; char *ai_canonname;
  struct halb_addrinfo *ai_next;
};
]])
-- One at a time, in pcall: another module may have declared one already.
for _, declaration in ipairs({
  "int getaddrinfo(const char *node, const char *service, const struct halb_addrinfo *hints,"
    .. " struct halb_addrinfo **res);",
  "void freeaddrinfo(struct halb_addrinfo *res);",
  "const char *gai_strerror(int errcode);",
  "const char *inet_ntop(int af, const void *src, char *dst, unsigned int size);",
}) do
  pcall(ffi.cdef, declaration)
end
-- Linux: address families, SOCK_STREAM, and where each sockaddr holds its
-- address (sockaddr_in: after family and port; sockaddr_in6: after the
-- flow label too).
local ADDRESS_AT = {[2] = 4, [10] = 8}
local SOCK_STREAM = 1

local function is_address(host)
  return string.find(host, ":", 1, true) ~= nil or string.match(host, "^[%%d.]+$") ~= nil
end

local function resolve(host)
  local hints = ffi.new("struct halb_addrinfo")
  hints.ai_socktype = SOCK_STREAM
  local found = ffi.new("struct halb_addrinfo *[1]")
  local rc = ffi.C.getaddrinfo(host, nil, hints, found)
  if rc ~= 0 then
    error("halb_balancer: server " .. host .. " does not resolve: " .. ffi.string(ffi.C.gai_strerror(rc)), 0)
  end
  local addresses, seen, text = {}, {}, ffi.new("char[64]")
  local entry = found[0]
  while entry ~= nil do
    local at = ADDRESS_AT[entry.ai_family]
    if at and ffi.C.inet_ntop(entry.ai_family, ffi.cast("const char *", entry.ai_addr) + at, text, 64) ~= nil then
      local address = ffi.string(text)
      if not seen[address] then
        seen[address] = true
        addresses[#addresses + 1] = address
      end
    end
    entry = entry.ai_next
  end
  ffi.C.freeaddrinfo(found[0])
  return addresses
end

-- The pool's servers with each named one replaced by one per address.
local function by_address(peers)
  local out = {}
  for _, peer in ipairs(peers) do
    if is_address(peer.host) then
      out[#out + 1] = peer
    else
      for _, address in ipairs(resolve(peer.host)) do
        local copy = {}
        for k, v in pairs(peer) do
          copy[k] = v
        end
        copy.host, copy.name = address, peer.host
        out[#out + 1] = copy
      end
    end
  end
  return out
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
  for _, pool in pairs(config) do
    pool.peers = by_address(pool.peers)
  end
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

-- The clock: set from the date the config hands each converter, and read
-- by the task once per round; the store's expiries compare against it.
local clock = 0
local function tick()
  local t = core.now()
  clock = t.sec + t.usec / 1000000
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

-- Both per-request steps are converters, not actions: HAProxy calls a
-- converter without building a txn object for it. The config hands them
-- what they need, clock readings included (core.now() builds a table on
-- every call):
--   http-request set-var(txn.halb_start) date(0,us)
--   http-request set-var(txn.halb_server) var(txn.halb_start),
--     lua.%(module)s_pick(<pool>,<half_life_ms>,<penalty>,<probe_ms>)
--   http-response set-var(txn.halb_seen) date(0,us),concat(_,txn.halb_start),
--     concat(_,txn.halb_server),lua.%(module)s_observe(<pool>)
-- (each rule on one line).
-- In the lab this took HAProxy's CPU per request at 4 connections from
-- about 95 to 91 us (round robin: 66). pick returns the server for
-- use-server (nothing: roundrobin decides).
core.register_converters("%(module)s_pick", function(start_us, name, half_life_ms, penalty, probe_ms)
  clock = (tonumber(start_us) or 0) / 1000000
  local pool = pool_for(name, half_life_ms, penalty, probe_ms)
  local peer = M.choose(store, in_flight, pool, nil)
  if peer then
    local counts = in_flight[name]
    counts[peer.id] = (counts[peer.id] or 0) + 1
    return peer.id
  end
  return nil
end)

-- The answer ("<now us>_<pick's us>_<picked>"): one less in flight for
-- the picked server, and the time since the pick teaches its average.
-- When HAProxy retried on another server, the picked one is charged the
-- whole time: its failure made this request slow.
core.register_converters("%(module)s_observe", function(seen, name)
  local now_us, start_us, picked = string.match(seen, "^(%%d+)_(%%d+)_(.+)$")
  local pool, counts = pools[name], in_flight[name]
  if not (picked and pool and counts) then
    return nil
  end
  if counts[picked] then
    counts[picked] = math.max(0, counts[picked] - 1)
  end
  now_us = tonumber(now_us)
  clock = now_us / 1000000
  for _, peer in ipairs(pool.peers) do
    if peer.id == picked then
      M.learn(store, pool, peer, (now_us - tonumber(start_us)) / 1000, clock)
    end
  end
  return nil
end)

return M
"""


def core_source():
    """The engine-neutral core alone, as a module (the unit tests run it)."""
    return (_CORE % {"noise": NOISE_MS, "full_scan_max": FULL_SCAN_MAX}) + "\nreturn M\n"


def resolver_source():
    """nginx's name resolution alone, as a module with resolve and by_address
    (the unit tests run it under LuaJIT, whose FFI it uses)."""
    return (_RESOLVE % {}) + "\nreturn {resolve = resolve, by_address = by_address}\n"


def source(engine):
    """The Lua module for `engine`, as lb_config writes it."""
    values = {"noise": NOISE_MS, "full_scan_max": FULL_SCAN_MAX, "module": MODULE}
    glue = {"nginx": _RESOLVE + _NGINX, "haproxy": _HAPROXY}[engine]
    return "-- Written by halb.loadbalancer (lb_config). Do not edit.\n" + (_CORE % values) + (glue % values)
