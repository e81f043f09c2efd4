/**
 * `npm run bridge` / `tsx relay/main.ts`: load the configuration, start the bridge, print the banner, and shut
 * down cleanly on SIGINT/SIGTERM. Configuration mistakes print one line and exit 2; start-up failures exit 1.
 */
import { startBridge } from './bridge.js';
import { bannerText } from './banner.js';
import { ConfigError, loadConfig, usageText } from './config.js';
import { createLogger } from './logger.js';
import { readPackageVersion } from './version.js';

const EXIT_CONFIG = 2;
const EXIT_STARTUP = 1;
const SHUTDOWN_DEADLINE_MS = 5000;

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usageText()}\n`);
    return;
  }
  let config;
  try {
    config = loadConfig({ argv, env: process.env, cwd: process.cwd() });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }

  const logger = createLogger(config.logLevel);
  const log = logger.child({ logger: 'relay.main' });
  for (const warning of config.provenance.warnings) log.warn(warning);
  log.info({ config_file: config.provenance.configFile, sources: config.provenance.sources }, 'configuration loaded');

  let bridge;
  try {
    bridge = await startBridge(config, { logger });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.fatal({ err }, 'bridge failed to start');
    process.stderr.write(`bridge: ${message}\n`);
    process.exit(EXIT_STARTUP);
  }
  // The banner is for people: stderr keeps stdout pure JSON log lines for collectors.
  process.stderr.write(await bannerText({ name: config.name, version: readPackageVersion(), handle: bridge, bind: config.host }));

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal; exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    bridge.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error during shutdown');
        process.exit(1);
      }
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`bridge: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(EXIT_STARTUP);
});
