-- wrk script for tests/bench/translation.c: POST request bodies read from
-- the file $BENCH_BODIES (one JSON body a line, each a different sentence),
-- authenticated with the HS256 JWT in $BENCH_TOKEN.
--   BENCH_BODIES=bodies.jsonl BENCH_TOKEN=<jwt> BENCH_THREADS=2 wrk -t2 -c16 -d5s \
--           --latency -s tests/bench/translations.lua http://127.0.0.1:8080/v1/translations
-- Each wrk thread takes every Nth line from its own offset (N: BENCH_THREADS,
-- wrk's -t), so no two requests of a run carry the same sentence while the
-- file lasts.
-- No response() hook: with one, wrk copies every response into Lua, CPU the
-- gateway shares; wrk counts every status >= 400 itself.

local count = 0

function setup(thread)
        thread:set("id", count)
        count = count + 1
end

local bodies = {}
local step, i = 1, 0

function init(args)
        local path = os.getenv("BENCH_BODIES")
        local token = os.getenv("BENCH_TOKEN")
        if not path or path == "" or not token or token == "" then
                error("BENCH_BODIES (a file of JSON bodies) and BENCH_TOKEN (a JWT) are needed")
        end
        for line in io.lines(path) do
                bodies[#bodies + 1] = line
        end
        if #bodies == 0 then
                error(path .. " holds no bodies")
        end
        step = tonumber(os.getenv("BENCH_THREADS") or "1") or 1
        i = id or 0
        wrk.method = "POST"
        wrk.headers["Content-Type"] = "application/json"
        wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
        local body = bodies[i % #bodies + 1]
        i = i + step
        return wrk.format(nil, nil, nil, body)
end
