/**
 * Wire shapes of file.read, .list, .advertise and .put (contract §4.7–4.10, with the changes file-service.ts states)
 * in the `{params, input}` → `{output, meta}` form, and the stream events. The schemas state shapes and types; CIDs,
 * bounds and manifests are checked by the handlers, so a bad value is answered `bad_request` naming it rather than
 * `schema_mismatch` ("your version differs").
 */

const str = { type: 'string' };
const int = { type: 'integer', minimum: 0 };
const cids = { type: 'array', items: str };

function request(input: Record<string, unknown>) {
  return { type: 'object', required: ['input'], properties: { params: { type: 'object' }, input: { type: 'object', ...input } } };
}

function response(output: Record<string, unknown>) {
  return { type: 'object', required: ['output'], properties: { output: { type: 'object', ...output }, meta: { type: 'object' } } };
}

function event(name: string, data: Record<string, unknown>) {
  return { type: 'object', required: ['event', 'data'], properties: { event: { const: name }, data: { type: 'object', ...data } } };
}

/** The manifest as DESIGN §3.10 has it, with its `cid`. */
const manifest = {
  required: ['cid', 'size_bytes', 'chunk_size_bytes', 'chunks'],
  properties: {
    cid: str,
    size_bytes: int,
    chunk_size_bytes: int,
    chunks: { type: 'array', items: { type: 'object', required: ['i', 'cid', 'size_bytes'], properties: { i: int, cid: str, size_bytes: int } } }
  }
};

/** One chunk: its place in the blob (0 for a chunk asked for by its own CID), CID, size and bytes. */
const chunk = {
  required: ['i', 'cid', 'size_bytes', 'bytes'],
  properties: {
    i: int,
    cid: str,
    size_bytes: int,
    // Not base64 (contract §4.7's data_b64): the transport carries a Uint8Array in an event's data as binary
    // frames (DESIGN §3.5) and checks it against `cid` on arrival; a local call hands the Uint8Array over as it is.
    bytes: { description: 'the chunk bytes, a Uint8Array' }
  }
};

/** A manifest too large for a JSON frame: its canonical JSON as bytes, which hash to the manifest CID. */
const manifestBytes = { required: ['cid', 'bytes'], properties: { cid: str, bytes: chunk.properties.bytes } };

export const FILE_READ_SCHEMAS = {
  requestSchema: request({ required: ['cid'], properties: { cid: str, manifest_only: { type: 'boolean' }, chunks: { type: 'array' } } }),
  responseSchema: null,
  streamSchema: { anyOf: [event('manifest', manifest), event('manifest', manifestBytes), event('chunk', chunk)] }
};

export const FILE_LIST_SCHEMAS = {
  requestSchema: request({ properties: { prefix: str } }),
  responseSchema: response({ required: ['cids', 'truncated'], properties: { cids, truncated: { type: 'boolean' } } })
};

export const FILE_ADVERTISE_SCHEMAS = {
  requestSchema: request({ required: ['cids'], properties: { cids: { type: 'array' } } }),
  responseSchema: response({ required: ['recorded'], properties: { recorded: int } })
};

export const FILE_PUT_SCHEMAS = {
  // `cid` instead of `manifest` (our addition) for a manifest too large for one frame: the server reads it from the caller.
  requestSchema: request({ anyOf: [{ required: ['manifest'] }, { required: ['cid'] }], properties: { manifest: { type: 'object' }, cid: str } }),
  responseSchema: null,
  streamSchema: {
    anyOf: [
      event('ready', { required: ['needed'], properties: { needed: { type: 'array', items: int } } }),
      event('progress', { required: ['received', 'needed'], properties: { received: int, needed: int } })
    ]
  }
};

/** `done` of file.read: chunk events sent. */
export interface FileReadDone {
  chunks: number;
  ms: number;
}

/** `done` of file.put: chunks (and their bytes) pulled from the caller. */
export interface FilePutDone {
  received: number;
  bytes_received: number;
  ms: number;
}

export interface ChunkEventData {
  i: number;
  cid: string;
  size_bytes: number;
  bytes: Uint8Array;
}
