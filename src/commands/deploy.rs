//! `pkg deploy NAME@REQ --env E...` (queue a deployment on a registry
//! server and, unless `--background`, wait for it showing each
//! environment), `pkg deploy env add|list|remove`, `pkg deploy
//! list|show|rollback`, and `pkg job list|show|cancel|wait`. Owns
//! [`DeployArgs`] and [`JobCommand`].

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand};

use super::Context;
use crate::deploy::client::DeployClient;
use crate::deploy::duration::{parse_duration, parse_time};
use crate::deploy::{
    DeployRequest, Deployment, DeploymentStatus, EnvStatus, Environment, Job, JobStatus,
};
use crate::remote::{ServerClient, remotes};
use crate::ui::Table;

/// The registry server to talk to.
#[derive(Debug, Args, Clone)]
pub struct RegistryArg {
    /// The registry remote (`pkg remote add`); may be left out when only one is configured
    #[arg(long, value_name = "REMOTE")]
    pub registry: Option<String>,
}

impl RegistryArg {
    fn client(&self) -> Result<DeployClient> {
        let remote = match &self.registry {
            Some(name) => remotes::get(name)?,
            None => {
                let all = remotes::list()?;
                match all.len() {
                    1 => all.into_iter().next().ok_or_else(|| anyhow!("no remote"))?,
                    0 => bail!(
                        "no registry remote is configured: add one with `pkg remote add NAME URL`"
                    ),
                    _ => bail!(
                        "name the registry with --registry (remotes: {})",
                        all.iter()
                            .map(|r| r.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            }
        };
        Ok(DeployClient::new(ServerClient::new(remote)?))
    }
}

/// `pkg deploy`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct DeployArgs {
    #[command(subcommand)]
    command: Option<DeployCommand>,
    #[command(flatten)]
    run: DeployRunArgs,
}

/// `pkg deploy NAME@REQ ...`.
#[derive(Debug, Args)]
pub struct DeployRunArgs {
    /// The package: NAME or NAME@REQ (a semver requirement)
    #[arg(required = true, value_name = "NAME[@REQ]")]
    package: Option<String>,
    /// An environment to deploy to (repeat for several)
    #[arg(long = "env", value_name = "NAME", required = true)]
    environments: Vec<String>,
    /// What to do with resources that exist with other content
    #[arg(long, value_name = "POLICY", default_value = "fail", value_parser = ["fail", "skip", "update", "merge"])]
    on_conflict: String,
    /// Plan every environment and change none
    #[arg(long)]
    dry_run: bool,
    /// When some environments fail, roll back those that succeeded
    #[arg(long)]
    rollback_on_partial: bool,
    /// Tries after a failed one, per environment (backoff 200 ms x attempt) [default: 2]
    #[arg(long, value_name = "N")]
    retries: Option<u32>,
    /// Apply one environment at a time and stop at the first failure
    #[arg(long)]
    stop_on_error: bool,
    /// Queue the job and print its id without waiting
    #[arg(long, conflicts_with = "wait")]
    background: bool,
    /// Wait for the job to end (the default)
    #[arg(long)]
    wait: bool,
    /// Run no earlier than this RFC 3339 time (e.g. 2026-12-02T18:00:00Z)
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    at: Option<i64>,
    /// The longest the job may run (e.g. 90s, 5m)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    #[command(flatten)]
    registry: RegistryArg,
}

#[derive(Debug, Subcommand)]
enum DeployCommand {
    /// Manage the environments a registry server deploys to
    #[command(subcommand)]
    Env(EnvCommand),
    /// List deployments, newest first
    List {
        /// Only those to this environment
        #[arg(long = "env", value_name = "NAME")]
        environment: Option<String>,
        /// Only those with this status (pending, deploying, succeeded, failed, partial, rolled-back, cancelled)
        #[arg(long)]
        status: Option<String>,
        /// Only those of this package
        #[arg(long)]
        package: Option<String>,
        /// At most this many
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Show one deployment and each environment
    Show {
        /// The deployment id
        id: String,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Roll a deployment back in every environment it changed
    Rollback {
        /// The deployment id
        id: String,
        /// Roll back even when later deployments superseded it
        #[arg(long)]
        force: bool,
        /// Queue the rollback and print its job id without waiting
        #[arg(long)]
        background: bool,
        #[command(flatten)]
        registry: RegistryArg,
    },
}

#[derive(Debug, Subcommand)]
enum EnvCommand {
    /// Add an environment: a hub URL (or `self`, the server's own hub)
    Add {
        /// Its name
        name: String,
        /// The hub's server (http(s)://HOST:PORT), or `self`
        url: String,
        /// The server's environment variable holding the hub's token (must start with PKG_DEPLOY_)
        #[arg(long, value_name = "VAR", conflicts_with = "token_file")]
        token_env: Option<String>,
        /// A file in the server's --secrets-dir holding the hub's token
        #[arg(long, value_name = "FILE")]
        token_file: Option<String>,
        /// Load everything deployed there under this prefix
        #[arg(long)]
        prefix: Option<String>,
        /// A label KEY=VALUE (repeat for several)
        #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
        labels: Vec<(String, String)>,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// List the environments with their health and last deployment
    List {
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Remove an environment added with `pkg deploy env add`
    Remove {
        /// Its name
        name: String,
        #[command(flatten)]
        registry: RegistryArg,
    },
}

/// `pkg job`.
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// List jobs, newest first
    List {
        /// Only those with this status (pending, queued, processing, completed, failed, cancelled, timeout, retry)
        #[arg(long)]
        status: Option<String>,
        /// At most this many
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Show one job
    Show {
        /// The job id
        id: String,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Cancel a job (one already running stops before its next step)
    Cancel {
        /// The job id
        id: String,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Wait for a job to end, showing its environments
    Wait {
        /// The job id
        id: String,
        /// Give up after this long (e.g. 10m)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<Duration>,
        #[command(flatten)]
        registry: RegistryArg,
    },
}

fn parse_label(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("label `{text}` must be KEY=VALUE"))
}

/// Runs `pkg deploy ...`.
pub fn run(ctx: &Context, args: &DeployArgs) -> Result<()> {
    match &args.command {
        None => deploy(ctx, &args.run),
        Some(DeployCommand::Env(cmd)) => environments(ctx, cmd),
        Some(DeployCommand::List {
            environment,
            status,
            package,
            limit,
            registry,
        }) => {
            let found = registry.client()?.deployments(
                environment.as_deref(),
                status.as_deref(),
                package.as_deref(),
                Some(*limit),
            )?;
            ctx.printer.result(&found, || {
                let mut table =
                    Table::new(["ID", "PACKAGE", "STATUS", "ENVIRONMENTS", "BY", "CREATED"]);
                for d in &found {
                    table.row([
                        d.id.clone(),
                        d.label(),
                        d.status.as_str().to_string(),
                        d.environments
                            .iter()
                            .map(|e| format!("{}:{}", e.name, e.status.as_str()))
                            .collect::<Vec<_>>()
                            .join(" "),
                        d.created_by.clone(),
                        d.created_at.clone(),
                    ]);
                }
                ctx.printer.table_text(&table, "No deployments")
            })
        }
        Some(DeployCommand::Show { id, registry }) => {
            let d = registry.client()?.deployment(id)?;
            ctx.printer.result(&d, || show_deployment(&d))
        }
        Some(DeployCommand::Rollback {
            id,
            force,
            background,
            registry,
        }) => {
            let client = registry.client()?;
            let queued = client.rollback(id, *force)?;
            ctx.printer.status(&format!(
                "Rolling back {} ({}) as job {}",
                queued.deployment.id,
                queued.deployment.label(),
                queued.job.id
            ));
            if *background {
                return ctx
                    .printer
                    .result(&queued, || format!("{}\n", queued.job.id));
            }
            wait_and_show(ctx, &client, &queued.job.id, None)
        }
    }
}

fn deploy(ctx: &Context, args: &DeployRunArgs) -> Result<()> {
    let text = args.package.as_deref().unwrap_or_default();
    let (package, requirement) = match text.split_once('@') {
        Some((name, req)) => (name.to_string(), req.to_string()),
        None => (text.to_string(), "*".to_string()),
    };
    semver::VersionReq::parse(&requirement)
        .with_context(|| format!("`{requirement}` in `{text}` is not a semver requirement"))?;
    let request = DeployRequest {
        package,
        requirement,
        environments: args.environments.clone(),
        on_conflict: args.on_conflict.clone(),
        dry_run: args.dry_run,
        rollback_on_partial: args.rollback_on_partial,
        retries: args.retries,
        stop_on_error: args.stop_on_error,
        at: args
            .at
            .map(|ms| crate::time::format_rfc3339(ms.div_euclid(1000))),
        timeout_seconds: args.timeout.map(|t| t.as_secs().max(1)),
    };
    let client = args.registry.client()?;
    let queued = client.deploy(&request)?;
    ctx.printer.status(&format!(
        "Deploying {} (package digest {}) to {} as job {}{}",
        queued.deployment.label(),
        queued.deployment.digest,
        args.environments.join(", "),
        queued.job.id,
        if queued.job.status == JobStatus::Pending {
            format!(", scheduled for {}", queued.job.run_at)
        } else {
            String::new()
        }
    ));
    if args.background {
        return ctx
            .printer
            .result(&queued, || format!("{}\n", queued.job.id));
    }
    wait_and_show(ctx, &client, &queued.job.id, None)
}

/// Waits for job `id`, printing each environment's changes on stderr, then
/// prints the deployment; fails unless it ended as asked.
fn wait_and_show(
    ctx: &Context,
    client: &DeployClient,
    id: &str,
    timeout: Option<Duration>,
) -> Result<()> {
    let mut seen: BTreeMap<String, EnvStatus> = BTreeMap::new();
    let mut on_change = |job: &Job, d: &Deployment| {
        for e in &d.environments {
            if seen.get(&e.name) != Some(&e.status) {
                seen.insert(e.name.clone(), e.status);
                let mut line = format!("  {}: {}", e.name, e.status.as_str());
                if let Some(error) = &e.error {
                    line.push_str(&format!(" ({error})"));
                }
                ctx.printer.status(&line);
            }
        }
        if job.status == JobStatus::Pending {
            ctx.printer
                .detail(&format!("job {} waits until {}", job.id, job.run_at));
        }
    };
    let Some((job, deployment)) = client.wait(id, timeout, &mut on_change)? else {
        bail!("job {id} has not ended yet; see it with `pkg job show {id}`");
    };
    ctx.printer
        .result(&deployment, || show_deployment(&deployment))?;
    let wanted = if job.kind == crate::deploy::JobKind::Rollback {
        DeploymentStatus::RolledBack
    } else {
        DeploymentStatus::Succeeded
    };
    if job.status != JobStatus::Completed || deployment.status != wanted {
        let why = deployment
            .error
            .clone()
            .or(job.error.clone())
            .unwrap_or_else(|| {
                deployment
                    .environments
                    .iter()
                    .filter_map(|e| e.error.as_ref().map(|x| format!("{}: {x}", e.name)))
                    .collect::<Vec<_>>()
                    .join("; ")
            });
        bail!(
            "deployment {} ended {} (job {}){}",
            deployment.id,
            deployment.status.as_str(),
            job.status.as_str(),
            if why.is_empty() {
                String::new()
            } else {
                format!(": {why}")
            }
        );
    }
    Ok(())
}

fn show_deployment(d: &Deployment) -> String {
    let mut out = format!(
        "deployment {}: {} (package digest {}) {}{}\n",
        d.id,
        d.label(),
        d.digest,
        d.status.as_str(),
        if d.dry_run { " (dry run)" } else { "" }
    );
    if !d.superseded_by.is_empty() {
        out.push_str(&format!("superseded by {}\n", d.superseded_by.join(", ")));
    }
    let mut table = Table::new([
        "ENVIRONMENT",
        "STATUS",
        "ATTEMPTS",
        "HISTORY",
        "CREATED",
        "UPDATED",
        "UNCHANGED",
        "ERROR",
    ]);
    for e in &d.environments {
        let counts = e.counts.clone().unwrap_or_default();
        table.row([
            e.name.clone(),
            e.status.as_str().to_string(),
            e.attempts.to_string(),
            e.history_id.map(|h| h.to_string()).unwrap_or_default(),
            counts.created.to_string(),
            counts.updated.to_string(),
            counts.unchanged.to_string(),
            e.error.clone().unwrap_or_default(),
        ]);
    }
    out.push_str(&table.render());
    out
}

fn environments(ctx: &Context, cmd: &EnvCommand) -> Result<()> {
    match cmd {
        EnvCommand::Add {
            name,
            url,
            token_env,
            token_file,
            prefix,
            labels,
            registry,
        } => {
            let environment = Environment {
                name: name.clone(),
                url: url.clone(),
                token_env: token_env.clone(),
                token_file: token_file.clone(),
                prefix: prefix.clone(),
                labels: labels.iter().cloned().collect(),
            };
            environment.check_from_api().map_err(|e| anyhow!(e))?;
            let added = registry.client()?.add_environment(&environment)?;
            ctx.printer
                .outcome(&added, || format!("Added environment {}\n", added.name))
        }
        EnvCommand::List { registry } => {
            let found = registry.client()?.environments()?;
            ctx.printer.result(&found, || {
                let mut table = Table::new([
                    "NAME",
                    "URL",
                    "PREFIX",
                    "ORIGIN",
                    "HEALTH",
                    "LAST DEPLOYMENT",
                ]);
                for v in &found {
                    table.row([
                        v.environment.name.clone(),
                        v.environment.url.clone(),
                        v.environment.prefix.clone().unwrap_or_default(),
                        v.origin.clone(),
                        v.health.clone(),
                        v.last_deployment
                            .as_ref()
                            .map(|l| format!("{} {} {}", l.package, l.status, l.at))
                            .unwrap_or_default(),
                    ]);
                }
                ctx.printer.table_text(&table, "No environments")
            })
        }
        EnvCommand::Remove { name, registry } => {
            let removed = registry.client()?.remove_environment(name)?;
            ctx.printer
                .outcome(&removed, || format!("Removed environment {name}\n"))
        }
    }
}

/// Runs `pkg job ...`.
pub fn job(ctx: &Context, cmd: &JobCommand) -> Result<()> {
    match cmd {
        JobCommand::List {
            status,
            limit,
            registry,
        } => {
            let found = registry.client()?.jobs(status.as_deref(), Some(*limit))?;
            ctx.printer.result(&found, || {
                let mut table = Table::new([
                    "ID",
                    "KIND",
                    "STATUS",
                    "DEPLOYMENT",
                    "RUN AT",
                    "ATTEMPTS",
                    "ERROR",
                ]);
                for j in &found {
                    table.row([
                        j.id.clone(),
                        format!("{:?}", j.kind).to_lowercase(),
                        j.status.as_str().to_string(),
                        j.deployment.clone(),
                        j.run_at.clone(),
                        j.attempts.to_string(),
                        j.error.clone().unwrap_or_default(),
                    ]);
                }
                ctx.printer.table_text(&table, "No jobs")
            })
        }
        JobCommand::Show { id, registry } => {
            let j = registry.client()?.job(id)?;
            ctx.printer.result(&j, || show_job(&j))
        }
        JobCommand::Cancel { id, registry } => {
            let j = registry.client()?.cancel(id)?;
            ctx.printer.outcome(&j, || {
                if j.status == JobStatus::Cancelled {
                    format!("Cancelled job {}\n", j.id)
                } else {
                    format!("Job {} is running; it stops before its next step\n", j.id)
                }
            })
        }
        JobCommand::Wait {
            id,
            timeout,
            registry,
        } => wait_and_show(ctx, &registry.client()?, id, *timeout),
    }
}

fn show_job(j: &Job) -> String {
    let mut out = format!(
        "job {}: {} of deployment {}, {}\nrun at: {}\nattempts: {}\n",
        j.id,
        format!("{:?}", j.kind).to_lowercase(),
        j.deployment,
        j.status.as_str(),
        j.run_at,
        j.attempts
    );
    if let Some(t) = j.timeout_seconds {
        out.push_str(&format!("timeout: {t}s\n"));
    }
    if let Some(e) = &j.error {
        out.push_str(&format!("error: {e}\n"));
    }
    out
}
