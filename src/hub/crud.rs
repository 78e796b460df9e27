//! Single-resource changes (`pkg <kind> create|update|delete`), each in its
//! own transaction, keeping the hub whole: references must resolve, and a
//! resource still in use cannot be deleted.

use super::{Hub, HubError, HubResource, NewResource, store};
use crate::model::toolchain::check_unit_toolchain;
use crate::model::{ResourceKey, ResourceKind};

/// Checks what a command may not store: a unit's toolchain type becomes a
/// file name in every package made from the hub.
fn check_content(new: &NewResource) -> Result<(), HubError> {
    if new.key.kind == ResourceKind::Unit {
        check_unit_toolchain(&new.details).map_err(|e| HubError::InvalidContent {
            key: new.key.clone(),
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

/// Creates a resource; its space and everything it refers to must exist.
pub fn create(hub: &mut Hub, new: &NewResource) -> Result<HubResource, HubError> {
    check_content(new)?;
    let tx = hub.write()?;
    store::check_references(&tx, &new.key, &new.refs)?;
    let now = crate::time::now_rfc3339();
    new.with_content(|content| store::insert(&tx, content, &store::new_id(), &now))?;
    let created = store::require(&tx, &new.key)?;
    tx.commit()?;
    Ok(created)
}

/// Fails with [`HubError::Stale`] unless `current` has the fingerprint
/// `expect` (when given): the caller's `If-Match`.
fn check_expected(current: &HubResource, expect: Option<&str>) -> Result<(), HubError> {
    match expect {
        Some(fingerprint) if fingerprint != current.fingerprint => {
            Err(HubError::Stale(current.key.clone()))
        }
        _ => Ok(()),
    }
}

/// Updates a resource: `change` edits its current content. Writes nothing
/// (and keeps the version) when the content ends up the same; the bool
/// says whether it changed. With
/// `expect`, refuses ([`HubError::Stale`]) unless the resource still has
/// that fingerprint, checked in the same transaction as the write.
pub fn update<E: From<HubError>>(
    hub: &mut Hub,
    key: &ResourceKey,
    expect: Option<&str>,
    change: impl FnOnce(&mut NewResource) -> Result<(), E>,
) -> Result<(HubResource, bool), E> {
    let tx = hub.write()?;
    let current = store::require(&tx, key)?;
    check_expected(&current, expect)?;
    let data: Option<Vec<u8>> = if key.kind == ResourceKind::Unit {
        store::data(&tx, key)?
    } else {
        None
    };
    let mut next = NewResource {
        key: key.clone(),
        details: current.details.clone(),
        refs: current.refs.clone(),
        data,
    };
    change(&mut next)?;
    next.details
        .insert("Slug".into(), serde_json::Value::String(key.slug.clone()));
    check_content(&next)?;
    store::check_references(&tx, key, &next.refs)?;
    let now = crate::time::now_rfc3339();
    let changed = next.with_content(|content| {
        if content.fingerprint == current.fingerprint {
            Ok(false)
        } else {
            store::preserve_base(&tx, key)?;
            store::update(&tx, content, &now).map(|()| true)
        }
    })?;
    let updated = store::require(&tx, key)?;
    tx.commit().map_err(HubError::from)?;
    Ok((updated, changed))
}

/// Deletes a resource. A space must be empty unless `recursive`, which
/// deletes everything in it too. Fails with [`HubError::InUse`] when anything
/// outside what is deleted still refers to it, and as [`update`] does on
/// `expect`. Returns what was deleted.
pub fn delete(
    hub: &mut Hub,
    key: &ResourceKey,
    recursive: bool,
    expect: Option<&str>,
) -> Result<Vec<ResourceKey>, HubError> {
    let tx = hub.write()?;
    check_expected(&store::require(&tx, key)?, expect)?;
    let mut doomed = vec![key.clone()];
    if key.kind == ResourceKind::Space && recursive {
        for kind in ResourceKind::ALL
            .into_iter()
            .filter(|k| k.is_space_scoped())
        {
            for resource in store::list(&tx, kind, Some(&key.slug))? {
                doomed.push(resource.key);
            }
        }
    }
    let set: std::collections::HashSet<&ResourceKey> = doomed.iter().collect();
    for victim in &doomed {
        let users: Vec<ResourceKey> = store::users_of(&tx, victim)?
            .into_iter()
            .filter(|u| !set.contains(u))
            .collect();
        if !users.is_empty() {
            return Err(HubError::InUse {
                key: victim.clone(),
                users,
            });
        }
    }
    for victim in &doomed {
        store::delete(&tx, victim)?;
    }
    tx.commit()?;
    Ok(doomed)
}
