/**
 * The bridge's HTTP surface, shared by the HTTP and HTTPS listeners: `/health`, `/manifest`, `/bridge/community` (the
 * logs it holds), the not-yet-built contract gateway under `/bus/`, the model mirror under `/models/`, and the web app
 * for everything else. WebSocket upgrades go to signalling.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { HearthError } from '../src/lib/core/index.js';
import { handleCommunityRequest, isCommunityPath, type CommunityRoutes } from './community-http.js';
import { handleModelsRequest, isModelsPath } from './model-mirror-http.js';
import type { ModelMirror } from './model-mirror.js';
import { SIGNAL_PATH } from './signalling.js';
import { serveStatic } from './static-files.js';

export interface HttpRoutes {
  appDir: string;
  health: () => object;
  manifest: () => Promise<object>;
  /** `/bridge/community` and `/bridge/community/join` (community-http.ts); 404 without. */
  community?: CommunityRoutes;
  /** `/models/…` (model-mirror-http.ts); without one those paths answer 404 saying how to enable it. */
  models?: ModelMirror | null;
  logger: Logger;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    // The app may be loaded from another origin (a public https host) and still talk to this bridge.
    'Access-Control-Allow-Origin': '*',
    ...headers
  });
  res.end(text);
}

function sendWireError(res: ServerResponse, error: HearthError): void {
  sendJson(res, error.httpStatus, error.toWire());
}

export function pathnameOf(req: IncomingMessage): string {
  return (req.url ?? '/').split(/[?#]/, 1)[0];
}

export function createRequestHandler(routes: HttpRoutes): RequestListener {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = pathnameOf(req);
    const readOnly = req.method === 'GET' || req.method === 'HEAD';
    if (path.startsWith('/bus/')) {
      return sendWireError(res, new HearthError('not_implemented', 'the contract gateway is not available on this bridge yet'));
    }
    if (isCommunityPath(path)) {
      if (!routes.community) return sendWireError(res, new HearthError('not_found', 'this bridge does not keep copies of community logs'));
      return handleCommunityRequest(path, req, res, routes.community, sendJson);
    }
    // Before the app: a missing model file must be a 404, never the SPA shell.
    if (isModelsPath(path)) return handleModelsRequest(path, req, res, routes.models ?? null, sendJson, routes.logger);
    if (!readOnly) {
      // 405 rather than the code's usual 400: HTTP clients and proxies understand it.
      return sendJson(res, 405, new HearthError('bad_request', `${req.method} is not allowed here`).toWire(), { Allow: 'GET, HEAD' });
    }
    switch (path) {
      case '/health':
        return sendJson(res, 200, routes.health());
      case '/manifest':
        return sendJson(res, 200, await routes.manifest());
      case SIGNAL_PATH:
        return sendJson(res, 426, new HearthError('bad_request', 'this endpoint speaks WebSocket only').toWire(), { Upgrade: 'websocket' });
      default:
        return serveStatic(routes.appDir, req, res);
    }
  };

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      routes.logger.error({ err, path: pathnameOf(req) }, 'http handler failed');
      if (!res.headersSent) sendWireError(res, new HearthError('internal_error', 'the bridge failed to answer'));
      else res.destroy();
    });
  };
}
