//! `pkg db create` on a real SQLite database: the chosen rows with their
//! parents, deterministic bytes, a package `pkg validate` and `pkg pack`
//! accept, and refusals (a malicious predicate, an unknown table) that
//! leave both the database and the destination as they were.

use crate::common::Env;
use crate::databases::{Mariadb, Postgres};

const SHOP: &str = "
    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email VARCHAR(80) UNIQUE, balance NUMERIC(12,2));
    CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), placed_at TIMESTAMP, paid BOOLEAN);
    CREATE TABLE order_items (order_id INTEGER NOT NULL REFERENCES orders(id), line INTEGER NOT NULL, qty INTEGER, PRIMARY KEY (order_id, line));
    INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com', '10.50'), (2, 'Bob', NULL, 3);
    INSERT INTO orders VALUES (10, 1, '2026-11-01 10:00:00', 1), (11, 2, NULL, 0);
    INSERT INTO order_items VALUES (10, 1, 2), (11, 1, 1), (11, 2, 5);
";

fn shop(env: &Env) -> String {
    let path = env.path("shop.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(SHOP).unwrap();
    format!("sqlite:{}", path.display())
}

#[test]
fn db_create_exports_rows_with_their_parents() {
    let env = Env::new();
    let db = shop(&env);
    let args = |dir: &str| {
        vec![
            "db".to_string(),
            "create".into(),
            env.path(dir).display().to_string(),
            "--db".into(),
            db.clone(),
            "--table".into(),
            "order_items".into(),
            "--where".into(),
            "order_items=order_id = 11".into(),
            "--with-parents".into(),
            "--name".into(),
            "shop".into(),
            "--version".into(),
            "1.0.0".into(),
        ]
    };
    let out = env.ok(args("one"));
    assert_eq!(
        out,
        "TABLE        ROWS\ncustomers    1\norder_items  2\norders       1\n"
    );
    let items = std::fs::read_to_string(env.path("one/tables/order_items.jsonl")).unwrap();
    assert_eq!(
        items,
        "{\"order_id\":11,\"line\":1,\"qty\":1}\n{\"order_id\":11,\"line\":2,\"qty\":5}\n"
    );
    let manifest = std::fs::read_to_string(env.path("one/manifest.json")).unwrap();
    assert!(manifest.contains("\"tables\""), "{manifest}");
    env.ok(["validate", env.path("one").to_str().unwrap()]);
    let shown = env.ok(["inspect", env.path("one").to_str().unwrap()]);
    assert!(
        shown.contains("order_items  2     order_id,line  (order_id) -> orders(id)"),
        "{shown}"
    );
    // The same database state gives the same bytes, packed too.
    env.ok(args("two"));
    assert_eq!(
        manifest,
        std::fs::read_to_string(env.path("two/manifest.json")).unwrap()
    );
    for (dir, archive) in [("one", "one.tar.gz"), ("two", "two.tar.gz")] {
        env.ok([
            "pack",
            env.path(dir).to_str().unwrap(),
            "-o",
            env.path(archive).to_str().unwrap(),
        ]);
    }
    assert_eq!(
        std::fs::read(env.path("one.tar.gz")).unwrap(),
        std::fs::read(env.path("two.tar.gz")).unwrap()
    );
    // A changed data file fails the digest check.
    std::fs::write(env.path("two/tables/customers.jsonl"), "{\"id\":2}\n").unwrap();
    let out = env
        .pkg(["validate", env.path("two").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("/tables/customers.jsonl: digest mismatch"),
        "{said}"
    );
}

#[test]
fn db_create_refuses_bad_input_and_changes_nothing() {
    let env = Env::new();
    let db = shop(&env);
    let dest = env.path("out");
    let dest = dest.to_str().unwrap();
    let err = env.fails([
        "db",
        "create",
        dest,
        "--db",
        &db,
        "--table",
        "customers",
        "--where",
        "customers=1=1; DROP TABLE customers",
    ]);
    assert!(err.contains("customers") && err.contains("`;`"), "{err}");
    let err = env.fails(["db", "create", dest, "--db", &db, "--table", "nosuch"]);
    assert!(err.contains("unknown table `nosuch`"), "{err}");
    let err = env.fails([
        "db",
        "create",
        dest,
        "--db",
        &db,
        "--table",
        "customers",
        "--where",
        "customers=nosuch > 1",
    ]);
    assert!(err.contains("predicate of table `customers`"), "{err}");
    let err = env.fails([
        "db",
        "create",
        dest,
        "--db",
        "postgres://u:pw@127.0.0.1:1/t",
        "--table",
        "x",
    ]);
    assert!(!err.contains("pw"), "{err}");
    let err = env.fails([
        "db",
        "create",
        dest,
        "--db",
        "sqlite:/no/such.db",
        "--table",
        "x",
    ]);
    assert!(err.contains("no such database file"), "{err}");
    assert!(!env.path("out").exists(), "nothing written");
    let conn = rusqlite::Connection::open(env.path("shop.db")).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
}

const PG_SHOP: &str = "
    CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email varchar(80) UNIQUE, balance numeric(12,2), since timestamptz, tags jsonb, token uuid, photo bytea, vip boolean);
    CREATE TABLE orders (id integer PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id), placed_at timestamp, total numeric(20,4));
    CREATE TABLE order_items (order_id integer NOT NULL REFERENCES orders(id), line smallint NOT NULL, qty integer, PRIMARY KEY (order_id, line));
    CREATE TABLE employees (id integer PRIMARY KEY, manager_id integer REFERENCES employees(id));
    INSERT INTO customers VALUES
      (1, 'Ada', 'ada@example.com', 10.50, '2026-11-01 12:00:00+02', '{\"a\": null}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff', true),
      (9007199254740993, 'Big', NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    INSERT INTO orders VALUES (10, 1, '2026-11-01 10:00:00.25', 12345678901234.5678), (11, 9007199254740993, NULL, NULL);
    INSERT INTO order_items VALUES (10, 1, 2), (11, 1, 1), (11, 2, 5);
    INSERT INTO employees VALUES (1, NULL), (2, 1), (3, 2);
";

#[test]
fn db_create_reads_postgres_losslessly_in_one_snapshot() {
    let env = Env::new();
    let pg = Postgres::start();
    pg.psql(PG_SHOP);
    let db = pg.url();
    let out = env.path("pg");
    env.ok([
        "db",
        "create",
        out.to_str().unwrap(),
        "--db",
        &db,
        "--table",
        "order_items",
        "--table",
        "employees",
        "--where",
        "employees=id = 3",
        "--with-parents",
    ]);
    let read = |t: &str| std::fs::read_to_string(out.join(format!("tables/{t}.jsonl"))).unwrap();
    assert_eq!(
        read("customers"),
        "{\"id\":1,\"name\":\"Ada\",\"email\":\"ada@example.com\",\"balance\":\"10.50\",\"since\":\"2026-11-01T10:00:00Z\",\"tags\":\"{\\\"a\\\": null}\",\"token\":\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\",\"photo\":\"AP8=\",\"vip\":true}\n\
         {\"id\":9007199254740993,\"name\":\"Big\",\"email\":null,\"balance\":null,\"since\":null,\"tags\":null,\"token\":null,\"photo\":null,\"vip\":null}\n"
    );
    assert_eq!(
        read("orders"),
        "{\"id\":10,\"customer_id\":1,\"placed_at\":\"2026-11-01T10:00:00.25\",\"total\":\"12345678901234.5678\"}\n\
         {\"id\":11,\"customer_id\":9007199254740993,\"placed_at\":null,\"total\":null}\n"
    );
    assert_eq!(
        read("employees"),
        "{\"id\":1,\"manager_id\":null}\n{\"id\":2,\"manager_id\":1}\n{\"id\":3,\"manager_id\":2}\n"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let items = manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "order_items")
        .unwrap();
    assert_eq!(
        items["primary_key"],
        serde_json::json!(["order_id", "line"]),
        "{items}"
    );
    assert_eq!(items["row_count"], 3, "{items}");
    let columns = &manifest["tables"][0]["columns"];
    assert_eq!(
        columns[3],
        serde_json::json!({"name": "balance", "type": "decimal", "declared": "numeric(12,2)", "nullable": true})
    );
    env.ok(["validate", out.to_str().unwrap()]);

    // Refusals change nothing.
    let dest = env.path("bad");
    let dest = dest.to_str().unwrap();
    let err = env.fails([
        "db",
        "create",
        dest,
        "--db",
        &db,
        "--table",
        "customers",
        "--where",
        "customers=1=1; DROP TABLE customers",
    ]);
    assert!(err.contains("`;`"), "{err}");
    let err = env.fails([
        "db",
        "create",
        dest,
        "--db",
        &db,
        "--table",
        "customers",
        "--where",
        "customers=nosuch = 1",
    ]);
    assert!(
        err.contains("predicate of table `customers`") && err.contains("nosuch"),
        "{err}"
    );
    // Even a predicate that would write is refused by the read-only snapshot.
    let err = env.fails([
        "db",
        "create",
        dest,
        "--db",
        &db,
        "--table",
        "customers",
        "--where",
        "customers=id IN (SELECT id FROM customers FOR UPDATE)",
    ]);
    assert!(err.contains("read-only"), "{err}");
    assert_eq!(pg.psql("SELECT count(*) FROM customers").trim(), "2");
    assert!(!env.path("bad").exists());
}

const MARIA_SHOP: &str = "
    CREATE TABLE customers (id bigint unsigned PRIMARY KEY, name varchar(40) NOT NULL, balance decimal(12,2), since timestamp NULL, photo blob, vip boolean, meta json) ENGINE=InnoDB;
    CREATE TABLE orders (id int PRIMARY KEY, customer_id bigint unsigned NOT NULL, placed_at datetime(3), FOREIGN KEY (customer_id) REFERENCES customers(id)) ENGINE=InnoDB;
    CREATE TABLE order_items (order_id int NOT NULL, line smallint NOT NULL, qty int, PRIMARY KEY (order_id, line), FOREIGN KEY (order_id) REFERENCES orders(id)) ENGINE=InnoDB;
    SET time_zone = '+00:00';
    INSERT INTO customers VALUES (1, 'Ada', 10.50, '2026-11-01 10:00:00', X'00FF', true, '{\"a\": null}'), (18446744073709551615, 'Max', NULL, NULL, NULL, NULL, NULL);
    INSERT INTO orders VALUES (10, 1, '2026-11-01 10:00:00.250'), (11, 18446744073709551615, NULL);
    INSERT INTO order_items VALUES (10, 1, 2), (11, 1, 1), (11, 2, 5);
";

#[test]
fn db_create_reads_mariadb_losslessly_in_one_snapshot() {
    let env = Env::new();
    let maria = Mariadb::start();
    maria.sql(MARIA_SHOP);
    let db = maria.url();
    let out = env.path("maria");
    env.ok([
        "db",
        "create",
        out.to_str().unwrap(),
        "--db",
        &db,
        "--table",
        "order_items",
        "--where",
        "order_items=order_id = 11",
        "--with-parents",
    ]);
    let read = |t: &str| std::fs::read_to_string(out.join(format!("tables/{t}.jsonl"))).unwrap();
    assert_eq!(
        read("customers"),
        "{\"id\":18446744073709551615,\"name\":\"Max\",\"balance\":null,\"since\":null,\"photo\":null,\"vip\":null,\"meta\":null}\n"
    );
    assert_eq!(
        read("order_items"),
        "{\"order_id\":11,\"line\":1,\"qty\":1}\n{\"order_id\":11,\"line\":2,\"qty\":5}\n"
    );
    let all = env.path("all");
    env.ok([
        "db",
        "create",
        all.to_str().unwrap(),
        "--db",
        &db,
        "--table",
        "customers",
        "--where",
        "customers=id = 1",
    ]);
    assert_eq!(
        std::fs::read_to_string(all.join("tables/customers.jsonl")).unwrap(),
        "{\"id\":1,\"name\":\"Ada\",\"balance\":\"10.50\",\"since\":\"2026-11-01T10:00:00Z\",\"photo\":\"AP8=\",\"vip\":true,\"meta\":\"{\\\"a\\\": null}\"}\n"
    );
    env.ok(["validate", out.to_str().unwrap()]);
    let dest = env.path("bad");
    let dest = dest.to_str().unwrap();
    let err = env.fails([
        "db",
        "create",
        dest,
        "--db",
        &db,
        "--table",
        "customers",
        "--where",
        "customers=1=1; DROP TABLE customers",
    ]);
    assert!(err.contains("`;`"), "{err}");
    let err = env.fails([
        "db",
        "create",
        dest,
        "--db",
        &db,
        "--table",
        "customers",
        "--where",
        "customers=nosuch = 1",
    ]);
    assert!(
        err.contains("predicate of table `customers`") && err.contains("nosuch"),
        "{err}"
    );
    assert_eq!(maria.sql("SELECT count(*) FROM customers").trim(), "2");
    assert!(!env.path("bad").exists());
}

#[test]
fn a_table_larger_than_the_file_limit_is_streamed() {
    let env = Env::new();
    let path = env.path("big.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE big (id INTEGER PRIMARY KEY, payload BLOB);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 52)
         INSERT INTO big SELECT i, zeroblob(1048576) FROM n;",
    )
    .unwrap();
    drop(conn);
    let out = env.path("big");
    env.ok([
        "db",
        "create",
        out.to_str().unwrap(),
        "--db",
        &format!("sqlite:{}", path.display()),
        "--table",
        "big",
    ]);
    let size = std::fs::metadata(out.join("tables/big.jsonl"))
        .unwrap()
        .len();
    assert!(
        size > 64 << 20,
        "{size} bytes: more than the 64 MiB file limit"
    );
    env.ok(["validate", out.to_str().unwrap()]);
}

const CYCLES: &str = "
    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, balance NUMERIC(12,2));
    CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), placed_at TIMESTAMP);
    CREATE TABLE order_items (order_id INTEGER NOT NULL REFERENCES orders(id), line INTEGER NOT NULL, qty INTEGER, PRIMARY KEY (order_id, line));
    CREATE TABLE employees (id INTEGER PRIMARY KEY, manager_id INTEGER REFERENCES employees(id), photo BLOB);
    CREATE TABLE teams (id INTEGER PRIMARY KEY, lead_id INTEGER REFERENCES members(id));
    CREATE TABLE members (id INTEGER PRIMARY KEY, team_id INTEGER NOT NULL REFERENCES teams(id));
";

/// Every row of `table` in `db`, as text, in key order.
fn dump(db: &std::path::Path, table: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut statement = conn
        .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY 1, 2"))
        .unwrap();
    let n = statement.column_count();
    statement
        .query_map([], |r| {
            let cells: Vec<String> = (0..n)
                .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                .collect();
            Ok(cells.join("|"))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn db_load_writes_parents_first_in_one_transaction() {
    let env = Env::new();
    let source = env.path("source.db");
    let conn = rusqlite::Connection::open(&source).unwrap();
    conn.execute_batch(CYCLES).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         INSERT INTO customers VALUES (1, 'Ada', '10.50'), (2, 'Bob', NULL);
         INSERT INTO orders VALUES (10, 1, '2026-11-01 10:00:00'), (11, 2, NULL);
         INSERT INTO order_items VALUES (10, 1, 2), (11, 1, 1);
         INSERT INTO employees VALUES (1, NULL, X'00FF'), (2, 1, NULL), (3, 2, NULL);
         INSERT INTO teams VALUES (1, NULL);
         INSERT INTO members VALUES (7, 1);
         UPDATE teams SET lead_id = 7 WHERE id = 1;",
    )
    .unwrap();
    drop(conn);
    let pkg = env.path("pkg");
    let pkg = pkg.to_str().unwrap();
    env.ok([
        "db",
        "create",
        pkg,
        "--db",
        &format!("sqlite:{}", source.display()),
        "--table",
        "order_items",
        "--table",
        "employees",
        "--table",
        "members",
        "--with-parents",
    ]);
    let target = env.path("target.db");
    rusqlite::Connection::open(&target)
        .unwrap()
        .execute_batch(CYCLES)
        .unwrap();
    let db = format!("sqlite:{}", target.display());

    // A dry run plans and changes nothing.
    let plan = env.ok(["db", "load", pkg, "--db", &db, "--dry-run"]);
    assert!(plan.contains("employees    3       0       0"), "{plan}");
    assert!(dump(&target, "customers").is_empty());
    // The load: parents first, the self-reference and the teams/members
    // cycle written NULL then set, values as they were.
    env.ok(["db", "load", pkg, "--db", &db]);
    for table in [
        "customers",
        "orders",
        "order_items",
        "employees",
        "teams",
        "members",
    ] {
        assert_eq!(dump(&target, table), dump(&source, table), "{table}");
    }
    // Again: every key exists. fail refuses and changes nothing; skip keeps.
    let err = env.fails(["db", "load", pkg, "--db", &db]);
    assert!(err.contains("already has a row with primary key"), "{err}");
    let skipped = env.ok([
        "db",
        "load",
        pkg,
        "--db",
        &db,
        "--on-conflict",
        "skip",
        "-o",
        "json",
    ]);
    let skipped: serde_json::Value = serde_json::from_str(&skipped).unwrap();
    assert_eq!(skipped["tables"][0]["skip"], 2, "{skipped}");
    // update overwrites the target's changes.
    rusqlite::Connection::open(&target)
        .unwrap()
        .execute_batch("UPDATE customers SET name = 'changed' WHERE id = 1")
        .unwrap();
    env.ok(["db", "load", pkg, "--db", &db, "--on-conflict", "update"]);
    assert_eq!(dump(&target, "customers"), dump(&source, "customers"));
}

#[test]
fn db_load_refuses_a_target_that_does_not_fit_and_writes_nothing() {
    let env = Env::new();
    let db = shop(&env);
    let pkg = env.path("pkg");
    let pkg = pkg.to_str().unwrap();
    env.ok([
        "db",
        "create",
        pkg,
        "--db",
        &db,
        "--table",
        "order_items",
        "--with-parents",
    ]);
    let target = env.path("target.db");
    rusqlite::Connection::open(&target)
        .unwrap()
        .execute_batch(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             CREATE TABLE orders (id TEXT PRIMARY KEY, customer_id INTEGER NOT NULL, placed_at TIMESTAMP, paid BOOLEAN);",
        )
        .unwrap();
    let err = env.fails([
        "db",
        "load",
        pkg,
        "--db",
        &format!("sqlite:{}", target.display()),
    ]);
    for expected in [
        "column `customers.email` is missing from the target",
        "column `orders.id` is TEXT (text) in the target but integer in the package",
        "table `order_items` is missing from the target",
        "nothing was written",
    ] {
        assert!(err.contains(expected), "{expected} in {err}");
    }
    assert!(dump(&target, "customers").is_empty());
    // A changed data file is refused before anything is written.
    std::fs::write(env.path("pkg/tables/orders.jsonl"), "{}\n").unwrap();
    let err = env.fails(["db", "load", pkg, "--db", &db]);
    assert!(err.contains("digest mismatch"), "{err}");
}

#[test]
fn db_load_into_postgres_from_sqlite_and_from_postgres() {
    let env = Env::new();
    let pg = Postgres::start();
    pg.psql(
        "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email varchar(80), balance numeric(12,2));
         CREATE TABLE orders (id integer PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id), placed_at timestamp, paid boolean);
         CREATE TABLE order_items (order_id integer NOT NULL REFERENCES orders(id), line integer NOT NULL, qty integer, PRIMARY KEY (order_id, line));
         CREATE TABLE employees (id integer PRIMARY KEY, manager_id integer REFERENCES employees(id), photo bytea);",
    );
    // Cross-engine: SQLite's rows into PostgreSQL.
    let sqlite = shop(&env);
    let pkg = env.path("pkg");
    let pkg = pkg.to_str().unwrap();
    env.ok([
        "db",
        "create",
        pkg,
        "--db",
        &sqlite,
        "--table",
        "order_items",
        "--with-parents",
    ]);
    let plan = env.ok(["db", "load", pkg, "--db", &pg.url(), "--dry-run"]);
    assert!(plan.contains("customers    2"), "{plan}");
    assert_eq!(pg.psql("SELECT count(*) FROM customers").trim(), "0");
    env.ok(["db", "load", pkg, "--db", &pg.url()]);
    assert_eq!(
        pg.psql("SELECT id, name, email, balance FROM customers ORDER BY id"),
        "1|Ada|ada@example.com|10.50\n2|Bob||3.00\n"
    );
    assert_eq!(
        pg.psql("SELECT id, customer_id, placed_at, paid FROM orders ORDER BY id"),
        "10|1|2026-11-01 10:00:00|t\n11|2||f\n"
    );
    // A self-reference and bytes, PostgreSQL to PostgreSQL, and back out
    // byte for byte.
    pg.psql("INSERT INTO employees VALUES (1, NULL, '\\x00ff'), (2, 1, NULL), (3, 2, NULL)");
    let staff = env.path("staff");
    let staff = staff.to_str().unwrap();
    env.ok([
        "db",
        "create",
        staff,
        "--db",
        &pg.url(),
        "--table",
        "employees",
    ]);
    pg.psql("CREATE DATABASE copy");
    let copy = pg.url().replace("/t", "/copy");
    pg.psql_in("copy", "CREATE TABLE employees (id integer PRIMARY KEY, manager_id integer REFERENCES employees(id), photo bytea)");
    env.ok(["db", "load", staff, "--db", &copy]);
    let again = env.path("again");
    let again = again.to_str().unwrap();
    env.ok(["db", "create", again, "--db", &copy, "--table", "employees"]);
    assert_eq!(
        std::fs::read(env.path("staff/tables/employees.jsonl")).unwrap(),
        std::fs::read(env.path("again/tables/employees.jsonl")).unwrap()
    );
    // A second load of the same rows is refused whole: nothing changes.
    let err = env.fails(["db", "load", pkg, "--db", &pg.url()]);
    assert!(err.contains("already has a row"), "{err}");
    assert_eq!(pg.psql("SELECT count(*) FROM order_items").trim(), "3");
}

#[test]
fn db_load_into_mariadb_from_postgres() {
    let env = Env::new();
    let pg = Postgres::start();
    pg.psql(PG_SHOP);
    let maria = Mariadb::start();
    maria.sql(
        "CREATE TABLE customers (id bigint unsigned PRIMARY KEY, name text NOT NULL, email varchar(80), balance decimal(12,2),
                                 since timestamp NULL, tags json, token varchar(36), photo blob, vip boolean) ENGINE=InnoDB;
         CREATE TABLE orders (id int PRIMARY KEY, customer_id bigint unsigned NOT NULL, placed_at datetime(6), total decimal(20,4),
                              FOREIGN KEY (customer_id) REFERENCES customers(id)) ENGINE=InnoDB;
         CREATE TABLE order_items (order_id int NOT NULL, line smallint NOT NULL, qty int, PRIMARY KEY (order_id, line),
                                   FOREIGN KEY (order_id) REFERENCES orders(id)) ENGINE=InnoDB;
         CREATE TABLE employees (id int PRIMARY KEY, manager_id int NULL, FOREIGN KEY (manager_id) REFERENCES employees(id)) ENGINE=InnoDB;",
    );
    let pkg = env.path("pkg");
    let pkg = pkg.to_str().unwrap();
    env.ok([
        "db",
        "create",
        pkg,
        "--db",
        &pg.url(),
        "--table",
        "order_items",
        "--table",
        "employees",
        "--with-parents",
    ]);
    env.ok(["db", "load", pkg, "--db", &maria.url()]);
    assert_eq!(
        maria.sql("SELECT id, name, balance, since, HEX(photo), vip FROM customers ORDER BY id"),
        "1\tAda\t10.50\t2026-11-01 10:00:00\t00FF\t1\n9007199254740993\tBig\tNULL\tNULL\tNULL\tNULL\n"
    );
    assert_eq!(
        maria.sql("SELECT id, placed_at, total FROM orders ORDER BY id"),
        "10\t2026-11-01 10:00:00.250000\t12345678901234.5678\n11\tNULL\tNULL\n"
    );
    assert_eq!(
        maria.sql("SELECT id, manager_id FROM employees ORDER BY id"),
        "1\tNULL\n2\t1\n3\t2\n"
    );
    // Out again, the same rows as PostgreSQL's.
    let back = env.path("back");
    let back = back.to_str().unwrap();
    env.ok([
        "db",
        "create",
        back,
        "--db",
        &maria.url(),
        "--table",
        "order_items",
        "--with-parents",
    ]);
    assert_eq!(
        std::fs::read_to_string(env.path("back/tables/order_items.jsonl")).unwrap(),
        std::fs::read_to_string(env.path("pkg/tables/order_items.jsonl")).unwrap()
    );
    let err = env.fails(["db", "load", pkg, "--db", &maria.url()]);
    assert!(err.contains("already has a row"), "{err}");
    assert_eq!(maria.sql("SELECT count(*) FROM order_items").trim(), "3");
}

#[test]
fn a_load_killed_midway_leaves_the_target_as_it_was() {
    let env = Env::new();
    let pg = Postgres::start();
    let schema = "CREATE TABLE events (id integer PRIMARY KEY, body text NOT NULL)";
    let source = env.path("events.db");
    let conn = rusqlite::Connection::open(&source).unwrap();
    conn.execute_batch(&format!(
        "{schema};
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
         INSERT INTO events SELECT i, 'event number ' || i FROM n;"
    ))
    .unwrap();
    drop(conn);
    let pkg = env.path("pkg");
    let pkg = pkg.to_str().unwrap();
    env.ok([
        "db",
        "create",
        pkg,
        "--db",
        &format!("sqlite:{}", source.display()),
        "--table",
        "events",
    ]);
    pg.psql(schema);
    pg.psql("INSERT INTO events VALUES (0, 'already there')");
    let mut child = env
        .spawnable(["db", "load", pkg, "--db", &pg.url()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until rows are going in (the transaction is open), then kill.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let active = pg.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' OR query LIKE 'INSERT INTO%'",
        );
        if active.trim() != "0" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the load never started"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the load ended before it was killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    child.kill().unwrap();
    child.wait().unwrap();
    // PostgreSQL rolls the open transaction back when the connection drops.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pg
        .psql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 't' AND pid <> pg_backend_pid()",
        )
        .trim()
        != "0"
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the killed session lingers"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(pg.psql("SELECT count(*) FROM events").trim(), "1");
}

#[test]
fn a_load_checks_that_rows_outside_the_package_exist() {
    let env = Env::new();
    let db = shop(&env);
    // Orders without their customers: the package lists the customers it
    // references.
    let pkg = env.path("orders");
    let pkg = pkg.to_str().unwrap();
    let out = env
        .pkg(["db", "create", pkg, "--db", &db, "--table", "orders"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("references 2 customers row(s) the package does not hold"),
        "{out:?}"
    );
    let target = env.path("target.db");
    let conn = rusqlite::Connection::open(&target).unwrap();
    conn.execute_batch(SHOP.split("INSERT").next().unwrap())
        .unwrap();
    conn.execute_batch("INSERT INTO customers VALUES (1, 'Ada', NULL, NULL)")
        .unwrap();
    drop(conn);
    let url = format!("sqlite:{}", target.display());
    let err = env.fails(["db", "load", pkg, "--db", &url]);
    assert!(
        err.contains("`orders` references customers(id) = [2], which the target lacks")
            && err.contains("nothing was written"),
        "{err}"
    );
    assert!(dump(&target, "orders").is_empty());
    rusqlite::Connection::open(&target)
        .unwrap()
        .execute_batch("INSERT INTO customers VALUES (2, 'Bob', NULL, NULL)")
        .unwrap();
    env.ok(["db", "load", pkg, "--db", &url]);
    assert_eq!(dump(&target, "orders").len(), 2);
}

#[test]
fn continue_on_error_commits_in_batches_and_reports_refused_rows() {
    let env = Env::new();
    let db = shop(&env);
    let pkg = env.path("pkg");
    let pkg = pkg.to_str().unwrap();
    env.ok([
        "db",
        "create",
        pkg,
        "--db",
        &db,
        "--table",
        "order_items",
        "--with-parents",
    ]);
    let pg = Postgres::start();
    // The target refuses one row (qty 5).
    pg.psql(
        "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text, balance numeric);
         CREATE TABLE orders (id integer PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id), placed_at timestamp, paid boolean);
         CREATE TABLE order_items (order_id integer NOT NULL REFERENCES orders(id), line integer NOT NULL,
                                   qty integer CHECK (qty < 5), PRIMARY KEY (order_id, line));",
    );
    // By default: all or nothing.
    let err = env.fails(["db", "load", pkg, "--db", &pg.url()]);
    assert!(err.contains("order_items"), "{err}");
    assert_eq!(pg.psql("SELECT count(*) FROM customers").trim(), "0");
    // With --continue-on-error the other rows go in, and the refused one
    // is reported with PostgreSQL's message.
    let out = env
        .pkg([
            "db",
            "load",
            pkg,
            "--db",
            &pg.url(),
            "--continue-on-error",
            "--batch-size",
            "2",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let outcomes: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = outcomes["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["table"] == "order_items")
        .unwrap();
    assert_eq!(
        (items["insert"].as_u64(), items["failed"].as_u64()),
        (Some(2), Some(1)),
        "{items}"
    );
    assert_eq!(
        items["failures"][0]["key"],
        serde_json::json!([11, 2]),
        "{items}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("check constraint") && stderr.contains("1 row(s) were refused"),
        "{stderr}"
    );
    assert_eq!(pg.psql("SELECT count(*) FROM order_items").trim(), "2");
    assert_eq!(pg.psql("SELECT count(*) FROM customers").trim(), "2");
}
