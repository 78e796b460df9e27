//! PostgreSQL: its catalog (from `pg_attribute` and `pg_constraint`, in
//! the current schema) and an export's rows, read in one `REPEATABLE READ
//! READ ONLY` transaction (one snapshot for every table), with the session
//! in UTC. Rows come through `COPY (SELECT …) TO STDOUT` in the text
//! format: every value as PostgreSQL's own text, which is exact (integers
//! and floats cast to `int8` and `float8` first, the rest to `text`), then
//! turned into its JSON form here.

use std::io::BufRead;

use postgres::{Client, NoTls};

use super::kind::Kind;
use super::schema::{CatalogTable, Column, ForeignKey, Table};
use super::source::{DbError, ExportSource, Row, RowSink, quote, scan_refused, select_sql};
use super::url::Engine;
use super::value;

/// A PostgreSQL database opened for an export.
pub struct PostgresSource {
    client: Client,
}

/// The database's own message for `e`.
fn message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => crate::error_text::with_causes(e),
    }
}

fn db_error(e: postgres::Error) -> DbError {
    DbError::Database(message(&e))
}

impl PostgresSource {
    /// Connects to `url` and starts the read-only snapshot.
    pub fn open(url: &str, shown: &str) -> Result<PostgresSource, DbError> {
        let mut client = Client::connect(url, NoTls).map_err(|e| {
            DbError::Database(format!("cannot connect to {shown}: {}", message(&e)))
        })?;
        client
            .batch_execute(
                "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3; \
                 SET bytea_output = 'hex'; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            )
            .map_err(db_error)?;
        Ok(PostgresSource { client })
    }
}

const COLUMNS: &str = "
    SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY c.relname, a.attnum";

const CONSTRAINTS: &str = "
    SELECT c.relname::text, con.contype::text,
      ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
            JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
      coalesce(f.relname::text, ''),
      ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
            JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)
    FROM pg_constraint con
    JOIN pg_class c ON c.oid = con.conrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_class f ON f.oid = con.confrelid
    WHERE n.nspname = current_schema() AND con.contype IN ('p', 'f', 'u')
    ORDER BY c.relname, con.conname";

/// The select expression reading `column` as the text [`encode`] expects.
fn select(column: &Column) -> String {
    let q = quote(Engine::Postgres, &column.name);
    match column.kind {
        Kind::Integer => format!("{q}::int8"),
        Kind::Float => format!("{q}::float8"),
        Kind::Bool | Kind::Bytes => q,
        _ => format!("{q}::text"),
    }
}

/// Adds the JSON form of `text`, a value of `column` as COPY prints it
/// (its escapes undone), to `row`.
fn encode(table: &str, column: &Column, text: &str, row: &mut Row) -> Result<(), DbError> {
    let wrong = |what: String| {
        DbError::Invalid(format!(
            "{table}.{} ({}): {what}",
            column.name, column.declared
        ))
    };
    let into: fn(&str, &mut Vec<u8>) -> Result<(), String> = match column.kind {
        Kind::Integer => {
            let digits = text.strip_prefix('-').unwrap_or(text).as_bytes();
            if (1..19).contains(&digits.len())
                && digits.iter().all(u8::is_ascii_digit)
                && (digits[0] != b'0' || digits.len() == 1)
                && text != "-0"
            {
                // PostgreSQL's int8 text is already serde_json's.
                row.text_mut().extend_from_slice(text.as_bytes());
                row.end_value();
            } else {
                let i: i64 = text.parse().map_err(|e| wrong(format!("`{text}`: {e}")))?;
                row.push_i64(i);
            }
            return Ok(());
        }
        Kind::Float => {
            let f: f64 = text.parse().map_err(|e| wrong(format!("`{text}`: {e}")))?;
            row.push_value(&value::float(f));
            return Ok(());
        }
        Kind::Bool => {
            let b = match text {
                "t" => true,
                "f" => false,
                _ => return Err(wrong(format!("`{text}` is not a boolean"))),
            };
            row.push_value(&serde_json::Value::Bool(b));
            return Ok(());
        }
        Kind::Bytes => {
            let data = text
                .strip_prefix("\\x")
                .and_then(unhex)
                .ok_or_else(|| wrong("bytea that is not in the hex form".into()))?;
            row.push_value(&value::bytes(&data));
            return Ok(());
        }
        Kind::Text | Kind::Uuid | Kind::Json => {
            row.push_str(text);
            return Ok(());
        }
        Kind::Decimal => value::decimal_into,
        Kind::Timestamp => value::timestamp_into,
        Kind::Timestamptz => value::timestamptz_into,
        Kind::Date => value::date_into,
        Kind::Time => value::time_into,
    };
    match into(text, row.text_mut()) {
        Ok(()) => {
            row.end_value();
            Ok(())
        }
        Err(what) => {
            row.abandon_value();
            Err(wrong(what))
        }
    }
}

/// The bytes hex digits spell (`bytea_output = 'hex'`).
fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |d: u8| char::from(d).to_digit(16);
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| Some((digit(p[0])? * 16 + digit(p[1])?) as u8))
        .collect()
}

/// A field of COPY's text format with its backslash escapes undone, into
/// `out` (`\b \f \n \r \t \v \\`, octal `\NNN`, hex `\xHH`, and any
/// other character after a backslash as itself).
fn unescape(field: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while i < field.len() {
        let b = field[i];
        i += 1;
        if b != b'\\' || i == field.len() {
            out.push(b);
            continue;
        }
        let c = field[i];
        i += 1;
        match c {
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut n = u32::from(c - b'0');
                for _ in 0..2 {
                    match field.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            n = n * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(n as u8);
            }
            b'x' if field.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut n = 0u32;
                for _ in 0..2 {
                    match field.get(i).and_then(|&d| char::from(d).to_digit(16)) {
                        Some(d) => {
                            n = n * 16 + d;
                            i += 1;
                        }
                        None => break,
                    }
                }
                out.push(n as u8);
            }
            other => out.push(other),
        }
    }
}

/// Fills `row` from one line of COPY's text format (without its newline):
/// tab-separated fields, `\N` for NULL.
fn decode_line(
    table: &str,
    columns: &[Column],
    line: &[u8],
    scratch: &mut Vec<u8>,
    row: &mut Row,
) -> Result<(), DbError> {
    row.clear();
    let fields =
        |what: &str| DbError::Database(format!("COPY of `{table}` gave a row with {what}"));
    // Tabs and backslashes are ASCII: the line is UTF-8 when its fields are.
    let text =
        std::str::from_utf8(line).map_err(|e| fields(&format!("text that is not UTF-8: {e}")))?;
    let mut start = 0;
    for (n, column) in columns.iter().enumerate() {
        if start > line.len() {
            return Err(fields("too few fields"));
        }
        let end = memchr::memchr(b'\t', &line[start..]).map_or(line.len(), |i| start + i);
        let field = &text[start..end];
        if field == "\\N" {
            row.push_null();
        } else if memchr::memchr(b'\\', field.as_bytes()).is_some() {
            unescape(field.as_bytes(), scratch);
            let unescaped = std::str::from_utf8(scratch)
                .map_err(|e| fields(&format!("text that is not UTF-8: {e}")))?;
            encode(table, column, unescaped, row)?;
        } else {
            encode(table, column, field, row)?;
        }
        start = end + 1;
        if n + 1 < columns.len() && end == line.len() {
            return Err(fields("too few fields"));
        }
    }
    if start <= line.len() {
        return Err(fields("too many fields"));
    }
    Ok(())
}

/// Every table of the current schema.
pub fn read_catalog(client: &mut Client) -> Result<Vec<CatalogTable>, DbError> {
    let mut tables: Vec<CatalogTable> = Vec::new();
    for row in client.query(COLUMNS, &[]).map_err(db_error)? {
        let name: String = row.get(0);
        if tables.last().is_none_or(|t| t.name != name) {
            tables.push(CatalogTable {
                name: name.clone(),
                columns: Vec::new(),
                primary_key: Vec::new(),
                foreign_keys: Vec::new(),
                unique: Vec::new(),
            });
        }
        if let Some(t) = tables.last_mut() {
            t.columns.push((row.get(1), row.get(2), row.get(3)));
        }
    }
    for row in client.query(CONSTRAINTS, &[]).map_err(db_error)? {
        let name: String = row.get(0);
        let Some(t) = tables.iter_mut().find(|t| t.name == name) else {
            continue;
        };
        let kind: String = row.get(1);
        let columns: Vec<String> = row.get(2);
        match kind.as_str() {
            "p" => t.primary_key = columns,
            "u" => t.unique.push(columns),
            _ => t.foreign_keys.push(ForeignKey {
                columns,
                table: row.get(3),
                references: row.get(4),
            }),
        }
    }
    for t in &mut tables {
        t.foreign_keys
            .sort_by(|a, b| (&a.columns, &a.table).cmp(&(&b.columns, &b.table)));
        t.unique.sort();
    }
    Ok(tables)
}

impl ExportSource for PostgresSource {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn catalog(&mut self) -> Result<Vec<CatalogTable>, DbError> {
        read_catalog(&mut self.client)
    }

    fn scan(
        &mut self,
        table: &Table,
        columns: &[Column],
        predicate: Option<&str>,
        each: &mut RowSink<'_>,
    ) -> Result<(), DbError> {
        let list: Vec<String> = columns.iter().map(select).collect();
        let sql = format!(
            "COPY ({}) TO STDOUT",
            select_sql(Engine::Postgres, table, &list, predicate)
        );
        let mut reader = self
            .client
            .copy_out(&sql)
            .map_err(|e| scan_refused(&table.name, predicate, &message(&e)))?;
        let read =
            |e: std::io::Error| DbError::Database(format!("reading table `{}`: {e}", table.name));
        let mut row = Row::default();
        let mut scratch = Vec::new();
        // A row cut between two chunks of the stream.
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let chunk = reader.fill_buf().map_err(read)?;
            if chunk.is_empty() {
                break;
            }
            let n = chunk.len();
            let mut rest = chunk;
            while let Some(end) = memchr::memchr(b'\n', rest) {
                let line = if pending.is_empty() {
                    &rest[..end]
                } else {
                    pending.extend_from_slice(&rest[..end]);
                    &pending[..]
                };
                decode_line(&table.name, columns, line, &mut scratch, &mut row)?;
                each(&row)?;
                pending.clear();
                rest = &rest[end + 1..];
            }
            pending.extend_from_slice(rest);
            reader.consume(n);
        }
        if !pending.is_empty() {
            return Err(DbError::Database(format!(
                "COPY of `{}` ended inside a row",
                table.name
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, kind: Kind) -> Column {
        Column {
            name: name.into(),
            kind,
            declared: kind.as_str().into(),
            nullable: true,
        }
    }

    #[test]
    fn copy_text_becomes_json_texts() {
        let mut out = Vec::new();
        unescape(br"a\tb\nc\\d\101\x41\q\", &mut out);
        assert_eq!(out, b"a\tb\nc\\dAAq\\");
        let columns = [
            column("id", Kind::Integer),
            column("t", Kind::Text),
            column("b", Kind::Bytes),
            column("ok", Kind::Bool),
            column("at", Kind::Timestamptz),
            column("n", Kind::Decimal),
            column("f", Kind::Float),
        ];
        let mut row = Row::default();
        let mut scratch = Vec::new();
        decode_line(
            "t",
            &columns,
            b"-12\ttab\\there \"\xc3\xbc\"\t\\\\x00ff\tt\t2026-11-01 10:00:00.5+00\t12.50\tNaN",
            &mut scratch,
            &mut row,
        )
        .unwrap();
        let texts: Vec<&str> = (0..row.len())
            .map(|i| std::str::from_utf8(row.get(i).unwrap()).unwrap())
            .collect();
        assert_eq!(
            texts,
            [
                "-12",
                "\"tab\\there \\\"ü\\\"\"",
                "\"AP8=\"",
                "true",
                "\"2026-11-01T10:00:00.5Z\"",
                "\"12.50\"",
                "\"NaN\""
            ]
        );
        let line = b"\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N";
        decode_line("t", &columns, line, &mut scratch, &mut row).unwrap();
        assert!((0..7).all(|i| row.is_null(i)));
        assert!(decode_line("t", &columns, b"1\t\\N", &mut scratch, &mut row).is_err());
        assert!(decode_line("t", &columns[..1], b"1\t2", &mut scratch, &mut row).is_err());
        let err = decode_line("t", &columns[..1], b"1x", &mut scratch, &mut row).unwrap_err();
        assert!(err.to_string().contains("t.id"), "{err}");
        assert!(decode_line("t", &columns[..1], b"\xff", &mut scratch, &mut row).is_err());
    }
}
