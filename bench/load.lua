-- wrk script for bench/run.sh: one request shape per run, chosen by
-- BENCH_SHAPE. The same script drives topups-mock and the baseline, so
-- both see byte-identical requests.
--
--   create    POST /v1/topups  amount=2000&currency=usd
--   retrieve  GET  /v1/topups/{id}       id drawn at random from BENCH_IDS
--   update    POST /v1/topups/{id}       metadata[k]=v, id as for retrieve
--   list      GET  /v1/topups?limit=10&starting_after=BENCH_CURSOR
--   transfer  POST /v1/transfers  amount=1&currency=usd&destination=acct_1Bench
--   page      GET  BENCH_PATH                a list page with its filters
--
-- done() prints one machine-readable line starting with "BENCH".

local shape = os.getenv("BENCH_SHAPE") or "create"
local auth = "Bearer sk_test_bench"
local form_headers = {
   ["Authorization"] = auth,
   ["Content-Type"] = "application/x-www-form-urlencoded",
}
local get_headers = { ["Authorization"] = auth }

local function read_ids()
   local path = os.getenv("BENCH_IDS")
   assert(path, "BENCH_IDS must name a file of top-up ids, one a line")
   local ids = {}
   for line in io.lines(path) do
      if line ~= "" then ids[#ids + 1] = line end
   end
   assert(#ids > 0, "no ids in " .. path)
   return ids
end

-- Shapes with a single request use wrk's pre-built request (no request()
-- function), the cheapest path for the load generator.
if shape == "create" then
   wrk.method = "POST"
   wrk.path = "/v1/topups"
   wrk.headers = form_headers
   wrk.body = "amount=2000&currency=usd"
elseif shape == "transfer" then
   wrk.method = "POST"
   wrk.path = "/v1/transfers"
   wrk.headers = form_headers
   wrk.body = "amount=1&currency=usd&destination=acct_1Bench"
elseif shape == "list" then
   local cursor = os.getenv("BENCH_CURSOR")
   assert(cursor, "BENCH_CURSOR must name an existing top-up id")
   wrk.method = "GET"
   wrk.path = "/v1/topups?limit=10&starting_after=" .. cursor
   wrk.headers = get_headers
elseif shape == "page" then
   local path = os.getenv("BENCH_PATH")
   assert(path, "BENCH_PATH must name the page to get")
   wrk.method = "GET"
   wrk.path = path
   wrk.headers = get_headers
elseif shape == "retrieve" or shape == "update" then
   local reqs
   function init(args)
      math.randomseed(os.time() + (tid or 0) * 7919)
      reqs = {}
      for i, id in ipairs(read_ids()) do
         if shape == "retrieve" then
            reqs[i] = wrk.format("GET", "/v1/topups/" .. id, get_headers)
         else
            reqs[i] = wrk.format("POST", "/v1/topups/" .. id, form_headers, "metadata[k]=v")
         end
      end
   end
   function request()
      return reqs[math.random(#reqs)]
   end
else
   error("unknown BENCH_SHAPE " .. shape)
end

local threads = {}

function setup(thread)
   thread:set("tid", #threads + 1)
   threads[#threads + 1] = thread
end

function done(summary, latency, requests)
   local e = summary.errors
   local line = string.format(
      "BENCH shape=%s requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d status_errors=%d socket_errors=%d",
      shape, summary.requests, summary.duration / 1e6,
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(99),
      e.status, e.connect + e.read + e.write + e.timeout)
   io.write(line .. "\n")
end
