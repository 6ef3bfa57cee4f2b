//! The `redarc` command-line tool.
fn main() {
    if let Some(s) = redarc::format::schema("manifest") {
        print!("{s}");
    }
}
