import { luaScript } from './redis-link.js';

/*
 * Why these scripts are atomic: Redis executes a Lua script to completion on its single command
 * thread, and no command of any other client runs in between. A script that reads the
 * generation and the ended flag and then writes is therefore a true compare-and-swap: two
 * refreshes racing with the same token cannot both see generation N. A script's writes are
 * replicated and appended to the AOF as one unit (effects replication, MULTI/EXEC), so a replica
 * or a restart never sees half of a rotation either.
 *
 * On a Cluster a script may only touch keys of one slot. Every script here takes exactly one
 * key, the session hash `…s:{<id>}` (or one key of the `{k}` / `{u:…}` slot), so that always
 * holds. `PUBLISH` takes no key and is allowed: publishing inside the script means no session
 * can end or rotate without its invalidation being sent, even if the caller dies right after.
 *
 * Numbers are compared with tonumber() but written back from the caller's strings, so Lua's
 * %.14g formatting never touches an epoch value.
 */

/** Shared by the session scripts: TTL = deadline + keep − now, at least 1 ms. */
const EXPIRE = `
local function expire(key, deadline, now, keep)
  local ttl = math.floor(deadline + keep - now)
  if ttl < 1 then ttl = 1 end
  redis.call('PEXPIRE', key, ttl)
end
`;

/**
 * KEYS: session. ARGV: now, keepMs, deadline, field/value pairs. Returns 1, or 0 if the id is
 * taken (the caller rejects: ids are fresh, a clash is a bug or an attack).
 */
export const CREATE_SESSION = luaScript(`${EXPIRE}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
expire(KEYS[1], tonumber(ARGV[3]), tonumber(ARGV[1]), tonumber(ARGV[2]))
return 1
`);

/**
 * KEYS: session. ARGV: expectedGeneration, now, keepMs, channel, sessionId, successorSealed
 * ('' = null), field/value pairs. Compare-and-swap: applies only to a live session still at
 * `expectedGeneration`. Returns the previous access-token hash, or nil when the CAS failed.
 */
export const ROTATE_SESSION = luaScript(`${EXPIRE}
local s = redis.call('HMGET', KEYS[1], 'g', 'ea', 'ah', 'ae')
if not s[1] or s[2] or s[1] ~= ARGV[1] then return false end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
if ARGV[6] == '' then
  redis.call('HDEL', KEYS[1], 'ss')
else
  redis.call('HSET', KEYS[1], 'ss', ARGV[6])
end
local ie = tonumber(redis.call('HGET', KEYS[1], 'ie'))
expire(KEYS[1], math.min(ie, tonumber(s[4])), tonumber(ARGV[2]), tonumber(ARGV[3]))
redis.call('PUBLISH', ARGV[4], ARGV[5])
return s[3]
`);

/**
 * KEYS: session. ARGV: lastActiveAt, idleExpiresAt, keepMs. Moves both only forward, never on an
 * ended session, and slides the key's TTL with the idle deadline (never past the absolute one).
 */
export const TOUCH_SESSION = luaScript(`${EXPIRE}
local s = redis.call('HMGET', KEYS[1], 'la', 'ie', 'ae', 'ea')
if not s[1] or s[4] then return 0 end
if tonumber(ARGV[1]) > tonumber(s[1]) then redis.call('HSET', KEYS[1], 'la', ARGV[1]) end
local ie = tonumber(s[2])
if tonumber(ARGV[2]) > ie then
  redis.call('HSET', KEYS[1], 'ie', ARGV[2])
  ie = tonumber(ARGV[2])
end
expire(KEYS[1], math.min(ie, tonumber(s[3])), tonumber(ARGV[1]), tonumber(ARGV[3]))
return 1
`);

/**
 * KEYS: session. ARGV: reason, at, keepMs, channel, sessionId. Ends a live session once and
 * publishes its id. The ended hash stays `keepMs` (so a late token reads "ended", not
 * "unknown"), never past absoluteExpiresAt + keepMs. Returns the ended hash, or nil.
 */
export const END_SESSION = luaScript(`${EXPIRE}
local s = redis.call('HMGET', KEYS[1], 'g', 'ea', 'ae')
if not s[1] or s[2] then return false end
redis.call('HSET', KEYS[1], 'ea', ARGV[2], 'er', ARGV[1])
local at = tonumber(ARGV[2])
expire(KEYS[1], math.min(at, tonumber(s[3])), at, tonumber(ARGV[3]))
redis.call('PUBLISH', ARGV[4], ARGV[5])
return redis.call('HGETALL', KEYS[1])
`);

/**
 * KEYS: session. ARGV: before. Deletes the session if it ended, or its idle deadline passed,
 * before `before` (re-checked here, so a session touched since the SCAN survives). Returns
 * {userId, accessTokenHash, refreshTokenHash} of the deleted session, or nil.
 */
export const PURGE_SESSION = luaScript(`
local s = redis.call('HMGET', KEYS[1], 'ea', 'ie', 'u', 'ah', 'rh')
if not s[2] then return false end
if tonumber(s[1] or s[2]) >= tonumber(ARGV[1]) then return false end
redis.call('DEL', KEYS[1])
return {s[3], s[4], s[5]}
`);

/**
 * KEYS: user index. ARGV: createdAt, sessionId, ttlMs. Adds the session and makes the index live
 * at least as long as that session can (it never shortens the TTL another session needs).
 */
export const USER_ADD = luaScript(`
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`);

/** KEYS: key hash, hash index, id set (all in slot `{k}`). ARGV: id, field/value pairs. */
export const CREATE_SERVICE_KEY = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
`);

/** KEYS: key hash. ARGV: at. Returns 1 if it revoked a live key, else 0. */
export const REVOKE_SERVICE_KEY = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'rv') == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'rv', ARGV[1])
return 1
`);
