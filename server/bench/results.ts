/** The shape of server/bench/results/*.json: everything the report is generated from. */
import type { Mode } from './config.js';
import type { Machine } from './lib/proc.js';
import type { ServerName } from './lib/servers.js';
import type { S1Row } from './scenarios/s1-latency.js';
import type { S2Result } from './scenarios/s2-capacity.js';
import type { S3Row } from './scenarios/s3-ingest.js';
import type { S4Run } from './scenarios/s4-replay.js';
import type { S5Result } from './scenarios/s5-memory.js';
import type { ClusterResult } from './scenarios/cluster.js';

export interface Results {
  version: 1;
  mode: Mode;
  startedAt: string;
  durationS: number;
  machine: Machine;
  servers: ServerName[];
  notes: string[];
  s1: S1Row[];
  s2: S2Result | null;
  s3: S3Row[];
  s4: S4Run[];
  s5: S5Result | null;
  /** Cluster mode (absent in results written before it existed). */
  cluster?: ClusterResult | null;
  /** When the cluster figures come from another run than the rest (results/cluster-latest.json). */
  clusterRun?: { mode: Mode; startedAt: string; durationS: number; build?: string };
}

/** results/cluster-latest.json: the last non-smoke run of the cluster scenarios. */
export interface ClusterRecord {
  /** The commit measured (git HEAD, or BENCH_BUILD when run outside a git checkout). */
  build?: string;
  mode: Mode;
  startedAt: string;
  durationS: number;
  machine: Machine;
  cluster: ClusterResult;
}
