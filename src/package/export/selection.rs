//! What a package holds: the selected units, their targets and workers,
//! their outgoing links, every space they touch with its filters, views and
//! other space-level resources, and with `--closure` everything referred to.

use std::collections::HashSet;

use rusqlite::Connection;

use crate::hub::subject::{IdLookup, ResourceSubject};
use crate::hub::{HubResource, store};
use crate::manifest::Entry;
use crate::model::details::str_field;
use crate::model::toolchain::{check_unit_toolchain, data_suffix};
use crate::model::{RefField, ResourceKey, ResourceKind};
use crate::package::error::PackageError;
use crate::progress::Progress;

use super::CreateOptions;
use super::ExternalRef;
use super::package_writer::Writer;

/// The resources a package holds, gathered from the selected units outward.
pub(super) struct Selection<'a> {
    pub(super) conn: &'a Connection,
    pub(super) closure: bool,
    /// Every key written so far.
    pub(super) included: HashSet<ResourceKey>,
    /// Keys to add whose own references are not yet followed.
    pub(super) pending: Vec<ResourceKey>,
    pub(super) entries: Vec<Entry>,
    /// The newest `UpdatedAt` among the resources written.
    pub(super) newest: String,
}

impl Selection<'_> {
    /// Marks `key` for the package (once).
    pub(super) fn want(&mut self, key: &ResourceKey) {
        if !self.included.contains(key) {
            self.included.insert(key.clone());
            self.pending.push(key.clone());
        }
    }

    /// Follows what a written resource needs: its space, a unit's target,
    /// a target's worker, and with `closure` every reference.
    pub(super) fn follow(&mut self, resource: &HubResource) {
        if resource.key.kind.is_space_scoped() {
            self.want(&resource.key.space_key());
        }
        for r in &resource.refs {
            if self.closure || matches!(r.field, RefField::Target | RefField::Worker) {
                self.want(&r.to);
            }
        }
    }

    /// Writes one resource (a unit with its data file).
    pub(super) fn write(
        &mut self,
        writer: &mut Writer,
        resource: &HubResource,
        data: Option<Vec<u8>>,
    ) -> Result<(), PackageError> {
        let mut entry = writer.write_details(resource)?;
        if resource.key.kind == ResourceKind::Unit {
            let ext = unit_data_suffix(resource)?;
            let loc = format!(
                "/units/{}/{}.data{ext}",
                resource.key.space, resource.key.slug
            );
            writer.write(&loc, data.unwrap_or_default())?;
            entry.unit_data_loc = Some(loc);
        }
        self.entries.push(entry);
        if resource.updated_at > self.newest {
            self.newest.clone_from(&resource.updated_at);
        }
        self.follow(resource);
        Ok(())
    }

    /// Writes everything pending until nothing is: each resource, and for
    /// each space every filter, view and other space-level resource in it.
    pub(super) fn drain(&mut self, writer: &mut Writer) -> Result<(), PackageError> {
        while let Some(key) = self.pending.pop() {
            let Some(resource) = store::get(self.conn, &key)? else {
                // Referred to but not in the hub: left external.
                continue;
            };
            let data = if key.kind == ResourceKind::Unit {
                store::data(self.conn, &key)?
            } else {
                None
            };
            self.write(writer, &resource, data)?;
            if key.kind == ResourceKind::Space {
                for kind in SPACE_LEVEL {
                    for resource in store::list(self.conn, kind, Some(&key.slug))? {
                        if self.included.insert(resource.key.clone()) {
                            self.write(writer, &resource, None)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// References from packaged resources to resources not packaged.
    pub(super) fn external(&self) -> Vec<ExternalRef> {
        let mut out: Vec<ExternalRef> = self
            .entries
            .iter()
            .flat_map(|e| {
                e.refs
                    .iter()
                    .filter(|r| !self.included.contains(&r.to))
                    .map(|r| ExternalRef {
                        from: e.key.clone(),
                        field: r.field,
                        to: r.to.clone(),
                    })
            })
            .collect();
        out.sort();
        out
    }
}

/// The kinds `create` takes whole from every space it touches.
pub(super) const SPACE_LEVEL: [ResourceKind; 6] = [
    ResourceKind::Filter,
    ResourceKind::View,
    ResourceKind::Tag,
    ResourceKind::Invocation,
    ResourceKind::Trigger,
    ResourceKind::Attribute,
];

/// The data-file suffix of a unit, refusing a toolchain type that is not
/// safe (the hub may hold anything: it is checked again here).
pub(super) fn unit_data_suffix(unit: &HubResource) -> Result<String, PackageError> {
    check_unit_toolchain(&unit.details)
        .and_then(|()| data_suffix(str_field(&unit.details, "ToolchainType")))
        .map_err(|e| {
            PackageError::Other(format!(
                "{}: {e}; nothing was written (fix the unit with `pkg unit update --toolchain`)",
                unit.key
            ))
        })
}

/// Writes the units `options` select, streaming them one at a time.
pub(super) fn write_selected_units(
    selection: &mut Selection<'_>,
    options: &CreateOptions,
    spaces: &[Option<&str>],
    writer: &mut Writer,
    progress: &dyn Progress,
) -> Result<(), PackageError> {
    let conn = selection.conn;
    let ids = IdLookup::new(conn);
    for space in spaces {
        store::for_each(
            conn,
            ResourceKind::Unit,
            *space,
            true,
            |unit, data| -> Result<(), PackageError> {
                if let Some(filter) = &options.filter
                    && !filter.matches(&ResourceSubject {
                        resource: &unit,
                        ids: &ids,
                    })
                {
                    return Ok(());
                }
                selection.included.insert(unit.key.clone());
                selection.write(writer, &unit, data)?;
                progress.advance(1);
                Ok(())
            },
        )?;
    }
    Ok(())
}
