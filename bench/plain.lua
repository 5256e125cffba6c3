-- A fixed GET (URL and headers from the command line): trivial view, single
-- INSERT, status polls. No request()/response() here, so wrk sends its
-- pre-built request and spends no Lua per request.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
