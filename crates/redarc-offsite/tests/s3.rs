//! The offsite store against a real S3-compatible server (`moto_server` on
//! loopback): upload, list, fetch, retention, and what must never leak.

// In tests a panic is a failed test, not a crash on input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/moto.rs"]
mod moto;

use std::path::{Path, PathBuf};
use std::sync::Once;

use moto::Moto;
use redarc::format::Timestamp;
use redarc::ObjectName;
use redarc_offsite::{
    Day, ErrorKind, ListFilter, Offsite, OffsiteConfig, Reason, RetentionPolicy, SidecarSource,
    MIN_PART_SIZE,
};
use sha2::{Digest, Sha256};

const ACCESS_KEY_ID: &str = "AKIAREDARCTESTKEY01";
/// Distinctive, so a leak anywhere is found by a plain search.
const SECRET_ACCESS_KEY: &str = "redarcTestSecret/Do+Not+Leak/0123456789abcd";

/// The library reads credentials from the environment only. Every test
/// sets the same values, once, before it opens a store.
fn credentials() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_var("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY);
    });
}

fn config(moto: &Moto) -> OffsiteConfig {
    OffsiteConfig::new(moto.bucket.clone())
        .endpoint(moto.endpoint.clone())
        .allow_http(true)
        .prefix("exports")
}

fn open(moto: &Moto) -> Offsite {
    credentials();
    Offsite::new(config(moto)).unwrap()
}

/// A file named like an archive of `env` generated at `at`, with
/// deterministic contents and the sidecar `redarc pack` writes.
fn archive_file(dir: &Path, env: &str, at: &str, len: usize) -> PathBuf {
    let name = ObjectName::new("", env, Timestamp::parse(at).unwrap()).unwrap();
    let path = dir.join(name.file_name());
    let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let digest = hex::encode(Sha256::digest(&bytes));
    std::fs::write(
        format!("{}.sha256", path.display()),
        format!("{digest}  {}\n", name.file_name()),
    )
    .unwrap();
    path
}

fn now_string() -> String {
    Timestamp::now().to_string()
}

#[test]
fn upload_list_fetch_round_trip() {
    let moto = Moto::start("roundtrip");
    let offsite = open(&moto);
    let tmp = tempfile::tempdir().unwrap();
    let at = now_string();
    let local = archive_file(tmp.path(), "staging", &at, 300_000);

    let up = offsite.upload(&local).unwrap();
    let day = Day::of(Timestamp::parse(&at).unwrap());
    let dated = day.to_string().replace('-', "/");
    assert_eq!(
        up.key,
        format!(
            "exports/staging/{dated}/{}",
            local.file_name().unwrap().to_str().unwrap()
        )
    );
    assert_eq!(up.sidecar_key, format!("{}.sha256", up.key));
    assert_eq!(
        (up.bytes, up.parts, up.sidecar),
        (300_000, 1, SidecarSource::Verified)
    );
    // Keys the code did not write are somebody else's; they must stay invisible.
    assert_eq!(moto.raw("PUT", "exports/README.txt", b"hello"), 200);

    let listing = offsite.list(&ListFilter::new()).unwrap();
    assert_eq!(listing.archives.len(), 1);
    assert_eq!(listing.foreign, 1);
    let a = &listing.archives[0];
    assert_eq!(a.key, up.key);
    assert_eq!((a.size, a.sidecar), (300_000, true));
    assert_eq!(a.name.environment, "staging");
    assert!(a.last_modified.is_some());

    let one = |f: ListFilter| offsite.list(&f).unwrap().archives.len();
    assert_eq!(one(ListFilter::new().environment("staging")), 1);
    assert_eq!(one(ListFilter::new().environment("prod")), 0);
    assert_eq!(
        one(ListFilter::new().environment("staging").on(day.clone())),
        1
    );
    assert_eq!(one(ListFilter::new().on(day.clone())), 1);
    assert_eq!(one(ListFilter::new().to("2000-01-01".parse().unwrap())), 0);
    assert_eq!(
        one(ListFilter::new()
            .from("2000-01-01".parse().unwrap())
            .to(day.clone())),
        1
    );

    let dest = tmp.path().join("restore");
    std::fs::create_dir(&dest).unwrap();
    let got = offsite.fetch(&up.key, &dest).unwrap();
    assert!(got.verified);
    assert_eq!(got.sha256, up.sha256);
    assert_eq!(
        std::fs::read(&got.path).unwrap(),
        std::fs::read(&local).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(format!("{}.sha256", got.path.display())).unwrap(),
        std::fs::read_to_string(format!("{}.sha256", local.display())).unwrap(),
        "the fetched sidecar is the one pack wrote"
    );

    // Nothing is overwritten, here or there.
    let again = offsite.fetch(&up.key, &dest).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::AlreadyExists);
    let again = offsite.upload(&local).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::AlreadyExists);

    // Only archive keys under the prefix can be fetched.
    for key in [
        "exports/README.txt",
        "../etc/passwd",
        local.file_name().unwrap().to_str().unwrap(),
    ] {
        assert_eq!(
            offsite.fetch(key, &dest).unwrap_err().kind(),
            ErrorKind::NotAnArchive
        );
    }
    let missing = ObjectName::new("exports", "staging", Timestamp::parse(&at).unwrap())
        .unwrap()
        .to_string();
    let e = offsite.fetch(&missing, &dest).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(
        std::fs::read_dir(&dest).unwrap().count(),
        2,
        "failed fetches leave nothing behind"
    );
}

#[test]
fn large_archives_stream_as_multipart_uploads() {
    let moto = Moto::start("multipart");
    credentials();
    let offsite = Offsite::new(config(&moto).part_size(MIN_PART_SIZE)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let len = 2 * MIN_PART_SIZE + 12_345;
    let local = archive_file(tmp.path(), "prod", &now_string(), len);
    let up = offsite.upload(&local).unwrap();
    assert_eq!((up.bytes, up.parts), (len as u64, 3));
    let got = offsite.fetch(&up.key, tmp.path());
    // The same directory holds the local file: fetching there must refuse, not overwrite.
    assert_eq!(got.unwrap_err().kind(), ErrorKind::AlreadyExists);
    let dest = tempfile::tempdir().unwrap();
    let got = offsite.fetch(&up.key, dest.path()).unwrap();
    assert!(got.verified && got.bytes == len as u64);
    assert_eq!(
        std::fs::read(&got.path).unwrap(),
        std::fs::read(&local).unwrap()
    );
}

#[test]
fn a_file_that_does_not_match_its_sidecar_is_never_stored() {
    let moto = Moto::start("mismatch");
    credentials();
    let offsite = Offsite::new(config(&moto).part_size(MIN_PART_SIZE)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for len in [1000, MIN_PART_SIZE + 1] {
        let local = archive_file(tmp.path(), "staging", &now_string(), len);
        // Damage one byte after pack wrote the sidecar.
        let mut bytes = std::fs::read(&local).unwrap();
        bytes[len / 2] ^= 1;
        std::fs::write(&local, bytes).unwrap();
        let e = offsite.upload(&local).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
        assert!(e.to_string().contains("sidecar"), "{e}");
    }
    assert!(offsite
        .list(&ListFilter::new())
        .unwrap()
        .archives
        .is_empty());

    // Without a sidecar, one is computed and stored.
    let local = archive_file(tmp.path(), "staging", &now_string(), 1000);
    std::fs::remove_file(format!("{}.sha256", local.display())).unwrap();
    let up = offsite.upload(&local).unwrap();
    assert_eq!(up.sidecar, SidecarSource::Computed);
    assert!(offsite.list(&ListFilter::new()).unwrap().archives[0].sidecar);

    // A file not named as an archive is refused before anything is sent.
    let odd = tmp.path().join("acme-customer-dump.tar.zst.age");
    std::fs::write(&odd, b"x").unwrap();
    assert_eq!(
        offsite.upload(&odd).unwrap_err().kind(),
        ErrorKind::NotAnArchive
    );
}

#[test]
fn fetch_refuses_an_object_changed_in_the_store() {
    let moto = Moto::start("tampered");
    let offsite = open(&moto);
    let tmp = tempfile::tempdir().unwrap();
    let local = archive_file(tmp.path(), "staging", &now_string(), 4096);
    let up = offsite.upload(&local).unwrap();
    let mut bytes = std::fs::read(&local).unwrap();
    bytes[100] ^= 0x80;
    assert_eq!(moto.raw("PUT", &up.key, &bytes), 200);
    let dest = tempfile::tempdir().unwrap();
    let e = offsite.fetch(&up.key, dest.path()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert_eq!(
        std::fs::read_dir(dest.path()).unwrap().count(),
        0,
        "nothing left behind"
    );
}

#[test]
fn retention_deletes_old_archives_keeps_the_newest_and_never_foreign_keys() {
    let moto = Moto::start("retention");
    let offsite = open(&moto);
    let tmp = tempfile::tempdir().unwrap();
    let now = now_string();
    let mut keys = std::collections::BTreeMap::new();
    for (env, at) in [
        ("prod", "2020-01-01T00:00:00Z"),
        ("prod", "2020-02-01T00:00:00Z"),
        ("prod", "2020-03-01T00:00:00Z"),
        ("prod", now.as_str()),
        ("staging", "2020-01-01T00:00:00Z"),
        ("staging", "2020-01-02T00:00:00Z"),
    ] {
        let up = offsite
            .upload(&archive_file(tmp.path(), env, at, 64))
            .unwrap();
        keys.insert(format!("{env}@{at}"), up.key);
    }
    let foreign = [
        "exports/notes.txt",
        "exports/prod/2020/01/01/prod-20200101T000000Z-ZZZZZZZZ.tar.zst.age",
        "exports/prod/2020/01/01/prod-20200101T000000Z-0000abcd.tar.zst.age.bak",
        "elsewhere/prod/2020/01/01/prod-20200101T000000Z-0000abcd.tar.zst.age",
    ];
    for key in foreign {
        assert_eq!(moto.raw("PUT", key, b"not ours"), 200);
    }

    let policy = RetentionPolicy::new(30, 1);
    let dry = offsite.retain(&policy, Timestamp::now(), true).unwrap();
    assert!(dry.dry_run);
    let gone: Vec<&str> = dry.delete.iter().map(|d| d.archive.key.as_str()).collect();
    assert_eq!(
        gone,
        [
            &keys["prod@2020-01-01T00:00:00Z"],
            &keys["prod@2020-02-01T00:00:00Z"],
            &keys["prod@2020-03-01T00:00:00Z"],
            &keys["staging@2020-01-01T00:00:00Z"],
        ]
    );
    assert_eq!(dry.keep.len(), 2);
    assert!(dry.keep.iter().all(|d| d.reason == Reason::Newest));
    assert_eq!(
        dry.foreign, 3,
        "the key under another prefix is not even listed"
    );
    assert_eq!(
        offsite.list(&ListFilter::new()).unwrap().archives.len(),
        6,
        "a dry run deletes nothing"
    );

    let done = offsite.retain(&policy, Timestamp::now(), false).unwrap();
    assert_eq!(done.delete, dry.delete);
    let left: Vec<String> = offsite
        .list(&ListFilter::new())
        .unwrap()
        .archives
        .into_iter()
        .map(|a| a.key)
        .collect();
    assert_eq!(
        left,
        [
            keys[&format!("prod@{now}")].clone(),
            keys["staging@2020-01-02T00:00:00Z"].clone()
        ]
    );
    for d in &done.delete {
        assert_eq!(moto.raw("GET", &d.archive.key, b""), 404);
        assert_eq!(
            moto.raw("GET", &d.archive.sidecar_key(), b""),
            404,
            "sidecars go too"
        );
    }
    for key in foreign {
        assert_eq!(moto.raw("GET", key, b""), 200, "{key} must survive");
    }

    // Scoped to one environment, and never below the floor.
    let again = offsite
        .retain(
            &RetentionPolicy::new(0, 1).environment("staging"),
            Timestamp::now(),
            false,
        )
        .unwrap();
    assert!(again.delete.is_empty());
    assert_eq!(again.keep.len(), 1);
}

#[test]
fn credentials_never_appear_in_errors_debug_or_keys() {
    let moto = Moto::start("secrets");
    let offsite = open(&moto);
    let debug = format!("{offsite:?}");
    assert!(
        debug.contains("secrets") && debug.contains(&moto.endpoint),
        "{debug}"
    );
    assert!(
        !debug.contains(SECRET_ACCESS_KEY) && !debug.contains(ACCESS_KEY_ID),
        "{debug}"
    );

    // A bucket that does not exist: the store answers with an error body.
    let missing = Offsite::new(
        OffsiteConfig::new("no-such-bucket")
            .endpoint(moto.endpoint.clone())
            .allow_http(true),
    )
    .unwrap();
    let e = missing.list(&ListFilter::new()).unwrap_err();
    let tmp = tempfile::tempdir().unwrap();
    let local = archive_file(tmp.path(), "staging", &now_string(), 10);
    let e2 = missing.upload(&local).unwrap_err();
    for e in [e, e2] {
        let text = format!("{e} {e:?}");
        assert!(
            text.contains("no-such-bucket") || text.contains("uploading"),
            "{text}"
        );
        assert!(!text.contains(SECRET_ACCESS_KEY), "{text}");
    }

    let up = offsite.upload(&local).unwrap();
    assert!(!up.key.contains(SECRET_ACCESS_KEY) && !up.key.contains(ACCESS_KEY_ID));
}

#[test]
fn the_blocking_api_refuses_inside_an_async_runtime_and_drops_cleanly() {
    credentials();
    // No request is sent: the call is refused before, so no server is needed.
    let offsite = Offsite::new(
        OffsiteConfig::new("backups")
            .endpoint("http://127.0.0.1:9")
            .allow_http(true),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async move {
        let e = offsite.list(&ListFilter::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Runtime, "{e}");
        assert!(e.to_string().contains("spawn_blocking"), "{e}");
        // Dropping its runtime here must not panic either.
        drop(offsite);
    });
}
