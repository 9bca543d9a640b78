import type { SessionView } from './session-view.js';

/** What the adapters attach to an accepted request. */
export interface AuthenticatedRequest {
  session: SessionView;
  /** Cookie mode: the CSRF token of the session, to embed in pages/forms. Null for bearer. */
  csrfToken: string | null;
  mode: 'cookie' | 'bearer' | 'dpop';
}
