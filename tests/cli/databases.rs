//! Throw-away database servers for the database package tests, from
//! Debian's packages, each in a temporary directory on a free loopback
//! port, stopped and removed on drop: PostgreSQL (`initdb` + `pg_ctl`, as
//! the `postgres` user when the tests run as root) and MariaDB
//! (`mariadb-install-db` + `mariadbd`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A PostgreSQL server holding an empty database `t`.
pub struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `program args...`, as the `postgres` user when root (PostgreSQL
/// refuses to run as root).
fn as_postgres(program: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program).args(args);
        c
    } else {
        let mut c = Command::new(program);
        c.args(args);
        c
    }
}

fn run(mut command: Command, what: &str) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Postgres {
    /// Starts a server (a few seconds).
    pub fn start() -> Postgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is not installed (apt-get install postgresql)")
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").exists())
            .max()
            .expect("no /usr/lib/postgresql/*/bin/initdb");
        let dir = tempfile::Builder::new()
            .prefix("pkg-pg-")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let path = dir.path().to_str().expect("utf-8").to_string();
        run(
            {
                let mut c = Command::new("chmod");
                c.args(["755", &path]);
                c
            },
            "chmod",
        );
        if is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.args(["postgres", &path]);
                    c
                },
                "chown",
            );
        }
        let data = format!("{path}/data");
        run(
            as_postgres(
                &bin.join("initdb"),
                &["-D", &data, "-A", "trust", "-U", "postgres", "-N"],
            ),
            "initdb",
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {path} -c fsync=off -c full_page_writes=off"
        );
        run(
            as_postgres(
                &bin.join("pg_ctl"),
                &[
                    "-D",
                    &data,
                    "-o",
                    &options,
                    "-l",
                    &format!("{path}/log"),
                    "-w",
                    "start",
                ],
            ),
            "pg_ctl start",
        );
        let pg = Postgres { bin, dir, port };
        pg.psql_db("postgres", "CREATE DATABASE t");
        pg
    }

    /// `postgres://postgres@127.0.0.1:PORT/t`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/t", self.port)
    }

    fn psql_db(&self, db: &str, sql: &str) -> String {
        let mut c = Command::new(self.bin.join("psql"));
        c.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            "-d",
            db,
            "-v",
            "ON_ERROR_STOP=1",
            "-qAt",
            "-c",
            sql,
        ]);
        run(c, &format!("psql {sql}"))
    }

    /// Runs `sql` in database `t`; its output, unaligned.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_db("t", sql)
    }

    /// Runs `sql` in database `db`.
    pub fn psql_in(&self, db: &str, sql: &str) -> String {
        self.psql_db(db, sql)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", data.to_str().unwrap_or(""), "stop", "-m", "immediate"],
        )
        .output();
    }
}

/// A MariaDB server holding an empty database `t`.
pub struct Mariadb {
    child: std::process::Child,
    _dir: tempfile::TempDir,
    port: u16,
}

impl Mariadb {
    /// Starts a server (a few seconds).
    pub fn start() -> Mariadb {
        let dir = tempfile::Builder::new()
            .prefix("pkg-maria-")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let path = dir.path().to_str().expect("utf-8").to_string();
        let user = if is_root() {
            "root".to_string()
        } else {
            std::env::var("USER").unwrap_or_else(|_| "nobody".into())
        };
        run(
            {
                let mut c = Command::new("mariadb-install-db");
                c.args([
                    "--no-defaults",
                    &format!("--datadir={path}/data"),
                    &format!("--user={user}"),
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                ]);
                c
            },
            "mariadb-install-db (apt-get install mariadb-server)",
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let daemon = if Path::new("/usr/sbin/mariadbd").exists() {
            "/usr/sbin/mariadbd"
        } else {
            "mariadbd"
        };
        let child = Command::new(daemon)
            .args([
                "--no-defaults",
                &format!("--datadir={path}/data"),
                &format!("--user={user}"),
                &format!("--port={port}"),
                "--bind-address=127.0.0.1",
                &format!("--socket={path}/sock"),
                &format!("--pid-file={path}/pid"),
                "--innodb-flush-log-at-trx-commit=0",
                "--skip-log-bin",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(format!("{path}/log")).expect("log"))
            .spawn()
            .expect("spawn mariadbd");
        let server = Mariadb {
            child,
            _dir: dir,
            port,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let ok = server
                .client("mysql", "SELECT 1")
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "mariadbd did not answer in 60 s: {}",
                std::fs::read_to_string(format!("{path}/log")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        server.sql_db("mysql", "CREATE DATABASE t");
        server
    }

    fn client(&self, db: &str, sql: &str) -> Command {
        let mut c = Command::new("mariadb");
        c.args([
            "--no-defaults",
            "-h",
            "127.0.0.1",
            "-P",
            &self.port.to_string(),
            "-u",
            "root",
            "-N",
            "-B",
            db,
            "-e",
            sql,
        ]);
        c.stderr(std::process::Stdio::piped());
        c
    }

    fn sql_db(&self, db: &str, sql: &str) -> String {
        run(self.client(db, sql), &format!("mariadb {sql}"))
    }

    /// `mysql://root@127.0.0.1:PORT/t`.
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/t", self.port)
    }

    /// Runs `sql` in database `t`; its output, tab-separated.
    pub fn sql(&self, sql: &str) -> String {
        self.sql_db("t", sql)
    }
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
