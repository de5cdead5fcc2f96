"""The fastest_response balancer's Lua core, run by the real interpreters of
both engines (LuaJIT as in nginx, Lua 5.3 as in HAProxy) with a store whose
clock the test moves. Only the engine glue (ngx.*, core.*) is left out; the
Molecule scenarios and the benchmark run it inside the engines."""

import json
import shutil
import subprocess

import pytest

from ansible_collections.halb.loadbalancer.plugins.module_utils import balancer_lua

INTERPRETERS = [name for name in ("luajit", "lua5.3") if shutil.which(name)]

# A store like the engines' (ttl in seconds on a clock the script sets), a
# pool of three, and helpers the scenarios below call.
HARNESS = r"""
local M = (function() %(core)s end)()
local clock = 100.0
local data, expiry = {}, {}
local store = {}
function store.get(k)
  if expiry[k] and expiry[k] <= clock then data[k], expiry[k] = nil, nil end
  return data[k]
end
function store.set(k, v, ttl) data[k] = v; expiry[k] = (ttl and ttl > 0) and clock + ttl or nil end
function store.add(k, v, ttl) if store.get(k) ~= nil then return false end; store.set(k, v, ttl); return true end
function store.incr(k, ttl) local v = store.get(k); if v == nil then store.set(k, 1, ttl) else data[k] = v + 1 end end
local in_flight = {shop = {}}

local function peer(n, extra)
  local p = {host = "10.0.0." .. n, port = 80, weight = 1, backup = false, down = false,
             max_fails = 2, fail_timeout = 10}
  for k, v in pairs(extra or {}) do p[k] = v end
  return p
end
M.configure({shop = {tries = 3, half_life = %(half_life)s, penalty = %(penalty)d, probe_interval = 1.0, peers = {
  peer(1, PEER1), peer(2, PEER2), peer(3, PEER3), peer(4, PEER4)}}})
local pool = M.pools.shop
if not PEER4 then table.remove(pool.peers, 4) end

-- n requests 1 ms apart; each stays in flight for latency[id] ms (as the
-- glue counts it), then its time teaches the average. Returns the count
-- per peer id.
local pending = {}
local function settle()
  local left = {}
  for _, r in ipairs(pending) do
    if r.at <= clock then
      in_flight.shop[r.peer.id] = in_flight.shop[r.peer.id] - 1
      M.learn(store, pool, r.peer, r.ms, clock)
    else
      left[#left + 1] = r
    end
  end
  pending = left
end
local function run(n, latency, tried)
  local counts = {}
  for _ = 1, n do
    clock = clock + 0.001
    settle()
    local p = M.choose(store, in_flight, pool, tried)
    local id = p and p.id or "none"
    counts[id] = (counts[id] or 0) + 1
    if p and latency then
      in_flight.shop[id] = (in_flight.shop[id] or 0) + 1
      pending[#pending + 1] = {peer = p, ms = latency[id], at = clock + latency[id] / 1000}
    end
  end
  return counts
end
local function average(n) return store.get("shop|10.0.0." .. n .. ":80|e") end
local out = {}
%(scenario)s
local parts = {}
for k, v in pairs(out) do parts[#parts + 1] = string.format("%%q: %%s", k, tostring(v)) end
print("{" .. table.concat(parts, ", ") .. "}")
"""

HALF_LIFE_S = balancer_lua.DEFAULT_HALF_LIFE_MS / 1000.0
MS = "{['10.0.0.1:80'] = %s, ['10.0.0.2:80'] = %s, ['10.0.0.3:80'] = %s}"


def run_lua(interpreter, scenario, penalty=balancer_lua.DEFAULT_PENALTY, peers=None):
    prelude = "".join("PEER%d = %s\n" % (n, peers.get(n, "nil") if peers else "nil") for n in (1, 2, 3, 4))
    core = balancer_lua.core_source()
    values = {"core": core, "penalty": penalty, "scenario": scenario, "half_life": HALF_LIFE_S}
    script = prelude + HARNESS % values
    proc = subprocess.run([interpreter, "-"], input=script, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.replace("nil", "null").replace("inf", "1e999").replace("nan", "null"))


pytestmark = [
    pytest.mark.skipif(not INTERPRETERS, reason="needs luajit or lua5.3 (scripts/setup.sh installs both)"),
    pytest.mark.parametrize("lua", INTERPRETERS),
]


def test_both_interpreters_are_there(lua):
    """setup.sh installs both: CI must not skip one silently."""
    assert set(INTERPRETERS) == {"luajit", "lua5.3"}


def test_a_server_50ms_slower_keeps_under_one_percent(lua):
    out = run_lua(
        lua,
        """
        local c = run(20000, %s)
        out.slow, out.a, out.b = c['10.0.0.1:80'] or 0, c['10.0.0.2:80'] or 0, c['10.0.0.3:80'] or 0
        """
        % (MS % (60, 10, 10)),
    )
    assert out["slow"] / 20000 < 0.01, out
    # The two equal servers share evenly.
    assert abs(out["a"] - out["b"]) / 20000 < 0.05, out


def test_servers_a_millisecond_apart_all_keep_a_real_share(lua):
    out = run_lua(
        lua,
        """
        local c = run(30000, %s)
        out.a, out.b, out.c = c['10.0.0.1:80'] or 0, c['10.0.0.2:80'] or 0, c['10.0.0.3:80'] or 0
        """
        % (MS % (2.0, 2.5, 3.0)),
    )
    # The fastest gets the most, and none is starved: in-flight requests
    # spread the load once latencies are this close. (The two slower ones
    # may tie: these requests come exactly 1 ms apart, and the cheapest of
    # all three takes each, so they can settle into turns.)
    assert out["a"] > out["b"] >= out["c"] > 0.2 * 30000, out
    assert out["a"] <= 0.5 * 30000, out


def test_every_sample_counts_by_the_time_since_the_one_before(lua):
    out = run_lua(
        lua,
        """
        local p = pool.peers[1]
        M.learn(store, pool, p, 10, clock)
        M.learn(store, pool, p, 60, clock)      -- the same instant: no time, no weight
        out.same = average(1)
        clock = clock + pool.half_life
        M.learn(store, pool, p, 60, clock)      -- slower, one half-life on: half way up
        out.up = average(1)
        clock = clock + pool.half_life
        M.learn(store, pool, p, 10, clock)      -- faster, one half-life on: half way down
        out.down = average(1)
        clock = clock + 4 * pool.half_life
        M.learn(store, pool, p, 10, clock)      -- a probe after a quiet second: 15/16 of it
        out.probe = average(1)
        """,
    )
    assert out == {"same": 10, "up": 35, "down": 22.5, "probe": 10 + 12.5 / 16}


@pytest.mark.parametrize("sample", ["0/0", "1/0", "-1/0", "-5", "4e6", "'12'", "nil"])
def test_a_broken_sample_leaves_the_average_alone(lua, sample):
    out = run_lua(
        lua,
        """
        local p = pool.peers[1]
        M.learn(store, pool, p, 12, clock)
        clock = clock + 1
        M.learn(store, pool, p, %s, clock)
        out.average = average(1)
        """
        % sample,
    )
    assert out == {"average": 12}


def test_a_slow_server_gets_a_probe_per_interval_and_wins_back_when_healed(lua):
    out = run_lua(
        lua,
        """
        run(2000, %s)                           -- 2 s: server 1 slow
        local slow = run(5000, %s)              -- 5 s more, still slow
        out.probes = slow['10.0.0.1:80'] or 0
        local healed = {}
        for second = 1, 10 do
          local c = run(1000, %s)               -- healed
          healed[second] = (c['10.0.0.1:80'] or 0) / 1000
        end
        out.share_after_5s = healed[5]
        out.share_after_10s = healed[10]
        """
        % (MS % (1000, 10, 10), MS % (1000, 10, 10), MS % (10, 10, 10)),
    )
    # A 1 s server: nothing but its probe, about one a second.
    assert 4 <= out["probes"] <= 6, out
    # Back to 80 % of a fair third within 10 s.
    assert out["share_after_10s"] >= 0.8 / 3, out


def test_drained_and_weight_zero_servers_get_nothing(lua):
    out = run_lua(
        lua,
        """
        local c = run(3000, %s)
        out.drained = c['10.0.0.1:80'] or 0
        out.zero = c['10.0.0.2:80'] or 0
        out.live = c['10.0.0.3:80'] or 0
        """
        % (MS % (10, 10, 10)),
        peers={1: "{down = true}", 2: "{weight = 0}"},
    )
    assert out == {"drained": 0, "zero": 0, "live": 3000}


def test_weights_scale_the_share(lua):
    out = run_lua(
        lua,
        """
        local c = run(30000, %s)
        out.heavy, out.light = c['10.0.0.1:80'] or 0, c['10.0.0.2:80'] or 0
        """
        % (MS % (10, 10, 10)),
        peers={1: "{weight = 3}"},
    )
    assert out["heavy"] > 1.5 * out["light"], out


def test_backups_serve_only_when_no_active_server_can(lua):
    out = run_lua(
        lua,
        """
        local c = run(2000, %s)
        out.backup_while_healthy = c['10.0.0.4:80'] or 0
        for _, n in ipairs({1, 2, 3}) do M.fail(store, pool, pool.peers[n]); M.fail(store, pool, pool.peers[n]) end
        c = run(100, nil)
        out.backup_while_down = c['10.0.0.4:80'] or 0
        clock = clock + 11   -- fail_timeout over: the active servers are back
        c = run(1000, %s)
        out.backup_after = c['10.0.0.4:80'] or 0
        """
        % (MS % (10, 10, 10), MS % (10, 10, 10)),
        peers={4: "{backup = true}"},
    )
    assert out == {"backup_while_healthy": 0, "backup_while_down": 100, "backup_after": 0}


def test_max_fails_rests_a_server_for_fail_timeout(lua):
    out = run_lua(
        lua,
        """
        local p = pool.peers[1]
        M.fail(store, pool, p)
        local c = run(600, %s)
        out.after_one_fail = (c['10.0.0.1:80'] or 0) > 0
        M.fail(store, pool, p)
        M.fail(store, pool, p)
        c = run(3000, %s)        -- 3 s of the 10 s rest
        out.while_resting = c['10.0.0.1:80'] or 0
        clock = clock + 10
        c = run(3000, %s)
        out.after_rest = (c['10.0.0.1:80'] or 0) > 0
        """
        % (MS % (10, 10, 10), MS % (10, 10, 10), MS % (10, 10, 10)),
    )
    assert out == {"after_one_fail": True, "while_resting": 0, "after_rest": True}


def test_a_retry_avoids_the_servers_already_tried(lua):
    out = run_lua(
        lua,
        """
        local tried = {['10.0.0.1:80'] = true, ['10.0.0.2:80'] = true}
        local c = run(500, %s, tried)
        out.other = c['10.0.0.3:80'] or 0
        -- All tried: any server rather than none.
        tried['10.0.0.3:80'] = true
        c = run(10, nil, tried)
        out.none = c['none'] or 0
        """
        % (MS % (10, 10, 10)),
    )
    assert out == {"other": 500, "none": 0}


def test_in_flight_requests_make_a_server_cost_more(lua):
    out = run_lua(
        lua,
        """
        M.learn(store, pool, pool.peers[1], 10, clock)
        M.learn(store, pool, pool.peers[2], 10, clock)
        M.learn(store, pool, pool.peers[3], 10, clock)
        in_flight.shop['10.0.0.1:80'] = 3
        local c = run(6000, nil)
        out.busy = c['10.0.0.1:80'] or 0
        """,
    )
    # Cost x4: its share falls to a few percent of requests.
    assert out["busy"] / 6000 < 0.05, out


def test_with_one_slow_server_of_three_the_two_healthy_ones_are_compared_every_time(lua):
    out = run_lua(
        lua,
        """
        M.learn(store, pool, pool.peers[1], 60, clock)
        M.learn(store, pool, pool.peers[2], 10, clock)
        M.learn(store, pool, pool.peers[3], 10, clock)
        in_flight.shop['10.0.0.2:80'] = 2
        local c = run(6000, nil)
        out.slow, out.queued, out.idle = c['10.0.0.1:80'] or 0, c['10.0.0.2:80'] or 0, c['10.0.0.3:80'] or 0
        """,
    )
    # Two random draws would give the queued server every request it drew
    # with the slow one (a third of them); compared with the idle one each
    # time, it gets its probes only (one per second of the 6 s).
    assert out["slow"] <= 7 and out["queued"] <= 7, out
    assert out["idle"] >= 6000 - 14, out


def test_servers_that_cost_the_same_share_at_random(lua):
    out = run_lua(
        lua,
        """
        for n = 1, 3 do M.learn(store, pool, pool.peers[n], 10, clock) end
        local c = run(6000, nil)
        out.a, out.b, out.c = c['10.0.0.1:80'] or 0, c['10.0.0.2:80'] or 0, c['10.0.0.3:80'] or 0
        """,
    )
    assert all(abs(out[k] - 2000) < 200 for k in "abc"), out


def test_a_pool_larger_than_full_scan_max_draws_two_at_random(lua):
    size = balancer_lua.FULL_SCAN_MAX + 2
    out = run_lua(
        lua,
        """
        local peers = {}
        for n = 1, %d do
          peers[n] = {host = "10.0.1." .. n, port = 80, weight = 1, backup = false, down = false,
                      max_fails = 0, fail_timeout = 10}
        end
        M.configure({big = {tries = 1, half_life = 0.25, penalty = 2, probe_interval = 1000, peers = peers}})
        in_flight.big = {}
        local big = M.pools.big
        for n, p in ipairs(big.peers) do
          M.learn(store, big, p, 10, clock)
          in_flight.big[p.id] = n     -- the first is the cheapest, each next one dearer
        end
        local c = {}
        for _ = 1, 20000 do
          local p = M.choose(store, in_flight, big, nil)
          c[p.id] = (c[p.id] or 0) + 1
        end
        out.cheapest, out.second_dearest, out.dearest = c['10.0.1.1:80'] or 0, c['10.0.1.%d:80'] or 0,
          c['10.0.1.%d:80'] or 0
        """
        % (size, size - 1, size),
    )
    # The cheapest wins whenever it is drawn (2 of n); the second dearest
    # only when drawn with the dearest, which never wins but its probe.
    assert abs(out["cheapest"] / 20000 - 2.0 / size) < 0.03, out
    assert out["second_dearest"] > 0, out
    assert out["dearest"] <= 1, out


RESOLVE = r"""
local R = (function() %s end)()
local out = {}
out.localhost = table.concat(R.resolve("localhost"), ",")
local ok, err = pcall(R.resolve, "no-such-server.invalid")
out.unknown = ok and "resolved" or err
local peers = R.by_address({
  {host = "localhost", port = 8080, weight = 3, backup = false},
  {host = "192.0.2.7", port = 8081, weight = 1, backup = true},
  {host = "2001:db8::7", port = 8082, weight = 2, backup = false},
})
for i, p in ipairs(peers) do
  out["peer" .. i] = string.format("%%s %%d %%d %%s %%s", p.host, p.port, p.weight, tostring(p.backup),
                                   tostring(p.name))
end
out.count = #peers
local parts = {}
for k, v in pairs(out) do parts[#parts + 1] = string.format("%%q: %%q", k, tostring(v)) end
print("{" .. table.concat(parts, ", ") .. "}")
"""


def test_nginx_resolves_a_named_server_into_one_per_address_and_fails_on_an_unknown_name(lua):
    if lua != "luajit":
        pytest.skip("nginx's glue uses LuaJIT's FFI; HAProxy's Lua 5.3 never runs it")
    proc = subprocess.run([lua, "-"], input=RESOLVE % balancer_lua.resolver_source(), capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    addresses = out["localhost"].split(",")
    assert "127.0.0.1" in addresses or "::1" in addresses, out
    assert out["count"] == str(len(addresses) + 2)
    # The named server's settings go with each of its addresses; addresses
    # stay as they are.
    assert out["peer1"] == "%s 8080 3 false localhost" % addresses[0]
    assert out["peer%d" % (len(addresses) + 1)] == "192.0.2.7 8081 1 true nil"
    assert out["peer%d" % (len(addresses) + 2)] == "2001:db8::7 8082 2 false nil"
    assert out["unknown"].startswith("halb_balancer: server no-such-server.invalid does not resolve: "), out
