-- Number, store and publish one event of a channel, atomically.
-- KEYS[1] the channel's numbering (hash: epoch, seq)   KEYS[2] its history (stream, entry id = "<seq>-0")
-- ARGV: 1 epoch to use if the channel has none, 2 frame body (JSON members without braces),
--       3 history length, 4 history ttl ms, 5 numbering ttl ms, 6 pub/sub topic
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end
if seq == 1 then
  redis.call('DEL', KEYS[2]) -- a new numbering never shares a stream with an old one
end
local frame = '{"epoch":"' .. epoch .. '","seq":' .. seq .. ',' .. ARGV[2] .. '}'
local keep = tonumber(ARGV[3])
if keep > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', keep, seq .. '-0', 'f', frame)
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PUBLISH', ARGV[6], frame)
return {seq, epoch}
