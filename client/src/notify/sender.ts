import type { NotifyMessage } from './events.js';
import type { SendOutcome } from './post.js';
import type { ServiceName } from './url.js';

/** One destination (a topic, a webhook, a chat) that the delivery queue feeds, one message at a time. */
export interface Sender {
  /** Safe to print (secrets are `***`). */
  label: string;
  service: ServiceName;
  /** The service's rate limit for this destination: at least this long between two sends. */
  minIntervalMs: number;
  send(m: NotifyMessage, signal?: AbortSignal): Promise<SendOutcome>;
}
