-- GET /rest/v1/todos?id=eq.<id> with the caller of the line: each line of
-- BENCH_PAIRS is "<id> <owner's JWT>".  BENCH_AS=service sends the
-- service_role key instead (same ids, rules bypassed).
local pairs_ = {}
local as = os.getenv("BENCH_AS") or "user"
local service = os.getenv("BENCH_KEY")
local anon = os.getenv("BENCH_ANON")
for line in io.lines(os.getenv("BENCH_PAIRS")) do
  local id, tok = line:match("^(%S+)%s+(%S+)$")
  if id then pairs_[#pairs_ + 1] = {id, tok} end
end
math.randomseed(os.time())
request = function()
  local p = pairs_[math.random(#pairs_)]
  local h
  if as == "service" then
    h = {["apikey"] = service, ["Authorization"] = "Bearer " .. service}
  else
    h = {["apikey"] = anon, ["Authorization"] = "Bearer " .. p[2]}
  end
  return wrk.format("GET", "/rest/v1/todos?id=eq." .. p[1], h)
end

-- count responses that are not exactly one row, to prove the rule let them through
local bad = 0
response = function(status, headers, body)
  if status ~= 200 or body:sub(1, 2) ~= '[{' then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("not-one-row responses: %d\n", bad))
end
