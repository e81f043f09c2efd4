/** Small display helpers shared by the Mesh page's tables. */
export const PATH_LABEL: Readonly<Record<string, string>> = {
  local: 'Local',
  webrtc: 'WebRTC',
  relay: 'Relay',
  memory: 'In-memory'
};

export function ms(value: number): string {
  if (!Number.isFinite(value) || value <= 0) return '—';
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

export function percent(rate: number, samples: number): string {
  return samples === 0 ? '—' : `${Math.round(rate * 100)}% of ${samples}`;
}

export function compactJson(value: unknown, max = 60): string {
  const text = JSON.stringify(value) ?? '';
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

/** "14:03:22" in the viewer's time zone. */
export function clockTime(rfc3339: string): string {
  const date = new Date(rfc3339);
  return Number.isNaN(date.getTime()) ? rfc3339 : date.toLocaleTimeString([], { hour12: false });
}
