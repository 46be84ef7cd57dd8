-- Releases a lock if the caller still holds it, in one round trip: a lock that expired and was
-- taken by another process is left to that process.
--
-- KEYS[1]  the lock, which holds its holder's token
-- ARGV[1]  the caller's token
-- Reply    1 if released, 0 if the caller did not hold it
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
