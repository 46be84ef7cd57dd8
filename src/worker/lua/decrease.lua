-- Multiplies the shared rate down (multiplicative decrease): a throttle from the API, or a storm
-- of transient errors.
--
-- KEYS[1]  the shared rate's state (see reserve.lua); this script also keeps `dec` (the last
--          multiplicative decrease) and `thr` (the last throttle) there, epoch ms
-- ARGV[1]  maxQps   ARGV[2] minQps   ARGV[3] increasePerSec: as in reserve.lua
-- ARGV[4]  factor: 0 cuts the rate to minQps (a storm). Otherwise this is a throttle: the first
--          one in loneMs is lone and multiplies by loneFactor; one after it multiplies by factor,
--          once per cooldownMs (later ones within it are the same event)
-- ARGV[5]  cooldownMs
-- ARGV[6]  loneFactor
-- ARGV[7]  loneMs
-- Reply    {rate, lone}, as strings: the rate now (calls per second, without the guard); lone '1'
--          for a lone throttle, else '0'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local maxQ, minQ, inc = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local factor, cooldown = tonumber(ARGV[4]), tonumber(ARGV[5])
local loneFactor, loneMs = tonumber(ARGV[6]), tonumber(ARGV[7])
local s = redis.call('HMGET', KEYS[1], 'rate', 'at', 'dec', 'thr')
local rate = tonumber(s[1]) or maxQ
local at = tonumber(s[2]) or now
local dec = tonumber(s[3]) or 0
local thr = tonumber(s[4]) or -loneMs
rate = math.max(minQ, math.min(maxQ, rate + inc * (now - at) / 1000))
local lone = '0'
if factor > 0 then
  if now - thr >= loneMs then
    lone = '1'
    factor = loneFactor
  elseif now - dec < cooldown then
    factor = 1
  end
  redis.call('HSET', KEYS[1], 'thr', tostring(now))
end
if factor < 1 then
  rate = math.max(minQ, rate * factor)
  if lone == '0' then redis.call('HSET', KEYS[1], 'dec', tostring(now)) end
end
redis.call('HSET', KEYS[1], 'rate', tostring(rate), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 86400000)
return {tostring(rate), lone}
