-- wrk script of benches/e2e_django.py: every connection sends back the
-- cookies it was given, over its share of a pool of existing sessions.
--
--   wrk -t N -c N -s benches/e2e_wrk.lua URL -- COOKIE_FILE N COOKIE_NAME
--
-- COOKIE_FILE holds one session cookie value a line (the pool, created
-- through the site before the run; empty for a site without sessions).
-- wrk gives each thread its own Lua state, so with one connection per
-- thread (-t N -c N) a thread's state is its connection's: thread i takes
-- the lines i, i + N, i + 2N, ..., sends them in turn as `Cookie`, and
-- keeps what each response's `Set-Cookie` says for that session
-- (signed_cookies re-signs on every write). One request is in flight per
-- connection, so a response answers the request sent last.
--
-- done() prints one line, `E2E {json}`, with wrk's figures and this
-- script's checks: responses other than 200 (a session that did not load
-- answers 500), and counters that are not one more than the one this
-- connection last saw for that session (a write that was lost).

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  cookie_name = args[3]
  cookies = {}
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == id then
      cookies[#cookies + 1] = line
    end
    i = i + 1
  end
  counts = {}
  slot = 0
  not_ok = 0
  lost = 0
end

function request()
  if #cookies == 0 then
    return wrk.format("GET", "/")
  end
  slot = slot % #cookies + 1
  return wrk.format("GET", "/", { ["Cookie"] = cookie_name .. "=" .. cookies[slot] })
end

function response(status, headers, body)
  if status ~= 200 then
    not_ok = not_ok + 1
  end
  if #cookies > 0 then
    local n, last = tonumber(body), counts[slot]
    if last and n ~= last + 1 then
      lost = lost + 1
    end
    counts[slot] = n
  end
  local set = headers["Set-Cookie"]
  if set and slot > 0 then
    local value = set:match(cookie_name .. "=([^;]*)")
    if value then
      cookies[slot] = value
    end
  end
end

function done(summary, latency, requests)
  local not_ok_all, lost_all = 0, 0
  for _, t in ipairs(threads) do
    not_ok_all = not_ok_all + t:get("not_ok")
    lost_all = lost_all + t:get("lost")
  end
  local e = summary.errors
  io.write(string.format(
    'E2E {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"not_200": %d, "lost_writes": %d, "socket_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, not_ok_all, lost_all,
    e.connect + e.read + e.write, e.timeout))
end
