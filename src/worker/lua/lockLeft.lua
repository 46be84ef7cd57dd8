-- What is left of a job's lock, if the caller holds it: read and compared where the lock lives,
-- in one round trip.
--
-- KEYS[1]  a job's lock (BullMQ's `<job key>:lock`), which holds the token of the worker that has
--          the job
-- ARGV[1]  the caller's token
-- Reply    the lock's remaining ms; -1 if another worker holds it, or none does; -2 if it never
--          expires
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 then return -2 end
return ttl
