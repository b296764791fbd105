-- GET /rest/v1/<coll>?id=eq.<random id from ids file>
local ids = {}
local key = os.getenv("BENCH_KEY")
local coll = os.getenv("BENCH_COLL") or "todos"
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
math.randomseed(os.time())
request = function()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/rest/v1/" .. coll .. "?id=eq." .. id,
    {["apikey"] = key, ["Authorization"] = "Bearer " .. key})
end
