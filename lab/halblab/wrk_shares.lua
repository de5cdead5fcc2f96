-- wrk script: which backend answered (X-Backend), counted in 100 ms
-- buckets of wall-clock time since an origin the caller gives, plus the
-- p50/p95/p99 of wrk's own latency histogram. Printed after wrk's summary:
--   halb-bucket <bucket> <backend or -> <answers>
--   halb-latency-us <p50> <p95> <p99>
-- Usage: wrk ... -s wrk_shares.lua <url> -- <origin, seconds since the epoch>
local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } halb_timespec;
int clock_gettime(int clock_id, halb_timespec *tp);
]])
local CLOCK_REALTIME = 0
local now_ts = ffi.new("halb_timespec")

local function now()
  ffi.C.clock_gettime(CLOCK_REALTIME, now_ts)
  return tonumber(now_ts.tv_sec) + tonumber(now_ts.tv_nsec) / 1e9
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

origin = 0
counts = {}
function init(args)
  origin = tonumber(args[1]) or now()
end

function response(status, headers)
  local backend = status == 200 and (headers["X-Backend"] or headers["x-backend"]) or "-"
  local key = math.floor((now() - origin) * 10) .. " " .. backend
  counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency)
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("counts")) do
      io.write(string.format("halb-bucket %s %d\n", key, n))
    end
  end
  io.write(string.format("halb-latency-us %d %d %d\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
