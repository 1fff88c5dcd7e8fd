//! What names the export: its id (from the parts' names, else derived from what they list)
//! and the account its archive browser page names.

use super::derived::Paths;
use super::*;

impl Builder {
    /// The export's id: from its parts' names, else from `derived`, every listed path and
    /// size (the survey's, `derived.rs`).
    ///
    /// # Errors
    /// When the derived id's scratch file cannot be written or read back.
    pub(super) fn export_id(
        &self,
        derived: Option<Paths>,
    ) -> Result<(String, Vec<Problem>), Error> {
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
            return Ok((first.clone(), problems));
        }
        let paths = derived.unwrap_or_else(|| Paths::new(None));
        Ok((paths.id().map_err(Error::SpillRead)?, problems))
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
