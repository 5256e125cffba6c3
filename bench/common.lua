-- Shared by every bench script (loaded with dofile): numbers each wrk thread,
-- sums the per-thread tally of HTTP statuses and prints one JSON line that
-- bench/run.py parses. Scripts that define response() fill `statuses`; the
-- others leave wrk on its static request path (no Lua per request).

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

statuses = {}

function count_status(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local tally = thread:get("statuses")
    if tally then
      for status, n in pairs(tally) do
        total[status] = (total[status] or 0) + n
      end
    end
  end
  local parts = {}
  for status, n in pairs(total) do
    table.insert(parts, string.format('"%d":%d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,'
    .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
    .. '"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, e.connect, e.read, e.write, e.status, e.timeout, table.concat(parts, ",")))
end
