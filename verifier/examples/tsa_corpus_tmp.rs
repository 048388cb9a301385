fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or("../shared/conformance/tsa".into());
    let out = custody_verifier::selftest::tsa::run_tsa_corpus(std::path::Path::new(&dir)).unwrap();
    let mut failed = 0;
    for o in &out {
        if !o.passed {
            failed += 1;
        }
        println!("{o}");
    }
    println!("{} cases, {failed} failed", out.len());
}
