import { StoreUnavailableError } from '../core/errors.ts';
import { type ViewColumn, viewFingerprint } from '../core/view-columns.ts';

/**
 * A stream's typed view as both stores keep it: named `<stream>_v`, marked as Syncline's with the
 * fingerprint of its columns (SQLite: a comment in its SQL; PostgreSQL: `COMMENT ON VIEW`), so a
 * store recreates it only when the columns changed and never touches a view of the user's.
 */
export class TypedView {
  readonly stream: string;
  readonly name: string;
  readonly columns: readonly ViewColumn[];
  /** What marks the view as Syncline's, with these columns. */
  readonly marker: string;

  constructor(stream: string, columns: readonly ViewColumn[]) {
    this.stream = stream;
    this.name = `${stream}_v`;
    this.columns = columns;
    this.marker = `${TypedView.MARK} ${viewFingerprint(columns)}`;
  }

  /** The start of every marker: a view whose marker starts so is Syncline's. */
  static readonly MARK = 'syncline:view';

  /**
   * What to do, given the relation of that name now (`kind` null: none; `marker`: the view's mark, if
   * any): nothing, create, or recreate (drop first); an existing view is dropped when there are no
   * columns. Throws `StoreUnavailableError` for a relation that is not Syncline's view.
   */
  plan(
    existing: { kind: 'view' | 'other'; marker: string | null } | null,
    where: string,
  ): 'keep' | 'create' | 'replace' | 'drop' {
    const ours = existing?.kind === 'view' && existing.marker?.startsWith(TypedView.MARK) === true;
    if (existing && !ours) {
      throw new StoreUnavailableError(
        `${existing.kind === 'view' ? 'a view' : 'a table'} named "${this.name}" in ${where} is not Syncline's typed ` +
          `view of stream "${this.stream}"; nothing was changed: rename it, or remove the stream's columns`,
        { stream: this.stream },
      );
    }
    if (this.columns.length === 0) return existing ? 'drop' : 'keep';
    if (!existing) return 'create';
    return existing.marker === this.marker ? 'keep' : 'replace';
  }
}
