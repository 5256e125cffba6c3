-- POST /api/v1/public/<qr_token>/join with a distinct French mobile number per
-- request, round-robin over the QR tokens in BENCH_QR_TOKENS (comma-separated).
-- Numbers: "+3361" .. 7 digits = BENCH_PHONE_BASE + counter * threads + thread id
-- (the 061 block is all valid French mobiles; 0639 and 069x are overseas), so no
-- two requests of one run share a number: a 4003 would mean a bug.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local tokens = {}
for token in string.gmatch(os.getenv("BENCH_QR_TOKENS"), "[^,]+") do
  table.insert(tokens, token)
end
local base = tonumber(os.getenv("BENCH_PHONE_BASE"))
local nthreads = tonumber(os.getenv("BENCH_THREADS"))
local headers = {["Content-Type"] = "application/json"}
local counter = 0

function request()
  local n = counter * nthreads + tid
  counter = counter + 1
  local token = tokens[(n % #tokens) + 1]
  local body = string.format('{"phone":"+3361%07d"}', base + n)
  return wrk.format("POST", "/api/v1/public/" .. token .. "/join", headers, body)
end

function response(status, headers, body)
  count_status(status)
end
