-- A channel's position and, when asked (ARGV[1] >= 0), its events after ARGV[1], read atomically.
-- KEYS[1] numbering hash   KEYS[2] history stream
-- ARGV: 1 after (-1: position only), 2 most events to return, 3 epoch to use if the channel has none,
--       4 ttl ms of a numbering created here
local meta = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
local epoch = meta[1]
if not epoch then
  epoch = ARGV[3]
  redis.call('HSET', KEYS[1], 'epoch', epoch)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
local seq = tonumber(meta[2]) or 0
local after = tonumber(ARGV[1])
local entries = {}
if after >= 0 and after < seq and seq - after <= tonumber(ARGV[2]) then
  entries = redis.call('XRANGE', KEYS[2], (after + 1) .. '-0', '+', 'COUNT', seq - after)
end
return {epoch, seq, entries}
