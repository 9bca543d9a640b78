import { luaScript } from './redis-link.js';

/**
 * The DPoP replay cache (RFC 9449 §11.1) on Redis: one string per proof digest, holding the
 * instant it expires on the engine's clock.
 *
 * KEYS: the digest's key. ARGV: at, expiresAt. Returns 1 when the digest was not remembered, or
 * its entry had expired by `at` (then it is taken over), 0 when a live entry exists: a replay.
 * A script rather than `SET NX`: the comparison with `at` keeps the engine's clock the only
 * clock (as every TTL of this store, see the README's TTL policy), and Redis runs it to the end
 * before any other command, so of many nodes presenting one digest at once exactly one wins.
 * The TTL (`expiresAt - at`, at least 1 ms) only frees the memory.
 */
export const REMEMBER_DPOP_JTI = luaScript(`
local known = redis.call('GET', KEYS[1])
if known and tonumber(known) > tonumber(ARGV[1]) then return 0 end
local ttl = math.floor(tonumber(ARGV[2]) - tonumber(ARGV[1]))
if ttl < 1 then ttl = 1 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
return 1
`);
