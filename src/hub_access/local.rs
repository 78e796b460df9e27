//! [`HubAccess`] over the embedded SQLite hub: each operation is one
//! transaction of the hub's own code (`hub::crud`, `package::load`,
//! `hub::rollback`). The server uses it for its hub API too.

use super::{AccessError, Change, Fetched, HubAccess, LoadReport, RollbackReport};
use crate::filter::WhereFilter;
use crate::hub::history::{self, HistoryEntry};
use crate::hub::rollback::rollback;
use crate::hub::subject::{IdLookup, ResourceSubject};
use crate::hub::{Hub, HubResource, NewResource, crud, store};
use crate::model::{ResourceKey, ResourceKind};
use crate::package::load::{LoadOptions, dry_run, load};
use crate::package::plan::expected_sources;
use crate::package::read::Package;
use crate::package::report::{Detail, PlanReport};
use crate::progress::Progress;

/// The embedded hub.
pub struct LocalHub {
    hub: Hub,
}

impl LocalHub {
    /// Drives `hub`.
    pub fn new(hub: Hub) -> LocalHub {
        LocalHub { hub }
    }

    /// The hub itself, for what the trait does not cover (`create`).
    pub fn hub_mut(&mut self) -> &mut Hub {
        &mut self.hub
    }

    /// [`HubAccess::update`], refused ([`crate::hub::HubError::Stale`]) unless the
    /// resource still has the fingerprint `expect` (the server's `If-Match`).
    pub fn update_if(
        &mut self,
        key: &ResourceKey,
        expect: Option<&str>,
        change: Change<'_>,
    ) -> Result<(HubResource, bool), AccessError> {
        crud::update(&mut self.hub, key, expect, |new| {
            change(new).map_err(AccessError::Change)
        })
    }

    /// [`HubAccess::delete`], with the same `expect` as [`LocalHub::update_if`].
    pub fn delete_if(
        &mut self,
        key: &ResourceKey,
        recursive: bool,
        expect: Option<&str>,
    ) -> Result<Vec<ResourceKey>, AccessError> {
        Ok(crud::delete(&mut self.hub, key, recursive, expect)?)
    }

    /// Whether the hub holds every `(key, source fingerprint)` pair.
    pub fn sources_current(
        &mut self,
        expected: &[(ResourceKey, String)],
    ) -> Result<bool, AccessError> {
        let tx = self.hub.read()?;
        for (key, source) in expected {
            match store::fingerprints(&tx, key)? {
                Some((_, Some(stored))) if &stored == source => {}
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    /// The hub back.
    pub fn into_inner(self) -> Hub {
        self.hub
    }
}

impl HubAccess for LocalHub {
    fn location(&self) -> String {
        format!("hub {}", self.hub.path().display())
    }

    fn list(
        &mut self,
        kind: ResourceKind,
        space: Option<&str>,
        where_: Option<&str>,
    ) -> Result<Vec<HubResource>, AccessError> {
        let filter = where_
            .map(|w| WhereFilter::parse(w, kind))
            .transpose()
            .map_err(|e| AccessError::Where(e.to_string()))?;
        let tx = self.hub.read()?;
        if let Some(space) = space {
            store::require(&tx, &ResourceKey::space(space))?;
        }
        let ids = IdLookup::new(&tx);
        let resources = store::list(&tx, kind, space)?
            .into_iter()
            .filter(|r| {
                filter.as_ref().is_none_or(|f| {
                    f.matches(&ResourceSubject {
                        resource: r,
                        ids: &ids,
                    })
                })
            })
            .collect();
        Ok(resources)
    }

    fn get(&mut self, key: &ResourceKey, with_data: bool) -> Result<Fetched, AccessError> {
        let tx = self.hub.read()?;
        let resource = store::require(&tx, key)?;
        let data = if with_data && key.kind == ResourceKind::Unit {
            store::data(&tx, key)?
        } else {
            None
        };
        Ok(Fetched { resource, data })
    }

    fn create(&mut self, new: &NewResource) -> Result<HubResource, AccessError> {
        Ok(crud::create(&mut self.hub, new)?)
    }

    fn update(
        &mut self,
        key: &ResourceKey,
        change: Change<'_>,
    ) -> Result<(HubResource, bool), AccessError> {
        self.update_if(key, None, change)
    }

    fn delete(
        &mut self,
        key: &ResourceKey,
        recursive: bool,
    ) -> Result<Vec<ResourceKey>, AccessError> {
        self.delete_if(key, recursive, None)
    }

    fn plan(
        &mut self,
        package: &Package,
        options: &LoadOptions,
        with_diffs: bool,
    ) -> Result<PlanReport, AccessError> {
        let tx = self.hub.read()?;
        let plan = dry_run(&tx, package, options)?;
        let detail = if with_diffs {
            Detail::Diffs
        } else {
            Detail::Changes
        };
        Ok(PlanReport::build(
            &tx, package, options, &plan, detail, true,
        )?)
    }

    fn load(
        &mut self,
        package: &Package,
        options: &LoadOptions,
        expect: Option<&str>,
        detail: bool,
        progress: &dyn Progress,
    ) -> Result<LoadReport, AccessError> {
        let mut options = options.clone();
        if let Some(expect) = expect {
            options.expect_plan = Some(expect.to_string());
        }
        let outcome = load(&mut self.hub, package, &options, progress)?;
        let detail = if detail {
            Detail::Changes
        } else {
            Detail::Summary
        };
        let mut report = PlanReport::build(
            self.hub.conn(),
            package,
            &options,
            &outcome.plan,
            detail,
            false,
        )?;
        report.history_id = Some(outcome.entry_id);
        Ok(LoadReport {
            plan: report,
            counts: outcome.counts,
            entry_id: outcome.entry_id,
        })
    }

    fn is_current(
        &mut self,
        package: &Package,
        options: &LoadOptions,
    ) -> Result<bool, AccessError> {
        self.sources_current(&expected_sources(package, &options.plan))
    }

    fn history(&mut self) -> Result<Vec<HistoryEntry>, AccessError> {
        Ok(history::list(self.hub.conn())?)
    }

    fn rollback(&mut self, id: i64, force: bool) -> Result<RollbackReport, AccessError> {
        let tx = self.hub.write()?;
        let now = crate::time::now_rfc3339();
        let outcome = rollback(&tx, id, force, &now)?;
        tx.commit().map_err(crate::hub::HubError::from)?;
        Ok(RollbackReport {
            history_id: outcome.entry_id,
            reverted: outcome.reverted,
            counts: outcome.counts,
        })
    }
}
