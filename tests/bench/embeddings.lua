-- wrk script for tests/bench/gateway.c: POST /v1/embeddings with one 10-word
-- input, authenticated with the HS256 JWT in $BENCH_TOKEN.
--   BENCH_TOKEN=<jwt> wrk -t2 -c64 -d5s --latency -s tests/bench/embeddings.lua \
--           http://127.0.0.1:8080/v1/embeddings
-- No response() hook: with one, wrk copies every response's headers and body
-- into Lua, which costs it CPU the gateway shares. wrk itself counts every
-- status >= 400 ("Non-2xx or 3xx responses"); the gateway answers nothing in
-- 1xx (as a final status) or 3xx, so that is every response outside 2xx.

local token = os.getenv("BENCH_TOKEN")
if not token or token == "" then
        error("BENCH_TOKEN must hold a JWT the gateway accepts")
end

wrk.method = "POST"
wrk.body = '{"input":"the quick brown fox jumps over the lazy dog again","model":"cairn-lexical-384"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
