//! Command lines of the original Go photobak keep working.
//!
//! Go's `flag` package accepts `-name`, `--name`, `-name=value` and `-name value`, and the old
//! program had no subcommands: `-authonly` meant "authorise and exit", `-prune` meant "prune
//! instead of backing up", anything else was a backup. clap cannot parse single-dash long flags,
//! so this pure function rewrites argv before clap sees it (the approach coreos/afterburn took
//! when porting a Go CLI). Modern command lines pass through unchanged.

/// Old flag name → modern long flag (without dashes). `None` marks the mode switches.
const GO_FLAGS: &[(&str, Option<&str>)] = &[
    ("googlephotos", Some("googlephotos")),
    ("repo", Some("repo")),
    ("concurrency", Some("concurrency")),
    ("every", Some("every")),
    ("everything", Some("everything")),
    ("log", Some("log")),
    ("maxalbums", Some("max-albums")),
    ("maxphotos", Some("max-photos")),
    ("integrity", Some("integrity")),
    ("authonly", None),
    ("prune", None),
];

/// Old flags that take a value (the rest are booleans).
const GO_VALUE_FLAGS: &[&str] = &[
    "googlephotos",
    "repo",
    "concurrency",
    "every",
    "log",
    "maxalbums",
    "maxphotos",
];

/// Modern flags that take a value, so their value is not mistaken for a subcommand.
const MODERN_VALUE_FLAGS: &[&str] = &[
    "--repo",
    "--log",
    "--googlephotos",
    "--account",
    "--concurrency",
    "--every",
    "--max-albums",
    "--max-photos",
    "--max-items",
    "--session",
    "--max-delete",
    "--trash-days",
    "--sample",
    "--since",
    "--album",
    "--threads",
];

/// Subcommand names.
pub const SUBCOMMANDS: &[&str] = &[
    "backup",
    "auth",
    "import",
    "exports",
    "pick",
    "prune",
    "verify",
    "status",
    "list",
    "completions",
    "man",
    "help",
];

/// Rewrites an old-style argv into the modern form. `args[0]` is the program name.
pub fn go_compat(args: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len() + 1);
    let mut iter = args.into_iter();
    if let Some(prog) = iter.next() {
        out.push(prog);
    }
    let mut mode: Option<&str> = None;
    let mut has_subcommand = false;
    let mut expect_value = false;
    let mut rest_verbatim = false;
    for arg in iter {
        if rest_verbatim {
            out.push(arg);
            continue;
        }
        if expect_value {
            expect_value = false;
            out.push(arg);
            continue;
        }
        if arg == "--" {
            rest_verbatim = true;
            out.push(arg);
            continue;
        }
        if let Some(body) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) {
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            if let Some((_, modern)) = GO_FLAGS.iter().find(|(go, _)| *go == name) {
                let is_value_flag = GO_VALUE_FLAGS.contains(&name);
                match modern {
                    None => {
                        // -authonly / -prune, possibly as -prune=false.
                        if value.is_none_or(go_true) {
                            mode = Some(if name == "authonly" { "auth" } else { "prune" });
                        }
                    }
                    Some(modern) if is_value_flag => match value {
                        Some(v) => out.push(format!("--{modern}={v}")),
                        None => {
                            out.push(format!("--{modern}"));
                            expect_value = true;
                        }
                    },
                    Some(modern) => {
                        if value.is_none_or(go_true) {
                            out.push(format!("--{modern}"));
                        }
                    }
                }
                continue;
            }
            if MODERN_VALUE_FLAGS.contains(&arg.as_str()) {
                expect_value = true;
            }
            out.push(arg);
            continue;
        }
        if !has_subcommand && SUBCOMMANDS.contains(&arg.as_str()) {
            has_subcommand = true;
        }
        out.push(arg);
    }
    if !has_subcommand {
        let sub = mode.unwrap_or("backup");
        let only_help =
            out.len() == 2 && matches!(out[1].as_str(), "--help" | "-h" | "--version" | "-V");
        if out.len() > 1 && !only_help || mode.is_some() {
            out.insert(1, sub.to_string());
        }
    }
    out
}

/// Short flags photobak has (`-v`, `-n`, `-h`, `-V`); a cluster of them (`-vn`) is fine.
const SHORT_FLAGS: &str = "vnhV";

/// The first single-dash word that is neither an old Go flag (already rewritten by
/// [`go_compat`]) nor a cluster of short flags, in an argv [`go_compat`] returned.
///
/// clap would read `-bogus` as the short flags `-b -o -g …` and complain about `-b`, a flag the
/// person never typed. Someone writing `-bogus` meant a Go-style long flag, so it is reported
/// whole. Values of flags that take one, negative numbers and everything after `--` are skipped.
pub fn unknown_single_dash(args: &[String]) -> Option<&str> {
    let mut expect_value = false;
    for arg in args.iter().skip(1) {
        if expect_value {
            expect_value = false;
            continue;
        }
        if arg == "--" {
            return None;
        }
        if MODERN_VALUE_FLAGS.contains(&arg.as_str()) {
            expect_value = true;
            continue;
        }
        let Some(body) = arg.strip_prefix('-') else {
            continue;
        };
        if body.starts_with('-') || body.chars().count() < 2 {
            continue;
        }
        let name = body.split_once('=').map_or(body, |(n, _)| n);
        if name.parse::<f64>().is_ok() || name.chars().all(|c| SHORT_FLAGS.contains(c)) {
            continue;
        }
        return Some(arg);
    }
    None
}

fn go_true(v: &str) -> bool {
    matches!(v, "1" | "t" | "T" | "true" | "TRUE" | "True")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &str) -> String {
        let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        go_compat(args).join(" ")
    }

    /// Real command lines from the original README and issues, and what they mean now.
    #[test]
    fn old_command_lines_map_to_subcommands() {
        let table = [
            (
                "photobak -googlephotos a@x -googlephotos b@y -repo ~/b -concurrency 20 -every 1d -v",
                "photobak backup --googlephotos a@x --googlephotos b@y --repo ~/b --concurrency 20 --every 1d -v",
            ),
            (
                "photobak -googlephotos you@gmail.com",
                "photobak backup --googlephotos you@gmail.com",
            ),
            (
                "photobak -googlephotos you@gmail.com -authonly",
                "photobak auth --googlephotos you@gmail.com",
            ),
            (
                "photobak -googlephotos a@x -prune",
                "photobak prune --googlephotos a@x",
            ),
            (
                "photobak -googlephotos a@x -prune=false",
                "photobak backup --googlephotos a@x",
            ),
            (
                "photobak -googlephotos a@x -everything",
                "photobak backup --googlephotos a@x --everything",
            ),
            (
                "photobak -googlephotos a@x -log photobak.log",
                "photobak backup --googlephotos a@x --log photobak.log",
            ),
            (
                "photobak -googlephotos a@x -maxalbums 2 -maxphotos 10",
                "photobak backup --googlephotos a@x --max-albums 2 --max-photos 10",
            ),
            (
                "photobak -googlephotos a@x -integrity",
                "photobak backup --googlephotos a@x --integrity",
            ),
            (
                "photobak -googlephotos=a@x -repo=/b -every=12h -concurrency=3",
                "photobak backup --googlephotos=a@x --repo=/b --every=12h --concurrency=3",
            ),
            (
                "photobak -integrity=true -googlephotos a@x",
                "photobak backup --integrity --googlephotos a@x",
            ),
            (
                "photobak --googlephotos a@x --repo /b",
                "photobak backup --googlephotos a@x --repo /b",
            ),
            (
                "photobak -log= -googlephotos a@x",
                "photobak backup --log= --googlephotos a@x",
            ),
        ];
        for (old, new) in table {
            assert_eq!(run(old), new, "for: {old}");
        }
    }

    #[test]
    fn unknown_single_dash_words_are_found_whole() {
        let check = |line: &str| {
            let args = go_compat(line.split_whitespace().map(str::to_string).collect());
            unknown_single_dash(&args).map(str::to_string)
        };
        assert_eq!(check("photobak -bogus").as_deref(), Some("-bogus"));
        assert_eq!(
            check("photobak -googlephotos a@x -maxphoto 3").as_deref(),
            Some("-maxphoto")
        );
        assert_eq!(
            check("photobak prune -dry-run").as_deref(),
            Some("-dry-run")
        );
        // Short clusters, negative numbers, values, Go flags and what follows `--` are fine.
        for ok in [
            "photobak prune -vn",
            "photobak -v -googlephotos a@x -maxphotos 10",
            "photobak --repo -odd-name status",
            "photobak prune --max-delete -5",
            "photobak import takeout -- -weird.zip",
            "photobak -h",
        ] {
            assert_eq!(check(ok), None, "{ok}");
        }
    }

    #[test]
    fn modern_lines_pass_through() {
        for line in [
            "photobak backup --googlephotos a@x --concurrency 4",
            "photobak --repo /b backup -v",
            "photobak --repo backup backup",
            "photobak auth --googlephotos a@x",
            "photobak --help",
            "photobak",
            "photobak import takeout --account a@x part1.zip",
            "photobak list --json",
        ] {
            assert_eq!(run(line), line);
        }
    }
}
