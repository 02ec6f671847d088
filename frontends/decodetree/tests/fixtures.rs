//! Accept/reject fixtures of the generator, as QEMU's tests/decode has.

use std::path::Path;

fn fixtures() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "decode"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn error_fixtures_are_rejected_with_their_message() {
    let mut n = 0;
    for (name, src) in fixtures().into_iter().filter(|(n, _)| n.starts_with("err_")) {
        let expect = src.lines().next().and_then(|l| l.strip_prefix("# expect: ")).expect("first line: # expect: <message>");
        let e = ferrite_decodetree::generate(&src).expect_err(&name);
        assert!(e.message.contains(expect), "{name}: got '{e}', expected '{expect}'");
        n += 1;
    }
    assert!(n >= 6);
}

#[test]
fn success_fixtures_generate() {
    for (name, src) in fixtures().into_iter().filter(|(n, _)| n.starts_with("succ_")) {
        let code = ferrite_decodetree::generate(&src).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(code.contains("pub fn decode"), "{name}");
    }
}
