//! The line-by-line three-way merge (diff3) of unit data that is not YAML
//! or JSON (or does not parse), and the deadline every line diff shares.

use std::time::{Duration, Instant};

use similar::{Algorithm, DiffOp, capture_diff_slices_deadline};

use super::Merger;

/// How long one line diff (of a merge, or shown by `diff`) may search for
/// the smallest diff before it settles for a larger one. Myers' algorithm
/// takes time proportional to the lines times the differences: without a
/// bound, two large unrelated unit data files kept a merge busy for
/// minutes (found by the `unit_data` fuzz target). A larger diff only ever
/// turns a clean merge into a reported conflict, never into a wrong merge.
pub const DIFF_DEADLINE: Duration = Duration::from_millis(500);

impl Merger<'_> {
    /// A line-by-line three-way merge (diff3). Conflicting regions keep
    /// the local lines and are reported.
    pub(super) fn lines(&mut self, base: &str, local: &str, upstream: &str) -> String {
        let b: Vec<&str> = base.split_inclusive('\n').collect();
        let l: Vec<&str> = local.split_inclusive('\n').collect();
        let u: Vec<&str> = upstream.split_inclusive('\n').collect();
        let to_local = matches(&b, &l);
        let to_upstream = matches(&b, &u);
        let mut out = String::new();
        let (mut i, mut j, mut k) = (0, 0, 0);
        loop {
            // The next base line both sides kept, in step with both.
            let next = (i..b.len()).find(|&x| {
                to_local[x].is_some_and(|y| y >= j) && to_upstream[x].is_some_and(|z| z >= k)
            });
            let (bi, lj, uk) = match next {
                Some(x) => (
                    x,
                    to_local[x].unwrap_or(l.len()),
                    to_upstream[x].unwrap_or(u.len()),
                ),
                None => (b.len(), l.len(), u.len()),
            };
            let (bc, lc, uc) = (&b[i..bi], &l[j..lj], &u[k..uk]);
            if !(bc.is_empty() && lc.is_empty() && uc.is_empty()) {
                let chosen = if lc == uc || bc == uc {
                    lc
                } else if bc == lc {
                    uc
                } else {
                    let lines = match bc.len() {
                        0 => format!("after line {i}"),
                        1 => format!("line {bi}"),
                        _ => format!("lines {}-{bi}", i + 1),
                    };
                    self.conflict(
                        format!("data {lines}"),
                        format!("{:?}", bc.concat()),
                        format!("{:?}", lc.concat()),
                        format!("{:?}", uc.concat()),
                    );
                    lc
                };
                out.extend(chosen.iter().copied());
            }
            match next {
                Some(x) => {
                    out.push_str(b[x]);
                    (i, j, k) = (x + 1, lj + 1, uk + 1);
                }
                None => break,
            }
        }
        out
    }
}

/// For each line of `base`, the line of `other` it matches, if any.
fn matches(base: &[&str], other: &[&str]) -> Vec<Option<usize>> {
    let mut out = vec![None; base.len()];
    let deadline = Some(Instant::now() + DIFF_DEADLINE);
    for op in capture_diff_slices_deadline(Algorithm::Myers, base, other, deadline) {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            for n in 0..len {
                out[old_index + n] = Some(new_index + n);
            }
        }
    }
    out
}
