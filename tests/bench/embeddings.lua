-- wrk script for tests/bench/gateway.c and tests/bench/bert_gateway.c:
-- POST /v1/embeddings with one 10-word input, authenticated with the HS256
-- JWT in $BENCH_TOKEN.
--   BENCH_TOKEN=<jwt> wrk -t2 -c64 -d5s --latency -s tests/bench/embeddings.lua \
--           http://127.0.0.1:8080/v1/embeddings
-- BENCH_MODEL names the model (default cairn-lexical-384). BENCH_TOKENS, a
-- space-separated list of JWTs, replaces BENCH_TOKEN: requests take them in
-- turn, so that they come from several tenants (the gateway keys a request by
-- its tenant, and the service hands one key's requests to one worker).
-- No response() hook: with one, wrk copies every response's headers and body
-- into Lua, which costs it CPU the gateway shares. wrk itself counts every
-- status >= 400 ("Non-2xx or 3xx responses"); the gateway answers nothing in
-- 1xx (as a final status) or 3xx, so that is every response outside 2xx.

local model = os.getenv("BENCH_MODEL")
if not model or model == "" then
        model = "cairn-lexical-384"
end

wrk.method = "POST"
wrk.body = '{"input":"the quick brown fox jumps over the lazy dog again","model":"' .. model .. '"}'
wrk.headers["Content-Type"] = "application/json"

local tokens = {}
for t in string.gmatch(os.getenv("BENCH_TOKENS") or "", "%S+") do
        tokens[#tokens + 1] = t
end

if #tokens > 0 then
        -- Each wrk thread runs this script in a Lua state of its own.
        local i = 0
        request = function()
                i = i + 1
                wrk.headers["Authorization"] = "Bearer " .. tokens[i % #tokens + 1]
                return wrk.format()
        end
else
        local token = os.getenv("BENCH_TOKEN")
        if not token or token == "" then
                error("BENCH_TOKEN (or BENCH_TOKENS) must hold a JWT the gateway accepts")
        end
        wrk.headers["Authorization"] = "Bearer " .. token
end
