//! What names the export: its id (from the parts' names, else derived from what they list)
//! and the account its archive browser page names.

use super::survey::Paths;
use super::*;

fn fnv(acc: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(acc, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Builder {
    /// The export's id: from its parts' names, else from `derived`, every listed path and
    /// size (the survey's).
    pub(super) fn export_id(&self, derived: Option<Paths>) -> (String, Vec<Problem>) {
        let mut ids: Vec<(usize, String)> = Vec::new();
        for (i, (path, _)) in self.listings.iter().enumerate() {
            if let Some(n) = part_name(path) {
                ids.push((i, n.export_id));
            }
        }
        let mut problems = Vec::new();
        // The export most parts belong to (the first one on a tie).
        let count = |id: &String| ids.iter().filter(|(_, x)| x == id).count();
        let best = ids
            .iter()
            .map(|(_, id)| id)
            .fold(None::<&String>, |b, id| match b {
                Some(b) if count(b) >= count(id) => Some(b),
                _ => Some(id),
            });
        if let Some(first) = best {
            for (i, id) in &ids {
                if id != first {
                    problems.push(Problem::new(
                        &self.listings[*i].0,
                        None,
                        ProblemKind::MixedExports,
                        format!("part of export {id}, not {first}: parts of different exports were given together"),
                    ));
                }
            }
            return (first.clone(), problems);
        }
        // Sorted as the whole paths sort (the survey keeps them only when no part is named).
        let mut all = derived.unwrap_or_default();
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for (path, s) in all.sorted() {
            h = fnv(h, path.as_bytes());
            h = fnv(h, &[0]);
            h = fnv(h, s.to_string().as_bytes());
            h = fnv(h, b"\n");
        }
        (format!("takeout-derived-{h:016x}"), problems)
    }

    pub(super) fn account_hint(&self, html: &[String]) -> Option<String> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut add = |text: &str| {
            for e in names::find_emails(text) {
                let domain = e.rsplit('@').next().unwrap_or("").to_lowercase();
                if domain == "google.com" || domain.ends_with(".google.com") {
                    continue;
                }
                *counts.entry(e).or_default() += 1;
            }
        };
        for t in html {
            add(t);
        }
        for (p, _) in &self.listings {
            add(&p.to_string_lossy());
        }
        let max = counts.values().copied().max()?;
        counts.into_iter().find(|(_, c)| *c == max).map(|(e, _)| e)
    }
}
