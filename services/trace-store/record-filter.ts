// The selection shared by every query: one function (or all) inside a time window. The window is
// [sinceUs, untilUs) in Unix microseconds; a null bound is open.

export interface RecordFilter {
  readonly function: string | null;
  readonly sinceUs: number | null;
  readonly untilUs: number | null;
}

export const everything: RecordFilter = { function: null, sinceUs: null, untilUs: null };

/** The SQL conditions of a filter on the given columns, with their named parameters. */
export function filterConditions(filter: RecordFilter, columns: { function: string; time: string }): { sql: string[]; params: Record<string, string | number> } {
  const sql: string[] = [];
  const params: Record<string, string | number> = {};
  if (filter.function !== null) {
    sql.push(`${columns.function} = @function`);
    params.function = filter.function;
  }
  if (filter.sinceUs !== null) {
    sql.push(`${columns.time} >= @sinceUs`);
    params.sinceUs = filter.sinceUs;
  }
  if (filter.untilUs !== null) {
    sql.push(`${columns.time} < @untilUs`);
    params.untilUs = filter.untilUs;
  }
  return { sql, params };
}

/** "WHERE a AND b", or "" without conditions. */
export function whereClause(conditions: readonly string[]): string {
  return conditions.length === 0 ? "" : `WHERE ${conditions.join(" AND ")}`;
}

/** Prepared statements by SQL text: queries vary by which conditions apply, each shape is prepared once. */
export class StatementCache<S> {
  readonly #statements = new Map<string, S>();
  constructor(private readonly prepare: (sql: string) => S) {}
  get(sql: string): S {
    let statement = this.#statements.get(sql);
    if (!statement) this.#statements.set(sql, (statement = this.prepare(sql)));
    return statement;
  }
}
