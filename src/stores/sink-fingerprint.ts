/**
 * The fingerprint of a sink's dead letter: one open letter per sink and event (the partial unique
 * index on `(stream, fingerprint)` of open letters), never equal to a record letter's (hex digests).
 */
export function sinkFingerprint(sink: string, eventId: string): string {
  return `sink:${sink}:${eventId}`;
}
