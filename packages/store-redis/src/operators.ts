import { type OperatorRecord, type SessionStore, TesseraError } from '@tessera/core';
import { toFieldMap } from './record-codec.js';
import { luaScript, type RedisLink } from './redis-link.js';

type OperatorVerbs = Pick<
  SessionStore,
  | 'countLiveSessionsByPolicy'
  | 'createOperator'
  | 'getOperator'
  | 'findOperatorByName'
  | 'listOperators'
  | 'setOperatorPassword'
  | 'setOperatorDisabled'
  | 'recordOperatorFailure'
  | 'recordOperatorSignIn'
  | 'consoleSecret'
>;

/**
 * The console's keys. All share the hash tag `{o}` (one slot), so that creating an operator
 * checks its name and writes both keys in one script, on a cluster too. None expires.
 *
 * | key | type | holds |
 * |---|---|---|
 * | `<prefix>{o}:id:<id>` | hash | the operator (fields below) |
 * | `<prefix>{o}:name:<name>` | string | its id |
 * | `<prefix>{o}:ids` | sorted set | every id, scored by `createdAt` |
 * | `<prefix>{o}:secret` | string | the console secret (SET NX: first writer wins) |
 *
 * Fields: `n` name, `ph` password hash, `c` createdAt, `pc` passwordChangedAt, `da` disabledAt,
 * `f` failedSignIns, `lf` lastFailedSignInAt, `ls` lastSignInAt (absent: null).
 */
function operatorKeys(prefix: string) {
  return {
    operator: (id: string) => `${prefix}{o}:id:${id}`,
    name: (name: string) => `${prefix}{o}:name:${encodeURIComponent(name)}`,
    ids: `${prefix}{o}:ids`,
    secret: `${prefix}{o}:secret`,
  };
}

/** KEYS: operator, name, ids. ARGV: id, createdAt, then the hash's fields. 0 when taken. */
const CREATE_OPERATOR = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SET', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
`);

/** KEYS: operator. ARGV: at. Counts a failure on an existing operator; returns its fields. */
const RECORD_FAILURE = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HINCRBY', KEYS[1], 'f', 1)
redis.call('HSET', KEYS[1], 'lf', ARGV[1])
return redis.call('HGETALL', KEYS[1])
`);

/** KEYS: operator. ARGV: field/value pairs to set, then '--', then fields to delete. */
const UPDATE_OPERATOR = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local i = 1
while ARGV[i] ~= '--' do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
for j = i + 1, #ARGV do redis.call('HDEL', KEYS[1], ARGV[j]) end
return 1
`);

/** KEYS: operator. ARGV: disabledAt or '' to enable. 1 when it changed. */
const SET_DISABLED = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local disabled = redis.call('HEXISTS', KEYS[1], 'da') == 1
if ARGV[1] == '' then
  if not disabled then return 0 end
  redis.call('HDEL', KEYS[1], 'da')
else
  if disabled then return 0 end
  redis.call('HSET', KEYS[1], 'da', ARGV[1])
end
return 1
`);

function toOperator(id: string, f: Record<string, string>): OperatorRecord | null {
  if (f['n'] === undefined) return null;
  const num = (value: string | undefined) => (value === undefined ? null : Number(value));
  return {
    id,
    name: f['n'],
    passwordHash: f['ph'] ?? '',
    createdAt: Number(f['c']),
    passwordChangedAt: Number(f['pc']),
    disabledAt: num(f['da']),
    failedSignIns: Number(f['f'] ?? 0),
    lastFailedSignInAt: num(f['lf']),
    lastSignInAt: num(f['ls']),
  };
}

function toFields(o: OperatorRecord): string[] {
  const fields = [
    'n',
    o.name,
    'ph',
    o.passwordHash,
    'c',
    String(o.createdAt),
    'pc',
    String(o.passwordChangedAt),
    'f',
    String(o.failedSignIns),
  ];
  if (o.disabledAt !== null) fields.push('da', String(o.disabledAt));
  if (o.lastFailedSignInAt !== null) fields.push('lf', String(o.lastFailedSignInAt));
  if (o.lastSignInAt !== null) fields.push('ls', String(o.lastSignInAt));
  return fields;
}

/**
 * The console's verbs on Redis. Live sessions by policy have no index of their own (adding one
 * to every session write would tax the hot path for a console page), so they are counted by
 * SCAN over every master's session hashes, `HMGET` in batches: cost grows with the number of
 * sessions, and only the overview page pays it.
 */
export function redisOperatorVerbs(
  link: RedisLink,
  prefix: string,
  sessionPattern: string,
): OperatorVerbs {
  const keys = operatorKeys(prefix);

  async function get(id: string): Promise<OperatorRecord | null> {
    const key = keys.operator(id);
    return toOperator(id, toFieldMap(await link.send(key, ['HGETALL', key])));
  }

  return {
    async countLiveSessionsByPolicy(now) {
      const perMaster = await link.eachMaster(async (send) => {
        const counts: Record<string, number> = {};
        let cursor = '0';
        do {
          const reply = (await send([
            'SCAN',
            cursor,
            'MATCH',
            sessionPattern,
            'COUNT',
            '1000',
            'TYPE',
            'hash',
          ])) as [string, string[]];
          cursor = String(reply[0]);
          const rows = await Promise.all(
            reply[1].map((key) => send(['HMGET', key, 'p', 'ea', 'ie', 'ae'])),
          );
          for (const row of rows as Array<Array<string | null>>) {
            const [policy, endedAt, idle, absolute] = row;
            if (policy == null || endedAt != null) continue;
            if (now >= Number(idle) || now >= Number(absolute)) continue;
            counts[policy] = (counts[policy] ?? 0) + 1;
          }
        } while (cursor !== '0');
        return counts;
      });
      const total: Record<string, number> = {};
      for (const counts of perMaster) {
        for (const [policy, n] of Object.entries(counts)) total[policy] = (total[policy] ?? 0) + n;
      }
      return total;
    },

    async createOperator(o) {
      const created = await link.run(
        CREATE_OPERATOR,
        [keys.operator(o.id), keys.name(o.name), keys.ids],
        [o.id, String(o.createdAt), ...toFields(o)],
      );
      if (Number(created) !== 1) {
        throw new TesseraError('store_conflict', `operator ${o.name} exists`);
      }
    },

    getOperator: get,

    async findOperatorByName(name) {
      const key = keys.name(name);
      const id = await link.send(key, ['GET', key]);
      return typeof id === 'string' ? get(id) : null;
    },

    async listOperators() {
      const ids = (await link.send(keys.ids, ['ZRANGE', keys.ids, '0', '-1'])) as string[];
      const found = await Promise.all(ids.map((id) => get(String(id))));
      return found.filter((o): o is OperatorRecord => o !== null);
    },

    async setOperatorPassword(id, passwordHash, at) {
      const changed = await link.run(
        UPDATE_OPERATOR,
        [keys.operator(id)],
        ['ph', passwordHash, 'pc', String(at), 'f', '0', '--', 'lf'],
      );
      return Number(changed) === 1;
    },

    async setOperatorDisabled(id, at) {
      const changed = await link.run(
        SET_DISABLED,
        [keys.operator(id)],
        [at === null ? '' : String(at)],
      );
      return Number(changed) === 1;
    },

    async recordOperatorFailure(id, at) {
      const reply = await link.run(RECORD_FAILURE, [keys.operator(id)], [String(at)]);
      return reply === null ? null : toOperator(id, toFieldMap(reply));
    },

    async recordOperatorSignIn(id, at) {
      await link.run(
        UPDATE_OPERATOR,
        [keys.operator(id)],
        ['f', '0', 'ls', String(at), '--', 'lf'],
      );
    },

    async consoleSecret(candidate) {
      await link.send(keys.secret, ['SET', keys.secret, candidate, 'NX']);
      const stored = await link.send(keys.secret, ['GET', keys.secret]);
      return typeof stored === 'string' ? stored : candidate;
    },
  };
}
