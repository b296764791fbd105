-- wrk script: token refreshes, each refresh token used exactly once.
--
-- Every wrk thread gets its own slice of pre-made refresh tokens (one per
-- session) in a queue.  request() takes the oldest token; response() reads
-- the rotated refresh_token out of the token response and puts it back at
-- the end, so each session keeps refreshing with its newest token, the way
-- a real client does, and no token is ever presented twice (the reuse
-- path is not measured).  A non-200 answer drops that session.
--
-- Environment: TOKENS_FILE (one token per line), APIKEY.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
  queue, head, tail = {}, 1, 0
  local i = 0
  for line in io.lines(os.getenv("TOKENS_FILE")) do
    if (i % nthreads) + 1 == id then
      tail = tail + 1
      queue[tail] = line
    end
    i = i + 1
  end
  apikey = os.getenv("APIKEY")
  failures = 0
end

function request()
  if head > tail then
    -- out of sessions (every one failed): send an invalid token
    return wrk.format("POST", "/auth/v1/token?grant_type=refresh_token",
      {["apikey"] = apikey, ["Authorization"] = "Bearer " .. apikey, ["Content-Type"] = "application/json"},
      '{"refresh_token":"exhausted"}')
  end
  local t = queue[head]
  queue[head] = nil
  head = head + 1
  return wrk.format("POST", "/auth/v1/token?grant_type=refresh_token",
    {["apikey"] = apikey, ["Authorization"] = "Bearer " .. apikey, ["Content-Type"] = "application/json"},
    '{"refresh_token":"' .. t .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local t = body:match('"refresh_token":"([^"]+)"')
    if t then
      tail = tail + 1
      queue[tail] = t
      return
    end
  end
  failures = failures + 1
end

function done(summary, latency, requests)
  local errs = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("refreshes/s: %.0f  (requests %d, non-2xx or socket errors %d, p50 %.2f ms, p99 %.2f ms)\n",
    summary.requests / (summary.duration / 1e6), summary.requests, errs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
