-- wrk script for the benchmark: rotates through a prepared request mix and checks every answer.
--
--   wrk -t1 -c32 -d6s -s mix.lua URL -- MIX.tsv MODE REASONS BUCKET_MS
--
-- MIX.tsv: one request a line, "index<TAB>allow(1|0)<TAB>reason<TAB>path<TAB>json body".
-- MODE "flex": the answer's allow comes from `"allow":true|false` and the request is matched to
--   its answer by the echoed X-Request-Id (bq-<index>); MODE "cerbos": from EFFECT_ALLOW/DENY,
--   matched by the echoed requestId in the body. REASONS "reasons" also checks `"reason":"..."`.
-- BUCKET_MS > 0 counts answers per wall-clock bucket (for the reload benchmark).
-- done() prints one line "BENCH_JSON {...}" with the totals, latency percentiles (microseconds),
-- errors and the checks.

local ffi_ok, ffi = pcall(require, "ffi")
local now_ms
if ffi_ok then
  pcall(ffi.cdef, [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clk_id, bench_timespec *tp);
  ]])
  local ts = ffi.new("bench_timespec")
  now_ms = function()
    ffi.C.clock_gettime(0, ts)
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- Per-thread state (globals, so that done() can read them with thread:get).
checked, mismatches, reason_mismatches, unmatched, non200 = 0, 0, 0, 0, 0
buckets = {}
local reqs, expect_allow, expect_reason = {}, {}, {}
local n, idx = 0, 0
local mode, check_reasons, bucket_ms = "flex", false, 0

function init(args)
  local file = args[1]
  mode = args[2] or "flex"
  check_reasons = args[3] == "reasons"
  bucket_ms = tonumber(args[4] or "0") or 0
  if bucket_ms > 0 and not now_ms then error("per-bucket counts need LuaJIT's ffi") end
  for line in io.lines(file) do
    local i, a, r, path, body = line:match("^(%d+)\t([01])\t([%w_]+)\t([^\t]+)\t(.*)$")
    if i then
      n = n + 1
      reqs[n] = wrk.format("POST", path, { ["Content-Type"] = "application/json", ["X-Request-Id"] = "bq-" .. i }, body)
      expect_allow[tonumber(i)] = (a == "1")
      expect_reason[tonumber(i)] = r
    end
  end
  if n == 0 then error("no requests in " .. tostring(file)) end
end

function request()
  idx = idx % n + 1
  return reqs[idx]
end

function response(status, headers, body)
  if bucket_ms > 0 then
    local b = math.floor(now_ms() / bucket_ms)
    buckets[b] = (buckets[b] or 0) + 1
  end
  if status ~= 200 then
    non200 = non200 + 1
    return
  end
  local id
  if mode == "cerbos" then
    id = body:match('"requestId":%s*"bq%-(%d+)"')
  else
    local h = headers["X-Request-Id"] or headers["x-request-id"]
    if h then id = h:match("^bq%-(%d+)$") end
  end
  id = tonumber(id)
  local want = id and expect_allow[id]
  if want == nil then
    unmatched = unmatched + 1
    return
  end
  local got
  if mode == "cerbos" then
    if body:find("EFFECT_ALLOW", 1, true) then got = true elseif body:find("EFFECT_DENY", 1, true) then got = false end
  else
    if body:find('"allow":true', 1, true) then got = true elseif body:find('"allow":false', 1, true) then got = false end
  end
  checked = checked + 1
  if got ~= want then
    mismatches = mismatches + 1
  elseif check_reasons and not body:find('"reason":"' .. expect_reason[id] .. '"', 1, true) then
    reason_mismatches = reason_mismatches + 1
  end
end

-- BENCH_WRK_CHECK=0: no response hook, so wrk parses no headers or bodies for Lua (the hook
-- costs the load generator more per answer than a floor costs the server); wrk still counts
-- socket errors, timeouts and statuses >= 400 (errors.status).
if os.getenv("BENCH_WRK_CHECK") == "0" then response = nil end

function done(summary, latency, requests)
  local t = { checked = 0, mismatches = 0, reason_mismatches = 0, unmatched = 0, non200 = 0 }
  local all_buckets = {}
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (thread:get(k) or 0) end
    local b = thread:get("buckets") or {}
    for k, v in pairs(b) do all_buckets[k] = (all_buckets[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(all_buckets) do parts[#parts + 1] = string.format('"%d":%d', k, v) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p999":%d},' ..
    '"checked":%d,"mismatches":%d,"reason_mismatches":%d,"unmatched":%d,"non200":%d,"buckets":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    t.checked, t.mismatches, t.reason_mismatches, t.unmatched, t.non200, table.concat(parts, ",")))
end
