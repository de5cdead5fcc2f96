-- wrk script: wrk's whole latency histogram (as wrk holds it when done()
-- runs: corrected for coordinated omission, which halblab.wrk undoes for
-- per-request figures), printed after wrk's summary:
--   halb-latency <microseconds> <samples>
--   halb-run <duration in microseconds> <requests>
-- It defines no response(): wrk then parses no headers for the script and
-- loads as hard as with no script at all.
-- Usage: wrk ... -s wrk_latency.lua <url>
function print_latency(summary, latency)
  -- latency(i): the i-th latency present and its count (wrk scans from the
  -- minimum for each: about a second for 20,000 distinct values).
  for i = 1, #latency do
    local us, n = latency(i)
    io.write(string.format("halb-latency %d %d\n", us, n))
  end
  io.write(string.format("halb-run %d %d\n", summary.duration, summary.requests))
end

done = print_latency
