-- wrk script: which backend answered (X-Backend), counted in 100 ms
-- buckets of wall-clock time since an origin the caller gives, plus wrk's
-- whole latency histogram (as wrk holds it when done() runs: corrected for
-- coordinated omission, which halblab.wrk undoes for per-request figures).
-- Printed after wrk's summary:
--   halb-bucket <bucket> <backend or -> <answers>
--   halb-latency <microseconds> <samples>
--   halb-run <duration in microseconds> <requests>
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
  -- latency(i): the i-th latency present and its count (wrk scans from the
  -- minimum for each: about a second for 20,000 distinct values).
  for i = 1, #latency do
    local us, n = latency(i)
    io.write(string.format("halb-latency %d %d\n", us, n))
  end
  io.write(string.format("halb-run %d %d\n", summary.duration, summary.requests))
end
