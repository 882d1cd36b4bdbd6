-- The flash-sale gate: take one unit of an item for an owner, or say why not, atomically.
-- KEYS[1] units left of the item   KEYS[2] units per owner in this sale (hash)
-- ARGV[1] owner   ARGV[2] per-customer limit
-- Returns: units left before this claim (> 0: taken), 0 sold out, -1 limit reached, -2 not loaded
local left = redis.call('GET', KEYS[1])
if not left then
  return -2
end
left = tonumber(left)
if left <= 0 then
  return 0
end
local mine = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if mine >= tonumber(ARGV[2]) then
  return -1
end
redis.call('DECR', KEYS[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
return left
