//! Writes the conformance vectors of `spec/vectors/`: golden archives that
//! must verify and hostile ones that must be rejected, plus `vectors.json`
//! (file, description, how it was made, expected outcome, key) and the
//! README that explains them.
//!
//! `cargo run -p redarc --example make_vectors -- spec/vectors`
//!
//! The test identities (`identity.txt`, `other-identity.txt`) are created
//! on the first run and reused afterwards, so regenerating keeps the keys.
//! Everything below the age layer is deterministic (fixed `generated_at`,
//! fixed records, seeded "random" bytes, zstd level 3 from the pinned
//! libzstd); the age layer never is. The integration tests include this
//! file as a module and compare what it builds with the committed files.

// A generator of test data: a panic here is a failed run, not a crash on input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::path::Path;
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use redarc::format::{render_sha256sums, Digest, Entity, Manifest, Part, Timestamp};
use redarc::{ExportOptions, ExportWriter, Recipients};

/// Passphrase of the passphrase vectors (a test value, protects nothing).
pub(crate) const PASSPHRASE: &str = "redarc test vectors: not a secret";
/// scrypt work factor of the golden passphrase archive: low, so tests are fast.
pub(crate) const GOLDEN_WORK_FACTOR: u8 = 10;
/// File of the test identity every X25519 vector is read with.
pub(crate) const IDENTITY_FILE: &str = "identity.txt";
/// File of the second identity, the recipient of the wrong-key vector.
pub(crate) const OTHER_IDENTITY_FILE: &str = "other-identity.txt";
const GENERATED_AT: &str = "2026-01-01T00:00:00Z";
const MIB: u64 = 1 << 20;

/// The two test identities.
pub(crate) struct Keys {
    pub(crate) main: age::x25519::Identity,
    pub(crate) other: age::x25519::Identity,
}

/// How a vector is expected to be judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expect {
    /// `verify` reports valid; open and unpack succeed; CLI exit 0.
    Valid,
    /// Rejected with this error class and CLI exit code.
    Reject { error: &'static str, exit: u8 },
}

/// The key a vector is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Identity,
    Passphrase,
}

/// What a regeneration can reproduce exactly.
#[allow(dead_code)] // the plaintext is read by the regeneration test, not by main
pub(crate) enum Repro {
    /// The file itself (no encryption involved).
    Bytes,
    /// The age plaintext (the zstd stream), decryptable with a test key.
    Plaintext(Vec<u8>),
    /// Nothing: the damage is applied to ciphertext, or the file cannot be decrypted.
    No,
}

/// One vector.
pub(crate) struct Vector {
    pub(crate) file: String,
    pub(crate) description: &'static str,
    pub(crate) made: String,
    pub(crate) expect: Expect,
    pub(crate) key: Key,
    pub(crate) bytes: Vec<u8>,
    pub(crate) repro: Repro,
}

fn main() {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "spec/vectors".into()),
    );
    std::fs::create_dir_all(&dir).unwrap();
    let keys = load_or_create_keys(&dir);
    let vectors = build(&keys);
    for v in &vectors {
        std::fs::write(dir.join(&v.file), &v.bytes).unwrap();
    }
    std::fs::write(dir.join("vectors.json"), vectors_json(&vectors)).unwrap();
    std::fs::write(dir.join("README.md"), readme(&vectors)).unwrap();
    println!("{} vectors written to {}", vectors.len(), dir.display());
}

/// Reads the test identities from `dir`, creating them if absent.
pub(crate) fn load_or_create_keys(dir: &Path) -> Keys {
    let load = |file: &str, what: &str| {
        let path = dir.join(file);
        if !path.exists() {
            let id = age::x25519::Identity::generate();
            let text = format!(
                "# TEST KEY, committed on purpose: it protects nothing but the redarc\n\
                 # test vectors in this directory ({what}). Never use it for real data.\n\
                 # public key: {}\n{}\n",
                id.to_public(),
                id.to_string().expose_secret()
            );
            std::fs::write(&path, text).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .unwrap();
        age::x25519::Identity::from_str(line).unwrap()
    };
    Keys {
        main: load(
            IDENTITY_FILE,
            "the identity every X25519 vector is read with",
        ),
        other: load(
            OTHER_IDENTITY_FILE,
            "the recipient of the wrong-key vector only",
        ),
    }
}

fn generated_at() -> Timestamp {
    Timestamp::parse(GENERATED_AT).unwrap()
}

// ---------------------------------------------------------------- tar layer

/// A tar member as the generator writes it; fields beyond a regular file
/// exist to build hostile headers.
#[derive(Clone)]
struct Member {
    name: String,
    data: Vec<u8>,
    typeflag: u8,
    /// Declared size when it differs from `data.len()` (data is then omitted).
    size: Option<u64>,
    link: Option<&'static str>,
    prefix: Option<&'static str>,
    device: Option<(u32, u32)>,
    gnu_magic: bool,
}

fn member(name: &str, data: &[u8]) -> Member {
    Member {
        name: name.into(),
        data: data.to_vec(),
        typeflag: b'0',
        size: None,
        link: None,
        prefix: None,
        device: None,
        gnu_magic: false,
    }
}

fn special(name: &str, typeflag: u8) -> Member {
    Member {
        typeflag,
        ..member(name, b"")
    }
}

/// The 512-byte header of `m`, with the values the format fixes (§2.3).
fn header(m: &Member) -> [u8; 512] {
    let mut h = tar::Header::new_ustar();
    // The tar crate refuses `..`, absolute paths and the like: write those bytes directly.
    let via_api = h.set_path(&m.name).is_ok() && h.path_bytes().as_ref() == m.name.as_bytes();
    if !via_api {
        let name = &mut h.as_old_mut().name;
        name.fill(0);
        name[..m.name.len()].copy_from_slice(m.name.as_bytes());
    }
    h.set_size(m.size.unwrap_or(m.data.len() as u64));
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(generated_at().unix() as u64);
    h.set_entry_type(tar::EntryType::new(m.typeflag));
    if let Some(link) = m.link {
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    if let Some((major, minor)) = m.device {
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
    }
    if let Some(prefix) = m.prefix {
        h.as_ustar_mut().unwrap().prefix[..prefix.len()].copy_from_slice(prefix.as_bytes());
    }
    if m.gnu_magic {
        h.as_mut_bytes()[257..265].copy_from_slice(b"ustar  \0");
    }
    h.set_cksum();
    *h.as_bytes()
}

/// Serializes members, then `tail` (normally the two zero blocks).
fn tar_with_tail(members: &[Member], tail: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in members {
        out.extend_from_slice(&header(m));
        if m.size.is_none() {
            out.extend_from_slice(&m.data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
    }
    out.extend_from_slice(tail);
    out
}

const END: [u8; 1024] = [0; 1024];

fn tar(members: &[Member]) -> Vec<u8> {
    tar_with_tail(members, &END)
}

/// Splits a plain tar the generator trusts (its own) into members.
fn members_of(tar_bytes: &[u8]) -> Vec<Member> {
    let mut archive = tar::Archive::new(tar_bytes);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            member(&name, &data)
        })
        .collect()
}

// ------------------------------------------------------- zstd and age layers

fn zstd_frame(data: &[u8]) -> Vec<u8> {
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    enc.include_checksum(true).unwrap();
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn encrypt(recipient: &dyn age::Recipient, plain: &[u8]) -> Vec<u8> {
    let enc = age::Encryptor::with_recipients(std::iter::once(recipient)).unwrap();
    let mut out = Vec::new();
    let mut w = enc.wrap_output(&mut out).unwrap();
    w.write_all(plain).unwrap();
    w.finish().unwrap();
    out
}

/// Decrypts with the test keys (both identities, or the passphrase).
pub(crate) fn decrypt(keys: &Keys, file: &[u8], key: Key) -> Result<Vec<u8>, age::DecryptError> {
    let dec = age::Decryptor::new(file)?;
    let mut scrypt = age::scrypt::Identity::new(PASSPHRASE.to_string().into());
    scrypt.set_max_work_factor(22);
    let ids: Vec<&dyn age::Identity> = match key {
        Key::Identity => vec![&keys.main, &keys.other],
        Key::Passphrase => vec![&scrypt],
    };
    let mut r = dec.decrypt(ids.into_iter())?;
    let mut out = Vec::new();
    r.read_to_end(&mut out)?;
    Ok(out)
}

/// Byte offset where the age payload starts (after the header's MAC line).
fn payload_start(file: &[u8]) -> usize {
    let mac = file.windows(4).position(|w| w == b"\n---").unwrap();
    mac + file[mac + 1..].iter().position(|&b| b == b'\n').unwrap() + 2
}

/// Deterministic bytes (xorshift64*), for the garbage vector.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

// ------------------------------------------------------------- the vectors

/// The small base archive most hostile vectors start from: one entity,
/// `users`, two records, one part, written by redarc's `ExportWriter`.
fn base_records() -> Vec<&'static [u8]> {
    vec![
        br#"{"id":1,"email":"ada@example.com"}"#,
        br#"{"id":2,"email":"bob@example.com"}"#,
    ]
}

fn export(
    recipients: &Recipients,
    part_size: u64,
    entities: &[(&str, Vec<&[u8]>)],
    omit: &[(&str, &str)],
) -> Vec<u8> {
    let mut out = Vec::new();
    // Level 3, as the README of the vectors says, whatever the default.
    let opts = ExportOptions::new("test")
        .generated_at(generated_at())
        .source_version("vectors")
        .compression_level(3)
        .part_size(part_size);
    let mut export = ExportWriter::new(&mut out, recipients, opts).unwrap();
    for (name, lines) in entities {
        let mut e = export.entity(name).unwrap();
        for line in lines {
            e.write_json_line(line).unwrap();
        }
        e.finish().unwrap();
    }
    for (name, reason) in omit {
        export.omit(name, reason).unwrap();
    }
    export.finish().unwrap();
    out
}

/// Members for `entities` (name, parts), with a SHA256SUMS and a manifest
/// that describe them exactly, starting from `manifest`'s other fields.
fn consistent(manifest: &Manifest, entities: &[(&str, Vec<Vec<u8>>)]) -> Vec<Member> {
    let mut m = manifest.clone();
    let mut members = Vec::new();
    m.entities = entities
        .iter()
        .map(|(name, parts)| {
            let parts = parts
                .iter()
                .enumerate()
                .map(|(i, data)| {
                    let path = redarc::format::part_path(name, i as u32);
                    members.push(member(&path, data));
                    let records = data.iter().filter(|&&b| b == b'\n').count() as u64;
                    Part::new(path, records, data.len() as u64, Digest::of(data))
                })
                .collect();
            Entity::new(name.to_string(), parts)
        })
        .collect();
    finish_members(m, members)
}

/// Appends SHA256SUMS and the manifest (with its `sha256sums` set) to `members`.
fn finish_members(mut m: Manifest, mut members: Vec<Member>) -> Vec<Member> {
    let sums = m.expected_sha256sums();
    m.sha256sums = Digest::of(&sums);
    members.push(member("SHA256SUMS", &sums));
    members.push(member("manifest.json", &m.to_bytes()));
    members
}

struct Builder {
    recipient: age::x25519::Recipient,
    out: Vec<Vector>,
}

impl Builder {
    /// A hostile vector from a plaintext tar: zstd, then age to the test key.
    fn tar_vector(
        &mut self,
        name: &str,
        tar: &[u8],
        description: &'static str,
        made: &str,
        error: &'static str,
    ) {
        self.zstd_vector(name, zstd_frame(tar), description, made, error);
    }

    /// A hostile vector from an age plaintext (normally a zstd stream).
    fn zstd_vector(
        &mut self,
        name: &str,
        plain: Vec<u8>,
        description: &'static str,
        made: &str,
        error: &'static str,
    ) {
        let bytes = encrypt(&self.recipient, &plain);
        self.push(
            format!("hostile-{name}.tar.zst.age"),
            description,
            made,
            reject(error),
            Key::Identity,
            bytes,
            Repro::Plaintext(plain),
        );
    }

    #[allow(clippy::too_many_arguments)] // one row of vectors.json
    fn push(
        &mut self,
        file: String,
        description: &'static str,
        made: &str,
        expect: Expect,
        key: Key,
        bytes: Vec<u8>,
        repro: Repro,
    ) {
        self.out.push(Vector {
            file,
            description,
            made: made.to_string(),
            expect,
            key,
            bytes,
            repro,
        });
    }
}

fn reject(error: &'static str) -> Expect {
    Expect::Reject { error, exit: 1 }
}

/// Builds every vector in memory.
pub(crate) fn build(keys: &Keys) -> Vec<Vector> {
    let recipient = keys.main.to_public();
    let recipients = Recipients::parse(&[recipient.to_string()]).unwrap();
    let mut b = Builder {
        recipient: recipient.clone(),
        out: Vec::new(),
    };

    // Golden: several entities, one split into parts, an empty one, an omission.
    let users: Vec<String> = (0..12)
        .map(|i| {
            format!(
                r#"{{"id":{i},"email":"user{i}@example.com","active":{}}}"#,
                i % 3 != 0
            )
        })
        .collect();
    let golden = export(
        &recipients,
        160,
        &[
            ("audit_log", vec![]),
            (
                "events",
                vec![br#"{"n":1,"kind":"login"}"#, br#"{"n":2,"kind":"logout"}"#],
            ),
            ("users", users.iter().map(|s| s.as_bytes()).collect()),
        ],
        &[("sessions", "live sessions are never exported")],
    );
    let plain = decrypt(keys, &golden, Key::Identity).unwrap();
    b.push(
        "valid-x25519-multi.tar.zst.age".into(),
        "golden archive: entities audit_log (empty: one 0-byte part), events (2 records) and users (12 records in 5 parts), sessions omitted",
        "redarc ExportWriter, environment test, source_version vectors, generated_at 2026-01-01T00:00:00Z, part size 160 bytes, encrypted to identity.txt",
        Expect::Valid,
        Key::Identity,
        golden,
        Repro::Plaintext(plain),
    );

    let pass = Recipients::passphrase(PASSPHRASE.into(), Some(GOLDEN_WORK_FACTOR));
    let golden_pass = export(&pass, 1 << 20, &[("users", base_records())], &[]);
    let plain = decrypt(keys, &golden_pass, Key::Passphrase).unwrap();
    b.push(
        "valid-passphrase.tar.zst.age".into(),
        "golden passphrase archive: users (2 records), scrypt work factor 10",
        "redarc ExportWriter to Recipients::passphrase(PASSPHRASE, Some(10)), generated_at 2026-01-01T00:00:00Z",
        Expect::Valid,
        Key::Passphrase,
        golden_pass,
        Repro::Plaintext(plain),
    );

    // The base every hostile tar starts from.
    let base_file = export(&recipients, 1 << 20, &[("users", base_records())], &[]);
    let base_zstd = decrypt(keys, &base_file, Key::Identity).unwrap();
    let base_tar = zstd::decode_all(&base_zstd[..]).unwrap();
    let base = members_of(&base_tar);
    assert_eq!(
        tar(&base),
        base_tar,
        "the generator's headers must equal the writer's"
    );
    let manifest = Manifest::from_slice(&base[2].data).unwrap();
    let part = base[0].clone();
    let (sums, man) = (base[1].clone(), base[2].clone());
    let with = |first: Vec<Member>| -> Vec<u8> {
        let mut all = first;
        all.extend(base.iter().cloned());
        tar(&all)
    };

    // Valid variants the format requires readers to accept.
    let mut padded = base_tar.clone();
    padded.resize(10240, 0);
    let frame = zstd_frame(&padded);
    b.push(
        "valid-gnu-record-padding.tar.zst.age".into(),
        "the base archive with zero padding to a 10240-byte tar record, as GNU tar writes",
        "base tar (users, 2 records) padded with zeros to 10240 bytes, zstd level 3, age to identity.txt",
        Expect::Valid,
        Key::Identity,
        encrypt(&recipient, &frame),
        Repro::Plaintext(frame),
    );
    let half = base_tar.len() / 2;
    let mut frames = zstd_frame(&base_tar[..half]);
    frames.extend(zstd_frame(&base_tar[half..]));
    b.push(
        "valid-two-zstd-frames.tar.zst.age".into(),
        "the base archive compressed as two concatenated zstd frames",
        "base tar split at its middle byte, each half a zstd frame (level 3, checksum), frames concatenated, age to identity.txt",
        Expect::Valid,
        Key::Identity,
        encrypt(&recipient, &frames),
        Repro::Plaintext(frames),
    );

    // Member names.
    b.tar_vector(
        "path-dotdot",
        &with(vec![member("../x", b"{}\n")]),
        "member ../x before the base members",
        "ustar header with name ../x written byte by byte (the tar crate refuses it)",
        "UnsafePath",
    );
    b.tar_vector(
        "path-nested-dotdot",
        &with(vec![member("data/../../x", b"{}\n")]),
        "member data/../../x before the base members",
        "ustar header with name data/../../x written byte by byte",
        "UnsafePath",
    );
    b.tar_vector(
        "path-absolute",
        &with(vec![member("/tmp/redarc-vector-absolute", b"{}\n")]),
        "member with the absolute name /tmp/redarc-vector-absolute",
        "ustar header with the absolute name written byte by byte",
        "UnsafePath",
    );
    b.tar_vector(
        "path-prefix-dotdot",
        &with(vec![Member {
            prefix: Some("../../tmp"),
            ..member("data/users.00000.jsonl", b"{}\n")
        }]),
        "member whose ustar prefix field is ../../tmp, so its path is ../../tmp/data/users.00000.jsonl",
        "ustar header, name data/users.00000.jsonl, prefix ../../tmp written into the prefix field",
        "UnsafePath",
    );
    b.tar_vector(
        "path-backslash",
        &with(vec![member("data\\..\\..\\x", b"{}\n")]),
        "member name with backslashes, data\\..\\..\\x",
        "ustar header with the name written byte by byte",
        "UnsafePath",
    );
    b.tar_vector(
        "unexpected-name",
        &with(vec![member("notes.txt", b"hello\n")]),
        "member notes.txt, a name outside the three shapes of the format",
        "ustar regular file notes.txt before the base members",
        "UnlistedMember",
    );

    // Member types.
    let typed = |typeflag: u8| Member {
        typeflag,
        ..member("data/users.00000.jsonl", b"")
    };
    b.tar_vector(
        "symlink",
        &with(vec![Member {
            link: Some("/etc/passwd"),
            ..typed(b'2')
        }]),
        "symbolic link data/users.00000.jsonl -> /etc/passwd before the base members",
        "ustar header typeflag 2, linkname /etc/passwd",
        "NotRegularFile",
    );
    b.tar_vector(
        "hardlink",
        &with(vec![Member {
            link: Some("/etc/passwd"),
            ..typed(b'1')
        }]),
        "hard link data/users.00000.jsonl -> /etc/passwd before the base members",
        "ustar header typeflag 1, linkname /etc/passwd",
        "NotRegularFile",
    );
    b.tar_vector(
        "char-device",
        &with(vec![Member {
            device: Some((1, 3)),
            ..typed(b'3')
        }]),
        "character device data/users.00000.jsonl (1,3: /dev/null)",
        "ustar header typeflag 3, devmajor 1, devminor 3",
        "NotRegularFile",
    );
    b.tar_vector(
        "block-device",
        &with(vec![Member {
            device: Some((8, 0)),
            ..typed(b'4')
        }]),
        "block device data/users.00000.jsonl (8,0: /dev/sda)",
        "ustar header typeflag 4, devmajor 8, devminor 0",
        "NotRegularFile",
    );
    b.tar_vector(
        "fifo",
        &with(vec![typed(b'6')]),
        "FIFO data/users.00000.jsonl before the base members",
        "ustar header typeflag 6",
        "NotRegularFile",
    );
    b.tar_vector(
        "directory",
        &with(vec![special("data/", b'5')]),
        "directory entry data/ before the base members",
        "ustar header typeflag 5, name data/",
        "NotRegularFile",
    );
    b.tar_vector(
        "contiguous",
        &tar(&[
            Member {
                typeflag: b'7',
                ..part.clone()
            },
            sums.clone(),
            man.clone(),
        ]),
        "the base part stored as a contiguous file (typeflag 7)",
        "base members, the part's typeflag set to 7",
        "NotRegularFile",
    );
    // A PAX record is "<length> <key>=<value>\n", the length counting itself.
    let pax = |path: &str| {
        let body = format!(" path={path}\n");
        let mut len = body.len();
        while len != len.to_string().len() + body.len() {
            len = len.to_string().len() + body.len();
        }
        format!("{len}{body}").into_bytes()
    };
    b.tar_vector(
        "pax-x",
        &with(vec![Member {
            typeflag: b'x',
            ..member("PaxHeaders/users.00000.jsonl", &pax("../../tmp/redarc-pax"))
        }]),
        "PAX extended header (typeflag x) renaming the next member to ../../tmp/redarc-pax",
        "ustar header typeflag x with a PAX path record, then the base members",
        "NotRegularFile",
    );
    b.tar_vector(
        "pax-g",
        &with(vec![Member {
            typeflag: b'g',
            ..member("GlobalHead.0", &pax("../../tmp/redarc-pax"))
        }]),
        "PAX global header (typeflag g) with a path record",
        "ustar header typeflag g with a PAX path record, then the base members",
        "NotRegularFile",
    );
    let long_name = format!("../../tmp/{}\0", "l".repeat(120));
    b.tar_vector(
        "gnu-longname",
        &with(vec![Member {
            typeflag: b'L',
            gnu_magic: true,
            ..member("././@LongLink", long_name.as_bytes())
        }]),
        "GNU long name header (typeflag L) naming the next member ../../tmp/lll… (130 bytes)",
        "GNU header (magic \"ustar  \"), name ././@LongLink, typeflag L, then the base members",
        "NotRegularFile",
    );

    // Members versus manifest.
    b.tar_vector(
        "duplicate-member",
        &tar(&[part.clone(), part.clone(), sums.clone(), man.clone()]),
        "the base part twice",
        "base members with data/users.00000.jsonl repeated",
        "DuplicateMember",
    );
    let mut unlisted = vec![
        part.clone(),
        member("data/extra.00000.jsonl", b"{\"x\":1}\n"),
    ];
    unlisted.extend([sums.clone(), man.clone()]);
    b.tar_vector(
        "unlisted-member",
        &tar(&unlisted),
        "a well-named part data/extra.00000.jsonl that the manifest does not list",
        "base members with the extra part inserted before SHA256SUMS",
        "UnlistedMember",
    );
    let two = consistent(
        &manifest,
        &[(
            "users",
            vec![b"{\"id\":1}\n".to_vec(), b"{\"id\":2}\n".to_vec()],
        )],
    );
    b.tar_vector(
        "listed-member-missing",
        &tar(&[two[0].clone(), two[2].clone(), two[3].clone()]),
        "manifest and SHA256SUMS list data/users.00000.jsonl and data/users.00001.jsonl; only the first is present",
        "consistent two-part archive with the member data/users.00001.jsonl removed",
        "MissingMember",
    );
    let mut tampered = part.clone();
    let at = tampered.data.iter().position(|&b| b == b'1').unwrap();
    tampered.data[at] = b'7';
    b.tar_vector(
        "tampered-record",
        &tar(&[tampered, sums.clone(), man.clone()]),
        "record {\"id\":1,…} changed to {\"id\":7,…}: same size, still JSON, only the hash differs",
        "base members with one digit of the part changed, re-compressed and re-encrypted",
        "HashMismatch",
    );
    let mut m = manifest.clone();
    m.entities[0].parts[0].bytes += 1;
    m.entities[0].bytes += 1;
    b.tar_vector(
        "wrong-size",
        &tar(&[
            part.clone(),
            sums.clone(),
            member("manifest.json", &m.to_bytes()),
        ]),
        "manifest says the part has one byte more than it has",
        "base manifest with the part's bytes and the entity's bytes increased by 1",
        "SizeMismatch",
    );
    let mut m = manifest.clone();
    m.entities[0].parts[0].records += 1;
    m.entities[0].records += 1;
    b.tar_vector(
        "wrong-count",
        &tar(&[
            part.clone(),
            sums.clone(),
            member("manifest.json", &m.to_bytes()),
        ]),
        "manifest says the part has 3 records; it has 2",
        "base manifest with the part's records and the entity's records increased by 1",
        "CountMismatch",
    );
    b.tar_vector(
        "crlf-records",
        &tar(&consistent(
            &manifest,
            &[("users", vec![b"{\"id\":1}\r\n{\"id\":2}\r\n".to_vec()])],
        )),
        "records end in CRLF; manifest and SHA256SUMS match the bytes exactly",
        "consistent archive (sizes, hashes, counts right) whose part is {\"id\":1}\\r\\n{\"id\":2}\\r\\n",
        "BadRecord",
    );
    b.tar_vector(
        "invalid-utf8-record",
        &tar(&consistent(
            &manifest,
            &[("users", vec![b"{\"s\":\"c\xf3\"}\n".to_vec()])],
        )),
        "a record holding the invalid UTF-8 byte 0xF3 inside a JSON string; manifest and SHA256SUMS match",
        "consistent archive whose part is {\"s\":\"c\\xf3\"}\\n",
        "BadRecord",
    );

    // Sizes and limits.
    b.tar_vector(
        "oversized-manifest",
        &tar_with_tail(
            &[
                part.clone(),
                sums.clone(),
                Member {
                    size: Some(16 * MIB + 1),
                    ..man.clone()
                },
            ],
            b"",
        ),
        "manifest.json header declares 16 MiB + 1 byte (the limit is 16 MiB); no data follows",
        "base part and SHA256SUMS, then a manifest.json header with size 16777217 and nothing after it",
        "TooLarge",
    );
    b.tar_vector(
        "oversized-member",
        &tar_with_tail(
            &[Member {
                size: Some(64 * MIB + 1),
                ..part.clone()
            }],
            b"",
        ),
        "part header declares 64 MiB + 1 byte (the limit is 64 MiB); no data follows",
        "a data/users.00000.jsonl header with size 67108865 and nothing after it",
        "TooLarge",
    );
    let mut bomb_tail = END.to_vec();
    bomb_tail.resize(64 * MIB as usize, 0);
    b.tar_vector(
        "decompression-bomb",
        &tar_with_tail(&base, &bomb_tail),
        "a few KiB that decompress to 64 MiB: the base archive followed by 64 MiB of zeros, far past the 1 MiB padding allowance",
        "base tar plus zero bytes to 64 MiB, one zstd frame at level 3",
        "Trailing",
    );

    // Order and presence.
    b.tar_vector(
        "manifest-not-last",
        &tar(&[
            part.clone(),
            sums.clone(),
            man.clone(),
            member("data/users.00001.jsonl", b"{}\n"),
        ]),
        "a part data/users.00001.jsonl after manifest.json",
        "base members, then one more part",
        "Order",
    );
    b.tar_vector(
        "sums-after-manifest",
        &tar(&[part.clone(), man.clone(), sums.clone()]),
        "manifest.json before SHA256SUMS",
        "base members with the last two swapped",
        "Order",
    );
    b.tar_vector(
        "sums-missing",
        &tar(&[part.clone(), man.clone()]),
        "no SHA256SUMS member",
        "base members without SHA256SUMS",
        "MissingMember",
    );
    b.tar_vector(
        "manifest-missing",
        &tar(&[part.clone(), sums.clone()]),
        "no manifest.json member",
        "base members without manifest.json",
        "ManifestMissing",
    );
    let mut sums_text = sums.data.clone();
    let at = sums_text.iter().position(|&b| b == b' ').unwrap();
    sums_text[at - 1] = if sums_text[at - 1] == b'0' {
        b'1'
    } else {
        b'0'
    };
    b.tar_vector(
        "sums-tampered",
        &tar(&[part.clone(), member("SHA256SUMS", &sums_text), man.clone()]),
        "one hex digit of SHA256SUMS changed; the manifest's sha256sums no longer matches it",
        "base members with the last digit of the part's hash in SHA256SUMS changed",
        "HashMismatch",
    );
    let mut m = manifest.clone();
    let other_sums =
        render_sha256sums([("data/users.00000.jsonl", &Digest::of(b"something else\n"))]);
    m.sha256sums = Digest::of(&other_sums);
    b.tar_vector(
        "sums-disagree",
        &tar(&[
            part.clone(),
            member("SHA256SUMS", &other_sums),
            member("manifest.json", &m.to_bytes()),
        ]),
        "SHA256SUMS lists a different hash for the part than the manifest; the manifest's sha256sums covers this SHA256SUMS",
        "base part; SHA256SUMS for the bytes \"something else\\n\"; manifest with sha256sums updated to that file",
        "SumsMismatch",
    );

    // Manifest contents.
    let v2 = String::from_utf8(man.data.clone())
        .unwrap()
        .replace("\"format_version\": \"1.0\"", "\"format_version\": \"2.0\"");
    assert!(v2.contains("\"2.0\""));
    b.tar_vector(
        "unknown-major-version",
        &tar(&[
            part.clone(),
            sums.clone(),
            member("manifest.json", v2.as_bytes()),
        ]),
        "manifest with \"format_version\": \"2.0\"",
        "base manifest text with 1.0 replaced by 2.0",
        "UnsupportedVersion",
    );
    b.tar_vector(
        "manifest-not-json",
        &tar(&[
            part.clone(),
            sums.clone(),
            member("manifest.json", b"{\"format\": \"redarc\",\n"),
        ]),
        "manifest.json is truncated JSON",
        "base members with manifest.json replaced by an unterminated object",
        "ManifestInvalid",
    );

    // The tar stream's end.
    let mut trailing = END.to_vec();
    trailing.extend_from_slice(b"data after the end-of-archive marker\n");
    trailing.resize(2048, 0);
    b.tar_vector(
        "data-after-end",
        &tar_with_tail(&base, &trailing),
        "non-zero bytes after the two zero blocks that end the tar stream",
        "base tar, then a line of text padded with zeros to a whole block",
        "Trailing",
    );
    b.tar_vector(
        "no-end-marker",
        &tar_with_tail(&base, b""),
        "the tar stream stops after the manifest, without its end-of-archive marker",
        "base members without the two zero blocks",
        "Trailing",
    );
    b.tar_vector(
        "one-zero-block",
        &tar_with_tail(&base, &[0; 512]),
        "only one of the two zero blocks that end a tar stream",
        "base members then a single 512-byte zero block",
        "Trailing",
    );
    let mut bad_sum = tar(&base);
    bad_sum[0] = b'D'; // data/… → Data/…: the header checksum no longer matches
    b.tar_vector(
        "header-checksum",
        &bad_sum,
        "the first header's name changed after its checksum was computed",
        "base tar with its first byte changed from d to D",
        "Tar",
    );

    // The zstd layer.
    let mut flipped = zstd_frame(&base_tar);
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x10;
    b.zstd_vector(
        "zstd-bit-flip",
        flipped,
        "a bit flipped inside the zstd frame, then properly encrypted (only zstd can notice)",
        "base tar, zstd level 3 with checksum, bit 4 of the middle byte flipped, age to identity.txt",
        "Compression",
    );
    let full = zstd_frame(&base_tar);
    b.zstd_vector(
        "zstd-truncated",
        full[..full.len() - 8].to_vec(),
        "the zstd frame loses its last 8 bytes (checksum and end of the last block), then is encrypted",
        "base tar, zstd level 3 with checksum, last 8 bytes cut, age to identity.txt",
        "Compression",
    );
    let mut garbage_after = zstd_frame(&base_tar);
    garbage_after.extend_from_slice(b"not a zstd frame");
    b.zstd_vector(
        "zstd-trailing-garbage",
        garbage_after,
        "bytes that are not a zstd frame after the last frame",
        "base tar as one zstd frame, then 16 ASCII bytes, age to identity.txt",
        "Compression",
    );
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    enc.include_checksum(true).unwrap();
    enc.window_log(27).unwrap();
    enc.long_distance_matching(true).unwrap();
    enc.write_all(&base_tar).unwrap();
    b.zstd_vector(
        "zstd-window-too-large",
        enc.finish().unwrap(),
        "a zstd frame declaring a 128 MiB window (readers may refuse more than 16 MiB; redarc does)",
        "base tar, zstd level 3 with window_log 27 and long-distance matching, age to identity.txt",
        "Compression",
    );
    b.zstd_vector(
        "uncompressed-tar",
        base_tar.clone(),
        "an age-encrypted tar without the zstd layer",
        "base tar encrypted directly to identity.txt",
        "Compression",
    );

    // The age layer.
    let base_age = encrypt(&recipient, &base_zstd);
    let start = payload_start(&base_age);
    let cut = start + (base_age.len() - start) / 2;
    b.push(
        "hostile-truncated.tar.zst.age".into(),
        "the archive file cut in the middle of its encrypted payload",
        "base archive (age to identity.txt) truncated to its header and the first half of its payload",
        reject("Decrypt:Payload"),
        Key::Identity,
        base_age[..cut].to_vec(),
        Repro::No,
    );
    b.push(
        "hostile-truncated-header.tar.zst.age".into(),
        "the archive file cut inside its age header",
        "base archive (age to identity.txt) truncated to its first 40 bytes",
        reject("Decrypt:InvalidHeader"),
        Key::Identity,
        base_age[..40].to_vec(),
        Repro::No,
    );
    let mut flip = base_age.clone();
    flip[start + 16 + 20] ^= 0x01;
    b.push(
        "hostile-payload-bit-flip.tar.zst.age".into(),
        "one bit flipped in the encrypted payload",
        "base archive (age to identity.txt) with bit 0 of payload byte 36 (after the 16-byte nonce) flipped",
        reject("Decrypt:Payload"),
        Key::Identity,
        flip,
        Repro::No,
    );
    // Flip a bit of the MAC itself, not of its base64 text: a character
    // outside the alphabet would be a header syntax error instead.
    let mut header_flip = base_age.clone();
    {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
        let mac_text = start - 1 - 43..start - 1;
        let mut mac = b64.decode(&header_flip[mac_text.clone()]).unwrap();
        mac[0] ^= 0x01;
        header_flip[mac_text].copy_from_slice(b64.encode(&mac).as_bytes());
    }
    b.push(
        "hostile-header-mac.tar.zst.age".into(),
        "one bit flipped in the header MAC",
        "base archive (age to identity.txt) with bit 0 of the first byte of its 32-byte header MAC flipped (base64 re-encoded)",
        reject("Decrypt:InvalidMac"),
        Key::Identity,
        header_flip,
        Repro::No,
    );
    b.push(
        "hostile-wrong-key.tar.zst.age".into(),
        "the base archive encrypted to other-identity.txt only; read with identity.txt",
        "base zstd stream encrypted to the recipient of other-identity.txt",
        reject("Decrypt:NoMatchingKeys"),
        Key::Identity,
        encrypt(&keys.other.to_public(), &base_zstd),
        Repro::Plaintext(base_zstd.clone()),
    );
    let scrypt30 = {
        let mut r = age::scrypt::Recipient::new(PASSPHRASE.to_string().into());
        r.set_work_factor(GOLDEN_WORK_FACTOR);
        let mut file = encrypt(&r, &base_zstd);
        let line_end = file.iter().position(|&b| b == b'\n').unwrap();
        let stanza_end = line_end
            + 1
            + file[line_end + 1..]
                .iter()
                .position(|&b| b == b'\n')
                .unwrap();
        let stanza = &mut file[line_end + 1..stanza_end];
        assert!(stanza.starts_with(b"-> scrypt ") && stanza.ends_with(b" 10"));
        let n = stanza.len();
        stanza[n - 2..].copy_from_slice(b"30");
        file
    };
    b.push(
        "hostile-scrypt-work-factor-30.tar.zst.age".into(),
        "passphrase archive whose scrypt stanza demands work factor 30 (2^30 iterations, 1 GiB); the limit is 22",
        "base zstd stream encrypted with the passphrase at work factor 10, then the stanza's 10 rewritten to 30 by hand (the header MAC no longer matches; the work factor is refused before any scrypt work or MAC check)",
        reject("Decrypt:ExcessiveWork"),
        Key::Passphrase,
        scrypt30,
        Repro::No,
    );
    let mut armored = b"-----BEGIN AGE ENCRYPTED FILE-----\n".to_vec();
    {
        use base64::Engine as _;
        let text = base64::engine::general_purpose::STANDARD.encode(&base_age);
        for line in text.as_bytes().chunks(64) {
            armored.extend_from_slice(line);
            armored.push(b'\n');
        }
    }
    armored.extend_from_slice(b"-----END AGE ENCRYPTED FILE-----\n");
    b.push(
        "hostile-armored.tar.zst.age".into(),
        "the base archive in age's ASCII armor (writers must not armor; redarc refuses it)",
        "base archive (age to identity.txt) base64-encoded in 64-character lines between the armor markers",
        reject("Decrypt:InvalidHeader"),
        Key::Identity,
        armored,
        Repro::No,
    );

    // Not an archive at all.
    b.push(
        "hostile-garbage.bin".into(),
        "1024 pseudo-random bytes",
        "xorshift64* with seed 0x5eed, top byte of each output",
        reject("Decrypt:InvalidHeader"),
        Key::Identity,
        noise(0x5eed, 1024),
        Repro::Bytes,
    );
    b.push(
        "hostile-empty.bin".into(),
        "an empty file",
        "zero bytes",
        reject("Decrypt:InvalidHeader"),
        Key::Identity,
        Vec::new(),
        Repro::Bytes,
    );
    b.push(
        "hostile-not-age.tar.zst".into(),
        "the base archive's tar.zst without the age layer",
        "base tar, zstd level 3 with checksum, not encrypted",
        reject("Decrypt:InvalidHeader"),
        Key::Identity,
        zstd_frame(&base_tar),
        Repro::Bytes,
    );
    b.out
}

// --------------------------------------------------------------- outputs

fn expect_json(e: &Expect) -> (serde_json::Value, serde_json::Value, u8) {
    match e {
        Expect::Valid => ("valid".into(), serde_json::Value::Null, 0),
        Expect::Reject { error, exit } => ("reject".into(), (*error).into(), *exit),
    }
}

pub(crate) fn vectors_json(vectors: &[Vector]) -> String {
    let list: Vec<serde_json::Value> = vectors
        .iter()
        .map(|v| {
            let (outcome, error, exit) = expect_json(&v.expect);
            let mut o = serde_json::json!({
                "file": v.file,
                "description": v.description,
                "made": v.made,
                "outcome": outcome,
                "error": error,
                "exit": exit,
                "reproducible": match v.repro {
                    Repro::Bytes => "bytes",
                    Repro::Plaintext(_) => "plaintext",
                    Repro::No => "no",
                },
            });
            match v.key {
                Key::Identity => o["identity"] = IDENTITY_FILE.into(),
                Key::Passphrase => o["passphrase"] = PASSPHRASE.into(),
            }
            o
        })
        .collect();
    let doc = serde_json::json!({
        "about": "redarc format 1.0 conformance vectors; see README.md",
        "max_work_factor": redarc::DEFAULT_MAX_WORK_FACTOR,
        "vectors": list,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    text
}

pub(crate) fn readme(vectors: &[Vector]) -> String {
    let mut out = String::from(README_HEAD);
    for v in vectors {
        let outcome = match &v.expect {
            Expect::Valid => "valid (exit 0)".to_string(),
            Expect::Reject { error, exit } => format!("reject: `{error}` (exit {exit})"),
        };
        let key = match v.key {
            Key::Identity => "identity.txt",
            Key::Passphrase => "passphrase",
        };
        let repro = match v.repro {
            Repro::Bytes => "bytes",
            Repro::Plaintext(_) => "plaintext",
            Repro::No => "no",
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {outcome} | {key} | {repro} |\n",
            v.file,
            v.description.replace('|', "\\|"),
            v.made.replace('|', "\\|"),
        ));
    }
    out.push_str(README_TAIL);
    out
}

const README_HEAD: &str = "# Test vectors

Conformance vectors for format version 1.0 (`spec/FORMAT.md`): golden archives a reader must
accept and hostile ones it must reject. `vectors.json` lists each file with its expected
outcome; this file says how each was made. Both are written by the generator:

```sh
cargo run -p redarc --example make_vectors -- spec/vectors
```

Edit `crates/redarc/examples/make_vectors.rs`, not the files here.

## Keys

- `identity.txt` is an age X25519 identity generated once and committed. **It is a test key**:
  it protects nothing but the files in this directory. Every X25519 vector is encrypted to it
  (`redarc verify FILE -i spec/vectors/identity.txt`).
- `other-identity.txt` is a second test key, the only recipient of `hostile-wrong-key`.
- Passphrase vectors use the passphrase recorded in `vectors.json`
  (`REDARC_PASSPHRASE=… redarc verify FILE --passphrase`).

The generator reuses both identity files when they exist, and creates them when they do not.

## Expected outcomes

`outcome` is `valid` (`redarc verify` and `redarc unpack` exit 0) or `reject`, with `error`,
the error class a reader reports, and `exit`, the CLI exit code (1: a check failed; 2: usage
or I/O). The class is the `ArchiveProblem` variant for archive problems, or `Decrypt:` and the
`DecryptFailure` variant for the age layer. For every rejected vector, `redarc unpack` leaves
nothing behind: no target directory, no staging directory, no file anywhere else.

Hostile tars are written header by header (`tar::Header`, with names the tar crate refuses
written into the header bytes directly), compressed as one zstd frame at level 3 with a content
checksum, and encrypted with the `age` crate to `identity.txt`, unless the table says
otherwise. Most start from the *base archive*: redarc's own `ExportWriter` output for one
entity, `users`, with two records in one part (`generated_at` 2026-01-01T00:00:00Z), whose
members are `data/users.00000.jsonl`, `SHA256SUMS`, `manifest.json`; the generator checks that
its header writer reproduces that tar byte for byte. *Consistent* means the part, `SHA256SUMS`
and manifest were recomputed to match, so only the intended flaw remains.

## Reproducibility

Encryption is never deterministic, so regenerating changes every `.age` file. `reproducible`
says what a regeneration reproduces exactly: `bytes` (the file: no encryption involved),
`plaintext` (the age plaintext, i.e. the zstd stream, given the same producer version and
libzstd), or `no` (the damage is applied to ciphertext, or the file cannot be decrypted).
`crates/redarc/tests/it/vectors.rs` checks `bytes` and `plaintext` against these files.

## Vectors

| File | What it is | How it was made | Expected | Key | Reproducible |
|---|---|---|---|---|---|
";

const README_TAIL: &str = "
## Tests

- `cargo test -p redarc --test it vectors`: `redarc::verify`, `ArchiveReader::open` and
  `redarc::unpack` on every vector, the expected class for each rejection, nothing left on
  disk, and regeneration.
- `cargo test -p redarc-cli --test e2e vectors`: `redarc verify` and `redarc unpack` on every
  vector, the expected exit code, no panic, nothing left on disk.
";
