-- Moves a recorded departure to now: the call left later than it was stamped. Moving a departure
-- later only makes the record stricter for the calls after it.
--
-- KEYS[1]  the record of departures (see depart.lua)
-- ARGV[1]  the departure's stamp, as depart.lua returned it
-- Reply    now (epoch ms, as a string); '' if the stamp has left the record (n later departures
--          since), and nothing was changed
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local i = redis.call('LPOS', KEYS[1], ARGV[1])
if not i then return '' end
redis.call('LSET', KEYS[1], i, tostring(now))
return tostring(now)
