-- POST /rest/v1/<coll> one document per request; counts non-201 answers.
local key = os.getenv("BENCH_KEY")
local coll = os.getenv("BENCH_COLL") or "inserts"
local counter = 0
local thread_id = 0
local bad = 0
setup = function(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
end
local n = 0
request = function()
  n = n + 1
  local body = '{"title":"bench ' .. thread_id .. '-' .. n .. '","owner_id":"u' .. (n % 1000) ..
    '","done":false,"rank":' .. n .. '}'
  return wrk.format("POST", "/rest/v1/" .. coll, {["apikey"] = key, ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json"}, body)
end
response = function(status, headers, body)
  if status ~= 201 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.stderr:write(string.format("non-2xx or errors: %d\n", summary.errors.status or 0))
end
