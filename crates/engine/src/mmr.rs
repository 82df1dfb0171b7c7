//! Maximal marginal relevance: a nearest search whose candidates are then
//! picked one at a time, each the best trade between closeness to the
//! query and distance from the points already picked (Qdrant's `mmr`).

use vicinity_index::ScoredOffset;

/// Qdrant's default diversity (`lambda = 1 - diversity = 0.5`).
pub const DEFAULT_MMR_DIVERSITY: f32 = 0.5;

/// The largest `candidates_limit` Qdrant accepts.
pub const MAX_MMR_CANDIDATES: usize = 16_384;

/// MMR's parameters (Qdrant's `Mmr`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mmr {
    /// From 0 (relevance only) to 1 (diversity only); `None`: 0.5.
    pub diversity: Option<f32>,
    /// How many nearest points to pick from; `None`: the request's limit.
    pub candidates_limit: Option<usize>,
}

impl Mmr {
    /// Qdrant's bounds: `diversity` in `[0, 1]`, `candidates_limit` at
    /// most [`MAX_MMR_CANDIDATES`]. On failure: the field and Qdrant's
    /// message for it.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if let Some(d) = self.diversity
            && !(0.0..=1.0).contains(&d)
        {
            return Err((
                "diversity",
                format!("value {d} invalid, must be from 0.0 to 1.0"),
            ));
        }
        if let Some(c) = self.candidates_limit
            && c > MAX_MMR_CANDIDATES
        {
            return Err((
                "candidates_limit",
                format!("value {c} invalid, must be {MAX_MMR_CANDIDATES} or smaller"),
            ));
        }
        Ok(())
    }

    /// The weight of relevance, `1 - diversity`.
    pub(crate) fn lambda(&self) -> f32 {
        1.0 - self.diversity.unwrap_or(DEFAULT_MMR_DIVERSITY)
    }
}

/// Picks up to `limit` of `candidates` in MMR order: first the most
/// relevant, then each time the candidate maximising
/// `lambda · relevance − (1 − lambda) · max similarity to those picked`.
///
/// `relevance[i]` is candidate `i`'s raw similarity to the query and
/// `similarity(i, j)` the raw similarity of two candidates (both as the
/// metric computes them internally: Euclid as `-d²`). Ties go as in
/// Qdrant: the pending candidates are kept in a list from which the pick is
/// swap-removed, and the last of equal maxima wins. Fewer than two
/// candidates come back as they are. The candidates keep their scores.
pub(crate) fn select(
    candidates: Vec<ScoredOffset>,
    relevance: &[f32],
    similarity: impl Fn(usize, usize) -> f32,
    lambda: f32,
    limit: usize,
) -> Vec<ScoredOffset> {
    debug_assert_eq!(candidates.len(), relevance.len());
    if candidates.len() < 2 || limit == 0 {
        return candidates;
    }
    let mut pending: Vec<usize> = (0..candidates.len()).collect();
    // per candidate, its best similarity to a picked one so far
    let mut closest = vec![f32::NEG_INFINITY; candidates.len()];
    let mut picked = Vec::with_capacity(limit.min(candidates.len()));
    let mut at = last_max(pending.iter().map(|&c| relevance[c]));
    loop {
        let chosen = pending.swap_remove(at);
        picked.push(chosen);
        if picked.len() >= limit || pending.is_empty() {
            break;
        }
        for &c in &pending {
            closest[c] = closest[c].max(similarity(c, chosen));
        }
        at = last_max(
            pending
                .iter()
                .map(|&c| lambda * relevance[c] - (1.0 - lambda) * closest[c]),
        );
    }
    picked.into_iter().map(|i| candidates[i]).collect()
}

/// The position of the last largest value (`total_cmp` order, as Rust's
/// `max_by_key` over ordered floats returns it).
fn last_max(values: impl Iterator<Item = f32>) -> usize {
    let mut best: Option<(usize, f32)> = None;
    for (i, v) in values.enumerate() {
        if best.is_none_or(|(_, b)| v.total_cmp(&b).is_ge()) {
            best = Some((i, v));
        }
    }
    best.map_or(0, |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vicinity_storage::PointOffset;

    fn hits(n: u32) -> Vec<ScoredOffset> {
        (0..n)
            .map(|i| ScoredOffset {
                offset: PointOffset(i),
                similarity: 10.0 - i as f32,
            })
            .collect()
    }

    /// Brute force of the definition, for comparison.
    fn naive(rel: &[f32], sim: &[Vec<f32>], lambda: f32, limit: usize) -> Vec<usize> {
        let mut pending: Vec<usize> = (0..rel.len()).collect();
        let mut picked = Vec::new();
        while picked.len() < limit && !pending.is_empty() {
            let score = |c: usize| {
                if picked.is_empty() {
                    rel[c]
                } else {
                    let m = picked
                        .iter()
                        .map(|&s: &usize| sim[c][s])
                        .fold(f32::NEG_INFINITY, f32::max);
                    lambda * rel[c] - (1.0 - lambda) * m
                }
            };
            let at = last_max(pending.iter().map(|&c| score(c)));
            picked.push(pending.swap_remove(at));
        }
        picked
    }

    #[test]
    fn diversity_pushes_a_near_duplicate_down() {
        // 0 and 1 are near duplicates, 2 is a bit less relevant but far
        let rel = [0.9, 0.89, 0.8];
        let sim = [[1.0, 0.99, 0.1], [0.99, 1.0, 0.1], [0.1, 0.1, 1.0]];
        let out = select(hits(3), &rel, |i, j| sim[i][j], 0.5, 3);
        let order: Vec<u32> = out.iter().map(|h| h.offset.0).collect();
        assert_eq!(order, vec![0, 2, 1]);
        // relevance only: plain nearest order
        let out = select(hits(3), &rel, |i, j| sim[i][j], 1.0, 3);
        let order: Vec<u32> = out.iter().map(|h| h.offset.0).collect();
        assert_eq!(order, vec![0, 1, 2]);
        // scores stay the nearest-search scores
        assert_eq!(out[1].similarity, 9.0);
    }

    #[test]
    fn matches_the_definition_on_random_data() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as f32) / (1u64 << 31) as f32
        };
        for n in [2usize, 3, 17, 60] {
            let rel: Vec<f32> = (0..n).map(|_| next()).collect();
            let mut sim = vec![vec![0.0f32; n]; n];
            let pairs: Vec<(usize, usize)> =
                (0..n).flat_map(|i| (0..i).map(move |j| (i, j))).collect();
            for (i, j) in pairs {
                let s = next();
                sim[i][j] = s;
                sim[j][i] = s;
            }
            for lambda in [0.0, 0.3, 0.5, 1.0] {
                for limit in [1, 5, n] {
                    let got: Vec<usize> =
                        select(hits(n as u32), &rel, |i, j| sim[i][j], lambda, limit)
                            .iter()
                            .map(|h| h.offset.0 as usize)
                            .collect();
                    assert_eq!(
                        got,
                        naive(&rel, &sim, lambda, limit),
                        "n {n} lambda {lambda} limit {limit}"
                    );
                }
            }
        }
    }

    #[test]
    fn ties_go_to_the_last_pending() {
        let rel = [1.0, 1.0, 1.0];
        let out = select(hits(3), &rel, |_, _| 0.0, 0.5, 3);
        // first pick: the last of equals (2); pending becomes [0, 1]; then 1
        let order: Vec<u32> = out.iter().map(|h| h.offset.0).collect();
        assert_eq!(order, vec![2, 1, 0]);
    }

    #[test]
    fn one_candidate_comes_back_as_is() {
        let out = select(hits(1), &[0.1], |_, _| 0.0, 0.5, 5);
        assert_eq!(out, hits(1));
        assert!(select(Vec::new(), &[], |_, _| 0.0, 0.5, 5).is_empty());
    }
}
