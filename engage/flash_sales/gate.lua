-- The flash-sale gate: for each claim in turn, take one unit of its item for its owner or say why not;
-- all of them atomically, in the order given.
-- KEYS[2i-1] units left of claim i's item   KEYS[2i] units per owner in its sale (hash)
-- ARGV[2i-1] claim i's owner   ARGV[2i] its per-customer limit
-- Returns, per claim: units left before it (> 0: taken), 0 sold out, -1 limit reached, -2 not loaded
local answers = {}
for i = 1, #KEYS / 2 do
  local left_key, owners_key = KEYS[2 * i - 1], KEYS[2 * i]
  local owner, limit = ARGV[2 * i - 1], tonumber(ARGV[2 * i])
  local left = redis.call('GET', left_key)
  if not left then
    answers[i] = -2
  elseif tonumber(left) <= 0 then
    answers[i] = 0
  elseif tonumber(redis.call('HGET', owners_key, owner) or '0') >= limit then
    answers[i] = -1
  else
    redis.call('DECR', left_key)
    redis.call('HINCRBY', owners_key, owner, 1)
    answers[i] = tonumber(left)
  end
end
return answers
