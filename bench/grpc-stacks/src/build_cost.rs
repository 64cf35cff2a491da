pub fn run(_quick: bool) -> Result<(), String> {
    Err("not yet".into())
}
