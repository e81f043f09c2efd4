/**
 * The few protobuf encodings an ONNX file needs (wire types 0 and 2 only), for the tiny genuine models the tests
 * write (tiny-causal-lm.ts, tiny-embedding-model.ts). Field numbers are those of onnx.proto.
 */

/** A ModelProto around `graph` (GraphProto fields): IR version 8, default-domain opset 17. */
export function modelProto(graph: Uint8Array[]): Uint8Array {
  return concat([
    varintField(1, 8), // ir_version
    field(2, 'hearthnet-tests'),
    field(7, concat(graph)),
    field(8, concat([field(1, ''), varintField(2, 17)])) // opset_import: default domain, opset 17
  ]);
}


export function node(opType: string, inputs: string[], outputs: string[], attributes: Uint8Array[] = []): Uint8Array {
  return field(1, concat([...inputs.map((i) => field(1, i)), ...outputs.map((o) => field(2, o)), field(3, `${opType}_${outputs[0]}`), field(4, opType), ...attributes.map((a) => field(5, a))]));
}

export function intAttribute(name: string, value: number): Uint8Array {
  return concat([field(1, name), varintField(3, value), varintField(20, 2)]); // type INT = 2
}

export function tensor(name: string, dataType: number, dims: number[], raw: Uint8Array): Uint8Array {
  return concat([...dims.map((d) => varintField(1, d)), varintField(2, dataType), field(8, name), field(9, raw)]);
}

export function valueInfo(name: string, elemType: number, shape: (string | number)[]): Uint8Array {
  const dims = shape.map((d) => field(1, typeof d === 'number' ? varintField(1, d) : field(2, d)));
  const tensorType = concat([varintField(1, elemType), field(2, concat(dims))]);
  return concat([field(1, name), field(2, field(1, tensorType))]);
}

export function varint(value: number): number[] {
  const bytes: number[] = [];
  let v = value;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return bytes;
}

export function varintField(fieldNumber: number, value: number): Uint8Array {
  return Uint8Array.from([...varint(fieldNumber * 8), ...varint(value)]);
}

/** A length-delimited field: a string (UTF-8), bytes, or an embedded message. */
export function field(fieldNumber: number, value: string | Uint8Array): Uint8Array {
  const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
  return concat([Uint8Array.from([...varint(fieldNumber * 8 + 2), ...varint(bytes.length)]), bytes]);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
