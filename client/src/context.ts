import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { parseDocument } from 'yaml';
import { ConfigError, parseConfig, readSecrets, type Config, type Secrets } from './config.js';
import { PRIVATE_DIR } from './file-modes.js';

/** Loading what every command needs: .env, the config file, secrets, a logger that never prints secrets. */

export interface Context {
  configPath: string;
  /** The --config path as given (recovery commands repeat it); configPath is its absolute form. */
  configArg?: string | undefined;
  config: Config;
  secrets: Secrets;
  dataDir: string;
  journalPath: string;
  log: Logger;
}

export function loadDotEnv(cwd: string, configDir: string): void {
  for (const dir of new Set([configDir, cwd])) {
    const p = join(dir, '.env');
    // loadEnvFile never overrides variables already set, so the real environment wins.
    if (existsSync(p)) process.loadEnvFile(p);
  }
}

export function readConfigFile(path: string): Config {
  if (!existsSync(path))
    throw new Error(`config file ${path} not found (create one with: catalyst-client init)`);
  const doc = parseDocument(readFileSync(path, 'utf8'));
  // A YAML syntax error is an invalid config (exit 2) like a schema error: every one, as file:line:column.
  if (doc.errors.length) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const at = e.linePos?.[0];
        return {
          path: at ? `${path}:${at.line}:${at.col}` : path,
          message: `YAML syntax: ${e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '')}`,
        };
      }),
    );
  }
  return parseConfig(doc.toJS() ?? {});
}

export function createLogger(level: string, dest: number = 1): Logger {
  return pino(
    {
      level,
      // Belt and braces: secrets are never put in log objects, and these paths are censored if one slips in.
      redact: {
        paths: [
          'key',
          'secret',
          'apiKey',
          'password',
          'token',
          'authorization',
          'headers.authorization',
          '*.apiKey',
          '*.secret',
          '*.key',
          '*.password',
          'secrets',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination({ dest, sync: true }),
  );
}

export function loadContext(
  configFile: string,
  opts: { logLevel?: string | undefined; logDest?: number; createDataDir?: boolean } = {},
): Context {
  const configPath = resolve(configFile);
  loadDotEnv(process.cwd(), dirname(configPath));
  const config = readConfigFile(configPath);
  const dataDir = isAbsolute(config.data_dir)
    ? config.data_dir
    : resolve(dirname(configPath), config.data_dir);
  // Commands that only read or flip an existing journal never create one (a wrong --config must say so).
  // 0700: the journal is this user's alone (only a directory created here; an existing one is check's to report).
  if (opts.createDataDir !== false) mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR });
  return {
    configPath,
    configArg: configFile,
    config,
    secrets: readSecrets(config),
    dataDir,
    journalPath: join(dataDir, 'journal.sqlite'),
    log: createLogger(opts.logLevel ?? config.log_level, opts.logDest ?? 2),
  };
}
