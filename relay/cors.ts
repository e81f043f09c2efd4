/**
 * Answers a CORS preflight for the bridge's cross-origin endpoints (the app may be loaded from a public https
 * origin, DESIGN §4). Chrome's Private Network Access also asks before a public page may reach a LAN address; the
 * bridge exists to be reached that way, so it says yes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export function sendPreflight(req: IncomingMessage, res: ServerResponse, allow: { methods: string; headers: string; extra?: Record<string, string> }): void {
  const headers: Record<string, string> = {
    'Access-Control-Allow-Origin': '*',
    ...allow.extra,
    'Access-Control-Allow-Methods': allow.methods,
    'Access-Control-Allow-Headers': allow.headers,
    'Access-Control-Max-Age': '600',
    'Content-Length': '0'
  };
  if (req.headers['access-control-request-private-network'] === 'true') headers['Access-Control-Allow-Private-Network'] = 'true';
  res.writeHead(204, headers);
  res.end();
}
