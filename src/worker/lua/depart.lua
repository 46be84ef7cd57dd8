-- Lets a call leave now if the provider's rule holds with its real departure time: n + 1
-- departures never within spanMs. Records the departure when it does.
--
-- KEYS[1]  the record of departures: a list of epoch ms, newest first, only the latest n kept,
--          so the n-th latest is the last element (read in O(1))
-- ARGV[1]  n: calls allowed within one span
-- ARGV[2]  spanMs: the provider's span (1,000 ms per n / maxQps) plus the guard
-- Reply    {'0', now} when the call may leave now: now (epoch ms, as a string) is recorded and is
--          the departure's stamp (redepart.lua moves it); else {ms until it may, ''}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local n, span = tonumber(ARGV[1]), tonumber(ARGV[2])
local nth = nil
if redis.call('LLEN', KEYS[1]) >= n then nth = tonumber(redis.call('LINDEX', KEYS[1], -1)) end
if nth and now - nth < span then return {tostring(nth + span - now), ''} end
redis.call('LPUSH', KEYS[1], tostring(now))
redis.call('LTRIM', KEYS[1], 0, n - 1)
redis.call('PEXPIRE', KEYS[1], 86400000)
return {'0', tostring(now)}
