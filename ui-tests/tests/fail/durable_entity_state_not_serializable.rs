use azfn::prelude::*;

#[derive(Default)]
pub struct Counter(i64);

#[entity]
impl Counter {
    pub fn get(&self) -> i64 {
        self.0
    }
}

fn main() {}
