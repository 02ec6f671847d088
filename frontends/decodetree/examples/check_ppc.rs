fn main() {
    let src = std::fs::read_to_string("/work/main/frontends/ppc/decode/ppc32.decode").unwrap();
    match ferrite_decodetree::generate(&src) { Ok(c) => { std::fs::write("/tmp/dt/out.rs", c).unwrap(); println!("ok"); } Err(e) => println!("ERR {e}") }
}
