import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, usageText, type LoadConfigInput } from '../../relay/config.js';
import { SETTINGS } from '../../relay/config-settings.js';

const CWD = '/srv/bridge';

/** loadConfig with an in-memory file system: `files` maps absolute paths to TOML text. */
function load(input: Partial<LoadConfigInput> & { files?: Record<string, string> } = {}) {
  const files = input.files ?? {};
  return loadConfig({
    argv: input.argv ?? [],
    env: input.env ?? {},
    cwd: input.cwd ?? CWD,
    hostname: input.hostname ?? 'pi.lan',
    readTextFile: (path) => files[path] ?? null
  });
}

function errorOf(input: Parameters<typeof load>[0]): string {
  try {
    load(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config defaults', () => {
  it('uses the documented defaults with no file, env or flags', () => {
    const c = load();
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 7080,
      httpsPort: 7443,
      dataDir: `${CWD}/.hearthnet`,
      appDir: `${CWD}/build`,
      name: 'pi',
      logLevel: 'info',
      tlsCert: null,
      tlsKey: null,
      mdns: { enabled: true, interface: null },
      models: { dir: null },
      limits: { maxClients: 1000, maxMessageBytes: 131072, messagesPerSecond: 400 }
    });
    expect(c.provenance.configFile).toBeNull();
    expect(new Set(Object.values(c.provenance.sources))).toEqual(new Set(['default']));
  });

  it('cuts a long host name to fit an mDNS instance label', () => {
    expect(load({ hostname: 'x'.repeat(80) }).name).toHaveLength(58);
  });
});

describe('config precedence: defaults < file < env < flags', () => {
  const file = `${CWD}/hearthnet.toml`;
  const files = { [file]: 'port = 7000\nname = "from-file"\nlog_level = "debug"\n[mdns]\ninterface = "127.0.0.1"\n[limits]\nmax_clients = 5\n' };

  it('reads ./hearthnet.toml when present', () => {
    const c = load({ files });
    expect(c).toMatchObject({ port: 7000, name: 'from-file', logLevel: 'debug', mdns: { interface: '127.0.0.1' }, limits: { maxClients: 5 } });
    expect(c.provenance.configFile).toBe(file);
    expect(c.provenance.sources.port).toBe(file);
  });

  it('env beats the file, flags beat env', () => {
    const env = { HEARTHNET_PORT: '7100', HEARTHNET_NAME: 'from-env' };
    const c = load({ files, env, argv: ['--port', '7200'] });
    expect(c.port).toBe(7200);
    expect(c.name).toBe('from-env');
    expect(c.logLevel).toBe('debug');
    expect(c.provenance.sources).toMatchObject({ port: '--port', name: 'HEARTHNET_NAME', log_level: file });
  });

  it('takes --config over HEARTHNET_CONFIG over ./hearthnet.toml', () => {
    const all = { ...files, '/etc/a.toml': 'port = 1', '/etc/b.toml': 'port = 2' };
    expect(load({ files: all, env: { HEARTHNET_CONFIG: '/etc/b.toml' } }).port).toBe(2);
    expect(load({ files: all, env: { HEARTHNET_CONFIG: '/etc/b.toml' }, argv: ['--config', '/etc/a.toml'] }).port).toBe(1);
  });

  it('resolves relative paths against the file folder (file) or cwd (env, flags)', () => {
    const c = load({ files: { '/etc/hn/x.toml': 'data_dir = "state"\napp_dir = "web"' }, argv: ['--config', '/etc/hn/x.toml', '--app-dir', 'dist'] });
    expect(c.dataDir).toBe('/etc/hn/state');
    expect(c.appDir).toBe(`${CWD}/dist`);
  });

  it('takes the model mirror folder from [models] dir, HEARTHNET_MODELS_DIR or --models-dir, resolving relative paths', () => {
    expect(load({ files: { '/etc/hn/x.toml': '[models]\ndir = "models"' }, argv: ['--config', '/etc/hn/x.toml'] }).models.dir).toBe('/etc/hn/models');
    expect(load({ env: { HEARTHNET_MODELS_DIR: '/srv/models' } }).models.dir).toBe('/srv/models');
    const c = load({ env: { HEARTHNET_MODELS_DIR: '/srv/models' }, argv: ['--models-dir', 'mirror'] });
    expect(c.models.dir).toBe(`${CWD}/mirror`);
    expect(c.provenance.sources['models.dir']).toBe('--models-dir');
    expect(load({ argv: ['--models-dir=/mnt/usb/models'] }).models.dir).toBe('/mnt/usb/models');
  });

  it('accepts --flag=value, --mdns/--no-mdns and boolean words in env', () => {
    expect(load({ argv: ['--port=81'] }).port).toBe(81);
    expect(load({ argv: ['--no-mdns'] }).mdns.enabled).toBe(false);
    expect(load({ env: { HEARTHNET_MDNS: 'off' }, argv: ['--mdns'] }).mdns.enabled).toBe(true);
    expect(load({ env: { HEARTHNET_MDNS: 'no' } }).mdns.enabled).toBe(false);
    expect(load({ argv: ['--mdns-interface', '127.0.0.1'] }).mdns.interface).toBe('127.0.0.1');
  });

  it('treats an empty variable as unset and warns about unknown HEARTHNET_ variables', () => {
    const c = load({ env: { HEARTHNET_PORT: '', HEARTHNET_PROT: '1' } });
    expect(c.port).toBe(7080);
    expect(c.provenance.warnings).toEqual(['ignoring unknown environment variable HEARTHNET_PROT']);
  });
});

describe('config validation messages name the setting, the value, its source and what is accepted', () => {
  it.each([
    [{ env: { HEARTHNET_PORT: 'abc' } }, 'config: port must be an integer 0-65535 (got "abc" from HEARTHNET_PORT)'],
    [{ argv: ['--port', '70000'] }, 'config: port must be an integer 0-65535 (got "70000" from --port)'],
    [{ argv: ['--https-port', '-1'] }, 'config: https_port must be an integer 0-65535 (0 disables HTTPS) (got "-1" from --https-port)'],
    [{ argv: ['--host', 'not a host'] }, 'config: host must be an IP address or host name (got "not a host" from --host)'],
    [{ env: { HEARTHNET_LOG_LEVEL: 'loud' } }, 'config: log_level must be one of trace|debug|info|warn|error|fatal|silent (got "loud" from HEARTHNET_LOG_LEVEL)'],
    [{ env: { HEARTHNET_MDNS: 'maybe' } }, 'config: mdns.enabled must be a boolean (true|false, 1|0, yes|no, on|off) (got "maybe" from HEARTHNET_MDNS)'],
    [{ env: { HEARTHNET_MDNS_INTERFACE: 'eth0' } }, 'config: mdns.interface must be an IPv4 address (got "eth0" from HEARTHNET_MDNS_INTERFACE)'],
    [{ argv: ['--name', 'a.b'] }, 'config: name must be 1-58 characters without dots or control characters (got "a.b" from --name)'],
    [{ argv: ['--max-message-bytes', '1000'] }, 'config: limits.max_message_bytes must be an integer 66560-16777216 (got "1000" from --max-message-bytes)'],
    [{ argv: ['--max-clients', '0'] }, 'config: limits.max_clients must be an integer 1-100000 (got "0" from --max-clients)'],
    [{ argv: ['--messages-per-second', '1.5'] }, 'config: limits.messages_per_second must be an integer 1-100000 (got "1.5" from --messages-per-second)'],
    [{ argv: ['--data-dir', ''] }, 'config: data_dir must be a non-empty path (got "" from --data-dir)'],
    [{ argv: ['--models-dir', ''] }, 'config: models.dir must be a non-empty path (got "" from --models-dir)'],
    [{ argv: ['--models-dir'] }, 'config: --models-dir needs a value']
  ])('%j', (input, message) => {
    expect(errorOf(input)).toBe(message);
  });

  it('checks types in the file strictly and names the file', () => {
    const file = `${CWD}/hearthnet.toml`;
    expect(errorOf({ files: { [file]: 'port = "7080"' } })).toBe(`config: port must be an integer 0-65535 (got "7080" from ${file})`);
    expect(errorOf({ files: { [file]: '[mdns]\nenabled = "yes"' } })).toBe(`config: mdns.enabled must be a boolean (true|false, 1|0, yes|no, on|off) (got "yes" from ${file})`);
    expect(errorOf({ files: { [file]: 'mdns = 1' } })).toBe(`config: mdns must be a table such as [mdns] (got 1 from ${file})`);
    expect(errorOf({ files: { [file]: '[models]\ndir = 3' } })).toBe(`config: models.dir must be a non-empty path (got 3 from ${file})`);
    expect(errorOf({ files: { [file]: 'models = "/srv/models"' } })).toBe(`config: models must be a table such as [models] (got "/srv/models" from ${file})`);
    expect(errorOf({ files: { [file]: '[models]\npath = "/srv/models"' } })).toMatch(/^config: unknown setting "models.path" in /);
  });

  it('refuses unknown keys in the file, naming the accepted ones', () => {
    const file = `${CWD}/hearthnet.toml`;
    const message = errorOf({ files: { [file]: 'prot = 1' } });
    expect(message).toMatch(new RegExp(`^config: unknown setting "prot" in ${file} \\(accepted: host, port, https_port, `));
    for (const s of SETTINGS) expect(message).toContain(s.key);
    expect(errorOf({ files: { [file]: '[limits]\nmax = 1' } })).toMatch(/^config: unknown setting "limits.max" in /);
  });

  it('refuses unknown flags and stray arguments, naming the accepted flags', () => {
    const message = errorOf({ argv: ['--prot', '1'] });
    expect(message).toMatch(/^config: unknown flag --prot \(accepted: --config, --host, --port, /);
    expect(message).toContain('--no-mdns');
    expect(errorOf({ argv: ['7080'] })).toMatch(/^config: unexpected argument "7080" \(accepted flags: --config, /);
    expect(errorOf({ argv: ['--port'] })).toBe('config: --port needs a value');
    expect(errorOf({ argv: ['--no-mdns=1'] })).toBe('config: --no-mdns takes no value (got "1")');
  });

  it('reports unparsable TOML with its line, and a missing explicit file', () => {
    const file = `${CWD}/hearthnet.toml`;
    expect(errorOf({ files: { [file]: 'port = \n' } })).toMatch(new RegExp(`^config: cannot parse ${file} at line 1: `));
    expect(errorOf({ argv: ['--config', 'nope.toml'] })).toBe(`config: config file ${CWD}/nope.toml (from --config) does not exist`);
    expect(errorOf({ env: { HEARTHNET_CONFIG: '/x.toml' } })).toBe('config: config file /x.toml (from HEARTHNET_CONFIG) does not exist');
  });

  it('checks settings that only make sense together', () => {
    expect(errorOf({ argv: ['--tls-cert', 'c.pem'] })).toBe('config: tls_cert and tls_key must be given together (got only tls_cert from --tls-cert)');
    expect(errorOf({ argv: ['--port', '7443'] })).toBe('config: https_port must differ from port (both 7443, from --port and default)');
    expect(load({ argv: ['--port', '0', '--https-port', '0'] }).httpsPort).toBe(0);
  });

  it('lists every setting in --help', () => {
    const text = usageText();
    for (const s of SETTINGS) {
      expect(text).toContain(s.flag);
      expect(text).toContain(s.env);
    }
  });
});

describe('the shipped example file', () => {
  it('relay/hearthnet.example.toml loads, and every setting in it (uncommented) is valid', async () => {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(new URL('../../relay/hearthnet.example.toml', import.meta.url), 'utf8');
    const path = `${CWD}/hearthnet.toml`;
    expect(load({ files: { [path]: text } }).port).toBe(7080);
    const uncommented = text.replace(/^# (\w+ = .*?)([ \t]+#.*)?$/gm, '$1');
    const c = load({ files: { [path]: uncommented } });
    expect(c).toMatchObject({ name: 'kitchen-pi', tlsCert: '/etc/hearthnet/fullchain.pem', mdns: { interface: '192.168.1.10' }, models: { dir: '/srv/hearthnet/models' } });
  });
});
