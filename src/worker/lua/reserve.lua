-- Takes the next slot of the shared schedule (GCRA: slots evenly spaced, no burst), if that slot
-- is due within the horizon. Time is Redis's own clock, the same for every worker.
--
-- KEYS[1]  the shared rate's state, a hash: `tat` (the next free slot, epoch ms), `rate` (calls
--          per second), `at` (when `rate` was last set, epoch ms); see decrease.lua for the rest
-- ARGV[1]  maxQps: the configured maximum rate
-- ARGV[2]  minQps: the floor the rate never drops below
-- ARGV[3]  increasePerSec: how fast the rate climbs back towards maxQps (additive increase)
-- ARGV[4]  horizonMs: how far ahead of now a slot may be taken
-- ARGV[5]  guardPerSlotMs: added to the spacing of every slot
-- Reply    {waitMs, reserved}, as strings. reserved '1': the caller owns the slot waitMs from now.
--          reserved '0': the schedule is booked beyond the horizon and nothing was taken; ask
--          again in waitMs.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local maxQ, minQ, inc = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local horizon, guard = tonumber(ARGV[4]), tonumber(ARGV[5])
local s = redis.call('HMGET', KEYS[1], 'tat', 'rate', 'at')
local tat = tonumber(s[1]) or now
local rate = tonumber(s[2]) or maxQ
local at = tonumber(s[3]) or now
rate = math.max(minQ, math.min(maxQ, rate + inc * (now - at) / 1000))
if tat < now then tat = now end
if tat - now > horizon then
  return {tostring(tat - now - horizon), '0'}
end
redis.call('HSET', KEYS[1], 'tat', tostring(tat + 1000 / rate + guard), 'rate', tostring(rate), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 86400000)
return {tostring(tat - now), '1'}
