//! `pkg db load --remap-keys` and `pkg rollback` of a database load, on
//! each engine (SQLite, a throw-away PostgreSQL, a throw-away MariaDB),
//! each loading the same package exported from SQLite (so every engine but
//! SQLite is also a cross-engine load): new keys from the target's
//! generator, foreign keys rewritten (a composite key holding one, a
//! self-reference, a two-table cycle, a reference to a row kept as
//! existing through a unique constraint), the key map in `-o json` and the
//! history, and a rollback that restores the target exactly, refusing
//! when a row changed since unless `--force`.

use crate::common::Env;
use crate::databases::{Mariadb, Postgres};

const SOURCE: &str = "
    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email VARCHAR(80) UNIQUE);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), note TEXT);
    CREATE TABLE order_items (order_id INTEGER NOT NULL REFERENCES orders(id), line INTEGER NOT NULL, qty INTEGER, PRIMARY KEY (order_id, line));
    CREATE TABLE employees (id INTEGER PRIMARY KEY, name TEXT NOT NULL, manager_id INTEGER REFERENCES employees(id));
    CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT NOT NULL, lead_id INTEGER REFERENCES members(id));
    CREATE TABLE members (id INTEGER PRIMARY KEY, name TEXT NOT NULL, team_id INTEGER NOT NULL REFERENCES teams(id));
    INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com'), (2, 'Bob', 'bob@example.com');
    INSERT INTO orders VALUES (10, 1, 'a1'), (11, 2, 'b1'), (12, 2, 'b2');
    INSERT INTO order_items VALUES (10, 1, 2), (11, 1, 1), (11, 2, 5), (12, 1, 7);
    INSERT INTO employees VALUES (1, 'Boss', NULL), (2, 'Mid', 1), (3, 'Low', 2);
    INSERT INTO teams VALUES (1, 'Red', NULL), (2, 'Blue', NULL);
    INSERT INTO members VALUES (1, 'Ann', 1), (2, 'Ben', 2);
    UPDATE teams SET lead_id = 2 WHERE id = 1;
    UPDATE teams SET lead_id = 1 WHERE id = 2;
";

/// What the target holds before any load: a customer the package's Ada
/// matches on the unique email, and rows that move the generators on.
const BEFORE: &str = "
    INSERT INTO customers (id, name, email) VALUES (100, 'Zed', 'zed@example.com'), (101, 'Ada Prime', 'ada@example.com');
    INSERT INTO employees (id, name, manager_id) VALUES (100, 'Other', NULL);
";

/// A database under test: its URL and a query giving `a|b` lines, NULL
/// as nothing.
struct Target<'a> {
    url: String,
    query: &'a dyn Fn(&str) -> String,
    run: &'a dyn Fn(&str),
}

/// The package, exported from SQLite.
fn package(env: &Env) -> String {
    let path = env.path("source.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(SOURCE)
        .unwrap();
    let dir = env.path("pkg");
    let dir = dir.to_str().unwrap().to_string();
    env.ok([
        "db",
        "create",
        &dir,
        "--db",
        &format!("sqlite:{}", path.display()),
        "--table",
        "order_items",
        "--table",
        "employees",
        "--table",
        "members",
        "--with-parents",
    ]);
    dir
}

/// The outcome of `table` in `pkg db load -o json`'s output.
fn outcome<'a>(printed: &'a serde_json::Value, table: &str) -> &'a serde_json::Value {
    printed["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["table"] == table)
        .unwrap()
}

/// The target's rows, by what they mean rather than by their keys.
fn meaning(t: &Target<'_>) -> String {
    [
        "SELECT c.name, c.email FROM customers c ORDER BY c.email",
        "SELECT o.note, c.name FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY o.note",
        "SELECT o.note, i.line, i.qty FROM order_items i JOIN orders o ON o.id = i.order_id ORDER BY o.note, i.line",
        "SELECT e.name, m.name FROM employees e LEFT JOIN employees m ON m.id = e.manager_id ORDER BY e.name",
        "SELECT t.name, l.name FROM teams t LEFT JOIN members l ON l.id = t.lead_id ORDER BY t.name",
        "SELECT m.name, t.name FROM members m JOIN teams t ON t.id = m.team_id ORDER BY m.name",
    ]
    .iter()
    .map(|q| (t.query)(q))
    .collect::<Vec<_>>()
    .join("--\n")
}

fn exercise(env: &Env, t: &Target<'_>) {
    let pkg = package(env);
    (t.run)(BEFORE);
    let before = meaning(t);
    let load = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "db",
            "load",
            &pkg,
            "--db",
            &t.url,
            "--remap-keys",
            "-o",
            "json",
        ];
        args.extend_from_slice(extra);
        serde_json::from_str(&env.ok(args)).unwrap()
    };

    // A dry run counts and writes nothing.
    let plan = load(&["--on-conflict", "skip", "--dry-run"]);
    assert_eq!(plan["history_id"], serde_json::Value::Null, "{plan}");
    let customers = outcome(&plan, "customers");
    assert_eq!(
        (&customers["insert"], &customers["skip"]),
        (&1.into(), &1.into())
    );
    assert_eq!(meaning(t), before);

    // Without a policy, the customer matching on its email is refused.
    let err = env.fails(["db", "load", &pkg, "--db", &t.url, "--remap-keys"]);
    assert!(
        err.contains("customers") && err.contains("unique constraint"),
        "{err}"
    );
    assert_eq!(meaning(t), before);

    // Skip keeps Ada Prime, and Ada's orders point at her.
    let out = load(&["--on-conflict", "skip"]);
    let id = out["history_id"].as_i64().unwrap();
    let ada_prime = (t.query)("SELECT id FROM customers WHERE name = 'Ada Prime'");
    let bob = (t.query)("SELECT id FROM customers WHERE name = 'Bob'");
    assert_eq!(out["key_map"]["customers"]["1"], ada_prime.trim(), "{out}");
    assert_eq!(out["key_map"]["customers"]["2"], bob.trim(), "{out}");
    let new_bob: i64 = bob.trim().parse().unwrap();
    assert!(
        new_bob > 101,
        "Bob got key {new_bob}, not one from the generator"
    );
    // The composite key (order_id, line) is remapped through orders.
    let items = out["key_map"]["order_items"].as_object().unwrap();
    assert_eq!(items.len(), 4, "{out}");
    assert!(
        !items.contains_key("[99,1]") && items.contains_key("[11,2]"),
        "{out}"
    );
    assert_eq!(
        meaning(t),
        "\
Ada Prime|ada@example.com
Bob|bob@example.com
Zed|zed@example.com
--
a1|Ada Prime
b1|Bob
b2|Bob
--
a1|1|2
b1|1|1
b1|2|5
b2|1|7
--
Boss|
Low|Mid
Mid|Boss
Other|
--
Blue|Ann
Red|Ben
--
Ann|Red
Ben|Blue
"
    );
    // The history records the load; the record keeps the key map.
    let history: serde_json::Value =
        serde_json::from_str(&env.ok(["history", "-o", "json"])).unwrap();
    assert_eq!(history[0]["id"], id, "{history}");
    assert_eq!(history[0]["created"], 15, "{history}");

    // The rollback restores the target exactly; twice is refused.
    env.ok(["rollback", &id.to_string()]);
    assert_eq!(meaning(t), before);
    let err = env.fails(["rollback", &id.to_string()]);
    assert!(err.contains("already rolled back"), "{err}");

    // Update overwrites Ada Prime; a row changed since refuses the
    // rollback, which changes nothing; --force rolls back anyway and
    // restores Ada Prime.
    let out = load(&["--on-conflict", "update"]);
    let id = out["history_id"].as_i64().unwrap().to_string();
    assert!(
        meaning(t).starts_with("Ada|ada@example.com\n"),
        "{}",
        meaning(t)
    );
    (t.run)("UPDATE orders SET note = 'b1!' WHERE note = 'b1'");
    let changed = meaning(t);
    let err = env.fails(["rollback", &id]);
    assert!(
        err.contains("1 row(s) the load wrote changed since") && err.contains("orders"),
        "{err}"
    );
    assert_eq!(meaning(t), changed);
    env.ok(["rollback", &id, "--force"]);
    assert_eq!(meaning(t), before);
}

#[test]
fn remap_and_rollback_on_sqlite() {
    let env = Env::new();
    let path = env.path("target.db");
    let ddl: String = SOURCE
        .lines()
        .filter(|l| l.trim_start().starts_with("CREATE"))
        .collect::<Vec<_>>()
        .join("\n");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(&ddl)
        .unwrap();
    let query = |sql: &str| -> String {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut statement = conn.prepare(sql).unwrap();
        let n = statement.column_count();
        let rows: Vec<String> = statement
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| match r.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Null => String::new(),
                        rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                        rusqlite::types::ValueRef::Text(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                        other => format!("{other:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.iter().map(|r| format!("{r}\n")).collect()
    };
    let run = |sql: &str| {
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(sql)
            .unwrap()
    };
    exercise(
        &env,
        &Target {
            url: format!("sqlite:{}", path.display()),
            query: &query,
            run: &run,
        },
    );
}

#[test]
fn remap_and_rollback_on_postgres() {
    let env = Env::new();
    let pg = Postgres::start();
    pg.psql(
        "CREATE TABLE customers (id bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 200) PRIMARY KEY, name text NOT NULL, email varchar(80) UNIQUE);
         CREATE TABLE orders (id serial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id), note text);
         CREATE TABLE order_items (order_id integer NOT NULL REFERENCES orders(id), line integer NOT NULL, qty integer, PRIMARY KEY (order_id, line));
         CREATE TABLE employees (id integer GENERATED ALWAYS AS IDENTITY (START WITH 500) PRIMARY KEY, name text NOT NULL, manager_id integer REFERENCES employees(id));
         CREATE TABLE members (id bigserial PRIMARY KEY, name text NOT NULL, team_id bigint NOT NULL);
         CREATE TABLE teams (id bigserial PRIMARY KEY, name text NOT NULL, lead_id bigint REFERENCES members(id));
         ALTER TABLE members ADD FOREIGN KEY (team_id) REFERENCES teams(id);",
    );
    let query = |sql: &str| pg.psql(sql);
    let run = |sql: &str| {
        // An ALWAYS identity takes a given key only when told to.
        pg.psql(&sql.replace(
            "INSERT INTO employees (id, name, manager_id) VALUES",
            "INSERT INTO employees (id, name, manager_id) OVERRIDING SYSTEM VALUE VALUES",
        ));
    };
    let target = Target {
        url: pg.url(),
        query: &query,
        run: &run,
    };
    exercise(&env, &target);
    // A batch PostgreSQL refuses is written again row by row, keys from an
    // ALWAYS identity included; the refused row is reported, the others go
    // in, and the rollback takes them out again.
    let before = meaning(&target);
    pg.psql("ALTER TABLE employees ADD CHECK (name <> 'Low')");
    let pkg = env.path("pkg");
    let out = env
        .pkg([
            "db",
            "load",
            pkg.to_str().unwrap(),
            "--db",
            &pg.url(),
            "--remap-keys",
            "--on-conflict",
            "skip",
            "--continue-on-error",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let employees = outcome(&printed, "employees");
    assert_eq!(
        (&employees["insert"], &employees["failed"]),
        (&2.into(), &1.into()),
        "{printed}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("employees_name_check"),
        "{out:?}"
    );
    assert_eq!(
        pg.psql("SELECT e.name, m.name FROM employees e LEFT JOIN employees m ON m.id = e.manager_id ORDER BY e.name"),
        "Boss|\nMid|Boss\nOther|\n"
    );
    let id = printed["history_id"].as_i64().unwrap().to_string();
    env.ok(["rollback", &id]);
    assert_eq!(meaning(&target), before);
}

#[test]
fn remap_and_rollback_on_mariadb() {
    let env = Env::new();
    let db = Mariadb::start();
    db.sql(
        "CREATE TABLE customers (id bigint AUTO_INCREMENT PRIMARY KEY, name varchar(40) NOT NULL, email varchar(80) UNIQUE) ENGINE=InnoDB AUTO_INCREMENT=300;
         CREATE TABLE orders (id int AUTO_INCREMENT PRIMARY KEY, customer_id bigint NOT NULL, note text, FOREIGN KEY (customer_id) REFERENCES customers(id)) ENGINE=InnoDB;
         CREATE TABLE order_items (order_id int NOT NULL, line int NOT NULL, qty int, PRIMARY KEY (order_id, line), FOREIGN KEY (order_id) REFERENCES orders(id)) ENGINE=InnoDB;
         CREATE TABLE employees (id int AUTO_INCREMENT PRIMARY KEY, name varchar(40) NOT NULL, manager_id int, FOREIGN KEY (manager_id) REFERENCES employees(id)) ENGINE=InnoDB;
         CREATE TABLE teams (id bigint AUTO_INCREMENT PRIMARY KEY, name varchar(40) NOT NULL, lead_id bigint) ENGINE=InnoDB;
         CREATE TABLE members (id bigint AUTO_INCREMENT PRIMARY KEY, name varchar(40) NOT NULL, team_id bigint NOT NULL, FOREIGN KEY (team_id) REFERENCES teams(id)) ENGINE=InnoDB;
         ALTER TABLE teams ADD FOREIGN KEY (lead_id) REFERENCES members(id);",
    );
    let query = |sql: &str| -> String {
        db.sql(sql)
            .lines()
            .map(|l| {
                l.split('\t')
                    .map(|c| if c == "NULL" { "" } else { c })
                    .collect::<Vec<_>>()
                    .join("|")
                    + "\n"
            })
            .collect()
    };
    let run = |sql: &str| {
        db.sql(sql);
    };
    exercise(
        &env,
        &Target {
            url: db.url(),
            query: &query,
            run: &run,
        },
    );
}
