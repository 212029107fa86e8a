-- wrk's side of the benchmark (bench/hot.py): Slack's requests, signed beforehand (wrk's Lua has no HMAC).
-- Usage: wrk -t T -c C -d 120s -s bench/wrk.lua URL -- POOL_FILE PER_THREAD OUT_FILE T
-- POOL_FILE holds one request a line: content type, timestamp, signature, body, separated by tabs. Thread i
-- sends lines i, i+T, i+2T, ... in turn and stops once it has PER_THREAD answers (and says so in the file
-- OUT_FILE.done<i>, for the benchmark to interrupt wrk, which otherwise waits out -d); done() writes the
-- latency percentiles (microseconds) and the counts as JSON to OUT_FILE.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  pool_file, per_thread, out_file = args[1], tonumber(args[2]), args[3]
  local nthreads = tonumber(args[4])  -- (setup has not yet run for the threads after this one)
  pool, sent, answered, bad = {}, 0, 0, 0
  -- wrk calls request() once on the first thread before the run, to check it (script_verify_request): that
  -- request is never sent, so it must not use up one of the pool's.
  checking = id == 1
  local index = 0
  for line in io.lines(pool_file) do
    local content_type, timestamp, signature, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    if index % nthreads == id - 1 then
      pool[#pool + 1] = wrk.format("POST", "/slack/events", {
        ["Content-Type"] = content_type,
        ["X-Slack-Request-Timestamp"] = timestamp,
        ["X-Slack-Signature"] = signature,
      }, body)
    end
    index = index + 1
  end
end

function request()
  if checking then
    checking = false
    return pool[1]
  end
  sent = sent + 1
  return pool[(sent - 1) % #pool + 1]
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 then bad = bad + 1 end
  if answered == per_thread then
    -- wrk itself runs until -d is over: the benchmark interrupts it (SIGINT) once every thread is done.
    io.open(out_file .. ".done" .. id, "w"):close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local bad_total = 0
  for _, thread in ipairs(threads) do bad_total = bad_total + thread:get("bad") end
  local out = io.open(threads[1]:get("out_file"), "w")  -- done() runs in the main Lua state
  out:write(string.format(
    '{"answered": %d, "non_200": %d, "socket_errors": %d, "duration_us": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, bad_total,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  out:close()
end
