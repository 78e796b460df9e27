//! Throw-away database servers for the database package tests: PostgreSQL
//! from Debian's package (`initdb` + `pg_ctl` in a temporary directory, on
//! a free loopback port, as the `postgres` user when the tests run as
//! root), stopped and removed on drop.

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
