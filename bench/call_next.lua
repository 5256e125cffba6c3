-- POST /api/v1/businesses/<id>/queue/next as the merchant (token auth),
-- round-robin over the businesses in BENCH_BUSINESS_IDS so that each queue
-- loses only a few customers during one run and stays near its length.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local ids = {}
for id in string.gmatch(os.getenv("BENCH_BUSINESS_IDS"), "[^,]+") do
  table.insert(ids, id)
end
local nthreads = tonumber(os.getenv("BENCH_THREADS"))
local headers = {["Authorization"] = "Token " .. os.getenv("BENCH_API_TOKEN")}
local counter = 0

function request()
  local n = counter * nthreads + tid
  counter = counter + 1
  return wrk.format("POST", "/api/v1/businesses/" .. ids[(n % #ids) + 1] .. "/queue/next",
                    headers)
end

function response(status, headers, body)
  count_status(status)
end
