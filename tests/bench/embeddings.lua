-- wrk script for tests/bench/gateway.c: POST /v1/embeddings with one 10-word
-- input, authenticated with the HS256 JWT in $BENCH_TOKEN. Counts every
-- response outside 2xx (wrk itself counts only 4xx and 5xx) and prints
-- "non2xx N" when the run ends.
--   BENCH_TOKEN=<jwt> wrk -t2 -c64 -d5s --latency -s tests/bench/embeddings.lua \
--           http://127.0.0.1:8080/v1/embeddings

local token = os.getenv("BENCH_TOKEN")
if not token or token == "" then
        error("BENCH_TOKEN must hold a JWT the gateway accepts")
end

wrk.method = "POST"
wrk.body = '{"input":"the quick brown fox jumps over the lazy dog again","model":"cairn-lexical-384"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

local threads = {}

function setup(thread)
        table.insert(threads, thread)
end

function init(args)
        non2xx = 0
end

function response(status, headers, body)
        if status < 200 or status > 299 then
                non2xx = non2xx + 1
        end
end

function done(summary, latency, requests)
        local n = 0
        for _, thread in ipairs(threads) do
                n = n + thread:get("non2xx")
        end
        io.write(string.format("non2xx %d\n", n))
end
