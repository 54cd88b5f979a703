/** What the client spans of the databases keep of a statement (PostgreSQL queries, InfluxQL). */

/** Longer statements are cut: the span must stay small, and the shape of a statement is in its start. */
const MAX_QUERY_TEXT_CHARS = 2_048;

/** The statement's first keyword, upper-cased (SELECT, INSERT, SHOW): the span's name and `db.operation.name`. */
export function statementOperation(text: string): string | undefined {
  return /^\s*([A-Za-z]+)/.exec(text)?.[1]?.toUpperCase();
}

/** `db.query.text`: the statement, cut to a bounded length. */
export const statementText = (text: string): string => text.slice(0, MAX_QUERY_TEXT_CHARS);
