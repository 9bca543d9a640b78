import { type EndReason, type OperatorRecord, operatorUserId, type Tessera } from '@tessera/core';

/** What an operator did, as `data.action` of an `operator.action` event. */
export type OperatorAction =
  | 'signed_in'
  | 'sign_in_failed'
  | 'signed_out'
  | 'signed_out_everywhere'
  | 'changed_password'
  | 'change_password_failed'
  | 'stepped_up'
  | 'step_up_failed'
  | 'ended_session'
  | 'ended_device'
  | 'ended_user_sessions'
  | 'created_service_key'
  | 'revoked_service_key';

export interface ActionTarget {
  /** The user acted upon; default: the operator's own user id. */
  userId?: string;
  /** The session acted upon; default: the operator's console session. */
  sessionId?: string;
  deviceId?: string;
  reason?: EndReason;
}

/**
 * Records one operator action as an event in the store, so that it is in the same history as
 * the sessions it touched, visible on every node and in `tessera events` (ASVS 5.0 16.3.1: all
 * authentication operations are logged). It names the operator (`operator_id`, `operator_name`)
 * and their console session; never a password, token or key.
 */
export async function recordOperatorAction(
  tessera: Tessera,
  actor: { operator: OperatorRecord | null; consoleSessionId: string | null; ip: string },
  action: OperatorAction,
  target: ActionTarget = {},
  data: Record<string, string | number | boolean | string[] | null> = {},
): Promise<void> {
  const { operator } = actor;
  await tessera.store.appendEvent({
    type: 'operator.action',
    at: tessera.clock.now(),
    sessionId: target.sessionId ?? actor.consoleSessionId ?? '-',
    userId: target.userId ?? (operator ? operatorUserId(operator.id) : 'operator:unknown'),
    reason: target.reason ?? null,
    deviceId: target.deviceId ?? null,
    ip: actor.ip,
    data: {
      action,
      operator_id: operator?.id ?? null,
      operator_name: operator?.name ?? null,
      console_session_id: actor.consoleSessionId,
      ...data,
    },
  });
}
