import { FatalError } from '../../core/errors.ts';
import type { Checkpoint } from '../../core/types.ts';

/** A file a run read to its end, as it was then. */
export interface KnownFile {
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
  /** A last line held back (no line end, did not parse): where it starts. Absent: none. */
  readonly tail?: { readonly at: number; readonly line: number; readonly header?: readonly string[] };
  /**
   * Where an append is read from: just after the last item that ended with a line end (before a
   * held-back or unterminated last line), and the lines up to there. Absent in checkpoints written
   * before appends were told apart: the file is then read again whole.
   */
  readonly end?: number;
  readonly line?: number;
  /** CSV: the header row's names, for reading an append. */
  readonly header?: readonly string[];
}

/** The file being read when the page was cut, and how far. */
export interface FilePosition {
  readonly path: string;
  /** The file as the run found it: a later run resumes inside it only if it is still so. */
  readonly size: number;
  readonly mtimeMs: number;
  /** The byte just after the last row handed over, and the lines up to there. */
  readonly offset: number;
  readonly line: number;
  /** CSV: the header row's names, so a resumed read need not look for them. */
  readonly header?: readonly string[];
}

/**
 * A file stream's checkpoint: the files read to their end (by absolute path), the one in progress,
 * and since when a reconciliation is owed (a file or a row may be gone: `onMissingFile: reconcile`).
 */
export interface FileCheckpoint {
  readonly files: Readonly<Record<string, KnownFile>>;
  readonly current: FilePosition | null;
  readonly deletesDue: string | null;
}

export const EMPTY_CHECKPOINT: FileCheckpoint = { files: {}, current: null, deletesDue: null };

/** The stored checkpoint as a file stream's, or a FatalError saying how to start afresh. */
export function fileCheckpointOf(checkpoint: Checkpoint, stream: string): FileCheckpoint {
  if (checkpoint === null) return EMPTY_CHECKPOINT;
  const c = checkpoint as Partial<Record<keyof FileCheckpoint, unknown>>;
  if (
    typeof checkpoint === 'object' &&
    !Array.isArray(checkpoint) &&
    typeof c.files === 'object' &&
    c.files !== null &&
    (c.current === null || typeof c.current === 'object')
  ) {
    return {
      files: c.files as Record<string, KnownFile>,
      current: (c.current as FilePosition | null) ?? null,
      deletesDue: typeof c.deletesDue === 'string' ? c.deletesDue : null,
    };
  }
  throw new FatalError(
    `stream "${stream}": the stored checkpoint is not a file stream's ({ files, current }); ` +
      `run \`syncline reset ${stream}\` to start it afresh`,
    { stream },
  );
}

/** Since when the stream owes a reconciliation, by its checkpoint (`StreamDefinition.reconcileOwed`). */
export function deletesDueOf(checkpoint: Checkpoint): string | null {
  if (checkpoint === null || typeof checkpoint !== 'object' || Array.isArray(checkpoint)) return null;
  const due = (checkpoint as { deletesDue?: unknown }).deletesDue;
  return typeof due === 'string' ? due : null;
}
