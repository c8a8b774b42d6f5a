-- POST a JSON body read from the BENCH_BODY environment variable, with an optional bearer key.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_KEY")
if key and key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. key
end
-- Extra headers (a peer's routing headers), "Name: value" pairs separated by newlines.
local extra = os.getenv("BENCH_HEADERS")
if extra and extra ~= "" then
  for name, value in string.gmatch(extra, "([^:\n]+):%s*([^\n]*)") do
    wrk.headers[name] = value
  end
end
