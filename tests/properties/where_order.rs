//! Property 4: a where-expression's result does not depend on the order of
//! its AND clauses. For random conjunctions of clauses over the real
//! attributes of a resource kind (names and types from the filter's own
//! allow-lists: strings, integers, times, UUIDs, label and annotation
//! entries, apply gates, lists; every operator; literals, IN lists and
//! other attributes on the right; trailing truth tests; keywords in any
//! case; spaces and tabs) and random resources in a real hub:
//!
//! - `a AND b AND c` parses exactly when any permutation parses;
//! - for every resource, it matches exactly when the permutation matches,
//!   and exactly when each clause alone matches (AND means all of them);
//! - `pkg <kind> list --where` returns the same set for every order, the
//!   set of resources every clause matches.

use proptest::prelude::*;
use proptest::sample::Index;

use pkg::filter::{AttrType, WhereFilter, attribute_names, attribute_type};
use pkg::hub::HubResource;
use pkg::hub::subject::{IdLookup, ResourceSubject};
use pkg::hub_access::HubAccess;
use pkg::model::details::str_field;
use pkg::model::{ResourceKey, ResourceKind};

use crate::support::{TempHub, config, init};
use crate::world::{World, world};

/// One clause, as indices into what the hub turns out to hold.
#[derive(Debug, Clone)]
pub struct ClauseSpec {
    attr: Index,
    op: Index,
    value: Index,
    variant: Index,
    right_attr: bool,
    list: Vec<Index>,
    truth: Option<&'static str>,
    case: u8,
    /// Use an operator that holds for most values (`!=`, `NOT IN`, ...),
    /// so that conjunctions select some resources and not none.
    loose: bool,
}

fn clause_spec() -> impl Strategy<Value = ClauseSpec> {
    (
        any::<Index>(),
        any::<Index>(),
        any::<Index>(),
        any::<Index>(),
        prop::bool::weighted(0.15),
        prop::collection::vec(any::<Index>(), 1..4),
        prop::option::weighted(
            0.2,
            prop::sample::select(&["IS TRUE", "IS NOT TRUE", "IS FALSE", "IS NOT FALSE"][..]),
        ),
        0u8..3,
        prop::bool::weighted(0.6),
    )
        .prop_map(
            |(attr, op, value, variant, right_attr, list, truth, case, loose)| ClauseSpec {
                attr,
                op,
                value,
                variant,
                right_attr,
                list,
                truth,
                case,
                loose,
            },
        )
}

/// Writes a keyword in one of three cases.
fn kw(word: &str, case: u8) -> String {
    match case {
        0 => word.to_uppercase(),
        1 => word.to_lowercase(),
        _ => word
            .split(' ')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| {
                        f.to_uppercase()
                            .chain(c.flat_map(char::to_lowercase))
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect::<Vec<String>>()
            .join(" "),
    }
}

/// Whether `s` can be a string literal: no quotes or backslashes, at most
/// 255 characters.
fn literal_ok(s: &str) -> bool {
    !s.contains(['\'', '"', '\\']) && s.chars().count() <= 255
}

/// Whether `s` is a valid map key in an expression.
fn key_ok(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./".contains(c))
}

/// What the hub holds that literals are drawn from.
struct Pools {
    strings: Vec<String>,
    keys: Vec<String>,
    uuids: Vec<String>,
    times: Vec<String>,
}

impl Pools {
    fn new(resources: &[HubResource], all_ids: Vec<String>) -> Pools {
        let mut strings: Vec<String> = [
            "",
            "web",
            "a",
            "Kubernetes/YAML",
            "prod",
            "Prod",
            "ünï",
            "x y",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut keys: Vec<String> = ["app", "tier", "env", "missing", "x.y/z"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut times: Vec<String> = [
            "2020-01-01",
            "2026-11-01T12:00:00Z",
            "2099-12-31T23:59:59+02:00",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for r in resources {
            strings.push(r.key.slug.clone());
            for name in [
                "DisplayName",
                "ToolchainType",
                "ProviderType",
                "From",
                "Where",
            ] {
                strings.push(str_field(&r.details, name).to_string());
            }
            for map in ["Labels", "Annotations"] {
                for (k, v) in pkg::model::details::map_field(&r.details, map) {
                    keys.push(k.to_string());
                    strings.push(v.to_string());
                }
            }
            times.push(r.created_at.clone());
        }
        strings.retain(|s| literal_ok(s));
        keys.retain(|k| key_ok(k));
        let mut uuids = all_ids;
        uuids.push("0b5f6a3e-8c1d-4f2a-9e3b-7d6c5b4a3f21".into());
        Pools {
            strings,
            keys,
            uuids,
            times,
        }
    }
}

/// A UUID literal in one of the spellings the language accepts.
fn uuid_spelling(id: &str, variant: &Index) -> String {
    match variant.index(4) {
        0 => id.to_string(),
        1 => id.to_uppercase(),
        2 => id.replace('-', ""),
        _ => format!("{{{id}}}"),
    }
}

/// A LIKE pattern or a regular expression made from `value`.
fn pattern(value: &str, variant: &Index, regex: bool) -> String {
    let prefix: String = value
        .chars()
        .take(2)
        .filter(|c| c.is_alphanumeric())
        .collect();
    match (regex, variant.index(4)) {
        (false, 0) => format!("{prefix}%"),
        (false, 1) => format!("%{}", value.chars().rev().take(1).collect::<String>()),
        (false, 2) => value
            .chars()
            .map(|c| if c.is_alphanumeric() { '_' } else { c })
            .collect(),
        (false, _) => value.to_string(),
        (true, 0) => format!("^{prefix}"),
        (true, 1) => "[0-9]".to_string(),
        (true, 2) => "(?i)PROD|web".to_string(),
        (true, _) => format!("{prefix}$"),
    }
}

const STRING_OPS: &[&str] = &[
    "=",
    "!=",
    "<",
    ">",
    "<=",
    ">=",
    "LIKE",
    "NOT LIKE",
    "ILIKE",
    "NOT ILIKE",
    "~~",
    "!~~",
    "~~*",
    "!~~*",
    "~",
    "~*",
    "!~",
    "!~*",
    "IN",
    "NOT IN",
    "IS NULL",
    "IS NOT NULL",
];
const INT_OPS: &[&str] = &[
    "=",
    "!=",
    "<",
    ">",
    "<=",
    ">=",
    "IN",
    "NOT IN",
    "IS NULL",
    "IS NOT NULL",
];
const LOOSE_STRING_OPS: &[&str] = &["!=", "NOT LIKE", "NOT IN", "!~", "IS NOT NULL", "!~~*"];
const LOOSE_INT_OPS: &[&str] = &["!=", "NOT IN", "IS NOT NULL", ">="];
const LOOSE_UUID_OPS: &[&str] = &["!=", "NOT IN", "IS NOT NULL"];
const UUID_OPS: &[&str] = &["=", "!=", "IN", "NOT IN", "IS NULL", "IS NOT NULL"];

/// Attributes the generated resources have values for.
const POPULATED: &[&str] = &[
    "Slug",
    "DisplayName",
    "ToolchainType",
    "ProviderType",
    "Labels",
    "Annotations",
    "CreatedAt",
    "UpdatedAt",
    "HeadRevisionNum",
    "SpaceID",
    "TargetID",
    "BridgeWorkerID",
    "FromUnitID",
    "ToUnitID",
    "ToSpaceID",
    "FilterID",
    "From",
    "Where",
];

/// Makes a literal from an index into a pool.
type Literal<'a> = Box<dyn Fn(&Index) -> String + 'a>;

/// Renders `spec` for `kind` with literals from `pools`.
fn render(spec: &ClauseSpec, kind: ResourceKind, pools: &Pools) -> String {
    let names = attribute_names(kind);
    // Mostly attributes the hub's resources have (the rest are NULL, and
    // a comparison with NULL never holds).
    let populated: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| POPULATED.contains(n) || *n == kind.id_attribute())
        .collect();
    let name = if spec.loose || spec.case == 0 {
        populated[spec.attr.index(populated.len())]
    } else {
        names[spec.attr.index(names.len())]
    };
    let ty = attribute_type(kind, name).expect("allow-listed");
    let case = spec.case;
    let pick = |pool: &[String], i: &Index| pool[i.index(pool.len())].clone();
    let same_type: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| attribute_type(kind, n) == Some(ty))
        .collect();
    let (left, ops, literal): (String, &[&str], Literal<'_>) = match ty {
        AttrType::String => (
            name.to_string(),
            STRING_OPS,
            Box::new(|i| format!("'{}'", pick(&pools.strings, i))),
        ),
        AttrType::Map => (
            format!("{name}.{}", pick(&pools.keys, &spec.variant)),
            STRING_OPS,
            Box::new(|i| format!("'{}'", pick(&pools.strings, i))),
        ),
        AttrType::Time => (
            name.to_string(),
            STRING_OPS,
            Box::new(|i| format!("'{}'", pick(&pools.times, i))),
        ),
        AttrType::Int => (
            name.to_string(),
            INT_OPS,
            Box::new(|i| match i.index(8) {
                7 => "'2'".to_string(),
                n => (n as i64 - 1).to_string(),
            }),
        ),
        AttrType::Uuid => (
            name.to_string(),
            UUID_OPS,
            Box::new(|i| format!("'{}'", uuid_spelling(&pick(&pools.uuids, i), &spec.variant))),
        ),
        AttrType::Bool => (
            name.to_string(),
            UUID_OPS,
            Box::new(|i| kw(if i.index(2) == 0 { "true" } else { "false" }, case)),
        ),
        AttrType::BoolMap => {
            let gate = format!(
                "{name}.{}/no-latest",
                pick(&pools.keys, &spec.variant).replace(['.', '/'], "-")
            );
            let test = [
                "= true",
                "= false",
                "!= TRUE",
                "IS NULL",
                "IS NOT NULL",
                "IS TRUE",
                "IS NOT FALSE",
            ];
            return with_truth(
                format!("{gate} {}", kw(test[spec.op.index(test.len())], case)),
                spec,
            );
        }
        AttrType::UuidList => {
            let id = uuid_spelling(&pick(&pools.uuids, &spec.value), &spec.variant);
            let forms = [
                format!("{name} ? '{id}'"),
                format!("{name} {}", kw("IS NULL", case)),
                format!("{name} {}", kw("IS NOT NULL", case)),
                format!("{}({name}) > 0", kw("LEN", case)),
                format!("{}( {name} ) = 0", kw("LEN", case)),
            ];
            return with_truth(forms[spec.op.index(forms.len())].clone(), spec);
        }
    };
    let ops = match (spec.loose, ops.len()) {
        (false, _) => ops,
        (true, n) if n == STRING_OPS.len() => LOOSE_STRING_OPS,
        (true, n) if n == INT_OPS.len() => LOOSE_INT_OPS,
        (true, _) => LOOSE_UUID_OPS,
    };
    let op = ops[spec.op.index(ops.len())];
    let right = match op {
        "IS NULL" | "IS NOT NULL" => String::new(),
        "IN" | "NOT IN" => format!(
            "({})",
            spec.list
                .iter()
                .map(&literal)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "LIKE" | "NOT LIKE" | "ILIKE" | "NOT ILIKE" | "~~" | "!~~" | "~~*" | "!~~*" => {
            format!(
                "'{}'",
                pattern(&pick(&pools.strings, &spec.value), &spec.variant, false)
            )
        }
        "~" | "~*" | "!~" | "!~*" => {
            format!(
                "'{}'",
                pattern(&pick(&pools.strings, &spec.value), &spec.variant, true)
            )
        }
        _ if spec.right_attr && !matches!(ty, AttrType::Map) => {
            same_type[spec.value.index(same_type.len())].to_string()
        }
        _ => literal(&spec.value),
    };
    let op = if op.chars().any(char::is_alphabetic) {
        kw(op, case)
    } else {
        op.to_string()
    };
    let text = if right.is_empty() {
        format!("{left} {op}")
    } else {
        format!("{left} {op} {right}")
    };
    with_truth(text, spec)
}

fn with_truth(text: String, spec: &ClauseSpec) -> String {
    match spec.truth {
        Some(t) => format!("{text} {}", kw(t, spec.case)),
        None => text,
    }
}

/// The kinds expressions are generated for (units most often).
const KINDS: &[ResourceKind] = &[
    ResourceKind::Unit,
    ResourceKind::Unit,
    ResourceKind::Unit,
    ResourceKind::Space,
    ResourceKind::Target,
    ResourceKind::Worker,
    ResourceKind::Link,
    ResourceKind::Filter,
    ResourceKind::View,
];

fn keys(resources: &[HubResource]) -> Vec<ResourceKey> {
    resources.iter().map(|r| r.key.clone()).collect()
}

fn check(
    world: &World,
    bumps: &[Index],
    kind: ResourceKind,
    specs: &[ClauseSpec],
    order: &[usize],
    separator: &str,
) -> Result<(), TestCaseError> {
    let mut hub = TempHub::new();
    world.materialize(&mut hub.hub);
    // A kind the world has none of tests nothing: use units (every world has some).
    let kind = if hub.hub.list(kind, None, None).expect("list").is_empty() {
        ResourceKind::Unit
    } else {
        kind
    };
    // Some resources get newer versions (HeadRevisionNum) and timestamps.
    let all = hub.hub.list(kind, None, None).expect("list");
    for (n, bump) in bumps.iter().enumerate() {
        if all.is_empty() {
            break;
        }
        let key = &all[bump.index(all.len())].key;
        hub.hub
            .update(key, &mut |new| {
                new.details.insert("Revision".into(), n.into());
                Ok(())
            })
            .expect("update");
    }
    let resources = hub.hub.list(kind, None, None).expect("list");
    let mut ids = Vec::new();
    for k in ResourceKind::ALL {
        ids.extend(
            hub.hub
                .list(k, None, None)
                .expect("list")
                .into_iter()
                .map(|r| r.id),
        );
    }
    let pools = Pools::new(&resources, ids);
    let clauses: Vec<String> = specs.iter().map(|s| render(s, kind, &pools)).collect();
    let expr = clauses.join(separator);
    let permuted = order
        .iter()
        .map(|&i| clauses[i].clone())
        .collect::<Vec<_>>()
        .join(separator);

    let a = WhereFilter::parse(&expr, kind);
    let b = WhereFilter::parse(&permuted, kind);
    prop_assert_eq!(
        a.is_ok(),
        b.is_ok(),
        "`{}` and `{}` do not both parse: {:?} / {:?}",
        expr,
        permuted,
        a.as_ref().err().map(ToString::to_string),
        b.as_ref().err().map(ToString::to_string)
    );
    let (Ok(a), Ok(b)) = (a, b) else {
        return Ok(());
    };
    let singles: Vec<WhereFilter> = clauses
        .iter()
        .map(|c| WhereFilter::parse(c, kind).expect("a clause of a valid expression parses alone"))
        .collect();

    let mut expected = Vec::new();
    {
        let conn = hub.hub.hub_mut().conn();
        let lookup = IdLookup::new(conn);
        for r in &resources {
            let subject = ResourceSubject {
                resource: r,
                ids: &lookup,
            };
            let each = singles.iter().all(|s| s.matches(&subject));
            prop_assert_eq!(
                a.matches(&subject),
                b.matches(&subject),
                "{} on {}",
                expr,
                r.key
            );
            prop_assert_eq!(
                a.matches(&subject),
                each,
                "`{}` is not the AND of its clauses on {}",
                expr,
                r.key
            );
            if each {
                expected.push(r.key.clone());
            }
        }
    }
    let listed_a = keys(&hub.hub.list(kind, None, Some(&expr)).expect("list --where"));
    let listed_b = keys(
        &hub.hub
            .list(kind, None, Some(&permuted))
            .expect("list --where"),
    );
    prop_assert_eq!(&listed_a, &listed_b, "`{}` vs `{}`", expr, permuted);
    prop_assert_eq!(&listed_a, &expected, "`{}`", expr);
    Ok(())
}

fn specs_and_order() -> impl Strategy<Value = (Vec<ClauseSpec>, Vec<usize>)> {
    prop::collection::vec(clause_spec(), 1..5).prop_flat_map(|specs| {
        let n = specs.len();
        (
            Just(specs),
            Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
        )
    })
}

proptest! {
    #![proptest_config(config(64))]

    /// Permuting the AND clauses of an expression changes nothing.
    #[test]
    fn and_clauses_commute(
        world in world(8),
        bumps in prop::collection::vec(any::<Index>(), 0..4),
        kind in prop::sample::select(KINDS),
        (specs, order) in specs_and_order(),
        separator in prop::sample::select(&[" AND ", " and ", "\tAnD\t", "  AND  "][..]),
    ) {
        init();
        check(&world, &bumps, kind, &specs, &order, separator)?;
    }
}
