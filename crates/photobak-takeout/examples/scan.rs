//! Scans the parts given on the command line and prints what the catalog holds: the scan alone,
//! for profiling its time and memory (`heaptrack`, `perf`) apart from the import around it.

fn main() {
    let parts: Vec<std::path::PathBuf> = std::env::args_os().skip(1).map(Into::into).collect();
    match photobak_takeout::scan(&parts, &photobak_takeout::Limits::default()) {
        Ok(c) => println!(
            "{} media entries, {} albums, {} problems",
            c.media.len(),
            c.albums.len(),
            c.problems.len()
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
