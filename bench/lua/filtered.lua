-- GET /rest/v1/<coll>?owner_id=eq.<random owner>&order=rank.desc&limit=20
local key = os.getenv("BENCH_KEY")
local coll = os.getenv("BENCH_COLL") or "todos"
local owners = tonumber(os.getenv("BENCH_OWNERS") or "1000")
math.randomseed(os.time())
request = function()
  local o = "u" .. math.random(owners)
  return wrk.format("GET", "/rest/v1/" .. coll .. "?select=id,title,rank&owner_id=eq." .. o ..
    "&order=rank.desc&limit=20", {["apikey"] = key, ["Authorization"] = "Bearer " .. key})
end
