//! Hostile and broken archives: every problem is reported with its part and entry, nothing
//! panics, and the rest of the export is still read.

use std::io::{Read, Write};

use std::path::{Path, PathBuf};

use photobak_takeout::{
    Catalog, Error, Flow, Limits, MatchRule, Problem, ProblemKind, for_each_media,
    for_each_selected_media, scan,
};

const DIR: &str = "Takeout/Google Photos/Photos from 2020";

fn sidecar(title: &str, taken: &str) -> Vec<u8> {
    format!(
        r#"{{"title": "{title}", "description": "", "creationTime": {{"timestamp": "1600000000", "formatted": "x"}},
        "photoTakenTime": {{"timestamp": "{taken}", "formatted": "x"}}, "url": "https://photos.google.com/photo/AF1Qip"}}"#
    )
    .into_bytes()
}

fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        z.start_file(*name, opts).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap().into_inner()
}

fn replace(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

fn kinds(c: &[Problem]) -> Vec<(ProblemKind, Option<String>)> {
    c.iter().map(|p| (p.kind, p.entry.clone())).collect()
}

fn has(c: &[Problem], kind: ProblemKind, entry: &str) -> bool {
    c.iter()
        .any(|p| p.kind == kind && p.entry.as_deref() == Some(entry))
}

fn good(c: &Catalog) -> photobak_takeout::MediaEntry {
    let m = c
        .media
        .to_vec()
        .unwrap()
        .into_iter()
        .find(|m| m.file_name() == "good.jpg" && m.duplicate_of.is_none())
        .expect("good.jpg listed");
    assert_eq!(m.matched_by, MatchRule::Legacy { counter: None });
    assert_eq!(
        c.sidecar(&m).unwrap().unwrap().photo_taken_time,
        Some(1_600_000_000)
    );
    m
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn hostile_zip_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let good_json = sidecar("good.jpg", "1600000000");
    let zero_json = sidecar("zero.jpg", "0");
    let big = vec![b' '; 4096];
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    let entries: Vec<(String, &[u8])> = vec![
        (format!("{DIR}/good.jpg"), b"jpeg"),
        (format!("{DIR}/good.jpg.json"), &good_json),
        ("../evil.jpg".into(), b"x"),
        ("/abs/evil.jpg".into(), b"x"),
        ("C:/evil.jpg".into(), b"x"),
        ("Takeout/..\\..\\evil.jpg".into(), b"x"),
        (format!("{DIR}/bad.jpg.json"), b"{\"title\": "),
        (format!("{DIR}/dup_A.jpg"), b"first"),
        (format!("{DIR}/dup_B.jpg"), b"second"),
        (format!("{DIR}/bad_X.jpg"), b"x"),
        (format!("{DIR}/zero.jpg"), b"z"),
        (format!("{DIR}/zero.jpg.json"), &zero_json),
        (format!("{DIR}/huge.jpg.json"), &big),
    ];
    for (name, data) in &entries {
        z.start_file(name.as_str(), opts).unwrap();
        z.write_all(data).unwrap();
    }
    z.add_symlink(format!("{DIR}/link.jpg"), "/etc/passwd", opts)
        .unwrap();
    let mut bytes = z.finish().unwrap().into_inner();
    assert_eq!(replace(&mut bytes, b"dup_B.jpg", b"dup_A.jpg"), 2);
    assert_eq!(replace(&mut bytes, b"bad_X.jpg", b"bad_\xff.jpg"), 2);
    let part = write(tmp.path(), "takeout-20250101T000000Z-001.zip", &bytes);
    let limits = Limits {
        max_json_bytes: 1024,
        ..Limits::default()
    };
    let c = scan(std::slice::from_ref(&part), &limits).unwrap();
    good(&c);
    let p = &c.problems;
    assert!(
        has(p, ProblemKind::UnsafePath, "../evil.jpg"),
        "{:#?}",
        kinds(p)
    );
    assert!(has(p, ProblemKind::UnsafePath, "/abs/evil.jpg"));
    assert!(has(p, ProblemKind::UnsafePath, "C:/evil.jpg"));
    assert!(has(p, ProblemKind::UnsafePath, "Takeout/..\\..\\evil.jpg"));
    assert!(has(p, ProblemKind::Link, &format!("{DIR}/link.jpg")));
    assert!(has(p, ProblemKind::BadJson, &format!("{DIR}/bad.jpg.json")));
    assert!(has(p, ProblemKind::Duplicate, &format!("{DIR}/dup_A.jpg")));
    assert!(p.iter().any(|x| x.kind == ProblemKind::InvalidName
        && x.entry.as_deref().is_some_and(|e| e.contains("bad_"))));
    assert!(has(
        p,
        ProblemKind::MissingTime,
        &format!("{DIR}/zero.jpg.json")
    ));
    assert!(has(
        p,
        ProblemKind::TooLarge,
        &format!("{DIR}/huge.jpg.json")
    ));
    for x in p {
        assert!(
            x.to_string().starts_with(&format!("{}: ", part.display())),
            "{x}"
        );
    }
    // Nothing unsafe is listed; the zero-time sidecar still pairs.
    assert!(
        c.media
            .to_vec()
            .unwrap()
            .into_iter()
            .all(|m| !m.path.contains("..") && !m.path.starts_with('/'))
    );
    let zero = c
        .media
        .to_vec()
        .unwrap()
        .into_iter()
        .find(|m| m.file_name() == "zero.jpg")
        .unwrap();
    assert_eq!(c.sidecar(&zero).unwrap().unwrap().photo_taken_time, None);
    // The second pass reads what the first listed.
    let mut n = 0;
    let problems = for_each_media(&c, |_, r| -> std::io::Result<()> {
        r.read_to_end(&mut Vec::new())?;
        n += 1;
        Ok(())
    })
    .unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(n, c.media.len());
}

#[test]
fn zip_bomb_ratio_and_size_caps() {
    let tmp = tempfile::tempdir().unwrap();
    let zeros = vec![0u8; 4 << 20];
    let json = sidecar("good.jpg", "1600000000");
    let bytes = zip_bytes(&[
        (&format!("{DIR}/good.jpg"), b"jpeg"),
        (&format!("{DIR}/good.jpg.json"), &json),
        (&format!("{DIR}/bomb.jpg"), &zeros),
    ]);
    let part = write(tmp.path(), "bomb.zip", &bytes);
    let c = scan(
        std::slice::from_ref(&part),
        &Limits {
            max_ratio: 100,
            ..Limits::default()
        },
    )
    .unwrap();
    good(&c);
    assert!(
        has(&c.problems, ProblemKind::Bomb, &format!("{DIR}/bomb.jpg")),
        "{:#?}",
        c.problems
    );
    assert!(
        !c.media
            .to_vec()
            .unwrap()
            .into_iter()
            .any(|m| m.file_name() == "bomb.jpg")
    );
    let c = scan(
        &[part],
        &Limits {
            max_entry_bytes: 1 << 20,
            ..Limits::default()
        },
    )
    .unwrap();
    assert!(has(
        &c.problems,
        ProblemKind::TooLarge,
        &format!("{DIR}/bomb.jpg")
    ));
}

#[test]
fn truncated_and_garbage_parts() {
    let tmp = tempfile::tempdir().unwrap();
    let json = sidecar("good.jpg", "1600000000");
    let bytes = zip_bytes(&[
        (&format!("{DIR}/good.jpg"), b"jpeg"),
        (&format!("{DIR}/good.jpg.json"), &json),
    ]);
    let ok = write(tmp.path(), "takeout-20250101T000000Z-001.zip", &bytes);
    let cut = write(
        tmp.path(),
        "takeout-20250101T000000Z-002.zip",
        &bytes[..bytes.len() - 30],
    );
    let junk = write(
        tmp.path(),
        "takeout-20250101T000000Z-003.zip",
        b"this is not an archive",
    );
    let odd = write(tmp.path(), "notes.txt", b"hello");
    // Alone, an unreadable part is an error carrying the problems.
    match scan(std::slice::from_ref(&cut), &Limits::default()) {
        Err(Error::Unreadable(p)) => assert_eq!(p[0].kind, ProblemKind::Corrupt),
        other => panic!("{other:?}"),
    }
    match scan(std::slice::from_ref(&odd), &Limits::default()) {
        Err(Error::Unreadable(p)) => assert_eq!(p[0].kind, ProblemKind::Unreadable),
        other => panic!("{other:?}"),
    }
    assert!(matches!(scan(&[], &Limits::default()), Err(Error::NoParts)));
    // With a good part, the export is read and the broken parts are problems.
    let c = scan(
        &[cut.clone(), ok, junk.clone(), odd.clone()],
        &Limits::default(),
    )
    .unwrap();
    good(&c);
    assert_eq!(c.export_id, "takeout-20250101T000000Z");
    for bad in [&cut, &junk, &odd] {
        assert!(
            c.problems
                .iter()
                .any(|p| &p.part == bad && p.entry.is_none()),
            "{bad:?}: {:#?}",
            c.problems
        );
    }
}

fn raw_header(path: &[u8], size: u64, kind: tar::EntryType, link: Option<&str>) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..path.len()].copy_from_slice(path);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_entry_type(kind);
    if let Some(l) = link {
        h.set_link_name(l).unwrap();
    }
    h.set_cksum();
    h
}

fn tgz(entries: &[(tar::Header, Vec<u8>)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut t = tar::Builder::new(gz);
    for (h, d) in entries {
        t.append(h, d.as_slice()).unwrap();
    }
    t.into_inner().unwrap().finish().unwrap()
}

fn file(path: &str, data: &[u8]) -> (tar::Header, Vec<u8>) {
    (
        raw_header(
            path.as_bytes(),
            data.len() as u64,
            tar::EntryType::Regular,
            None,
        ),
        data.to_vec(),
    )
}

#[test]
fn hostile_tgz_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let json = sidecar("good.jpg", "1600000000");
    let pad: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let entries = vec![
        file(&format!("{DIR}/good.jpg"), b"jpeg"),
        file(&format!("{DIR}/good.jpg.json"), &json),
        file("../evil.jpg", b"x"),
        file("/etc/evil.jpg", b"x"),
        (
            raw_header(
                format!("{DIR}/sym.jpg").as_bytes(),
                0,
                tar::EntryType::Symlink,
                Some("/etc/passwd"),
            ),
            vec![],
        ),
        (
            raw_header(
                format!("{DIR}/hard.jpg").as_bytes(),
                0,
                tar::EntryType::Link,
                Some("/etc/passwd"),
            ),
            vec![],
        ),
        file(&format!("{DIR}/good.jpg"), b"again"),
        (
            raw_header(
                format!("{DIR}/bad\u{0}.jpg").as_bytes(),
                1,
                tar::EntryType::Regular,
                None,
            ),
            b"x".to_vec(),
        ),
        file(&format!("{DIR}/bad.jpg.json"), b"[1, 2"),
        file(&format!("{DIR}/pad.jpg"), &pad),
        file(&format!("{DIR}/late.jpg"), b"late"),
    ];
    let bytes = tgz(&entries);
    let part = write(tmp.path(), "takeout-20250101T000000Z-1-001.tgz", &bytes);
    let c = scan(std::slice::from_ref(&part), &Limits::default()).unwrap();
    let g = good(&c);
    let p = &c.problems;
    assert!(
        has(p, ProblemKind::UnsafePath, "../evil.jpg"),
        "{:#?}",
        kinds(p)
    );
    assert!(has(p, ProblemKind::UnsafePath, "/etc/evil.jpg"));
    assert!(has(p, ProblemKind::Link, &format!("{DIR}/sym.jpg")));
    assert!(has(p, ProblemKind::Link, &format!("{DIR}/hard.jpg")));
    assert!(has(p, ProblemKind::Duplicate, &format!("{DIR}/good.jpg")));
    assert!(has(p, ProblemKind::BadJson, &format!("{DIR}/bad.jpg.json")));
    let again = c
        .media
        .to_vec()
        .unwrap()
        .into_iter()
        .find(|m| m.path == g.path && m.id != g.id)
        .unwrap();
    assert_eq!(again.duplicate_of, Some(g.id));
    assert_eq!(again.sidecar, g.sidecar);
    assert!(
        c.media
            .to_vec()
            .unwrap()
            .into_iter()
            .any(|m| m.file_name() == "late.jpg")
    );
    assert!(
        !c.media
            .to_vec()
            .unwrap()
            .into_iter()
            .any(|m| m.path.contains("..") || m.path.starts_with('/'))
    );

    // The second pass delivers each entry's own bytes, in archive order.
    let mut got = Vec::new();
    let problems = for_each_media(&c, |m, r| -> std::io::Result<()> {
        let mut v = Vec::new();
        r.read_to_end(&mut v)?;
        got.push((m.file_name().to_owned(), v.len()));
        Ok(())
    })
    .unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(got[0], ("good.jpg".to_owned(), 4));
    assert!(got.contains(&("good.jpg".to_owned(), 5)));
    assert_eq!(got.last().unwrap(), &("late.jpg".to_owned(), 4));

    // A tgz truncated in the middle: what came before is kept.
    let cut = write(
        tmp.path(),
        "takeout-20250101T000000Z-1-002.tgz",
        &bytes[..bytes.len() * 2 / 3],
    );
    let c2 = scan(std::slice::from_ref(&cut), &Limits::default()).unwrap();
    good(&c2);
    assert!(
        !c2.media
            .to_vec()
            .unwrap()
            .into_iter()
            .any(|m| m.file_name() == "late.jpg")
    );
    assert!(
        c2.problems
            .iter()
            .any(|p| p.part == cut && p.kind == ProblemKind::Corrupt && p.entry.is_none())
    );

    // Truncated between the passes: earlier entries still arrive, the rest are problems.
    std::fs::write(&part, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let mut n = 0;
    let problems = for_each_media(&c, |_, r| -> std::io::Result<()> {
        r.read_to_end(&mut Vec::new())?;
        n += 1;
        Ok(())
    })
    .unwrap();
    assert!(n >= 1);
    assert!(
        problems
            .iter()
            .any(|p| p.entry.as_deref() == Some(&format!("{DIR}/late.jpg")[..])),
        "{problems:#?}"
    );
}

#[test]
fn tgz_bomb_stops_the_part() {
    let tmp = tempfile::tempdir().unwrap();
    let json = sidecar("good.jpg", "1600000000");
    let bytes = tgz(&[
        file(&format!("{DIR}/good.jpg"), b"jpeg"),
        file(&format!("{DIR}/good.jpg.json"), &json),
        file(&format!("{DIR}/bomb.jpg"), &vec![0u8; 16 << 20]),
        file(&format!("{DIR}/after.jpg"), b"after"),
    ]);
    let part = write(tmp.path(), "bomb.tgz", &bytes);
    let c = scan(
        &[part],
        &Limits {
            max_ratio: 50,
            ..Limits::default()
        },
    )
    .unwrap();
    good(&c);
    assert!(
        c.problems.iter().any(|p| p.kind == ProblemKind::Bomb),
        "{:#?}",
        c.problems
    );
    assert!(
        !c.media
            .to_vec()
            .unwrap()
            .into_iter()
            .any(|m| m.file_name() == "after.jpg")
    );
}

#[test]
fn invalid_and_odd_json() {
    let tmp = tempfile::tempdir().unwrap();
    let good_json = sidecar("good.jpg", "1600000000");
    let bytes = zip_bytes(&[
        (&format!("{DIR}/good.jpg"), b"jpeg"),
        (&format!("{DIR}/good.jpg.json"), &good_json),
        (&format!("{DIR}/a.jpg"), b"a"),
        (
            &format!("{DIR}/a.jpg.json"),
            br#"{"title": 7, "photoTakenTime": {"timestamp": "1"}}"#,
        ),
        (
            &format!("{DIR}/b.jpg.json"),
            br#"{"photoTakenTime": {"timestamp": "1"}}"#,
        ),
        (&format!("{DIR}/c.jpg.json"), b"[1, 2, 3]"),
        (&format!("{DIR}/d.jpg"), b"d"),
        (
            &format!("{DIR}/d.jpg.json"),
            br#"{"title": "d.jpg", "photoTakenTime": {"timestamp": "soon"}}"#,
        ),
        ("Takeout/Google Photos/print-subscriptions.json", b"[]"),
        (
            "Takeout/Google Photos/user-generated-memory-titles.json",
            b"{}",
        ),
        (
            "Takeout/archive_browser.html",
            b"<p>Archive for jo@example.org, help at noreply@google.com</p>",
        ),
        (
            "Takeout/Google Keep/note.html",
            b"<p>mail bob@example.net, bob@example.net</p>",
        ),
    ]);
    let part = write(tmp.path(), "x.zip", &bytes);
    let c = scan(&[part], &Limits::default()).unwrap();
    good(&c);
    let p = &c.problems;
    assert!(
        has(p, ProblemKind::BadJson, &format!("{DIR}/a.jpg.json")),
        "{:#?}",
        kinds(p)
    );
    assert!(has(p, ProblemKind::BadJson, &format!("{DIR}/b.jpg.json")));
    assert!(has(p, ProblemKind::Ignored, &format!("{DIR}/c.jpg.json")));
    assert!(has(
        p,
        ProblemKind::MissingTime,
        &format!("{DIR}/d.jpg.json")
    ));
    assert!(!p.iter().any(|x| {
        x.entry
            .as_deref()
            .is_some_and(|e| e.contains("print-subscriptions"))
    }));
    assert_eq!(c.account_hint.as_deref(), Some("jo@example.org"));
    assert!(c.export_id.starts_with("takeout-derived-"));
    let a = c
        .media
        .to_vec()
        .unwrap()
        .into_iter()
        .find(|m| m.file_name() == "a.jpg")
        .unwrap();
    assert_eq!(a.matched_by.code(), "none");
    let d = c
        .media
        .to_vec()
        .unwrap()
        .into_iter()
        .find(|m| m.file_name() == "d.jpg")
        .unwrap();
    assert_eq!(c.sidecar(&d).unwrap().unwrap().photo_taken_time, None);
}

#[test]
fn duplicates_across_parts_and_split_sidecars() {
    let tmp = tempfile::tempdir().unwrap();
    let json = sidecar("good.jpg", "1600000000");
    let p1 = write(
        tmp.path(),
        "takeout-20250101T000000Z-001.zip",
        &zip_bytes(&[
            (&format!("{DIR}/good.jpg"), b"jpeg"),
            (&format!("{DIR}/other.jpg"), b"o"),
        ]),
    );
    let p2 = write(
        tmp.path(),
        "takeout-20250101T000000Z-002.zip",
        &zip_bytes(&[
            (&format!("{DIR}/good.jpg.json"), &json),
            (&format!("{DIR}/good.jpg"), b"jpeg"),
        ]),
    );
    let mixed = write(
        tmp.path(),
        "takeout-20240101T000000Z-001.zip",
        &zip_bytes(&[("Takeout/x.txt", b"x")]),
    );
    let c = scan(&[p2.clone(), p1.clone(), mixed.clone()], &Limits::default()).unwrap();
    let g = good(&c);
    assert_eq!(
        c.parts[g.part()].path,
        p1,
        "parts are read in part-number order"
    );
    let second = c
        .media
        .to_vec()
        .unwrap()
        .into_iter()
        .find(|m| m.path == g.path && c.parts[m.part()].path == p2)
        .unwrap();
    assert_eq!(second.duplicate_of, Some(g.id));
    assert!(
        c.problems
            .iter()
            .any(|p| p.part == p2 && p.kind == ProblemKind::Duplicate)
    );
    assert!(
        c.problems
            .iter()
            .any(|p| p.part == mixed && p.kind == ProblemKind::MixedExports)
    );
    let other = c
        .media
        .to_vec()
        .unwrap()
        .into_iter()
        .find(|m| m.file_name() == "other.jpg")
        .unwrap();
    assert!(matches!(other.matched_by, MatchRule::None { .. }));
}

#[test]
fn second_pass_errors_stay_per_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let entries: Vec<(String, Vec<u8>)> = (0..5)
        .map(|i| (format!("{DIR}/f{i}.jpg"), format!("file {i}").into_bytes()))
        .collect();
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let part = write(tmp.path(), "p.zip", &zip_bytes(&refs));
    let c = scan(&[part], &Limits::default()).unwrap();
    assert_eq!(c.media.len(), 5);
    let mut seen = Vec::new();
    let problems = for_each_media(&c, |m, r| {
        let mut s = String::new();
        r.read_to_string(&mut s).map_err(|e| e.to_string())?;
        seen.push(s);
        if m.file_name() == "f2.jpg" {
            Err("disk said no".to_owned())
        } else {
            Ok(())
        }
    })
    .unwrap();
    assert_eq!(seen.len(), 5);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].kind, ProblemKind::Callback);
    assert!(
        problems[0]
            .to_string()
            .ends_with(&format!("{DIR}/f2.jpg: disk said no"))
    );
    // Selection and stopping.
    let mut n = 0;
    let problems = for_each_selected_media(
        &c,
        |m| m.file_name() != "f0.jpg",
        |_, _| -> Result<Flow, String> {
            n += 1;
            Ok(if n == 2 { Flow::Stop } else { Flow::Continue })
        },
    )
    .unwrap();
    assert!(problems.is_empty());
    assert_eq!(n, 2);
}

/// The second pass reads a zip's entries through their local headers, without the central
/// directory: a callback that reads part of an entry or none of it does not shift the next
/// entry, bytes changed since the scan fail their CRC-32, and a part rewritten since the scan
/// (the same names elsewhere) fails every entry no longer where the scan found it.
#[test]
fn zip_second_pass_reads_by_local_header() {
    let tmp = tempfile::tempdir().unwrap();
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = stored.compression_method(zip::CompressionMethod::Deflated);
    let data = |i: usize| format!("photo {i} ").repeat(50 + i * 7).into_bytes();
    let build = |order: &[usize]| {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for &i in order {
            let opts = if i % 2 == 0 { stored } else { deflated };
            z.start_file(format!("{DIR}/f{i}.jpg"), opts).unwrap();
            z.write_all(&data(i)).unwrap();
        }
        z.finish().unwrap().into_inner()
    };
    let bytes = build(&[0, 1, 2, 3, 4, 5]);
    let part = write(tmp.path(), "p.zip", &bytes);
    let c = scan(std::slice::from_ref(&part), &Limits::default()).unwrap();
    assert_eq!(c.media.len(), 6);
    assert!(
        c.media
            .to_vec()
            .unwrap()
            .into_iter()
            .all(|m| m.zip.is_some())
    );

    // Every entry's own bytes, whatever the callback left unread of the one before.
    let mut got = Vec::new();
    let problems = for_each_media(&c, |m, r| -> std::io::Result<()> {
        let mut v = Vec::new();
        match m.file_name() {
            "f1.jpg" => {}
            "f3.jpg" => {
                r.take(10).read_to_end(&mut v)?;
            }
            _ => {
                r.read_to_end(&mut v)?;
            }
        }
        got.push((m.file_name().to_owned(), v));
        Ok(())
    })
    .unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
    for (i, (name, v)) in got.iter().enumerate() {
        assert_eq!(name, &format!("f{i}.jpg"));
        match i {
            1 => assert!(v.is_empty()),
            3 => assert_eq!(v[..], data(3)[..10]),
            _ => assert_eq!(v, &data(i), "bytes of {name}"),
        }
    }

    // A stored entry's bytes changed since the scan: that entry fails its CRC-32, the others
    // still arrive whole.
    let mut changed = bytes.clone();
    let at = changed
        .windows(8)
        .position(|w| w == b"photo 4 ")
        .expect("f4 is stored");
    changed[at] = b'P';
    std::fs::write(&part, &changed).unwrap();
    let mut whole = Vec::new();
    let problems = for_each_media(&c, |m, r| -> std::io::Result<()> {
        let mut v = Vec::new();
        r.read_to_end(&mut v)?;
        whole.push(m.file_name().to_owned());
        Ok(())
    })
    .unwrap();
    assert_eq!(whole, ["f0.jpg", "f1.jpg", "f2.jpg", "f3.jpg", "f5.jpg"]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].entry.as_deref() == Some(&format!("{DIR}/f4.jpg")[..]));
    assert!(
        problems[0].to_string().contains("CRC-32"),
        "{}",
        problems[0]
    );

    // The part rewritten with its entries in another order: no entry is read as another.
    std::fs::write(&part, build(&[5, 4, 3, 2, 1, 0])).unwrap();
    let mut read = Vec::new();
    let problems = for_each_media(&c, |m, r| -> std::io::Result<()> {
        let mut v = Vec::new();
        r.read_to_end(&mut v)?;
        assert_eq!(v, data(m.file_name()[1..2].parse().unwrap()));
        read.push(m.file_name().to_owned());
        Ok(())
    })
    .unwrap();
    assert_eq!(read.len() + problems.len(), 6, "{problems:#?}");
    assert!(problems.len() >= 5, "{read:?}");
    assert!(
        problems
            .iter()
            .all(|p| p.kind == ProblemKind::Read && p.to_string().contains("changed since")),
        "{problems:#?}"
    );
}

#[cfg(unix)]
#[test]
fn folders_with_links_junk_and_extraction_copies() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("Takeout");
    let dir = root.join("Google Photos").join("Photos from 2020");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("good.jpg"), b"jpeg").unwrap();
    std::fs::write(dir.join("good.jpg.json"), sidecar("good.jpg", "1600000000")).unwrap();
    std::fs::write(
        dir.join("good.jpg.json (1)"),
        sidecar("good.jpg", "1600000000"),
    )
    .unwrap();
    std::fs::write(dir.join(".DS_Store"), b"junk").unwrap();
    std::fs::write(dir.join("._good.jpg"), b"junk").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("link.jpg")).unwrap();
    let c = scan(std::slice::from_ref(&root), &Limits::default()).unwrap();
    let g = good(&c);
    assert_eq!(&*g.path, "Google Photos/Photos from 2020/good.jpg");
    assert_eq!(c.media.len(), 1, "{:#?}", c.media.to_vec());
    assert!(has(
        &c.problems,
        ProblemKind::Link,
        "Google Photos/Photos from 2020/link.jpg"
    ));
    assert!(has(
        &c.problems,
        ProblemKind::Ignored,
        "Google Photos/Photos from 2020/good.jpg.json (1)"
    ));
    // Pointing at the Photos folder itself works too.
    let c = scan(&[root.join("Google Photos")], &Limits::default()).unwrap();
    assert_eq!(&*c.media.get(0).unwrap().path, "Photos from 2020/good.jpg");
    assert_eq!(
        c.media.get(0).unwrap().folder,
        photobak_takeout::Folder::Year(2020)
    );
    assert!(c.media.get(0).unwrap().sidecar.is_some());
    let mut n = 0;
    let problems = for_each_media(&c, |_, r| -> std::io::Result<()> {
        r.read_to_end(&mut Vec::new())?;
        n += 1;
        Ok(())
    })
    .unwrap();
    assert!(problems.is_empty());
    assert_eq!(n, 1);
}

#[test]
fn entry_count_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let entries: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| (format!("{DIR}/f{i}.jpg"), vec![b'x']))
        .collect();
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let part = write(tmp.path(), "p.zip", &zip_bytes(&refs));
    let c = scan(
        &[part],
        &Limits {
            max_entries: 3,
            ..Limits::default()
        },
    )
    .unwrap();
    assert_eq!(c.media.len(), 3);
    assert!(c.problems.iter().any(|p| p.kind == ProblemKind::TooLarge));
}
