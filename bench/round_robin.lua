-- POST BENCH_PATH with "{id}" replaced by each id of BENCH_BUSINESS_IDS in turn
-- (comma-separated), with the merchant's token when BENCH_API_TOKEN is set.
-- Call-next: round-robin over many businesses, so that each queue loses only
-- a few customers during one run and stays near its length. Bare join: over
-- the 100 businesses of the join runs, like the joins.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local ids = {}
for id in string.gmatch(os.getenv("BENCH_BUSINESS_IDS"), "[^,]+") do
  table.insert(ids, id)
end
local path = os.getenv("BENCH_PATH")
local nthreads = tonumber(os.getenv("BENCH_THREADS"))
local headers = {}
if os.getenv("BENCH_API_TOKEN") then
  headers["Authorization"] = "Token " .. os.getenv("BENCH_API_TOKEN")
end
local counter = 0

function request()
  local n = counter * nthreads + tid
  counter = counter + 1
  return wrk.format("POST", (path:gsub("{id}", ids[(n % #ids) + 1])), headers)
end

function response(status, headers, body)
  count_status(status)
end
