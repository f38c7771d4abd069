//! With `--features prebuilt`, the `kiku` binary finds the CTranslate2 library it was linked
//! against (`scripts/install-engine`) through its run path: next to the binary first, then
//! where it was installed (`KIKU_ENGINE_LIB_DIR`, which scripts/run sets).

fn main() {
    println!("cargo:rerun-if-env-changed=KIKU_ENGINE_LIB_DIR");
    if std::env::var_os("CARGO_FEATURE_PREBUILT").is_none() {
        return;
    }
    println!("cargo:rustc-link-arg-bins=-Wl,-rpath,$ORIGIN");
    match std::env::var("KIKU_ENGINE_LIB_DIR") {
        Ok(dir) => println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{dir}"),
        Err(_) => println!(
            "cargo:warning=KIKU_ENGINE_LIB_DIR is not set: kiku will look for libctranslate2 next to itself only"
        ),
    }
}
